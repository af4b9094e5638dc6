"""The one guarded transition function and the notifications it schedules after commit."""


from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet

from cityloop.accounts.models import Role, User
from cityloop.accounts.selectors import user_covers_region, user_department_ids
from cityloop.cases import deadlines
from cityloop.cases.errors import ActionForbidden, InvalidTransition, StaleCase
from cityloop.cases.models import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseFollower,
    CaseStage,
)
from cityloop.cases.services.batchwrite import CaseWriteBatch
from cityloop.cases.services.reporting import (
    MAX_DESCRIPTION,
    PhotoInput,
    actor_name,
    attach_photos,
    clean_text,
    now_or,
    store_photos,
)
from cityloop.cases.statuses import (
    ACTION_LABELS,
    Action,
    Guard,
    Scope,
    Transition,
    transition_for,
)
from cityloop.catalog import cache as catalog_cache
from cityloop.catalog import selectors as catalog_selectors
from cityloop.catalog.models import Category, Department
from cityloop.core.bulk import WriteBatch
from cityloop.core.errors import CityLoopError, NotFound
from cityloop.geo.models import Region

# --- the guarded transition ----------------------------------------------------------------

#: Where a case object carries its pending approval request once loaded (see ``_pending``).
PENDING_REQUEST_ATTR = "_pending_request_row"


@dataclass
class ActionContext:
    """What an action's effect may read and change.

    Effects validate before they change anything, change the case in memory and hand every other row
    they create or change to ``writes`` (written in bulk when the transition, or the batch, ends).
    """

    case: Case
    actor: User | None
    at: datetime
    data: dict[str, Any]
    note: str
    writes: WriteBatch = field(default_factory=WriteBatch)
    event_data: dict[str, Any] = field(default_factory=dict)
    notify: list[Callable[[], None]] = field(default_factory=list)
    event_department: Department | None = None
    is_public: bool = False


Effect = Callable[[ActionContext], None]
EFFECTS: dict[Action, Effect] = {}


def effect(action: Action) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        EFFECTS[action] = fn
        return fn

    return register


def _check_role_and_scope(t: Transition, case: Case, actor: User | None, *, as_reporter: bool, system: bool) -> None:
    label = ACTION_LABELS[t.action]
    if t.scope == Scope.SYSTEM:
        if not system:
            raise ActionForbidden(f"“{label}”只能由系统执行")
        return
    if t.scope == Scope.REPORTER:
        if as_reporter or (actor is not None and actor.pk == case.reporter_id):
            return
        raise ActionForbidden(f"只有举报人可以进行“{label}”")
    if actor is None:
        raise ActionForbidden(f"“{label}”需要登录")
    if actor.role not in t.roles:
        raise ActionForbidden(f"{actor.get_role_display()}不能进行“{label}”")
    if t.scope == Scope.DEPARTMENT:
        if case.department_id is None or case.department_id not in user_department_ids(actor):
            raise ActionForbidden("该案卷不属于您所在的处置单位")
    elif t.scope == Scope.ASSIGNEE:
        if case.assignee_id is not None and case.assignee_id != actor.pk:
            raise ActionForbidden("该任务已派发给其他监督员")
        if case.assignee_id is None and not user_covers_region(actor, case.community):
            raise ActionForbidden("该案卷不在您负责的区域内")
    elif not user_covers_region(actor, case.community):
        raise ActionForbidden("该案卷不在您负责的区域内")


def _pending(case: Case) -> ApprovalRequest | None:
    """The case's pending approval request (preloaded by the transition path, else queried)."""
    if PENDING_REQUEST_ATTR in case.__dict__:
        request: ApprovalRequest | None = case.__dict__[PENDING_REQUEST_ATTR]
        return request
    return case.approval_requests.filter(state=ApprovalState.PENDING).first()


#: What each guard asks of the case (built once, not per check).
_GUARD_TESTS: dict[Guard, Callable[[Case], bool]] = {
    Guard.SELF_HANDLED: lambda case: case.self_handled,
    Guard.CHECK_PASSED: lambda case: case.check_passed,
    Guard.NOT_CHECK_PASSED: lambda case: not case.check_passed,
    Guard.PENDING_RETURN: lambda case: case.pending_request == ApprovalKind.RETURN,
    Guard.PENDING_EXTENSION: lambda case: case.pending_request == ApprovalKind.EXTENSION,
    Guard.PENDING_SUSPENSION: lambda case: case.pending_request == ApprovalKind.SUSPENSION,
    Guard.NO_PENDING_REQUEST: lambda case: not case.pending_request,
    Guard.NOT_SUPERVISED: lambda case: not case.supervised,
    Guard.SUPERVISED: lambda case: case.supervised,
    Guard.NOT_RATED: lambda case: case.satisfaction is None,
}


def _check_guards(t: Transition, case: Case) -> None:
    for guard in t.guards:
        if not _GUARD_TESTS[guard](case):
            raise InvalidTransition(f"案卷 {case.number} 当前不能“{ACTION_LABELS[t.action]}”（{_guard_reason(guard)}）")


def _guard_reason(guard: Guard) -> str:
    return {
        Guard.SELF_HANDLED: "不是自处理案卷",
        Guard.CHECK_PASSED: "尚未核查通过",
        Guard.NOT_CHECK_PASSED: "已核查通过",
        Guard.PENDING_RETURN: "没有待审批的回退申请",
        Guard.PENDING_EXTENSION: "没有待审批的延期申请",
        Guard.PENDING_SUSPENSION: "没有待审批的挂账申请",
        Guard.NO_PENDING_REQUEST: "还有待审批的申请",
        Guard.NOT_SUPERVISED: "已在督办中",
        Guard.SUPERVISED: "未被督办",
        Guard.NOT_RATED: "已评价过",
    }[guard]


def allowed_actions(case: Case, actor: User | None) -> list[Action]:
    """The actions ``actor`` may take on ``case`` now (for showing only the right buttons)."""
    result = []
    for action, t in _transitions().items():
        if t.scope == Scope.SYSTEM or case.status not in t.sources:
            continue
        try:
            _check_role_and_scope(t, case, actor, as_reporter=False, system=False)
            _check_guards(t, case)
        except (ActionForbidden, InvalidTransition):
            continue
        result.append(action)
    return result


def _transitions() -> dict[Action, Transition]:
    from cityloop.cases.statuses import TRANSITIONS

    return TRANSITIONS


@dataclass
class TransitionInput:
    """One action on one case, as ``case_transition`` takes it (see there for the fields)."""

    case: Case | int
    action: Action | str
    actor: User | None
    note: str = ""
    data: dict[str, Any] | None = None
    photos: Sequence[PhotoInput] = ()
    photo_kind: str = AttachmentKind.AFTER
    expected_version: int | None = None
    as_reporter: bool = False
    system: bool = False
    at: datetime | None = None


def case_transition(
    *,
    case: Case | int,
    action: Action | str,
    actor: User | None,
    note: str = "",
    data: dict[str, Any] | None = None,
    photos: Sequence[PhotoInput] = (),
    photo_kind: str = AttachmentKind.AFTER,
    expected_version: int | None = None,
    as_reporter: bool = False,
    system: bool = False,
    at: datetime | None = None,
) -> Case:
    """Apply ``action`` to ``case`` as ``actor``: the one guarded way a case changes.

    Locks the case row (``SELECT … FOR UPDATE``; SQLite serialises writers with ``BEGIN IMMEDIATE``), so of
    two concurrent actions exactly one applies and the other sees the new status and gets a conflict.
    Raises a typed error (``InvalidTransition``, ``ActionForbidden``, ``StaleCase``, ``NotFound``,
    ``ValidationFailed``) and writes nothing when the action may not be taken.
    """
    item = TransitionInput(
        case=case, action=action, actor=actor, note=note, data=data, photos=photos, photo_kind=photo_kind,
        expected_version=expected_version, as_reporter=as_reporter, system=system, at=at,
    )
    result = case_transition_many([item], all_or_nothing=True)[0]
    assert isinstance(result, Case)
    return result


def case_transition_many(
    items: Sequence[TransitionInput], *, all_or_nothing: bool = False, notify: bool = True
) -> list[Case | CityLoopError]:
    """Apply many actions in one transaction, each exactly as ``case_transition`` would (the simulation,
    imports and bulk pages use it; ``case_transition`` is this with one item).

    The cases are locked and loaded with one query, their open stages and pending requests with one
    more; every action is checked and applied in memory in the given order (several actions on one
    case see each other), then cases, stages, requests and events are written in bulk. With
    ``all_or_nothing`` the first refused action raises and nothing is written; otherwise a refused
    action leaves its case as it was, its error takes its place in the result and the others apply.
    ``notify=False`` writes no notifications (back-filling the past).
    """
    if not items:
        return []
    prepared = []
    for item in items:
        t = transition_for(item.action)
        note = clean_text(item.note, field_name="note", label="意见", required=False, limit=MAX_DESCRIPTION)
        prepared.append((item, t, note, store_photos(item.photos)))
    results: list[Case | CityLoopError] = []
    done: list[tuple[Case, CaseEvent, TransitionInput, list[Any]]] = []
    callbacks: list[Callable[[], None]] = []
    changed_status: list[tuple[Case, CaseEvent]] = []
    # A batch asks once for the recipients its effects name (department handlers, dispatchers of a region).
    with transaction.atomic(), (_remembering_recipients() if len(items) > 1 else nullcontext()):
        cases = _lock_and_load([i.case.pk if isinstance(i.case, Case) else i.case for i in items])
        writes = CaseWriteBatch()
        for item, t, note, stored in prepared:
            case_id = item.case.pk if isinstance(item.case, Case) else item.case
            try:
                locked = cases.get(case_id)
                if locked is None:
                    raise NotFound(f"案卷不存在（{case_id}）")
                snapshot = _snapshot(locked)
                ctx = ActionContext(case=locked, actor=item.actor, at=now_or(item.at), data=dict(item.data or {}),
                                    note=note, writes=WriteBatch())
                try:
                    event = _apply(t, ctx, item)
                except CityLoopError:
                    _restore(locked, snapshot)
                    raise
            except CityLoopError as error:
                if all_or_nothing:
                    raise
                results.append(error)
                continue
            writes.merge(ctx.writes)
            writes.add(event, need_id=bool(stored))
            writes.changed(locked, _changed_fields(snapshot[0], locked))
            results.append(locked)
            done.append((locked, event, item, stored))
            callbacks.extend(ctx.notify)
            if t.target is not None and event.to_status != event.from_status:
                changed_status.append((locked, event))
        writes.flush()
        for case in cases.values():
            # Rows loaded or made for this transaction are not handed on: a later call reads them afresh.
            case.__dict__.pop(deadlines.OPEN_STAGE_ATTR, None)
            case.__dict__.pop(PENDING_REQUEST_ATTR, None)
        for case, event, item, stored in done:
            if stored:
                attach_photos(case, event, stored, item.photo_kind, item.actor)
        if notify and (callbacks or changed_status):
            transaction.on_commit(partial(_send_after_commit, callbacks, changed_status))
    return results


CASE_FIELDS = [f.attname for f in Case._meta.concrete_fields if not f.primary_key]


def _changed_fields(before: dict[str, Any], case: Case) -> list[str]:
    """The columns of ``case`` an action changed (only these are written)."""
    state = case.__dict__
    return [name for name in CASE_FIELDS if before.get(name) != state.get(name)]


def _lock_and_load(ids: list[Any]) -> dict[Any, Case]:
    """Lock the cases' rows and load them with what checks and effects read, plus their open stages."""
    wanted = {pk for pk in ids if pk is not None}
    cases = {c.pk: c for c in Case.objects.filter(pk__in=wanted).select_for_update()}
    # Categories, communities and departments come from the catalogue's in-process snapshot (the one
    # routing and limits read); rows newer than the snapshot are queried.
    _attach(cases.values(), "category", Category.objects.select_related("parent"), _categories_by_id())
    _attach(cases.values(), "community", Region.objects.defer("boundary_wkb"), catalog_selectors.communities_by_id())
    _attach(cases.values(), "department", Department.objects.all(), _departments_by_id())
    open_stages: dict[Any, CaseStage | None] = dict.fromkeys(cases)
    for row in CaseStage.objects.filter(case_id__in=list(cases), ended_at__isnull=True).order_by("started_at", "id"):
        open_stages[row.case_id] = row
    pending: dict[Any, ApprovalRequest | None] = dict.fromkeys(cases)
    with_requests = [pk for pk, c in cases.items() if c.pending_request]
    if with_requests:
        for request in ApprovalRequest.objects.filter(case_id__in=with_requests, state=ApprovalState.PENDING):
            pending[request.case_id] = request
    for pk, case in cases.items():
        setattr(case, deadlines.OPEN_STAGE_ATTR, open_stages[pk])
        setattr(case, PENDING_REQUEST_ATTR, pending[pk])
    return cases


def _categories_by_id() -> dict[int, Category]:
    """Every category (with its parent) by id, from the catalogue snapshot."""
    rows: dict[int, Category] = catalog_cache.current().part(
        "cases.categories_by_id", lambda: {c.pk: c for c in catalog_selectors.categories_by_code().values()}
    )
    return rows


def _departments_by_id() -> dict[int, Department]:
    """Every department by id, from the catalogue snapshot."""
    rows: dict[int, Department] = catalog_cache.current().part(
        "cases.departments_by_id", lambda: Department.objects.in_bulk()
    )
    return rows


def _attach(cases: Iterable[Case], name: str, query: QuerySet[Any], known: dict[Any, Any] | None = None) -> None:
    """Cache ``name`` of every case on it: from ``known`` rows, the others with one query (each row once)."""
    field = Case._meta.get_field(name)
    ids = {getattr(case, field.attname) for case in cases} - {None}  # type: ignore[union-attr]
    rows = {pk: known[pk] for pk in ids if pk in known} if known else {}
    missing = ids - rows.keys()
    if missing:
        rows.update(query.in_bulk(missing))
    for case in cases:
        value = getattr(case, field.attname)  # type: ignore[union-attr]
        if value is not None:
            field.set_cached_value(case, rows.get(value))  # type: ignore[union-attr]


def _apply(t: Transition, ctx: ActionContext, item: TransitionInput) -> CaseEvent:
    """Check and apply one action to its (locked, loaded) case in memory; returns its unsaved event."""
    case, actor = ctx.case, ctx.actor
    if item.expected_version is not None and case.version != item.expected_version:
        raise StaleCase(f"案卷 {case.number} 已被他人更新，请刷新后重试")
    if case.status not in t.sources:
        raise InvalidTransition(
            f"案卷 {case.number} 当前状态为“{case.get_status_display()}”，不能“{ACTION_LABELS[t.action]}”"
        )
    _check_role_and_scope(t, case, actor, as_reporter=item.as_reporter, system=item.system)
    _check_guards(t, case)
    from_status = case.status
    EFFECTS.get(t.action, lambda _ctx: None)(ctx)
    if t.target is not None:
        case.status = t.target
    case.version += 1
    case.updated_at = ctx.at
    return CaseEvent(
        case=case, action=t.action, from_status=from_status, to_status=case.status, actor=actor,
        actor_role=(actor.role if actor else (Role.CITIZEN if item.as_reporter else "system")),
        actor_name=actor_name(actor, "系统" if item.system else "市民"), created_at=ctx.at, note=ctx.note,
        data=ctx.event_data,
        department_id=ctx.event_department.pk if ctx.event_department is not None else case.department_id,
        is_public=ctx.is_public or (t.target is not None),
    )


def _snapshot(case: Case) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The case's in-memory state (and its open stage's) before an action, to undo a refused one."""
    row = case.__dict__.get(deadlines.OPEN_STAGE_ATTR)
    return _state_of(case), (_state_of(row) if row is not None else None)


def _state_of(obj: Any) -> dict[str, Any]:
    """A copy of ``obj.__dict__`` with its own ``_state`` and relation cache: the state Django's ``Model``
    gives for pickling and ``copy.copy`` (its public ``__getstate__``)."""
    return obj.__getstate__()


def _restore(case: Case, snapshot: tuple[dict[str, Any], dict[str, Any] | None]) -> None:
    state, row_state = snapshot
    case.__dict__.clear()
    case.__dict__.update(state)
    row = case.__dict__.get(deadlines.OPEN_STAGE_ATTR)
    if row is not None and row_state is not None:
        row.__dict__.clear()
        row.__dict__.update(row_state)


def _send_after_commit(callbacks: list[Callable[[], None]], changed: list[tuple[Case, CaseEvent]]) -> None:
    """Run the actions' notifications and tell followers of every status change, as one batch."""
    with _remembering_recipients():
        _send_batch(callbacks, changed)


def _send_batch(callbacks: list[Callable[[], None]], changed: list[tuple[Case, CaseEvent]]) -> None:
    from cityloop.notifications.services import notifications_batched

    with notifications_batched():
        for callback in callbacks:
            callback()
        if changed:
            followers: dict[Any, list[User]] = {}
            rows = CaseFollower.objects.filter(case_id__in={c.pk for c, _ in changed}, user__isnull=False)
            for case_id, user_id in rows.values_list("case_id", "user_id"):
                followers.setdefault(case_id, []).append(User(pk=user_id))  # notify reads only the id
            for case, event in changed:
                users = followers.get(case.pk)
                if users:
                    send_notification(users, "case_updated", f"您关注的案卷 {case.number} {event.action_label}",
                                      f"当前状态：{case.get_status_display()}", case)


# --- notifications -------------------------------------------------------------------------


def send_notification(recipients: Iterable[User], kind: str, title: str, body: str, case: Case) -> None:
    """Notify ``recipients`` about ``case`` (in-app plus the configured transports), after commit."""
    from cityloop.notifications.services import notify

    notify(recipients=recipients, kind=kind, title=title, body=body, link=f"/cases/{case.pk}/", case=case)


_recipients_memo: ContextVar[dict[Any, list[User]] | None] = ContextVar("recipients_memo", default=None)


def department_users(department_id: int | None) -> list[User]:
    """The active handlers of a department (remembered while one batch's notifications are sent)."""
    if department_id is None:
        return []
    memo = _recipients_memo.get()
    if memo is None:
        return list(User.objects.filter(departments__id=department_id, is_active=True, role=Role.HANDLER))
    if None not in memo:  # the first question of a batch: every department's handlers with one query
        memo[None] = []
        handlers = User.objects.filter(is_active=True, role=Role.HANDLER, departments__isnull=False)
        for user in handlers.annotate(department_key=F("departments__id")).distinct():
            memo.setdefault(user.department_key, []).append(user)
    return memo.get(department_id, [])


def users_covering(case: Case, roles: Iterable[Role]) -> list[User]:
    """The active users of ``roles`` whose region scope covers the case (the users of those roles, and
    their scopes, are remembered while one batch's actions and notifications run)."""
    wanted = list(roles)
    memo = _recipients_memo.get()
    key = ("covering", tuple(sorted(wanted)))
    users = memo.get(key) if memo is not None else None
    if users is None:
        users = list(User.objects.filter(role__in=wanted, is_active=True).prefetch_related("regions"))
        if memo is not None:
            memo[key] = users
    return [u for u in users if user_covers_region(u, case.community)]


@contextmanager
def _remembering_recipients() -> Iterator[None]:
    """Remember recipients (department handlers, users covering a region) until the block ends."""
    if _recipients_memo.get() is not None:
        yield
        return
    token = _recipients_memo.set({})
    try:
        yield
    finally:
        _recipients_memo.reset(token)
