"""A hand-built fortnight across the 2026 National Day holiday, played through the real case services.

The small city of ``cases/tests/conftest.py``: 历下区 (4 unit grids, 0.04 km²) and 市中区 (1 grid, 0.01 km²);
01001 供水井盖 routed to 市政中心 with a limit of 4 工作时, 06010 暴露垃圾 routed to 环卫中心 with 2 工作日;
every other stage (受理, 核实, 立案, 派遣, 核查, 结案) 1 工作时. Working hours 08:30–12:00 and 13:30–17:30
(7.5 h a day). The 2026 calendar: 中秋 25–27 Sep, 国庆 1–7 Oct off; Sunday 20 Sep and Saturday 10 Oct are
make-up working days (调休上班); Sunday 11 Oct is off.

The evaluated period is 28 Sep – 11 Oct (14 days), figures taken at 20 Oct 12:00. The previous period
(14–27 Sep) holds one case, C0. The deadline of every stage that matters is written next to it; they were
worked out by hand and checked against ``WorkingCalendar``. The expected numbers are in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace

from cityloop.cases import services
from cityloop.cases.models import Case
from cityloop.cases.statuses import Source
from cityloop.cases.tests.conftest import City, Personas, at
from cityloop.evaluation.periods import Period
from cityloop.geo.models import ResponsibilityGrid

AS_OF = at(2026, 10, 20, 12, 0)
PERIOD = Period.between(date(2026, 9, 28), date(2026, 10, 11)).at(AS_OF)
PREVIOUS = PERIOD.previous()


@dataclass
class Flow:
    """Shortcuts over the case services for one case."""

    city: City
    people: Personas
    case: Case

    def _refresh(self, case: Case) -> Flow:
        self.case = case
        return self

    def register(self, when: datetime, actor=None) -> Flow:
        return self._refresh(services.case_register(case=self.case, actor=actor or self.people.operator, at=when))

    def dispatch(self, when: datetime, department=None) -> Flow:
        return self._refresh(services.case_dispatch(case=self.case, actor=self.people.dispatcher,
                                                    department=department, at=when))

    def handle(self, when: datetime, handler=None) -> Flow:
        if handler is None:
            handler = self.people.handler_a if self.case.department_id == self.city.municipal.pk else self.people.handler_b
        return self._refresh(services.case_handle(case=self.case, actor=handler, note="已处置", at=when))

    def check(self, sent: datetime, checked: datetime, *, passed: bool = True, inspector=None,
              note: str = "") -> Flow:
        inspector = inspector or self.people.inspector
        services.case_send_check(case=self.case, actor=self.people.operator, inspector=inspector, at=sent)
        return self._refresh(services.case_check(case=self.case, actor=inspector, passed=passed,
                                                 note=note or ("已处置到位" if passed else "仍未处置到位"), at=checked))

    def close(self, when: datetime) -> Flow:
        return self._refresh(services.case_close(case=self.case, actor=self.people.shift_leader, at=when))

    def request(self, kind: str, asked: datetime, decided: datetime, *, approve: bool = True, handler=None,
                **extra) -> Flow:
        handler = handler or (self.people.handler_a if self.case.department_id == self.city.municipal.pk
                              else self.people.handler_b)
        services.case_request(case=self.case, actor=handler, kind=kind, reason="申请", at=asked, **extra)
        return self._refresh(services.case_decide(case=self.case, actor=self.people.dispatcher, approve=approve,
                                                  at=decided))


def build(city: City, people: Personas, jpeg: bytes) -> SimpleNamespace:
    """Play the scenario; returns the cases by name (C0 … C19)."""

    def report(name: str, when: datetime, *, grid: int, category=None, source: str = Source.INSPECTOR,
               **kwargs) -> Flow:
        lon, lat = city.point(grid)
        reporter = kwargs.pop("reporter", people.inspector if source == Source.INSPECTOR else None)
        case = services.case_report(source=source, category=category or city.manhole, description=f"{name} 问题",
                                    lon=lon, lat=lat, reporter=reporter, at=when, **kwargs).case
        return Flow(city, people, case)

    garbage = city.garbage
    # 王建国 patrols grids 0 and 1 (his beat); 钱进 has no beat, so his region (all of 历下区) counts.
    beat = ResponsibilityGrid.objects.create(code="B01", name="甲一组")
    beat.grids.add(city.grids[0], city.grids[1])
    beat.inspectors.add(people.inspector)

    c = SimpleNamespace()
    # C0 — previous period. Sunday 20 Sep is a make-up working day, so the 4 工作时 run 16:10–17:30 that day
    # and 08:30–11:10 on Monday: due 21 Sep 11:10; handled 11:30, late (without the make-up day it would
    # have been due at 14:00 and on time).
    c.C0 = (report("C0", at(2026, 9, 20, 16, 0), grid=0).register(at(2026, 9, 20, 16, 5))
            .dispatch(at(2026, 9, 20, 16, 10)).handle(at(2026, 9, 21, 11, 30))
            .check(at(2026, 9, 21, 11, 35), at(2026, 9, 21, 13, 40)).close(at(2026, 9, 21, 14, 0)).case)
    # C1 — all on time. Handle due 28 Sep 14:50; check due 12:00; close due 14:10.
    c.C1 = (report("C1", at(2026, 9, 28, 9, 0), grid=0).register(at(2026, 9, 28, 9, 10))
            .dispatch(at(2026, 9, 28, 9, 20)).handle(at(2026, 9, 28, 11, 0))
            .check(at(2026, 9, 28, 11, 10), at(2026, 9, 28, 11, 40)).close(at(2026, 9, 28, 14, 0)).case)
    # C2 — across the holiday: dispatched 30 Sep 15:00, 4 工作时 = 2.5 h that day + 1.5 h on 8 Oct: due
    # 8 Oct 10:00; handled 8 Oct 09:30, on time (a 24-hour clock would call it a week late).
    c.C2 = (report("C2", at(2026, 9, 30, 14, 0), grid=1).register(at(2026, 9, 30, 14, 5))
            .dispatch(at(2026, 9, 30, 15, 0)).handle(at(2026, 10, 8, 9, 30))
            .check(at(2026, 10, 8, 9, 40), at(2026, 10, 8, 10, 20)).close(at(2026, 10, 8, 11, 0)).case)
    # C3 — handle due 8 Oct 11:10, handled 14:00: late (超期处置). Close stage 14:30–15:30, closed 16:00: late.
    c.C3 = (report("C3", at(2026, 9, 30, 16, 0), grid=2).register(at(2026, 9, 30, 16, 5))
            .dispatch(at(2026, 9, 30, 16, 10)).handle(at(2026, 10, 8, 14, 0))
            .check(at(2026, 10, 8, 14, 10), at(2026, 10, 8, 14, 30)).close(at(2026, 10, 8, 16, 0)).case)
    # C4 — rework (返工): first handling on time (due 14:40), the check fails at 10:30, the re-do is due
    # 8 Oct 16:00 and is handled 9 Oct 09:00: late.
    f4 = (report("C4", at(2026, 10, 8, 9, 0), grid=3).register(at(2026, 10, 8, 9, 5))
          .dispatch(at(2026, 10, 8, 9, 10)))
    # C14 — the same problem reported again at the same place: a duplicate of C4, merged (合并).
    f14 = report("C14", at(2026, 10, 8, 9, 20), grid=3)
    assert f14.case.duplicate_candidates == [f4.case.pk]
    c.C14 = services.case_merge(case=f14.case, into=f4.case, actor=people.operator, at=at(2026, 10, 8, 9, 25))
    c.C4 = (f4.handle(at(2026, 10, 8, 10, 0))
            .check(at(2026, 10, 8, 10, 5), at(2026, 10, 8, 10, 30), passed=False, note="井盖仍然松动")
            .handle(at(2026, 10, 9, 9, 0)).check(at(2026, 10, 9, 9, 5), at(2026, 10, 9, 9, 30))
            .close(at(2026, 10, 9, 10, 0)).case)
    # C5 — garbage sent to 市政中心 by mistake; 市政 gets the return (回退) approved, 环卫 handles it on the
    # make-up Saturday 10 Oct 15:00 (due 12 Oct 10:40).
    f5 = (report("C5", at(2026, 10, 9, 9, 0), grid=0, category=garbage).register(at(2026, 10, 9, 9, 5))
          .dispatch(at(2026, 10, 9, 9, 10), department=city.municipal))
    f5.request("return", at(2026, 10, 9, 10, 0), at(2026, 10, 9, 10, 30))
    c.C5 = (f5.dispatch(at(2026, 10, 9, 10, 40)).handle(at(2026, 10, 10, 15, 0))
            .check(at(2026, 10, 10, 15, 10), at(2026, 10, 10, 15, 50)).close(at(2026, 10, 10, 16, 30)).case)
    # C6 — extension (延期) of 1 工作日: due 30 Sep 10:10 → 8 Oct 10:10; handled 8 Oct 10:00, on time.
    f6 = (report("C6", at(2026, 9, 28, 10, 0), grid=1, category=garbage).register(at(2026, 9, 28, 10, 5))
          .dispatch(at(2026, 9, 28, 10, 10)))
    f6.request("extension", at(2026, 9, 29, 9, 0), at(2026, 9, 29, 9, 30), value="1", unit="work_day")
    c.C6 = (f6.handle(at(2026, 10, 8, 10, 0)).check(at(2026, 10, 8, 10, 5), at(2026, 10, 8, 10, 45))
            .close(at(2026, 10, 8, 11, 30)).case)
    # C7 — suspension (挂账) 29 Sep 10:30 → resumed 9 Oct 09:00: 21 working hours paused, the deadline moves
    # from 8 Oct 09:10 to 10 Oct 16:40; never handled, so overdue and unhandled (超时未处置) on 20 Oct.
    f7 = (report("C7", at(2026, 9, 29, 9, 0), grid=2, category=garbage).register(at(2026, 9, 29, 9, 5))
          .dispatch(at(2026, 9, 29, 9, 10)))
    f7.request("suspension", at(2026, 9, 29, 10, 0), at(2026, 9, 29, 10, 30))
    c.C7 = services.case_resume(case=f7.case, actor=people.dispatcher, at=at(2026, 10, 9, 9, 0))
    # C8 — suspended on 9 Oct and still suspended: in progress (处置中), its clock stopped.
    f8 = (report("C8", at(2026, 10, 9, 14, 0), grid=0).register(at(2026, 10, 9, 14, 5))
          .dispatch(at(2026, 10, 9, 14, 10)))
    c.C8 = f8.request("suspension", at(2026, 10, 9, 15, 0), at(2026, 10, 9, 15, 30)).case
    # C9 — dispatched on the make-up Saturday, due 10 Oct 14:40, never handled; a leader supervises it (督办)
    # on Sunday 11 Oct.
    c.C9 = (report("C9", at(2026, 10, 10, 9, 0), grid=1).register(at(2026, 10, 10, 9, 5))
            .dispatch(at(2026, 10, 10, 9, 10)).case)
    c.C9 = services.case_supervise(case=c.C9, actor=people.leader, note="请尽快处置", at=at(2026, 10, 11, 9, 0))
    # C10 — hotline on a holiday (3 Oct): the 受理 stage is due 8 Oct 09:30, the task is sent 09:00 (on time).
    # Verified 09:50, registered 10:00, dispatched 10:30 (due 11:00), handled 9 Oct 16:00 (due 10 Oct 10:30),
    # checked 16:40, closed 10 Oct 08:35 (close stage due 08:40). Rated 不满意 on 11 Oct.
    f10 = report("C10", at(2026, 10, 3, 10, 0), grid=0, category=garbage, source=Source.HOTLINE,
                 reporter_phone="13900001111")
    services.case_send_verify(case=f10.case, actor=people.operator, inspector=people.inspector, at=at(2026, 10, 8, 9, 0))
    services.case_verify(case=f10.case, actor=people.inspector, valid=True, at=at(2026, 10, 8, 9, 50))
    c.C10 = (f10.register(at(2026, 10, 8, 10, 0)).dispatch(at(2026, 10, 8, 10, 30)).handle(at(2026, 10, 9, 16, 0))
             .check(at(2026, 10, 9, 16, 10), at(2026, 10, 9, 16, 40)).close(at(2026, 10, 10, 8, 35)).case)
    c.C10 = services.case_rate(case=c.C10, rating=1, phone_last4="1111", at=at(2026, 10, 11, 10, 0))
    # C11 — a citizen's report at night; the verify task goes out late (受理 due 9 Oct 09:30, sent 10:00),
    # 钱进 verifies late (due 11:00, at 11:30); registered 13:40 (due 14:00); dispatched 15:00, late (due
    # 14:40); handled 10 Oct 11:00 (due 12 Oct 15:00); the check task is sent 12:10, after the check stage's
    # deadline (12:00), and 钱进 checks at 13:40, late; closed 14:00 (due 14:40). Rated 满意.
    f11 = report("C11", at(2026, 10, 8, 20, 0), grid=1, category=garbage, source=Source.PUBLIC,
                 reporter=people.citizen)
    services.case_send_verify(case=f11.case, actor=people.operator, inspector=people.other_inspector,
                              at=at(2026, 10, 9, 10, 0))
    services.case_verify(case=f11.case, actor=people.other_inspector, valid=True, at=at(2026, 10, 9, 11, 30))
    c.C11 = (f11.register(at(2026, 10, 9, 13, 40)).dispatch(at(2026, 10, 9, 15, 0)).handle(at(2026, 10, 10, 11, 0))
             .check(at(2026, 10, 10, 12, 10), at(2026, 10, 10, 13, 40), inspector=people.other_inspector)
             .close(at(2026, 10, 10, 14, 0)).case)
    c.C11 = services.case_rate(case=c.C11, rating=3, actor=people.citizen, at=at(2026, 10, 11, 9, 0))
    # C12 — hotline, verified not true (不属实), rejected.
    f12 = report("C12", at(2026, 10, 9, 9, 0), grid=2, category=garbage, source=Source.HOTLINE,
                 reporter_phone="13900002222")
    services.case_send_verify(case=f12.case, actor=people.operator, inspector=people.inspector, at=at(2026, 10, 9, 9, 10))
    services.case_verify(case=f12.case, actor=people.inspector, valid=False, at=at(2026, 10, 9, 9, 40))
    c.C12 = services.case_reject(case=f12.case, actor=people.operator, note="核实不属实", at=at(2026, 10, 9, 9, 50))
    # C13 — hotline in 市中区, registered without a verify task (no inspector covers 市中区); handled on time
    # (due 16:00); the check task was never sent (no inspector to send it to).
    c.C13 = (report("C13", at(2026, 9, 28, 10, 0), grid=4, source=Source.HOTLINE, reporter_phone="13900003333")
             .register(at(2026, 9, 28, 10, 20)).dispatch(at(2026, 9, 28, 10, 30)).handle(at(2026, 9, 28, 15, 0)).case)
    # C15 — rejected (不予立案).
    f15 = report("C15", at(2026, 10, 9, 10, 0), grid=1)
    c.C15 = services.case_reject(case=f15.case, actor=people.operator, note="不符合立案条件", at=at(2026, 10, 9, 10, 20))
    # C16 — handled by the inspector on the spot (自处理), approved: registered and closed at once.
    f16 = report("C16", at(2026, 9, 29, 14, 0), grid=2, self_handled=True, after_photos=[jpeg])
    c.C16 = services.case_review_self_handling(case=f16.case, actor=people.operator, approve=True,
                                               at=at(2026, 9, 29, 14, 20))
    # C17 — registered, then voided (作废) by the shift leader.
    f17 = report("C17", at(2026, 9, 30, 9, 0), grid=3).register(at(2026, 9, 30, 9, 5))
    c.C17 = services.case_void(case=f17.case, actor=people.shift_leader, note="重复立案", at=at(2026, 9, 30, 9, 30))
    # C18 — registered by the shift leader, late (立案 due 11:00, at 11:30); handled 13 Oct (after the period).
    c.C18 = (report("C18", at(2026, 10, 10, 10, 0), grid=0, category=garbage)
             .register(at(2026, 10, 10, 11, 30), actor=people.shift_leader).dispatch(at(2026, 10, 10, 11, 40))
             .handle(at(2026, 10, 13, 9, 0)).check(at(2026, 10, 13, 9, 10), at(2026, 10, 13, 9, 40))
             .close(at(2026, 10, 13, 10, 0)).case)
    # C19 — garbage sent to 市政中心 twice and returned twice (推诿), then 环卫 handles it on time (due 10 Oct
    # 15:20, handled 10:00); the check task has not been sent.
    f19 = (report("C19", at(2026, 10, 8, 14, 0), grid=1, category=garbage).register(at(2026, 10, 8, 14, 5))
           .dispatch(at(2026, 10, 8, 14, 20), department=city.municipal))
    f19.request("return", at(2026, 10, 8, 14, 30), at(2026, 10, 8, 14, 40))
    f19.dispatch(at(2026, 10, 8, 14, 50), department=city.municipal)
    f19.request("return", at(2026, 10, 8, 15, 0), at(2026, 10, 8, 15, 10))
    c.C19 = f19.dispatch(at(2026, 10, 8, 15, 20)).handle(at(2026, 10, 10, 10, 0)).case
    return c
