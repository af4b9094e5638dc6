"""The work-plan pages: import with an editable preview, the task ledger, a task's page with its reports,
close-out and reopening, the monthly bulletin (.docx/.xlsx) and the quarterly review (charts, print, .docx).
Thin adapters over ``selectors`` and ``services``."""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Callable
from datetime import date
from typing import Any, cast
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import TooManyFieldsSent
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cityloop.accounts.models import User
from cityloop.core.errors import (
    CityLoopError,
    Conflict,
    ImportFailed,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from cityloop.workplans import documents, selectors, services
from cityloop.workplans.choices import LogKind, TaskStatus
from cityloop.workplans.forms import (
    STATUS_CLASSES,
    AttachmentForm,
    CloseForm,
    IndicatorForm,
    LedgerFilterForm,
    PlanHeaderForm,
    ReopenForm,
    ReportChoiceForm,
    ReportForm,
    TargetFormSet,
    TaskFormSet,
    UnitFormSet,
    UploadForm,
    apply_preview,
    preview_initial,
)
from cityloop.workplans.indicators import describe
from cityloop.workplans.models import PlanTask, ReportAttachment, Target, WorkPlan
from cityloop.workplans.parsing import ParsedPlan, plan_from_dict
from cityloop.workplans.readers import parse_file

PREVIEW_KEY = "workplans_preview"
View = Callable[..., HttpResponseBase]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def plan_page(view: View) -> View:
    """Signed-in users of the plans only; service errors become a page with the message and its status."""

    @functools.wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not selectors.can_use_plans(_user(request)):
            return _error(request, PermissionDenied(_("工作要点督办仅对管理员、领导、值班长和责任单位人员开放")))
        try:
            return view(request, *args, **kwargs)
        except CityLoopError as exc:
            return _error(request, exc)

    return wrapper


def _error(request: HttpRequest, exc: CityLoopError) -> HttpResponse:
    return render(request, "workplans/error.html", {"message": exc.message}, status=exc.http_status)


def _supervisor(request: HttpRequest) -> None:
    if not selectors.can_supervise(_user(request)):
        raise PermissionDenied(_("只有管理员、领导和值班长可以进行此操作"))


def _download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- plans and import ----------------------------------------------------------------------------------------

@require_GET
@plan_page
def plan_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    plans = selectors.plans_visible_to(user).order_by("-year", "-imported_at")
    rows = []
    today = timezone.localdate()
    for plan in plans:
        states = selectors.current_states(plan, today=today, tasks=selectors.tasks_visible_to(user).filter(plan=plan))
        summary = selectors.GroupSummary(plan.title)
        for state in states:
            summary.add(state.status)
        rows.append({"plan": plan, "summary": summary, "missing": sum(1 for s in states if s.missing)})
    return render(request, "workplans/plan_list.html", {
        "rows": rows, "can_import": selectors.can_supervise(user), "lagging": TaskStatus.LAGGING,
    })


@require_http_methods(["GET", "POST"])
@plan_page
def plan_import(request: HttpRequest) -> HttpResponse:
    _supervisor(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            parsed = parse_file(upload.read(), upload.name, year=form.cleaned_data.get("year"),
                                issuer=form.cleaned_data.get("issuer") or None)
        except ImportFailed as exc:
            form.add_error("file", exc.message)
        else:
            request.session[PREVIEW_KEY] = {"parsed": parsed.to_dict(), "filename": upload.name}
            return redirect("workplans:import-preview")
    status = 422 if request.method == "POST" else 200
    return render(request, "workplans/import_upload.html", {"form": form}, status=status)


def _preview_context(parsed: ParsedPlan, header: PlanHeaderForm, tasks: Any, targets: Any, units: Any,
                     filename: str) -> dict[str, Any]:
    return {
        "parsed": parsed, "header": header, "filename": filename,
        "task_rows": list(zip(tasks.forms, parsed.tasks, strict=True)), "task_formset": tasks,
        "target_formset": targets, "unit_formset": units,
        "counts": {"sections": len(parsed.sections), "tasks": len(parsed.tasks), "targets": parsed.target_count},
    }


@require_http_methods(["GET", "POST"])
@plan_page
def plan_import_preview(request: HttpRequest) -> HttpResponse:
    _supervisor(request)
    stored = request.session.get(PREVIEW_KEY)
    if not stored:
        messages.info(request, _("请先选择要导入的文件"))
        return redirect("workplans:import")
    parsed = plan_from_dict(stored["parsed"])
    sections = [(s.key, f"{s.key} {s.title}") for s in parsed.sections]
    codes = [t.code for t in parsed.tasks]
    names = sorted({n for t in parsed.tasks for n in (*t.lead_units, *t.co_units)})
    if request.method == "POST":
        try:
            data = request.POST
        except TooManyFieldsSent:
            return _error(request, ValidationFailed(_("任务过多，无法在页面上逐项修改；请用命令 cityloop import_plan 导入")))
        if "cancel" in data:
            request.session.pop(PREVIEW_KEY, None)
            messages.info(request, _("已取消导入，未保存任何内容"))
            return redirect("workplans:plans")
        header = PlanHeaderForm(data, prefix="plan")
        tasks = TaskFormSet(data, prefix="tasks", form_kwargs={"sections": sections})
        targets = TargetFormSet(data, prefix="targets", form_kwargs={"codes": codes})
        units = UnitFormSet(data, prefix="units")
        if all(f.is_valid() for f in (header, tasks, targets, units)):
            edited = apply_preview(parsed, header.cleaned_data, tasks.cleaned_data, targets.cleaned_data)
            mapping = {row["name"]: row.get("department") for row in units.cleaned_data if row}
            try:
                plan = services.plan_import(parsed=edited, imported_by=_user(request), source_name=stored["filename"],
                                            unit_departments=mapping)
            except ValidationFailed as exc:
                messages.error(request, exc.message)
            else:
                request.session.pop(PREVIEW_KEY, None)
                messages.success(request, _("已导入《%(title)s》：%(n)d 项任务") % {"title": plan.title,
                                                                              "n": len(edited.tasks)})
                return redirect("workplans:ledger", plan.pk)
        status = 422
    else:
        matches = services.match_departments(names)
        initial = preview_initial(parsed, matches)
        header = PlanHeaderForm(initial=initial["header"], prefix="plan")
        tasks = TaskFormSet(initial=initial["tasks"], prefix="tasks", form_kwargs={"sections": sections})
        targets = TargetFormSet(initial=initial["targets"], prefix="targets", form_kwargs={"codes": codes})
        units = UnitFormSet(initial=initial["units"], prefix="units")
        status = 200
    return render(request, "workplans/import_preview.html",
                  _preview_context(parsed, header, tasks, targets, units, stored["filename"]), status=status)


# --- ledger and task -----------------------------------------------------------------------------------------

@require_GET
@plan_page
def ledger(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    plan = selectors.plan_get_for_user(user=user, plan_id=pk)
    choices = selectors.ledger_choices(plan)
    form = LedgerFilterForm(request.GET or None, choices=choices)
    filters = selectors.LedgerFilters()
    if form.is_valid():
        filters = selectors.LedgerFilters(**{k: v or "" for k, v in form.cleaned_data.items() if k != "missing"},
                                          missing=bool(form.cleaned_data.get("missing")))
    states = selectors.ledger(plan, user, filters)
    today = timezone.localdate()
    overdue_month = selectors.latest_due_month(today)
    return render(request, "workplans/ledger.html", {
        "plan": plan, "form": form, "states": states, "status_classes": STATUS_CLASSES,
        "can_supervise": selectors.can_supervise(user),
        "overdue_month": overdue_month if overdue_month in selectors.required_months(plan) else None,
        "default_month": _default_month(plan, today), "quarter": selectors.current_quarter(plan, today),
    })


def _task_context(request: HttpRequest, task: PlanTask) -> dict[str, Any]:
    user = _user(request)
    state = selectors.current_states(task.plan, tasks=[task])[0]
    reports = list(selectors.reports_visible_to(user, task).order_by("-month", "department__name")
                   .prefetch_related("revisions__submitted_by"))
    targets = {t.pk: t for t in task.targets.all()}
    report_rows = [
        {"report": r, "values": [(targets[v.target_id], v.value) for v in r.values.all() if v.target_id in targets]}
        for r in reports
    ]
    supervise = selectors.can_supervise(user)
    return {
        "task": task, "plan": task.plan, "state": state, "report_rows": report_rows,
        "log": list(task.log.select_related("actor").order_by("-at", "-id")),
        "can_report": bool(selectors.reportable_departments(user, task)) and task.status != TaskStatus.CLOSED,
        "can_supervise": supervise, "status_classes": STATUS_CLASSES,
        "close_form": CloseForm() if supervise and task.status != TaskStatus.CLOSED else None,
        "reopen_form": ReopenForm() if supervise and task.status == TaskStatus.CLOSED else None,
        "indicator_rows": [
            {"progress": p, "description": describe(p.target.indicator),
             "form": IndicatorForm(prefix=f"t{p.target.pk}", initial=_indicator_initial(p.target)) if supervise else None}
            for p in state.targets
        ],
        "log_labels": dict(LogKind.choices), "status_labels": dict(TaskStatus.choices),
    }


def _indicator_initial(target: Target) -> dict[str, Any]:
    spec = target.indicator or {}
    if spec.get("type") == "closed_cases":
        return {"type": "closed_cases", "category": spec.get("category", ""), "region": spec.get("region", "")}
    if spec:
        import json

        return {"spec": json.dumps(spec, ensure_ascii=False)}
    return {}


@require_GET
@plan_page
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get_for_user(user=_user(request), task_id=pk)
    return render(request, "workplans/task_detail.html", _task_context(request, task))


@require_http_methods(["GET", "POST"])
@plan_page
def report_form(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    task = selectors.task_get_for_user(user=user, task_id=pk)
    departments = selectors.reportable_departments(user, task)
    if not departments:
        raise PermissionDenied(_("您的单位不是这项任务的责任单位，或责任单位尚未对应到系统中的单位"))
    targets = list(task.targets.all())
    today = timezone.localdate()
    default_month = min(selectors.month_start(today), date(task.plan.year, 12, 1))
    # The month and unit to report: chosen above the form (GET), or posted. The form starts from what that
    # unit already reported for that month: re-sending changes only what the user edits.
    chooser = ReportChoiceForm(request.GET or None, departments=departments,
                               initial={"department": departments[0], "month": default_month})
    department, month = departments[0], default_month
    if chooser.is_bound and chooser.is_valid():
        department, month = chooser.cleaned_data["department"], selectors.month_start(chooser.cleaned_data["month"])
    existing = selectors.report_of(task, department=department, month=month)
    initial: dict[str, Any] = {"department": department, "month": month}
    if existing is not None:
        initial.update(status=existing.status, text=existing.text)
        initial.update({f"target_{v.target_id}": v.value.normalize() for v in existing.values.all()})
    form = ReportForm(request.POST or None, departments=departments, targets=targets, initial=initial)
    files = AttachmentForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and files.is_valid():
            try:
                services.progress_report_submit(
                    task=task, department=form.cleaned_data["department"], month=form.cleaned_data["month"],
                    status=form.cleaned_data["status"], text=form.cleaned_data["text"], actor=user,
                    values=form.target_values(), attachments=files.cleaned_data["attachments"],
                )
            except (ValidationFailed, Conflict) as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("已报送进展"))
                return redirect("workplans:task", task.pk)
        status = 422
    return render(request, "workplans/report_form.html", {
        "task": task, "plan": task.plan, "form": form, "files": files,
        "main_fields": [form[name] for name in ("status", "text")],
        "target_fields": [(form[name], target) for name, target in form.target_fields],
        "linked": [t for t in targets if t.indicator],
        "chooser": chooser, "existing": existing,
        "revisions": list(existing.revisions.select_related("submitted_by")) if existing is not None else [],
    }, status=status)


@require_POST
@plan_page
def task_close(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get_for_user(user=_user(request), task_id=pk)
    form = CloseForm(request.POST, request.FILES)
    if form.is_valid():
        services.task_close(task=task, actor=_user(request), evidence=form.cleaned_data["evidence"],
                            evidence_file=form.cleaned_data.get("evidence_file"))
        messages.success(request, _("已销号"))
        return redirect("workplans:task", task.pk)
    context = _task_context(request, task)
    context["close_form"] = form
    return render(request, "workplans/task_detail.html", context, status=422)


@require_POST
@plan_page
def task_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get_for_user(user=_user(request), task_id=pk)
    form = ReopenForm(request.POST)
    if form.is_valid():
        services.task_reopen(task=task, actor=_user(request), reason=form.cleaned_data["reason"])
        messages.success(request, _("已撤销销号，原因已记入任务日志"))
        return redirect("workplans:task", task.pk)
    context = _task_context(request, task)
    context["reopen_form"] = form
    return render(request, "workplans/task_detail.html", context, status=422)


@require_POST
@plan_page
def target_indicator(request: HttpRequest, pk: int) -> HttpResponse:
    target = Target.objects.select_related("task").filter(pk=pk).first()
    if target is None:
        raise NotFound(_("目标不存在"))
    task = selectors.task_get_for_user(user=_user(request), task_id=target.task_id)
    form = IndicatorForm(request.POST, prefix=f"t{target.pk}")
    try:
        if not form.is_valid():
            raise ValidationFailed(_("关联指标填写有误"))
        spec = form.indicator()
    except Exception as exc:  # forms.ValidationError from indicator()
        message = exc.message if isinstance(exc, CityLoopError) else _("其他指标应为 JSON 对象")
        messages.error(request, message)
        return redirect("workplans:task", task.pk)
    try:
        services.target_link_indicator(target=target, actor=_user(request), indicator=spec)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已更新「%(what)s」的关联指标") % {"what": target.what})
    return redirect("workplans:task", task.pk)


@require_GET
@plan_page
def attachment_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    attachment = ReportAttachment.objects.select_related("report__task").filter(pk=pk).first()
    if attachment is None:
        raise Http404
    task = selectors.task_get_for_user(user=_user(request), task_id=attachment.report.task_id)
    if not selectors.reports_visible_to(_user(request), task).filter(pk=attachment.report_id).exists():
        raise PermissionDenied(_("无权查看这份附件"))
    return _file_response(attachment.file, attachment.name)


@require_GET
@plan_page
def evidence_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    task = selectors.task_get_for_user(user=_user(request), task_id=pk)
    if not task.evidence_file:
        raise Http404
    return _file_response(task.evidence_file, task.evidence_file.name.rsplit("/", 1)[-1])


def _file_response(file: Any, name: str) -> FileResponse:
    try:
        handle = file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)


# --- bulletin and review -------------------------------------------------------------------------------------

def _default_month(plan: WorkPlan, today: date) -> date:
    month = selectors.latest_due_month(today)
    return min(max(month, date(plan.year, 1, 1)), date(plan.year, 12, 1))


def _month_param(request: HttpRequest, plan: WorkPlan) -> date:
    month = selectors.parse_month(request.GET.get("month")) or _default_month(plan, timezone.localdate())
    if month.year != plan.year:
        raise ValidationFailed(_("请选择 %(year)d 年的月份") % {"year": plan.year}, field="month")
    return month


def _quarter_param(request: HttpRequest, plan: WorkPlan) -> int:
    raw = request.GET.get("quarter", "")
    if raw in ("1", "2", "3", "4"):
        return int(raw)
    if raw:
        raise ValidationFailed(_("季度应为 1–4"), field="quarter")
    return selectors.current_quarter(plan)


def _supervised_plan(request: HttpRequest, pk: int) -> WorkPlan:
    _supervisor(request)
    return selectors.plan_get_for_user(user=_user(request), plan_id=pk)


@require_GET
@plan_page
def bulletin(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _supervised_plan(request, pk)
    month = _month_param(request, plan)
    data = selectors.bulletin(plan, month=month)
    return render(request, "workplans/bulletin.html", {
        "plan": plan, "data": data, "month": month, "overview": documents.overview_sentences(data),
        "months": [date(plan.year, m, 1) for m in range(1, 13)], "status_classes": STATUS_CLASSES,
        "status_order": [(k, TaskStatus(k).label) for k in documents.STATUS_ORDER],
    })


@require_GET
@plan_page
def bulletin_docx(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _supervised_plan(request, pk)
    month = _month_param(request, plan)
    content = documents.bulletin_docx(selectors.bulletin(plan, month=month), today=timezone.localdate())
    return _download(content, f"{plan.title}-{month:%Y-%m}-通报.docx", DOCX)


@require_GET
@plan_page
def bulletin_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _supervised_plan(request, pk)
    month = _month_param(request, plan)
    content = documents.bulletin_xlsx(selectors.bulletin(plan, month=month))
    return _download(content, f"{plan.title}-{month:%Y-%m}-通报.xlsx", XLSX)


def _review_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    plan = _supervised_plan(request, pk)
    quarter = _quarter_param(request, plan)
    data = selectors.review(plan, quarter=quarter)
    return {
        "plan": plan, "quarter": quarter, "data": data, "charts": selectors.review_charts(data),
        "overview": documents.overview_sentences(data), "quarters": [1, 2, 3, 4],
        "status_order": [(k, TaskStatus(k).label) for k in documents.STATUS_ORDER],
        "all_targets": [(s, t) for s in data.states for t in s.targets],
    }


@require_GET
@plan_page
def review(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "workplans/review.html", _review_context(request, pk))


@require_GET
@plan_page
def review_print(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "workplans/review_print.html", _review_context(request, pk))


@require_GET
@plan_page
def review_docx(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _supervised_plan(request, pk)
    quarter = _quarter_param(request, plan)
    content = documents.review_docx(selectors.review(plan, quarter=quarter), quarter=quarter,
                                    today=timezone.localdate())
    return _download(content, f"{plan.title}-第{quarter}季度研判.docx", DOCX)

