"""The evaluation pages: ranked tables with chart, trend and map; drill-down lists; the negative list; the
re-do ledger; the quarterly district ranking; the Excel export. Thin adapters over ``selectors``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cityloop.accounts.models import User
from cityloop.core.errors import CityLoopError, NotFound, PermissionDenied, ValidationFailed
from cityloop.evaluation import selectors, services
from cityloop.evaluation.exports import build_workbook, report_title
from cityloop.evaluation.formatting import format_cell, format_change, format_value
from cityloop.evaluation.forms import PeriodForm
from cityloop.evaluation.models import Level
from cityloop.evaluation.periods import MONTH, QUARTER, Period, default_period
from cityloop.geo import selectors as geo_selectors

TREND_PERIODS = services.TREND_PERIODS
CHART_UNITS = 30
DRILL_PAGE = 100
MAP_LEVELS = (Level.DISTRICT, Level.STREET, Level.COMMUNITY)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _error(request: HttpRequest, exc: CityLoopError) -> HttpResponse:
    status = 403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound) else 400
    title = {403: "无权访问", 404: "未找到"}.get(status, "请求有误")
    return render(request, "web/error.html", {"title": title, "message": exc.message}, status=status)


def _as_of(request: HttpRequest) -> datetime:
    raw = request.GET.get("as_of", "")
    if raw:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise ValidationFailed("无法识别的统计截至时间", field="as_of") from exc
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    return timezone.now().replace(microsecond=0)


def _period(request: HttpRequest, default_kind: str = MONTH) -> tuple[Period, PeriodForm]:
    """The period from ``period=2026Q3`` (links) or from the picker's fields; the current month by default."""
    if request.GET.get("period"):
        period = Period.parse(request.GET["period"])
        form = PeriodForm(initial=PeriodForm.initial_for(period))
    elif "kind" in request.GET:
        form = PeriodForm(request.GET)
        if not form.is_valid():
            period = Period.containing(default_kind, timezone.localdate())
        else:
            period = form.cleaned_data["period"]
    else:
        period = Period.containing(default_kind, timezone.localdate())
        form = PeriodForm(initial=PeriodForm.initial_for(period))
    return period.at(_as_of(request)), form


def _level(request: HttpRequest, viewer: selectors.Viewer) -> Level:
    raw = request.GET.get("level", "")
    if raw:
        if raw not in Level.values:
            raise ValidationFailed(f"未知的考评对象“{raw}”", field="level")
        return Level(raw)
    return Level.DEPARTMENT if Level.DEPARTMENT in viewer.levels else viewer.levels[0]


def _drill_url(level: Level, indicator: str, unit: int | None, period: Period) -> str:
    query = {"level": str(level), "indicator": indicator, "unit": "all" if unit is None else unit,
             "period": period.key, "as_of": timezone.localtime(period.now).isoformat()}
    return f"{reverse('evaluation:cases')}?{urlencode(query)}"


def table_rows(report: selectors.LevelReport, *, drill: bool = True) -> list[dict[str, Any]]:
    """Rows of the ranked table with their formatted cells and drill-down links."""
    result = []
    rows = [*report.rows, *([report.total] if report.total is not None else [])]
    for row in rows:
        cells = []
        for column in report.columns:
            value = row.values.get(column.code)
            link = None
            if drill and value is not None and (value or column.kind == "rate"):
                link = _drill_url(report.level, column.code, row.unit_id, report.period)
            cells.append({"text": format_cell(value, column), "link": link, "column": column})
        result.append({
            "row": row, "cells": cells, "composite": format_value(row.composite, "score"),
            "previous": format_value(row.previous, "score"), "change": format_change(row.change),
            "change_sign": 0 if not row.change else (1 if row.change > 0 else -1),
        })
    return result


def _base_context(request: HttpRequest, viewer: selectors.Viewer, period: Period, form: PeriodForm) -> dict[str, Any]:
    return {
        "levels": [lv for lv in Level if lv in viewer.levels], "period": period, "form": form,
        "department_pages": Level.DEPARTMENT in viewer.levels, "full": viewer.full,
        "as_of": timezone.localtime(period.now),
    }


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    viewer = selectors.viewer_for(user)
    try:
        if not viewer.levels:
            raise PermissionDenied("您的岗位没有综合评价的查看权限")
        period, form = _period(request)
        level = _level(request, viewer)
        trend = selectors.trend(level=level, period=period, count=TREND_PERIODS, user=user)
        report = trend.report
    except CityLoopError as exc:
        return _error(request, exc)
    chart = [{"name": r.unit.name, "score": r.composite, "grade": r.grade}
             for r in report.rows if r.unit is not None and r.composite is not None][:CHART_UNITS]
    context = _base_context(request, viewer, report.period, form)
    context.update({
        "level": level, "report": report, "rows": table_rows(report), "chart": chart,
        "trend": {"periods": [p.short_label for p in trend.periods],
                  "series": [{"name": unit.name, "scores": scores} for unit, scores in trend.series]},
        "score_map_url": (f"{reverse('evaluation:map')}?" + urlencode(
            {"level": str(level), "period": period.key, "as_of": timezone.localtime(report.period.now).isoformat()})
            if level in MAP_LEVELS else ""),
        "tile_url": getattr(settings, "TILE_URL", ""),
        "export_url": f"{reverse('evaluation:export')}?{urlencode({'period': period.key})}",
        "export_level_url": f"{reverse('evaluation:export')}?{urlencode({'period': period.key, 'level': str(level)})}",
        "page_text": {"score": "综合得分", "noData": "本期无可评分的单位", "trendEmpty": "暂无趋势数据",
                      "mapEmpty": "没有区划边界数据", "grade": "等级", "noScore": "无得分"},
    })
    return render(request, "evaluation/index.html", context)


@login_required
@require_GET
def drill_cases(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        period, _form = _period(request)
        raw_unit = request.GET.get("unit", "all")
        if raw_unit != "all" and not raw_unit.isdigit():
            raise ValidationFailed("无效的单位", field="unit")
        raw_level = request.GET.get("level", "")
        if raw_level not in Level.values:
            raise ValidationFailed("未知的考评对象", field="level")
        drill = selectors.drill(level=Level(raw_level), indicator=request.GET.get("indicator", ""),
                                unit=None if raw_unit == "all" else int(raw_unit), period=period, user=user)
    except CityLoopError as exc:
        return _error(request, exc)
    paginator = Paginator(drill.queryset, DRILL_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    lines = selectors.drill_lines(drill, page.object_list)
    state = request.GET.copy()
    state.pop("page", None)
    counted = None
    if drill.numerator_label:
        counted = drill.queryset.filter(in_numerator=True).count()
    return render(request, "evaluation/cases.html", {
        "drill": drill, "page_obj": page, "lines": lines, "total": paginator.count, "query_string": state.urlencode(),
        "headers": [label for label, _v in lines[0].cells] if lines else [], "counted": counted,
        "back_url": f"{reverse('evaluation:index')}?{urlencode({'level': str(drill.level), 'period': period.key})}",
        "period": period, "as_of": timezone.localtime(period.now),
    })


@login_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    viewer = selectors.viewer_for(user)
    try:
        period, _form = _period(request)
        levels = [_level(request, viewer)] if request.GET.get("level") else list(viewer.levels)
        reports = selectors.evaluate_many(levels=levels, period=period, user=user)
        if not reports:
            raise PermissionDenied("您的岗位没有综合评价的查看权限")
    except CityLoopError as exc:
        return _error(request, exc)
    content = build_workbook(reports)
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = f"{report_title()}-{period.key.replace('~', '_')}.xlsx"
    response["Content-Disposition"] = (f'attachment; filename="evaluation-{period.key.replace("~", "_")}.xlsx"; '
                                       f"filename*=UTF-8''{quote(name)}")
    return response


@login_required
@require_GET
def negative(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    viewer = selectors.viewer_for(user)
    try:
        period, form = _period(request)
        departments = selectors.negative_list(period=period, user=user)
    except CityLoopError as exc:
        return _error(request, exc)
    context = _base_context(request, viewer, period, form)
    context.update({"departments": departments, "reasons": list(selectors.NEGATIVE_REASONS.values()),
                    "total": sum(d.total for d in departments)})
    return render(request, "evaluation/negative.html", context)


@login_required
@require_GET
def rework(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    viewer = selectors.viewer_for(user)
    try:
        period, form = _period(request)
        entries = selectors.rework_ledger(period=period, user=user)
    except CityLoopError as exc:
        return _error(request, exc)
    context = _base_context(request, viewer, period, form)
    context["entries"] = entries
    return render(request, "evaluation/rework.html", context)


@login_required
@require_GET
def quarterly(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    viewer = selectors.viewer_for(user)
    try:
        if "period" in request.GET or "kind" in request.GET:
            period, form = _period(request, QUARTER)
        else:
            period = default_period(QUARTER).at(_as_of(request))
            form = PeriodForm(initial=PeriodForm.initial_for(period))
        report = selectors.district_ranking(quarter=period, user=user)
    except CityLoopError as exc:
        return _error(request, exc)
    context = _base_context(request, viewer, period, form)
    city = getattr(settings, "CITYLOOP_CITY_NAME", "")
    context.update({"report": report, "rows": table_rows(report, drill=False),
                    "title": f"{city}{period.label}市对县城市运行管理考评排名",
                    "export_url": f"{reverse('evaluation:export')}?{urlencode({'period': period.key, 'level': 'district'})}"})
    return render(request, "evaluation/quarterly.html", context)


@login_required
@require_GET
def map_data(request: HttpRequest) -> HttpResponse:
    """Regions of one level as GeoJSON with their composite score and grade in the properties."""
    user = _user(request)
    try:
        period, _form = _period(request)
        raw_level = request.GET.get("level", "district")
        if raw_level not in [str(lv) for lv in MAP_LEVELS]:
            raise ValidationFailed("地图只支持区县、街道和社区", field="level")
        level = Level(raw_level)
        report = selectors.evaluate(level=level, period=period, user=user, compare=False)
        data = geo_selectors.regions_geojson(level=str(level))
    except CityLoopError as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=403 if isinstance(exc, PermissionDenied) else 400)
    scores = {r.unit.code: r for r in report.rows if r.unit is not None}
    features = []
    for feature in data["features"]:
        row = scores.get(feature["properties"]["code"])
        if row is None:
            continue  # a region the user may not see
        feature["properties"].update({"score": row.composite, "grade": row.grade, "rank": row.rank,
                                      "label": format_value(row.composite, "score")})
        features.append(feature)
    return JsonResponse({"type": "FeatureCollection", "features": features})
