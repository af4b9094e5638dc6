"""Services (= active minor categories) and the extra questions (attributes) some of them ask.

The set of attributes is deliberately small and lives in code: manhole covers (井盖, 20 classes of
GB/T 47678.5) ask whether the problem blocks traffic (required) and what is wrong with the cover, plus
an information text. Answers are appended to the case description (``【问题】回答``); they change
nothing else (no urgency, no routing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import QuerySet

from cityloop.catalog.models import Category

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


@dataclass(frozen=True)
class Attribute:
    code: str
    description: str
    datatype: str
    required: bool
    order: int
    variable: bool = True
    values: tuple[tuple[str, str], ...] = ()
    datatype_description: str = ""


MANHOLE_ATTRIBUTES = (
    Attribute(
        code="TRAFFIC", description="是否影响车辆或行人通行？", datatype="singlevaluelist", required=True, order=1,
        values=(("yes", "是，影响通行"), ("no", "否")),
    ),
    Attribute(
        code="CONDITION", description="井盖是什么情况？", datatype="singlevaluelist", required=False, order=2,
        values=(("missing", "缺失"), ("broken", "破损"), ("displaced", "移位"), ("uneven", "凹陷或凸起"),
                ("noisy", "异响或松动")),
    ),
    Attribute(
        code="NOTICE", description="井盖缺失会危及行人和车辆安全；现场危险时请同时拨打 12319 城建服务热线。",
        datatype="text", required=False, order=3, variable=False,
    ),
)


def attributes_for(category: Category) -> tuple[Attribute, ...]:
    """The attributes of a service (empty for most)."""
    if "井盖" in category.name:
        return MANHOLE_ATTRIBUTES
    return ()


def services() -> QuerySet[Category]:
    """Every service: active minor categories, by code."""
    return Category.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True).select_related(
        "parent"
    ).order_by("code")


def service_get(code: str) -> Category | None:
    code = code.strip()
    if not code.isdigit() or len(code) > 8:
        return None
    return services().filter(code=code).first()


class AnswerInvalid(ValueError):
    """An answer that does not fit the service definition (message in Chinese)."""


def check_answers(category: Category, answers: Mapping[str, list[str]]) -> list[str]:
    """Validate ``attribute[CODE]`` answers; return the description lines ``【问题】回答`` (unknown codes ignored)."""
    lines = []
    for attribute in attributes_for(category):
        if not attribute.variable:
            continue
        given = [v.strip() for v in answers.get(attribute.code, []) if v.strip()]
        if not given:
            if attribute.required:
                raise AnswerInvalid(f"缺少必答属性 attribute[{attribute.code}]（{attribute.description}）")
            continue
        if attribute.datatype != "multivaluelist" and len(given) > 1:
            raise AnswerInvalid(f"属性 attribute[{attribute.code}] 只能有一个值")
        if attribute.datatype in ("singlevaluelist", "multivaluelist"):
            names = dict(attribute.values)
            unknown = [v for v in given if v not in names]
            if unknown:
                keys = "、".join(names)
                raise AnswerInvalid(f"属性 attribute[{attribute.code}] 的取值“{unknown[0][:50]}”无效，可选：{keys}")
            shown = "、".join(names[v] for v in given)
        elif attribute.datatype == "number":
            try:
                float(given[0])
            except ValueError:
                raise AnswerInvalid(f"属性 attribute[{attribute.code}] 应为数字") from None
            shown = given[0]
        else:
            shown = given[0][:500]
        lines.append(f"【{attribute.description}】{shown}")
    return lines
