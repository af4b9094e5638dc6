"""Group commit: concurrent callers share one write, and each gets exactly its own answer."""

from __future__ import annotations

import threading

import pytest

from cityloop.core.group_commit import GroupCommit


class Recorder:
    """A batch writer that remembers its batches; the first batch waits until ``release`` is set."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, items):
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.release.wait(10)
        if any(i < 0 for i in items):
            raise ValueError(f"negative: {[i for i in items if i < 0]}")
        return [i * 10 for i in items]


def start(group, items):
    answers: dict[int, object] = {}

    def call(i):
        try:
            answers[i] = group.submit(i)
        except Exception as exc:  # noqa: BLE001 - the test looks at what each caller got
            answers[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in items]
    return answers, threads


def queued_behind_a_write(group, writer, items):
    """Start a call of 1 whose write blocks, queue ``items`` behind it, then let the write finish; return
    what the first call and the queued ones got."""
    first, first_threads = start(group, [1])
    first_threads[0].start()
    assert writer.entered.wait(10)
    answers, threads = start(group, items)
    for t in threads:
        t.start()
    while len(group._waiting) < len(items):  # all are queued behind the write under way
        threading.Event().wait(0.001)
    writer.release.set()
    for t in [*first_threads, *threads]:
        t.join(10)
    return first, answers


def test_a_lone_call_is_written_at_once_on_its_own():
    writer = Recorder()
    writer.release.set()
    group = GroupCommit(writer)
    assert group.submit(4) == 40
    assert writer.batches == [[4]]


def test_calls_arriving_during_a_write_go_together_in_the_next_one():
    writer = Recorder()
    group = GroupCommit(writer)
    first, answers = queued_behind_a_write(group, writer, [2, 3, 4, 5])
    assert first == {1: 10}
    assert answers == {2: 20, 3: 30, 4: 40, 5: 50}
    assert writer.batches[0] == [1] and sorted(writer.batches[1]) == [2, 3, 4, 5] and len(writer.batches) == 2
    assert group.stats.calls == 5 and group.stats.batches == 2 and group.stats.largest == 4


def test_an_error_reaches_only_the_caller_whose_item_caused_it():
    writer = Recorder()
    group = GroupCommit(writer)
    _, answers = queued_behind_a_write(group, writer, [2, -3, 4])
    assert answers[2] == 20 and answers[4] == 40
    assert isinstance(answers[-3], ValueError) and "-3" in str(answers[-3])
    assert group.stats.retried_alone == 3


def test_batches_are_capped_and_the_lead_passes_on():
    writer = Recorder()
    group = GroupCommit(writer, max_batch=2)
    _, answers = queued_behind_a_write(group, writer, [2, 3, 4, 5, 6])
    assert answers == {i: i * 10 for i in (2, 3, 4, 5, 6)}
    assert [len(b) for b in writer.batches] == [1, 2, 2, 1]
    assert not group._leading and not group._waiting


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(Recorder(), max_batch=0)
