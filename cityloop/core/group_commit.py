"""Group commit: calls that arrive together in one process are written in one transaction.

A web worker serves several requests at once on its threads. When each report is its own transaction,
every one pays the fixed cost of a write (begin, the idempotency and duplicate queries, the number
sequence, commit) and the writers queue on the database's write lock. ``GroupCommit`` lets the first
caller lead: it takes every call waiting at that moment (its own included) and hands them to a batch
function in one go (for reports, ``case_report_many``); the others wait for their own result. The leader
then passes the lead to the oldest waiting caller, so nobody serves others for long. Nothing is held back
on purpose: a lone caller is written at once, and groups form only while a write is already under way.

Each caller still gets exactly its own answer: when a batch fails (one invalid item, a conflict), every
item of it is tried again on its own, so an error reaches only the call that caused it.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(eq=False)
class _Call(Generic[Item, Result]):
    item: Item
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: Result | None = None
    error: BaseException | None = None
    answered: bool = False

    def answer(self, result: Result | None = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.answered = result, error, True


@dataclass
class GroupStats:
    """What a group has done: calls served and the batches they were written in."""

    calls: int = 0
    batches: int = 0
    largest: int = 0
    retried_alone: int = 0


class GroupCommit(Generic[Item, Result]):
    """Combine concurrent calls of ``write_many`` (items → one result per item, in order) in one process."""

    def __init__(self, write_many: Callable[[Sequence[Item]], Sequence[Result]], *, max_batch: int = 100) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write_many = write_many
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Call[Item, Result]] = []
        self._leading = False
        self.stats = GroupStats()

    def submit(self, item: Item) -> Result:
        """Write ``item`` (with whatever else is waiting) and return its result, or raise its own error."""
        call: _Call[Item, Result] = _Call(item)
        with self._lock:
            self._waiting.append(call)
            if not self._leading:
                self._leading = call.lead = True
        if not call.lead:
            call.done.wait()
        if call.lead:  # first in, or handed the lead while waiting (then it is first in the queue)
            self._lead()
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: len(batch)]
        try:
            self._write(batch)
        finally:
            with self._lock:
                if self._waiting:
                    following = self._waiting[0]
                    following.lead = True
                    following.done.set()
                else:
                    self._leading = False
            for call in batch:
                if not call.answered:  # the leader was interrupted mid-write
                    call.answer(error=RuntimeError("写入被中断，请重试"))
                call.lead = False
                call.done.set()

    def _write(self, batch: list[_Call[Item, Result]]) -> None:
        self.stats.calls += len(batch)
        self.stats.batches += 1
        self.stats.largest = max(self.stats.largest, len(batch))
        try:
            results = self._write_many([call.item for call in batch])
        except Exception as exc:  # noqa: BLE001 - one item's fault must reach that item's caller only
            if len(batch) == 1:
                batch[0].answer(error=exc)
                return
            self.stats.retried_alone += len(batch)
            for call in batch:
                try:
                    call.answer(self._write_many([call.item])[0])
                except Exception as alone:  # noqa: BLE001
                    call.answer(error=alone)
            return
        for call, result in zip(batch, results, strict=True):
            call.answer(result)


@contextmanager
def write_turn(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Wait for this database's write turn without polling (SQLite files only; a no-op elsewhere).

    SQLite admits one writer at a time and makes the others retry, sleeping up to 100 ms between tries,
    so under load from several worker processes some writes wait far longer than the writes ahead of them.
    An exclusive lock on a file beside the database queues the writers of every process instead: each is
    woken the moment the one before it is done. PostgreSQL queues writers on its own row locks.
    """
    connection = connections[using]
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor != "sqlite" or not name or connection.is_in_memory_db():  # type: ignore[attr-defined]
        yield
        return
    with open(f"{name}.write-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
