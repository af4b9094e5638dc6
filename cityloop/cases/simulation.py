"""A living city: realistic activity generated through the same services that people use.

``simulate`` reports problems from inspectors, citizens, the hotline, sensors and cameras (with a
realistic category mix and positions inside the unit grids) and walks each case through the loop
with realistic delays: most on time, some late, some returned, extended, suspended or reworked,
checked, closed and rated. Everything is drawn from one ``random.Random(seed)``, so the same seed,
start and starting data give the same city. Each simulated day is one transaction: an interrupted
run keeps whole days only.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeAlias

from django.db import transaction
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.accounts.services import user_upsert
from cityloop.cases.errors import ActionForbidden, InvalidTransition
from cityloop.cases.models import Case, Satisfaction
from cityloop.cases.services.reporting import ReportInput, case_report_many
from cityloop.cases.services.workflow import TransitionInput, case_transition_many
from cityloop.cases.statuses import Action, Source
from cityloop.catalog.models import Category, Department
from cityloop.core.choices import TimeUnit
from cityloop.core.errors import CityLoopError, ValidationFailed
from cityloop.core.workcal import get_calendar
from cityloop.geo.lookup import get_grid_index
from cityloop.geo.models import Region, RegionLevel

#: Share of reports by source.
SOURCE_MIX = [(Source.INSPECTOR, 55), (Source.HOTLINE, 25), (Source.PUBLIC, 15), (Source.SENSOR, 3), (Source.CAMERA, 2)]
#: The most frequent subclasses and their weight; every other active subclass shares ``OTHER_WEIGHT``.
COMMON_CATEGORIES = {
    "06010": 12, "07001": 8, "06012": 8, "09006": 8, "09009": 7, "06036": 6, "06042": 5, "09001": 5,
    "09010": 5, "08004": 3, "01002": 2, "01003": 2, "01001": 1, "03001": 2, "04005": 2,
}
OTHER_WEIGHT = 24
DESCRIPTIONS = {
    "06010": "路边有暴露垃圾，未及时清运", "07001": "墙面、电线杆上张贴小广告", "06012": "道路路面不洁，有油污和杂物",
    "09006": "商户占用人行道经营", "09009": "机动车占用人行道停放", "06036": "楼道口乱堆杂物",
    "06042": "垃圾桶满溢，周边散落垃圾", "09001": "流动摊贩占道经营", "09010": "共享单车乱停放堵塞盲道",
    "08004": "工地未覆盖，扬尘明显",
}


@dataclass
class SimulationReport:
    reports: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    days: int = 0


class _Actors:
    """The people of the simulated city: the demo's centre staff, plus one inspector per district and one
    handler per department (created as simulation users when missing)."""

    def __init__(self) -> None:
        def first(role: Role) -> User:
            user = User.objects.filter(role=role, is_active=True).order_by("id").first()
            if user is None:
                user = user_upsert(username=f"sim-{role.value}", role=role, full_name=f"模拟{role.label}")
            return user

        self.operator = first(Role.OPERATOR)
        self.shift_leader = first(Role.SHIFT_LEADER)
        self.dispatcher = first(Role.DISPATCHER)
        self.leader = first(Role.LEADER)
        self._inspectors: dict[int, User] = {}
        self._handlers: dict[int, User] = {}

    def by_id(self, pk: int | None) -> User | None:
        """One of the simulation's inspectors by id (the assignee of a verification or check)."""
        if pk is None:
            return None
        for user in self._inspectors.values():
            if user.pk == pk:
                return user
        return User.objects.filter(pk=pk).first()

    def inspector(self, district: Region) -> User:
        if district.pk not in self._inspectors:
            self._inspectors[district.pk] = user_upsert(
                username=f"sim-inspector-{district.code}", role=Role.INSPECTOR,
                full_name=f"模拟监督员（{district.name}）", regions=[district],
            )
        return self._inspectors[district.pk]

    def handler(self, department: Department) -> User:
        if department.pk not in self._handlers:
            existing = User.objects.filter(role=Role.HANDLER, departments=department, is_active=True).order_by("id").first()
            self._handlers[department.pk] = existing or user_upsert(
                username=f"sim-handler-{department.code}", role=Role.HANDLER,
                full_name=f"模拟处置员（{department.name[:20]}）", departments=[department],
            )
        return self._handlers[department.pk]


Next: TypeAlias = "tuple[datetime, Step] | None"
Step: TypeAlias = Callable[[Case, datetime], "Move | None"]


@dataclass
class Move:
    """One action a step takes on its case, and what the case does after it is applied."""

    action: Action
    actor: User | None
    then: Callable[[Case, datetime], Next] = field(default=lambda case, at: None)
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    as_reporter: bool = False


#: Simulated time is advanced in ticks: the due steps of a tick are applied as batches through
#: ``case_transition_many`` (one step per case per batch), then the tick's reports through ``case_report_many``.
TICK = timedelta(minutes=30)


class Simulation:
    def __init__(self, *, seed: int, rate: int, start: date, days: int, notify: bool = True) -> None:
        self.rng = random.Random(seed)
        self.notify = notify
        self.rate = rate
        self.start = start
        self.days = days
        self.end = _midnight(start + timedelta(days=days))
        self.calendar = get_calendar()
        self.actors = _Actors()
        self.report = SimulationReport()
        self.queue: list[tuple[datetime, int, int, Step]] = []
        #: The cases with steps still to come (the objects the last action returned), and how many steps each.
        self.live: dict[int, Case] = {}
        self.queued: Counter[int] = Counter()
        self._seq = 0
        self.districts = {r.pk: r for r in Region.objects.filter(level=RegionLevel.DISTRICT)}
        index = get_grid_index()
        if len(index) == 0:
            raise ValidationFailed("没有单元网格，请先运行 cityloop demo 或导入网格")
        self.grid_bounds = [g.bounds for g in index.geometries]
        self.index = index
        self.community_district: dict[int, int] = {
            pk: district_id
            for pk, district_id in Region.objects.filter(level=RegionLevel.COMMUNITY).values_list("pk", "parent__parent_id")
            if district_id is not None
        }
        self.grid_geometries = index.geometries
        categories = list(Category.objects.filter(parent__isnull=False, is_active=True).order_by("code"))
        weights = [COMMON_CATEGORIES.get(c.code, 0) for c in categories]
        others = sum(1 for w in weights if w == 0) or 1
        self.categories = categories
        self.category_weights = [w if w else OTHER_WEIGHT / others for w in weights]

    # --- helpers -------------------------------------------------------------------------------
    def _push(self, when: datetime, case_id: int, step: Step) -> None:
        self._seq += 1
        self.queued[case_id] += 1
        heapq.heappush(self.queue, (when, self._seq, case_id, step))

    def _pop(self) -> tuple[datetime, int, int, Step]:
        entry = heapq.heappop(self.queue)
        self.queued[entry[2]] -= 1
        return entry

    def _work(self, start: datetime, minutes: float) -> datetime:
        """``minutes`` of working time after ``start`` (the centre works office hours)."""
        return self.calendar.add_working_time(start, Decimal(round(minutes, 2)) / Decimal(60), TimeUnit.WORK_HOUR)

    def _point(self) -> tuple[float, float]:
        import shapely

        for _ in range(20):
            i = self.rng.randrange(len(self.grid_bounds))
            min_x, min_y, max_x, max_y = self.grid_bounds[i]
            x, y = self.rng.uniform(min_x, max_x), self.rng.uniform(min_y, max_y)
            if shapely.intersects_xy(self.grid_geometries[i], x, y):
                return x, y
        point = self.grid_geometries[i].representative_point()
        return point.x, point.y

    def _report_time(self, day: date, source: Source) -> datetime:
        if source == Source.INSPECTOR:
            minute = self.rng.randint(8 * 60 + 30, 17 * 60 + 30)
        else:
            minute = min(int(self.rng.triangular(6 * 60, 23 * 60, 12 * 60)), 24 * 60 - 1)
        return datetime.combine(day, time(minute // 60, minute % 60, self.rng.randint(0, 59)),
                                tzinfo=timezone.get_current_timezone())

    def _district_of(self, lon: float, lat: float) -> int:
        return self.community_district[int(self.index.community_ids[self.index.locate_one(lon, lat)])]

    # --- the lifecycle ---------------------------------------------------------------------------
    def report_input(self, when: datetime) -> ReportInput:
        source = self.rng.choices([s for s, _ in SOURCE_MIX], [w for _, w in SOURCE_MIX])[0]
        category = self.rng.choices(self.categories, self.category_weights)[0]
        lon, lat = self._point()
        reporter = None
        phone = ""
        if source == Source.INSPECTOR:
            reporter = self.actors.inspector(self.districts[self._district_of(lon, lat)])
        if source in (Source.PUBLIC, Source.HOTLINE):
            phone = f"13{self.rng.randint(0, 999999999):09d}"
        return ReportInput(
            source=source, category=category, description=DESCRIPTIONS.get(category.code, f"发现{category.name}问题"),
            lon=lon, lat=lat, reporter=reporter, reporter_phone=phone,
            urgency="urgent" if self.rng.random() < 0.05 else "normal", at=when,
        )

    def after_report(self, case: Case, when: datetime) -> None:
        self.report.reports += 1
        self.live[case.pk] = case
        if case.duplicate_candidates and self.rng.random() < 0.8:
            self._push(self._work(when, self.rng.uniform(5, 30)), case.pk, self.step_merge)
        elif case.source in (Source.PUBLIC, Source.HOTLINE):
            self._push(self._work(when, self.rng.uniform(3, 25)), case.pk, self.step_send_verify)
        else:
            self._push(self._work(when, self.rng.uniform(3, 25)), case.pk, self.step_register)

    def _after(self, minutes: tuple[float, float], step: Step) -> Callable[[Case, datetime], Next]:
        """A continuation: ``step`` after a working-time delay drawn from ``minutes`` (drawn when applied)."""
        return lambda case, at: (self._work(at, self.rng.uniform(*minutes)), step)

    def step_merge(self, case: Case, at: datetime) -> Move | None:
        target = Case.objects.filter(pk__in=case.duplicate_candidates).order_by("reported_at").first()
        if target is None or not target.is_open:
            return self.step_register(case, at)
        return Move(Action.MERGE, self.actors.operator, note="同一问题重复上报", data={"into": target})

    def step_send_verify(self, case: Case, at: datetime) -> Move | None:
        inspector = self.actors.inspector(self.districts[case.district_id])
        return Move(Action.SEND_VERIFY, self.actors.operator, data={"inspector": inspector},
                    then=self._after((15, 75), self.step_verify))

    def step_verify(self, case: Case, at: datetime) -> Move | None:
        valid = self.rng.random() > 0.08
        return Move(Action.VERIFY, self.actors.by_id(case.assignee_id), note="现场属实" if valid else "现场未发现该问题",
                    data={"valid": valid}, then=self._after((3, 20), self.step_register if valid else self.step_reject))

    def step_reject(self, case: Case, at: datetime) -> Move | None:
        return Move(Action.REJECT, self.actors.operator, note="核实不属实")

    def step_register(self, case: Case, at: datetime) -> Move | None:
        if self.rng.random() < 0.03:
            return Move(Action.REJECT, self.actors.operator, note="不符合立案条件")
        return Move(Action.REGISTER, self.actors.operator, then=self._after((5, 40), self.step_dispatch))

    def step_dispatch(self, case: Case, at: datetime) -> Move | None:
        # No routing rule: the action is refused and the case stays with the dispatcher, as in life.
        return Move(Action.DISPATCH, self.actors.dispatcher, data={"department": None}, then=self._dispatched)

    def _dispatched(self, case: Case, at: datetime) -> Next:
        if self.rng.random() < 0.01:
            self._push(self._work(at, self.rng.uniform(30, 240)), case.pk, self.step_supervise)
        return self._handling_time(case, at), self.step_department

    def _handling_time(self, case: Case, at: datetime) -> datetime:
        """Most departments finish within the limit; about one case in eight runs late."""
        share = self.rng.lognormvariate(-0.5, 0.45)
        due = case.handling_due_at or at
        working = self.calendar.working_time_between(at, due)
        if working.total_seconds() <= 0:
            return self._work(at, 60)
        return self._work(at, working.total_seconds() / 60 * share)

    def _back_to_department(self, case: Case, at: datetime) -> Next:
        return self._handling_time(case, at), self.step_department

    def step_supervise(self, case: Case, at: datetime) -> Move | None:
        if case.is_open and not case.supervised:
            return Move(Action.SUPERVISE, self.actors.leader, note="请加快处理")
        return None

    def step_department(self, case: Case, at: datetime) -> Move | None:
        handler = self.actors.handler(case.department)  # type: ignore[arg-type]
        roll = self.rng.random()
        if roll < 0.04 and case.return_count == 0:
            return Move(Action.REQUEST_RETURN, handler, note="非本单位职责",
                        then=self._after((10, 60), self.step_decide_return))
        if roll < 0.06:
            return Move(Action.REQUEST_EXTENSION, handler, note="需协调施工，申请延期",
                        data={"value": "1", "unit": TimeUnit.WORK_DAY},
                        then=self._after((10, 60), self.step_decide_extension))
        if roll < 0.07:
            return Move(Action.REQUEST_SUSPENSION, handler, note="需纳入改造计划",
                        then=self._after((10, 60), self.step_decide_suspension))
        return Move(Action.HANDLE, handler, note="已按要求处置完毕", then=self._after((5, 30), self.step_send_check))

    def step_decide_return(self, case: Case, at: datetime) -> Move | None:
        if self.rng.random() < 0.7:
            return Move(Action.APPROVE_RETURN, self.actors.dispatcher, note="同意回退，重新派遣",
                        then=self._after((5, 30), self.step_redispatch))
        return Move(Action.REFUSE_RETURN, self.actors.dispatcher, note="属于本单位职责，请处置",
                    then=self._back_to_department)

    def step_redispatch(self, case: Case, at: datetime) -> Move | None:
        previous = case.events.filter(action="dispatch").order_by("-id").values_list("department_id", flat=True).first()
        kind = case.proposed_department.kind if case.proposed_department else "municipal"
        candidates = Department.objects.filter(is_active=True, kind=kind)
        if previous is not None:
            candidates = candidates.exclude(pk=previous)
        others = list(candidates.order_by("code").values_list("pk", flat=True)[:20])
        department = Department.objects.get(pk=self.rng.choice(others)) if others else None
        return Move(Action.DISPATCH, self.actors.dispatcher, data={"department": department},
                    then=self._back_to_department)

    def step_decide_extension(self, case: Case, at: datetime) -> Move | None:
        approve = self.rng.random() < 0.8
        return Move(Action.APPROVE_EXTENSION if approve else Action.REFUSE_EXTENSION, self.actors.dispatcher,
                    then=self._back_to_department)

    def step_decide_suspension(self, case: Case, at: datetime) -> Move | None:
        if self.rng.random() < 0.6:
            return Move(Action.APPROVE_SUSPENSION, self.actors.dispatcher,
                        then=self._after((8 * 60, 5 * 8 * 60), self.step_resume))
        return Move(Action.REFUSE_SUSPENSION, self.actors.dispatcher, then=self._back_to_department)

    def step_resume(self, case: Case, at: datetime) -> Move | None:
        return Move(Action.RESUME, self.actors.dispatcher, note="具备处置条件，恢复办理", then=self._back_to_department)

    def step_send_check(self, case: Case, at: datetime) -> Move | None:
        inspector = self.actors.inspector(self.districts[case.district_id])
        return Move(Action.SEND_CHECK, self.actors.operator, data={"inspector": inspector},
                    then=self._after((15, 75), self.step_check))

    def step_check(self, case: Case, at: datetime) -> Move | None:
        if self.rng.random() > 0.08:
            return Move(Action.CHECK_PASS, self.actors.by_id(case.assignee_id), note="已处置到位", then=self._after((3, 25), self.step_close))
        return Move(Action.REWORK, self.actors.by_id(case.assignee_id), note="现场仍未处理到位，返工", then=self._back_to_department)

    def step_close(self, case: Case, at: datetime) -> Move | None:
        return Move(Action.CLOSE, self.actors.shift_leader, then=self._closed)

    def _closed(self, case: Case, at: datetime) -> Next:
        if case.reporter_phone and self.rng.random() < 0.4:
            return at + timedelta(hours=self.rng.uniform(1, 48)), self.step_rate
        return None

    def step_rate(self, case: Case, at: datetime) -> Move | None:
        rating = self.rng.choices(Satisfaction.values, [80, 12, 8])[0]
        # The reporter rates by phone (the last four digits were checked when they called in).
        return Move(Action.RATE, None, data={"rating": rating}, as_reporter=True)

    # --- the clock ---------------------------------------------------------------------------------
    def run_until(self, until: datetime) -> None:
        """Apply every step due before ``until``, as batches with at most one step per case each."""
        while self.queue and self.queue[0][0] < until:
            due: list[tuple[datetime, int, Step]] = []
            later: list[tuple[datetime, int, int, Step]] = []
            seen: set[int] = set()
            while self.queue and self.queue[0][0] < until:
                entry = self._pop()
                if entry[2] in seen:
                    later.append(entry)
                else:
                    seen.add(entry[2])
                    due.append((entry[0], entry[2], entry[3]))
            for when, _, case_id, step in later:
                self._push(when, case_id, step)
            self._apply(due)

    def _apply(self, due: list[tuple[datetime, int, Step]]) -> None:
        cases = {case_id: self.live[case_id] for _, case_id, _ in due}
        planned: list[tuple[datetime, Case, Step, Move]] = []
        for when, case_id, step in due:
            move = step(cases[case_id], when)
            if move is not None:
                planned.append((when, cases[case_id], step, move))
        items = [
            TransitionInput(case=case, action=move.action, actor=move.actor, note=move.note, data=move.data,
                            as_reporter=move.as_reporter, at=when)
            for when, case, _, move in planned
        ]
        results = case_transition_many(items, notify=self.notify)
        for (when, _, step, move), result in zip(planned, results, strict=True):
            if isinstance(result, CityLoopError):
                if isinstance(result, InvalidTransition | ActionForbidden):
                    self.report.refused += 1
                continue
            self.report.actions[step.__name__.removeprefix("step_")] += 1
            self.live[result.pk] = result
            following = move.then(result, when)
            if following is not None:
                next_time, next_step = following
                self._push(max(next_time, when), result.pk, next_step)
        for _, case_id, _ in due:
            if not self.queued[case_id]:
                del self.queued[case_id]
                del self.live[case_id]

    def run(self, progress: Callable[[int], None] | None = None) -> SimulationReport:
        for offset in range(self.days):
            day = self.start + timedelta(days=offset)
            with transaction.atomic():
                times = sorted(self._report_time(day, self.rng.choices([s for s, _ in SOURCE_MIX],
                                                                        [w for _, w in SOURCE_MIX])[0])
                               for _ in range(self.rate))
                tick = _midnight(day)
                end = _midnight(day + timedelta(days=1))
                position = 0
                while tick < end:
                    tick += TICK
                    self.run_until(tick)
                    batch = []
                    while position < len(times) and times[position] < tick:
                        batch.append(self.report_input(times[position]))
                        position += 1
                    for item, result in zip(batch, case_report_many(batch), strict=True):
                        self.after_report(result.case, item.at or tick)
                self.run_until(end)
            self.report.days += 1
            if progress:
                progress(offset + 1)
        return self.report


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.get_current_timezone())


def simulate(*, days: int = 30, seed: int = 1, rate: int = 2000, start: date | None = None,
             progress: Callable[[int], None] | None = None, notify: bool = True) -> SimulationReport:
    """Simulate ``days`` days of ``rate`` reports a day from ``start`` (default: ``days`` days ago).

    ``notify=False`` writes the record without the in-app notifications the actions would send.
    """
    if days < 1 or rate < 1:
        raise ValidationFailed("天数和每日上报量必须大于 0")
    first_day = start or (timezone.localdate() - timedelta(days=days))
    return Simulation(seed=seed, rate=rate, start=first_day, days=days, notify=notify).run(progress)
