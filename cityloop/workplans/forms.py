"""Forms of the work-plan pages: upload, the editable import preview (formsets), filters, report, close-out."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cityloop.catalog.models import Department
from cityloop.workplans.choices import REPORTABLE_STATUSES, TargetKind, TaskStatus
from cityloop.workplans.extraction import Target as ParsedTarget
from cityloop.workplans.parsing import ParsedPlan, ParsedTask, parse_leaders
from cityloop.workplans.readers import SUPPORTED_LABEL

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NAME_SEPARATORS = re.compile(r"[、，,；;\n]+")


def split_names(raw: str) -> list[str]:
    return [n.strip() for n in NAME_SEPARATORS.split(raw or "") if n.strip()]


class UploadForm(forms.Form):
    file = forms.FileField(label=_("工作要点文件"), help_text=SUPPORTED_LABEL)
    year = forms.IntegerField(label=_("年度"), required=False, min_value=1990, max_value=2100,
                              help_text=_("留空则从文件标题识别"))
    issuer = forms.CharField(label=_("发文单位"), required=False, max_length=100, help_text=_("留空则从文件识别"))


class PlanHeaderForm(forms.Form):
    issuer = forms.CharField(label=_("发文单位"), max_length=100)
    year = forms.IntegerField(label=_("年度"), min_value=1990, max_value=2100)
    title = forms.CharField(label=_("标题"), max_length=200)


class TaskPreviewForm(forms.Form):
    include = forms.BooleanField(label=_("导入"), required=False, initial=True)
    code = forms.CharField(label=_("任务号"), max_length=20)
    section = forms.ChoiceField(label=_("章节"), required=False)
    title = forms.CharField(label=_("任务"), max_length=200)
    leaders = forms.CharField(label=_("牵头领导"), required=False, max_length=500, help_text=_("多人用、分隔"))
    lead_units = forms.CharField(label=_("牵头单位"), required=False, max_length=1000)
    co_units = forms.CharField(label=_("配合单位"), required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}))
    deadline = forms.DateField(label=_("完成时限"), required=False, widget=DATE)

    def __init__(self, *args: Any, sections: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["section"]
        field.choices = [("", _("（无章节）")), *(sections or [])]


class TargetPreviewForm(forms.Form):
    task = forms.ChoiceField(label=_("任务号"))
    what = forms.CharField(label=_("指标"), max_length=200)
    value = forms.DecimalField(label=_("目标值"), max_digits=16, decimal_places=4)
    unit = forms.CharField(label=_("单位"), required=False, max_length=20)
    kind = forms.ChoiceField(label=_("类型"), choices=TargetKind.choices)
    baseline = forms.DecimalField(label=_("基数"), required=False, max_digits=16, decimal_places=4)
    deadline = forms.DateField(label=_("完成时限"), required=False, widget=DATE)

    def __init__(self, *args: Any, codes: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["task"]
        field.choices = [(c, c) for c in codes or []]


class UnitMatchForm(forms.Form):
    name = forms.CharField(widget=forms.HiddenInput, max_length=100)
    department = forms.ModelChoiceField(
        label=_("对应单位"), required=False, queryset=Department.objects.filter(is_active=True).order_by("name"),
        empty_label=_("不对应（保留名称）"),
    )


TaskFormSet = forms.formset_factory(TaskPreviewForm, extra=0)
TargetFormSet = forms.formset_factory(TargetPreviewForm, extra=2, can_delete=True)
UnitFormSet = forms.formset_factory(UnitMatchForm, extra=0)


def preview_initial(parsed: ParsedPlan, matches: dict[str, Department | None]) -> dict[str, Any]:
    """Initial data of the preview's forms from a parse."""
    return {
        "header": {"issuer": parsed.issuer, "year": parsed.year, "title": parsed.title},
        "tasks": [
            {"include": True, "code": t.code, "section": t.section or "", "title": t.title,
             "leaders": "、".join(t.leaders), "lead_units": "、".join(t.lead_units),
             "co_units": "、".join(t.co_units), "deadline": t.deadline}
            for t in parsed.tasks
        ],
        "targets": [
            {"task": t.code, "what": g.what, "value": g.value, "unit": g.unit, "kind": g.kind,
             "baseline": g.baseline, "deadline": g.deadline}
            for t in parsed.tasks for g in t.targets
        ],
        "units": [{"name": name, "department": department} for name, department in matches.items()],
    }


def apply_preview(parsed: ParsedPlan, header: dict[str, Any], tasks: list[dict[str, Any]],
                  targets: list[dict[str, Any]]) -> ParsedPlan:
    """The parse as corrected in the preview (tasks and targets in the order of the forms)."""
    by_code: dict[str, ParsedTask] = {}
    clause: dict[str, dict[tuple[str, Decimal], str]] = {}  # the original wording of each target, by task
    kept: list[ParsedTask] = []
    for original, data in zip(parsed.tasks, tasks, strict=True):
        if not data.get("include"):
            continue
        code = data["code"].strip()
        number = re.findall(r"\d+", code)
        task = ParsedTask(
            number=int(number[-1]) if number else original.number, code=code, section=data.get("section") or None,
            title=data["title"].strip(), text=original.text, order=len(kept) + 1,
            leaders=parse_leaders(data.get("leaders") or ""), lead_units=split_names(data.get("lead_units") or ""),
            co_units=split_names(data.get("co_units") or ""), deadline=data.get("deadline"),
            deadlines=original.deadlines, warnings=original.warnings,
        )
        by_code[code] = task
        clause[code] = {(g.what, g.value): g.text for g in original.targets}
        kept.append(task)
    for data in targets:
        if not data or data.get("DELETE") or data.get("task") not in by_code:
            continue
        code, value = data["task"], data["value"]
        by_code[code].targets.append(ParsedTarget(
            text=clause[code].get((data["what"], value), ""), what=data["what"].strip(), value=value,
            unit=(data.get("unit") or "").strip(), kind=data["kind"], baseline=data.get("baseline"),
            deadline=data.get("deadline"),
        ))
    return ParsedPlan(
        issuer=header["issuer"].strip(), year=header["year"], title=header["title"].strip(),
        doc_number=parsed.doc_number, issued_on=parsed.issued_on, preamble=parsed.preamble, source=parsed.source,
        sections=parsed.sections, tasks=kept, warnings=parsed.warnings,
    )


class LedgerFilterForm(forms.Form):
    section = forms.ChoiceField(label=_("章节"), required=False)
    leader = forms.ChoiceField(label=_("牵头领导"), required=False)
    unit = forms.ChoiceField(label=_("责任单位"), required=False)
    status = forms.ChoiceField(label=_("状态"), required=False)
    missing = forms.BooleanField(label=_("逾期未报送"), required=False)

    def __init__(self, *args: Any, choices: dict[str, list[tuple[str, str]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, key in (("section", "sections"), ("leader", "leaders"), ("unit", "units"), ("status", "statuses")):
            field: Any = self.fields[name]
            field.choices = [("", _("全部")), *[(v, _(label) if name == "status" else label)
                                                for v, label in choices[key]]]


class ReportChoiceForm(forms.Form):
    """Which unit's report of which month to write or revise (loads what was reported)."""

    department = forms.ModelChoiceField(label=_("报送单位"), queryset=Department.objects.none(), empty_label=None)
    month = forms.DateField(label=_("月份"), widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
                            input_formats=["%Y-%m", "%Y-%m-%d"])

    def __init__(self, *args: Any, departments: list[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["department"]
        field.queryset = Department.objects.filter(pk__in=[d.pk for d in departments]).order_by("name")


class ReportForm(forms.Form):
    department = forms.ModelChoiceField(label=_("报送单位"), queryset=Department.objects.none(), empty_label=None,
                                        widget=forms.HiddenInput)
    month = forms.DateField(label=_("月份"), widget=forms.HiddenInput(), input_formats=["%Y-%m", "%Y-%m-%d"])
    status = forms.ChoiceField(label=_("进展状态"), choices=[(s.value, s.label) for s in REPORTABLE_STATUSES])
    text = forms.CharField(label=_("进展情况"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}),
                           required=False)  # required for a new report; a revision may keep the text (service)

    def __init__(self, *args: Any, departments: list[Department], targets: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["department"]
        field.queryset = Department.objects.filter(pk__in=[d.pk for d in departments]).order_by("name")
        status_field: Any = self.fields["status"]
        status_field.choices = [(v, _(label)) for v, label in status_field.choices]
        self.target_fields: list[tuple[str, Any]] = []
        for target in targets:
            if target.indicator:
                continue
            name = f"target_{target.pk}"
            self.fields[name] = forms.DecimalField(
                label=f"{target.what}（{target.get_kind_display()} {target.value.normalize():f}{target.unit}）",
                required=False, max_digits=16, decimal_places=4,
                help_text=_("当前值，单位：%(unit)s；留空表示不改动已报的值") % {"unit": target.unit or "—"},
            )
            self.target_fields.append((name, target))

    def target_values(self) -> dict[int, Decimal | None]:
        return {target.pk: self.cleaned_data.get(name) for name, target in self.target_fields}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class AttachmentForm(forms.Form):
    attachments = MultipleFileField(label=_("附件"), required=False, help_text=_("可多选，每个不超过 20 MB"))


class CloseForm(forms.Form):
    evidence = forms.CharField(label=_("销号依据"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}),
                               help_text=_("写明完成情况和佐证材料"))
    evidence_file = forms.FileField(label=_("佐证材料"), required=False)


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class IndicatorForm(forms.Form):
    KINDS = [("", _("不关联（由月度报送填写）")), ("closed_cases", _("结案案件数"))]
    type = forms.ChoiceField(label=_("关联指标"), required=False, choices=KINDS)
    category = forms.CharField(label=_("案件分类编码"), required=False, max_length=8,
                               help_text=_("2 位大类或 5 位小类；留空为全部分类"))
    region = forms.CharField(label=_("区划代码"), required=False, max_length=12, help_text=_("区县、街道或社区；留空为全市"))
    spec = forms.CharField(label=_("其他指标（JSON）"), required=False, max_length=1000,
                           help_text=_('例如 {"type": "evaluation", "indicator": "ontime_rate"}'))

    def indicator(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if data.get("spec"):
            try:
                parsed = json.loads(data["spec"])
            except ValueError as exc:
                raise forms.ValidationError(_("其他指标应为 JSON 对象")) from exc
            return parsed if isinstance(parsed, dict) else {"type": None}
        if not data.get("type"):
            return None
        return {"type": data["type"], "category": data.get("category", ""), "region": data.get("region", "")}


STATUS_CLASSES = {
    TaskStatus.NOT_STARTED: "st-not-started", TaskStatus.IN_PROGRESS: "st-in-progress", TaskStatus.DONE: "st-done",
    TaskStatus.LAGGING: "st-lagging", TaskStatus.CLOSED: "st-closed",
}
