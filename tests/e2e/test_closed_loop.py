"""The closed loop in a real browser (issue #4).

A citizen's 随手拍 report goes through verification, registration, dispatch, handling, check and close on the real
pages, the citizen follows and rates it, and a handler of another department sees none of it. The same module checks
that every form control of the main pages has a label, that sign-in and a case action work from the keyboard, and
saves screenshots of the main pages in desktop and phone viewports under ``artifacts/screenshots/``.

Runs against pytest-django's ``live_server`` in headless Chromium; see ``conftest.py`` and docs/testing.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from cityloop.cases import services
from cityloop.cases.models import Case, CaseEvent
from cityloop.cases.statuses import Action, CaseStatus, Source
from cityloop.cases.tests.conftest import City, Personas

from .conftest import DESKTOP, PASSWORD, PHONE, PageProblems, jpeg_file

# Transactional: the live server answers from its own thread. serialized_rollback: each test starts with the rows
# that migrations seed (e.g. the evaluation schemes), even after an earlier transactional test flushed them.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]

CITIZEN_PHONE = "13800001234"
INSPECTOR_OPTION = "王建国（inspector）"

# --- helpers --------------------------------------------------------------------------------------------------


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def status_badge(page: Any) -> Any:
    return page.locator("#case-panel .case-head .status")


def timeline(page: Any) -> Any:
    return page.locator("#case-panel ol.timeline")


def open_case_from_queue(page: Any, queue: str, number: str) -> None:
    """Workbench → the queue (count 1) → the case list → the case page, as a user clicks through."""
    page.goto("/")
    link = page.locator(f'a[data-queue="{queue}"]')
    expect(link.locator(".value")).to_have_text("1")
    link.click()
    expect(page.locator("#case-results")).to_contain_text(number)
    page.locator("#case-results").get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"案卷 {number}")


def act(page: Any, action: str, label: str, *, select: dict[str, str] | None = None, note: str = "",
        photos: list[Any] | None = None) -> None:
    """Open the action's form on the case page, fill it, confirm, and wait for the HTMX panel swap."""
    box = page.locator(f'#case-panel details[data-action="{action}"]')
    box.locator("summary").click()
    expect(box).to_have_attribute("open", "")
    for name, option in (select or {}).items():
        box.locator(f'select[name="{name}"]').select_option(label=option)
    if photos:
        box.locator('input[name="photos"]').set_input_files([str(p) for p in photos])
    if note:
        box.locator('textarea[name="note"]').fill(note)
    with page.expect_response(lambda r: f"/act/{action}/" in r.url and r.request.method == "POST") as answer:
        box.get_by_role("button", name=f"确认{label}").click()
    assert answer.value.status == 200, f"{action}: HTTP {answer.value.status}"
    expect(page.locator("#case-panel .notice.ok")).to_have_text(f"已完成“{label}”")


#: Every form control (input except hidden/submit/button/reset/image, select, textarea) needs a non-empty label:
#: <label for>, a wrapping <label>, aria-label or aria-labelledby. <details> are unfolded for the check (so the
#: folded action forms count) and folded again afterwards.
LABEL_CHECK_JS = """
() => {
  const folded = Array.from(document.querySelectorAll('details:not([open])'));
  folded.forEach((d) => { d.open = true; });
  const selector = 'input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset])'
                 + ':not([type=image]), select, textarea';
  const problems = [];
  let checked = 0;
  for (const el of document.querySelectorAll(selector)) {
    const visible = el.checkVisibility ? el.checkVisibility({visibilityProperty: true}) : !!el.getClientRects().length;
    if (!visible && el.type !== 'file') continue;  // file inputs are often visually hidden behind their label
    checked += 1;
    const names = Array.from(el.labels || [], (label) => label.textContent);
    names.push(el.getAttribute('aria-label') || '');
    for (const id of (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)) {
      const ref = document.getElementById(id);
      names.push(ref ? ref.textContent : '');
    }
    if (!names.some((name) => name.trim())) {
      problems.push(`<${el.tagName.toLowerCase()} type=${el.type} id=${el.id || '-'} name=${el.name || '-'}>`);
    }
  }
  folded.forEach((d) => { d.open = false; });
  return {checked, problems};
}
"""


class LabelAudit:
    """Collects unlabelled controls page by page; ``assert audit.clean()`` at the end of a test."""

    def __init__(self) -> None:
        self.violations: dict[str, list[str]] = {}
        self.pages = 0
        self.controls = 0

    def __call__(self, page: Any, name: str) -> None:
        result = page.evaluate(LABEL_CHECK_JS)
        self.pages += 1
        self.controls += result["checked"]
        if result["problems"]:
            self.violations[f"{name} ({page.url})"] = result["problems"]

    def report(self) -> str:
        return "form controls without a label:\n" + "\n".join(
            f"  {page}: {', '.join(items)}" for page, items in self.violations.items())


def focused(page: Any) -> str:
    """The focused element as ``tag|id|data-action of its <details>|text``."""
    return page.evaluate("""() => {
      const el = document.activeElement;
      if (!el) return '';
      const details = el.closest('details');
      return [el.tagName.toLowerCase(), el.id || '', details ? details.dataset.action || '' : '',
              (el.textContent || '').trim().slice(0, 20)].join('|');
    }""")


def tab_until(page: Any, matches: Callable[[str], bool], limit: int = 40) -> int:
    """Press Tab until the focused element matches; returns the number of presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if matches(focused(page)):
            return presses
    raise AssertionError(f"not reached by Tab within {limit} presses; focus is on {focused(page)}")


# --- the closed loop --------------------------------------------------------------------------------------------


def test_closed_loop_through_the_pages(city: City, users: Personas, open_page, login, shot, tmp_path,
                                       live_server, page_problems: PageProblems) -> None:
    started = timezone.now()
    audit = LabelAudit()
    before = jpeg_file(tmp_path, "before.jpg", (180, 90, 40))
    after = jpeg_file(tmp_path, "after.jpg", (60, 150, 90))
    lon, lat = city.point(0)

    # 1. A citizen reports on /public/ from the phone: position from geolocation, a photo, a searched category.
    citizen = open_page("phone", geolocation=(lon, lat))
    citizen.goto("/public/")
    expect(citizen.locator("#report-map.leaflet-container")).to_be_visible()
    expect(citizen.locator("[data-location-status]")).to_contain_text("已获取当前位置")
    for field, expected in (("#id_lon", lon), ("#id_lat", lat)):
        expect(citizen.locator(field)).to_have_value(re.compile(r"^\d+\.\d+$"))
        assert abs(float(citizen.locator(field).input_value()) - expected) < 1e-6, field
    citizen.locator("#id_photos_gallery").set_input_files(str(before))
    expect(citizen.locator('[data-thumbs="photos"] li')).to_have_count(1)
    citizen.get_by_label("没有合适的？搜索其他问题分类").fill("井盖")
    citizen.locator("[data-category-results]").get_by_role("button", name="供水井盖（01001）").click()
    expect(citizen.locator('input[name="category"][value="01001"]')).to_be_checked()
    citizen.get_by_label("问题描述").fill("人行道上的供水井盖破损，有行人跌落危险")
    citizen.get_by_label("地址").fill("甲街道 8 号门前")
    citizen.get_by_label("手机号").fill(CITIZEN_PHONE)
    audit(citizen, "citizen report")
    shot(citizen, "loop-01-citizen-report-phone")
    citizen.get_by_role("button", name="提交上报").click()
    expect(citizen).to_have_url(f"{live_server.url}/public/done/")
    expect(citizen.locator(".m-done")).to_contain_text("感谢您的反映！您的案卷编号是：")
    number = citizen.locator(".m-case-number").inner_text().strip()
    assert re.fullmatch(r"\d{10}", number), number
    shot(citizen, "loop-01-citizen-done-phone")

    # 2. The operator (desk) finds it in 待立案 and sends a verification task to the inspector.
    operator = open_page("desktop")
    login(operator, users.operator)
    open_case_from_queue(operator, "reported", number)
    expect(status_badge(operator)).to_have_text("已上报")
    expect(operator.locator("#case-panel .fields")).to_contain_text("公众举报")
    expect(operator.locator('#case-panel img[alt="处置前照片 1"]')).to_be_visible()
    audit(operator, "operator case page, reported")
    act(operator, "send_verify", "派发核实", select={"inspector": INSPECTOR_OPTION})
    expect(status_badge(operator)).to_have_text("核实中")
    expect(timeline(operator)).to_contain_text("派发核实")
    expect(timeline(operator)).to_contain_text("监督员：inspector")
    shot(operator, "loop-02-operator-sent-verify-desktop")

    # 3. The inspector verifies it as true on the phone (/m/tasks/).
    inspector = open_page("phone", geolocation=city.point(1))
    login(inspector, users.inspector, "/m/tasks/")
    card = inspector.locator("li[data-task]", has_text=number)
    expect(inspector.locator("#verify-heading .m-count")).to_have_text("1")
    expect(card).to_contain_text("供水井盖")
    expect(card.locator("[data-distance]")).to_contain_text("距您约")
    audit(inspector, "inspector tasks, verify")
    shot(inspector, "loop-03-inspector-verify-task-phone")
    card.get_by_role("button", name="核实属实").click()
    expect(inspector.locator(".messages")).to_have_text(f"案卷 {number} 已核实：属实")
    expect(inspector.get_by_text("暂无核实任务")).to_be_visible()

    # 4. The operator registers it.
    operator.reload()
    expect(status_badge(operator)).to_have_text("已上报")
    expect(timeline(operator)).to_contain_text("核实结果：属实")
    act(operator, "register", "立案")
    expect(status_badge(operator)).to_have_text("已立案")

    # 5. The dispatcher dispatches it to the routed department (市政中心 proposed and preselected).
    dispatcher = open_page("desktop")
    login(dispatcher, users.dispatcher)
    open_case_from_queue(dispatcher, "registered", number)
    expect(status_badge(dispatcher)).to_have_text("已立案")
    audit(dispatcher, "dispatcher case page, registered")
    proposal = dispatcher.locator('#case-panel details[data-action="dispatch"]')
    expect(proposal).to_contain_text("派遣建议：市政中心")
    expect(proposal.locator('select[name="department"] option:checked')).to_have_text("市政中心（建议）")
    act(dispatcher, "dispatch", "派遣")
    expect(status_badge(dispatcher)).to_have_text("处置中")
    expect(timeline(dispatcher)).to_contain_text("派遣到 市政中心")

    # 6. handler_a (市政中心) handles it with an after photo.
    handler = open_page("desktop")
    login(handler, users.handler_a)
    open_case_from_queue(handler, "dispatched", number)
    audit(handler, "handler case page, dispatched")
    act(handler, "handle", "处置反馈", note="已更换新井盖并恢复路面", photos=[after])
    expect(status_badge(handler)).to_have_text("已处置")
    expect(handler.locator('#case-panel img[alt="处置后照片 1"]')).to_be_visible()
    shot(handler, "loop-06-handler-handled-desktop")

    # 7. The operator sends the check task (from 待核查).
    open_case_from_queue(operator, "to_check", number)
    expect(status_badge(operator)).to_have_text("已处置")
    act(operator, "send_check", "派发核查", select={"inspector": INSPECTOR_OPTION})
    expect(status_badge(operator)).to_have_text("核查中")

    # 8. The inspector checks it on the phone: pass, with a photo and a remark.
    inspector.goto("/m/tasks/")
    card = inspector.locator("li[data-task]", has_text=number)
    expect(inspector.locator("#check-heading .m-count")).to_have_text("1")
    audit(inspector, "inspector tasks, check")
    card.get_by_label("处置后现场照片").set_input_files(str(after))
    card.get_by_label("核查意见（不通过时必填）").fill("现场已修复")
    card.get_by_role("button", name="核查通过").click()
    expect(inspector.locator(".messages")).to_have_text(f"案卷 {number} 核查通过")
    expect(inspector.get_by_text("暂无核查任务")).to_be_visible()

    # 9. The shift leader closes it from 待结案.
    leader = open_page("desktop")
    login(leader, users.shift_leader)
    open_case_from_queue(leader, "to_close", number)
    expect(leader.locator("#case-panel .case-head")).to_contain_text("核查通过，待结案")
    audit(leader, "shift leader case page, check passed")
    act(leader, "close", "结案")
    expect(status_badge(leader)).to_have_text("已结案")
    for entry in ("上报", "派发核实", "核实回复", "立案", "派遣", "处置反馈", "派发核查", "核查通过", "结案"):
        expect(timeline(leader)).to_contain_text(entry)
    shot(leader, "loop-09-leader-closed-desktop")
    case_id = int(leader.url.rstrip("/").rsplit("/", 1)[-1])
    # The control for step 11: the map data of a user who may see the case includes it.
    assert case_id in [row[0] for row in leader.request.get("/map/cases.json").json()["rows"]]

    # 10. The citizen follows it with the number and the phone's last four digits, and rates it.
    citizen.goto("/public/done/")
    citizen.get_by_role("link", name="查询进度").click()
    expect(citizen.get_by_label("案卷编号")).to_have_value(number)
    audit(citizen, "citizen track form")
    citizen.get_by_label("手机号后四位").fill(CITIZEN_PHONE[-4:])
    citizen.get_by_role("button", name="查询", exact=True).click()
    expect(citizen.locator(".m-big-status")).to_have_text("已结案")
    track = citizen.locator("ol.m-timeline")
    for entry in ("上报", "派发核实", "立案", "派遣", "处置反馈", "核查通过", "结案"):
        expect(track).to_contain_text(entry)
    expect(track).to_contain_text("已更换新井盖并恢复路面")  # the handling note is public
    expect(citizen.locator(".m-photos img")).to_have_count(3)  # before; after (handler); after (check)
    audit(citizen, "citizen track, closed")
    citizen.get_by_label("满意", exact=True).check()
    citizen.get_by_role("button", name="提交评价").click()
    expect(citizen.locator(".m-notice")).to_have_text("感谢您的评价！")
    expect(citizen.get_by_text("您的评价：满意")).to_be_visible()
    shot(citizen, "loop-10-citizen-rated-phone")

    # 11. handler_b (环卫中心) sees none of it: queues, list, search, the case page, an action, the map data.
    other = open_page("desktop")
    login(other, users.handler_b)
    queue_values = other.locator("ul.queues .value")
    expect(queue_values).to_have_count(3)  # 待处置, 即将超期, 已超期
    for value in queue_values.all():
        expect(value).to_have_text("0")
    other.goto("/cases/")
    expect(other.locator("#case-results")).to_contain_text("共 0 件")
    other.goto(f"/cases/?q={number}")
    expect(other.locator("#case-results")).to_contain_text("没有符合条件的案卷。")
    refused = other.goto(f"/cases/{case_id}/")
    assert refused is not None and refused.status in (403, 404), refused and refused.status
    expect(other.locator("main")).not_to_contain_text("已更换新井盖")
    assert case_id not in [row[0] for row in other.request.get("/map/cases.json").json()["rows"]]
    assert other.request.get("/map/grid-counts.geojson").json()["features"] == []
    token = next(c["value"] for c in other.context.cookies() if c["name"] == "csrftoken")
    refused_action = other.request.post(f"/cases/{case_id}/act/close/", form={"version": "1"},
                                        headers={"X-CSRFToken": token})
    assert refused_action.status == 404 or (
        refused_action.status == 403 and "无权访问" in refused_action.text()), refused_action.status

    # The database agrees: closed, rated, and every step recorded in order by the right person.
    case = Case.objects.select_related("category").get(number=number)
    assert case.pk == case_id
    assert case.source == Source.PUBLIC and case.category.code == "01001" and case.reporter_phone == CITIZEN_PHONE
    assert case.status == CaseStatus.CLOSED and case.closed_at is not None and case.closed_at >= started
    assert case.satisfaction == 3  # 满意
    assert case.department_id == city.municipal.pk and case.check_passed
    events = list(CaseEvent.objects.filter(case=case).order_by("created_at", "pk")
                  .values_list("action", "actor__username", "to_status"))
    assert events == [
        (Action.REPORT, None, CaseStatus.REPORTED),
        (Action.SEND_VERIFY, "operator", CaseStatus.VERIFYING),
        (Action.VERIFY, "inspector", CaseStatus.REPORTED),
        (Action.REGISTER, "operator", CaseStatus.REGISTERED),
        (Action.DISPATCH, "dispatcher", CaseStatus.DISPATCHED),
        (Action.HANDLE, "handler", CaseStatus.HANDLED),
        (Action.SEND_CHECK, "operator", CaseStatus.CHECKING),
        (Action.CHECK_PASS, "inspector", CaseStatus.CHECKING),
        (Action.CLOSE, "shiftlead", CaseStatus.CLOSED),
        (Action.RATE, None, CaseStatus.CLOSED),
    ]
    assert audit.pages == 9 and audit.controls > 20 and not audit.violations, audit.report()
    assert page_problems.items == []


# --- the main pages in both viewports: labels and screenshots ----------------------------------------------------


def _cases_for_the_pages(city: City, people: Personas) -> dict[str, Case]:
    """A case waiting for registration, a verify and a check task for the inspector, a closed public case."""

    def report(grid: int, **kwargs: Any) -> Case:
        lon, lat = city.point(grid)
        kwargs.setdefault("category", city.manhole)
        kwargs.setdefault("source", Source.INSPECTOR)
        if kwargs["source"] == Source.INSPECTOR:
            kwargs.setdefault("reporter", people.inspector)
        return services.case_report(lon=lon, lat=lat, **kwargs).case

    reported = report(0, description="井盖缺失", address="甲街道 1 号")
    services.case_send_verify(
        case=report(3, source=Source.PUBLIC, category=city.garbage, description="垃圾堆积", reporter_phone="13912345678"),
        actor=people.operator, inspector=people.inspector,
    )
    checking = report(1, description="井盖松动")
    services.case_register(case=checking, actor=people.operator)
    services.case_dispatch(case=checking, actor=people.dispatcher)
    services.case_handle(case=checking, actor=people.handler_a, note="已加固")
    services.case_send_check(case=checking, actor=people.operator, inspector=people.inspector)
    closed = report(2, source=Source.PUBLIC, category=city.garbage, description="路边暴露垃圾",
                    reporter_phone=CITIZEN_PHONE)
    services.case_register(case=closed, actor=people.operator)
    services.case_dispatch(case=closed, actor=people.dispatcher)
    services.case_handle(case=closed, actor=people.handler_b, note="垃圾已清运")
    services.case_send_check(case=closed, actor=people.operator, inspector=people.inspector)
    services.case_check(case=closed, actor=people.inspector, passed=True)
    closed = services.case_close(case=closed, actor=people.shift_leader)
    return {"reported": reported, "closed": closed}


def test_main_pages_in_desktop_and_phone_viewports(city: City, users: Personas, open_page, login, shot,
                                                   page_problems: PageProblems) -> None:
    """Each main page, as its user sees it, at 1280×800 and 360×740: a screenshot and the label check."""
    cases = _cases_for_the_pages(city, users)
    audit = LabelAudit()
    anonymous = open_page("desktop", geolocation=city.point(0))
    operator = open_page("desktop")
    login(operator, users.operator)
    dispatcher = open_page("desktop")
    login(dispatcher, users.dispatcher)
    inspector = open_page("desktop", geolocation=city.point(1))
    login(inspector, users.inspector, "/m/tasks/")

    def visit(page: Any, url: str, name: str, ready: Callable[[Any], None], kind: str) -> None:
        page.goto(url)
        ready(page)
        shot(page, f"{kind}-{name}")
        audit(page, f"{kind} {name}")

    def track(page: Any) -> None:
        page.get_by_label("手机号后四位").fill(CITIZEN_PHONE[-4:])
        page.get_by_role("button", name="查询", exact=True).click()
        expect(page.locator(".m-big-status")).to_have_text("已结案")
        expect(page.get_by_role("button", name="提交评价")).to_be_visible()

    pages: list[tuple[Any, str, str, Callable[[Any], None]]] = [
        (anonymous, "/login/", "login", lambda p: expect(p.locator("#id_username")).to_be_focused()),
        (anonymous, "/public/", "citizen-report",
         lambda p: expect(p.locator("[data-location-status]")).to_contain_text("已获取当前位置")),
        (anonymous, f"/public/track/?number={cases['closed'].number}", "citizen-track", track),
        (operator, "/", "workbench", lambda p: expect(p.locator('a[data-queue="reported"] .value')).to_have_text("1")),
        (operator, f"/cases/{cases['reported'].pk}/", "case-page",
         lambda p: expect(p.locator("#case-map.leaflet-container")).to_be_visible()),
        (operator, "/map/", "map", lambda p: expect(p.locator("#map-status")).to_contain_text("地图上共")),
        (dispatcher, "/cases/", "case-list",
         lambda p: expect(p.locator("#case-results")).to_contain_text(cases["closed"].number)),
        (inspector, "/m/tasks/", "inspector-tasks", lambda p: expect(p.locator("li[data-task]")).to_have_count(2)),
        (inspector, "/m/report/", "inspector-report",
         lambda p: expect(p.locator("[data-location-status]")).to_contain_text("已获取当前位置")),
    ]
    for kind, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for page in (anonymous, operator, dispatcher, inspector):
            page.set_viewport_size(viewport)
        for page, url, name, ready in pages:
            visit(page, url, name, ready, kind)

    assert audit.pages == 18 and audit.controls > 50 and not audit.violations, audit.report()
    assert page_problems.items == []


# --- keyboard ---------------------------------------------------------------------------------------------------


def test_keyboard_sign_in_and_case_actions(city: City, users: Personas, open_page, login, live_server) -> None:
    lon, lat = city.point(0)
    hotline = services.case_report(source=Source.HOTLINE, category=city.manhole, description="井盖缺失",
                                   lon=lon, lat=lat, reporter_phone="13900009999").case
    task = services.case_send_verify(
        case=services.case_report(source=Source.HOTLINE, category=city.manhole, description="井盖破损",
                                  lon=city.point(1)[0], lat=city.point(1)[1], reporter_phone="13900008888").case,
        actor=users.operator, inspector=users.inspector,
    )

    # Sign in without a mouse: Tab to the username, type, Tab to the password, type, Enter → the workbench.
    page = open_page("desktop")
    page.goto("/login/")
    expect(page.locator("#id_username")).to_be_focused()  # autofocus: a keyboard user can type at once
    page.evaluate("() => document.activeElement.blur()")
    tab_until(page, lambda f: f.startswith("input|id_username|"))
    page.keyboard.type(users.operator.username)
    page.keyboard.press("Tab")
    expect(page.locator("#id_password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("工作台")
    # The first Tab on a page reaches the skip link, and Enter on it moves focus to the main content.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    # The case page: Tab to the 立案 button (a <summary>), open it with Enter, Tab to 确认立案, press Space.
    page.goto(f"/cases/{hotline.pk}/")
    expect(status_badge(page)).to_have_text("已上报")
    tab_until(page, lambda f: f.startswith("summary|") and "|register|" in f)
    page.keyboard.press("Enter")
    expect(page.locator('details[data-action="register"]')).to_have_attribute("open", "")
    tab_until(page, lambda f: f.startswith("button|") and "|register|" in f, limit=5)
    with page.expect_response(lambda r: "/act/register/" in r.url) as answer:
        page.keyboard.press("Space")
    assert answer.value.status == 200
    notice = page.locator("#case-panel .notice.ok")
    expect(notice).to_have_text("已完成“立案”")
    expect(notice).to_be_focused()  # the result is announced where the keyboard user is
    expect(status_badge(page)).to_have_text("已立案")
    hotline.refresh_from_db()
    assert hotline.status == CaseStatus.REGISTERED

    # The phone task list: 核实属实 is reached by Tab and pressed with Enter.
    phone = open_page("phone")
    login(phone, users.inspector, "/m/tasks/")
    tab_until(phone, lambda f: f.startswith("button|") and f.endswith("|核实属实"))
    phone.keyboard.press("Enter")
    expect(phone.locator(".messages")).to_have_text(f"案卷 {task.number} 已核实：属实")
    task.refresh_from_db()
    assert task.status == CaseStatus.REPORTED
    assert CaseEvent.objects.filter(case=task, action=Action.VERIFY, actor=users.inspector).exists()
