"""Forms of the staff pages. The list filter form only renders the ``CaseFilterSet`` parameters (the
filter set itself validates and applies them); the bulk dispatch form checks its own inputs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cityloop.cases.statuses import CaseStatus, Source
from cityloop.web import selectors

YES_NO = [("", _("全部")), ("true", _("是")), ("false", _("否"))]


class CaseFilterForm(forms.Form):
    """The list filters, named exactly like CaseFilterSet's parameters (shared with the API and export)."""

    q = forms.CharField(label=_("搜索"), required=False,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("编号、地址或描述")}))
    status = forms.MultipleChoiceField(label=_("状态"), required=False, choices=CaseStatus.choices,
                                       widget=forms.CheckboxSelectMultiple)
    category = forms.ChoiceField(label=_("分类"), required=False)
    region = forms.ChoiceField(label=_("区划"), required=False)
    department = forms.ChoiceField(label=_("处置单位"), required=False)
    source = forms.MultipleChoiceField(label=_("来源"), required=False, choices=Source.choices,
                                       widget=forms.CheckboxSelectMultiple)
    reported_from = forms.DateField(label=_("上报日期从"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    reported_to = forms.DateField(label=_("上报日期到"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    overdue = forms.ChoiceField(label=_("已超期"), required=False, choices=YES_NO)
    supervised = forms.ChoiceField(label=_("督办"), required=False, choices=YES_NO)
    is_open = forms.ChoiceField(label=_("未办结"), required=False, choices=YES_NO)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        all_option: list[Any] = [("", _("全部"))]
        category_field: Any = self.fields["category"]
        category_field.choices = all_option + selectors.category_choices()
        region_field: Any = self.fields["region"]
        region_field.choices = all_option + selectors.region_choices()
        department_field: Any = self.fields["department"]
        department_field.choices = all_option + [(str(pk), name) for pk, name in selectors.department_choices()]
        for name in ("status", "source"):
            # Translate the model's Chinese labels through the .po files as well.
            field: Any = self.fields[name]
            field.choices = [(value, _(label)) for value, label in field.choices]

    #: The filters in the folded part of the form.
    ADVANCED: tuple[str, ...] = ("status", "source", "reported_from", "reported_to", "overdue", "supervised", "is_open",
                                "department")

    @property
    def advanced_used(self) -> bool:
        """Whether any filter in the folded part is set (then it starts unfolded)."""
        return any(self.data.get(k) for k in self.ADVANCED)


class MapFilterForm(CaseFilterForm):
    """The same filters on the map, where "open cases only" is the default and the department is in view."""

    ADVANCED: tuple[str, ...] = ("status", "source", "reported_from", "reported_to", "overdue", "supervised")
