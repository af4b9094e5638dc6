"""The REST API ``/api/v1`` (Django Ninja): cases, the workflow, reference data, notifications, tokens.

Every endpoint but ``/health`` needs a user: an API token (``Authorization: Bearer …``) or the browser
session (with CSRF for unsafe methods). The user's role and scope apply exactly as on the pages, because
every read goes through ``cases.selectors`` and every write through ``cases.services``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from ninja import Header, NinjaAPI, Query, Router, Status
from ninja.errors import HttpError, ValidationError
from ninja.renderers import JSONRenderer

from cityloop.accounts.models import Role, User
from cityloop.api import present
from cityloop.api.auth import AUTH, THROTTLE
from cityloop.api.bodies import body_schema, read_body
from cityloop.api.errors import ApiError, ErrorResponses, response_for
from cityloop.api.models import ApiToken
from cityloop.api.parser import SingleValueParser
from cityloop.api.schemas import (
    ActionIn,
    ApproveIn,
    CaseDetail,
    CaseFilters,
    CasePage,
    CategoryOut,
    CategoryQuery,
    CheckIn,
    DepartmentOut,
    DispatchIn,
    EvaluationLevelCode,
    EvaluationOut,
    EvaluationQuery,
    FeatureCollection,
    GridQuery,
    HealthOut,
    InspectorActionIn,
    InspectorOut,
    MarkedOut,
    MarkReadIn,
    MeOut,
    MergeIn,
    NotificationList,
    NotificationQuery,
    RateIn,
    RegionQuery,
    ReportIn,
    ReportOut,
    RequestIn,
    SuperviseIn,
    TokenCreated,
    TokenIn,
    TokenOut,
    UnreadOut,
    VerifyIn,
    check_text,
)
from cityloop.api.selectors import tokens_of
from cityloop.api.services import token_create, token_revoke
from cityloop.cases.filters import filter_cases, narrows, search_terms
from cityloop.cases.models import AttachmentKind, Case
from cityloop.cases.selectors import (
    capped_count,
    case_get_for_user,
    cases_visible_count,
    cases_visible_to,
    deep_page_ids,
    page_rows,
)
from cityloop.cases.services import case_report, case_transition, users_covering
from cityloop.cases.statuses import Action, Source
from cityloop.catalog.models import Category, CategoryKind, Department, DepartmentKind
from cityloop.catalog.selectors import category_search
from cityloop.core.errors import NotFound, PermissionDenied, ValidationFailed
from cityloop.evaluation.periods import Period
from cityloop.evaluation.selectors import evaluation_for_api
from cityloop.geo.selectors import grids_geojson, regions_geojson
from cityloop.notifications.models import NotificationKind
from cityloop.notifications.selectors import notifications_for, unread_count
from cityloop.notifications.services import notification_mark_read

MAX_ID = 2**62
E = ErrorResponses

class Renderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=Renderer(),
    parser=SingleValueParser(),
    title="CityLoop 开放接口",
    version="1",
    description=(
        "城市运行管理服务平台的 REST 接口。认证：`Authorization: Bearer <API 令牌>`，或浏览器登录会话"
        "（POST 需 `X-CSRFToken`）。所有失败都返回 `{code, message, details}`。详见 docs/api.md。"
    ),
    urls_namespace="api-v1",
    auth=AUTH,
    throttle=THROTTLE,
    docs_url=None,  # served by views.api_docs from local files (no CDN at run time)
)


def _any_error(request: HttpRequest, exc: Exception | type[Exception]) -> HttpResponse:
    return response_for(exc if isinstance(exc, BaseException) else exc())


# Ninja looks handlers up by the exception's class hierarchy: override its defaults one by one.
for _error_class in (Exception, HttpError, ValidationError, Http404):
    api.add_exception_handler(_error_class, _any_error)


def json_response(data: Any, status: int = 200) -> HttpResponse:
    """A JSON response of JSON-ready data, without Ninja's per-field validation (the documented schema is
    the same; the tests and Schemathesis check the two agree)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)
    return HttpResponse(text, status=status, content_type="application/json; charset=utf-8")


def _user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


# --- health ----------------------------------------------------------------------------------


@api.get("/health", auth=None, throttle=[], response={200: HealthOut}, tags=["系统"], summary="健康检查（无需认证）",
         operation_id="health")
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"status":"ok"}', content_type="application/json")


# --- cases -----------------------------------------------------------------------------------

cases = Router(tags=["案卷"])


#: Default lifetime of a cached list page; ``CITYLOOP_API_LIST_CACHE_SECONDS`` overrides it (0 = off).
LIST_CACHE_SECONDS = 1


def list_cache_seconds() -> int:
    return int(getattr(settings, "CITYLOOP_API_LIST_CACHE_SECONDS", LIST_CACHE_SECONDS) or 0)


def _generation_key(user_id: int) -> str:
    return f"cl-api-list-generation:{user_id}"


def forget_cached_lists(user: User) -> None:
    """After a write through the API, the writer's next list is fresh (others see it within the lifetime)."""
    if list_cache_seconds() > 0:
        cache.set(_generation_key(user.pk), time.time_ns(), 3600)


def _filter_params(filters: CaseFilters) -> QueryDict:
    """The validated filters as the query string the FilterSet reads (the same parsing as the workbench)."""
    params = QueryDict(mutable=True)
    for name, value in filters.model_dump(exclude={"page", "page_size"}, exclude_none=True).items():
        if isinstance(value, list):
            params.setlist(name, [str(v) for v in value])
        elif isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif hasattr(value, "isoformat"):
            params[name] = value.isoformat()
        else:
            params[name] = str(value)
    return params


@cases.get("/cases", response={200: CasePage, **E(400, 401, 403, 422, 429)}, summary="案卷列表（与工作台同一套筛选）",
           operation_id="cases_list")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> HttpResponse:
    user = _user(request)
    seconds = list_cache_seconds()
    cache_key = None
    if seconds > 0:  # micro-cache: the same user's same query within N seconds gets the same page
        generation = cache.get(_generation_key(user.pk), 0)
        digest = hashlib.sha256(f"{user.pk}:{generation}?{request.META.get('QUERY_STRING', '')}".encode()).hexdigest()
        cache_key = f"cl-api-list:{digest}"
        cached = cache.get(cache_key)
        if cached is not None:
            return HttpResponse(cached, content_type="application/json; charset=utf-8")
    params = _filter_params(filters)
    queryset = cases_visible_to(user)
    narrowed = False
    terms: list[str] = []
    if params:  # without parameters the FilterSet filters nothing: skip building it
        queryset, filterset = filter_cases(queryset, params)
        if not filterset.is_valid():
            details = {field: [str(m) for m in messages] for field, messages in filterset.errors.items()}
            raise ApiError(422, details=details)
        narrowed = narrows(filterset)
        terms = search_terms(filterset)
    count_exact = True
    if terms:  # a text search counts up to SEARCH_COUNT_CAP matches; its later pages are still served
        count, count_exact = capped_count(queryset, terms=terms)
    else:
        count = queryset.count() if narrowed else cases_visible_count(user)
    start = (filters.page - 1) * filters.page_size
    stop = start + filters.page_size
    ids = deep_page_ids(queryset, start, stop) if start < count or not count_exact else []
    if ids is None:
        rows = list(queryset.values(*present.LIST_COLUMNS)[start:stop])
    else:
        by_id = {row["id"]: row for row in page_rows(queryset, ids).values(*present.LIST_COLUMNS)}
        rows = [by_id[pk] for pk in ids if pk in by_id]
    now = timezone.now()
    response = json_response({
        "count": count,
        "count_exact": count_exact,
        "page": filters.page,
        "page_size": filters.page_size,
        "pages": math.ceil(count / filters.page_size) if count else 0,
        "results": present.case_rows(rows, now),
    })
    if cache_key is not None:
        cache.set(cache_key, response.content, seconds)
    return response


REPORT_FILES = {"photos": "处置前照片（JPEG/PNG/WebP/HEIC）", "after_photos": "自处理的处置后照片"}


@cases.post(
    "/cases",
    response={200: ReportOut, 201: ReportOut, **E(400, 401, 403, 413, 415, 422, 429)},
    summary="上报案卷（JSON，或 multipart/form-data 带照片）",
    description="同一用户的同一幂等键（`Idempotency-Key` 头或 `idempotency_key` 字段）只建一个案卷：第一次 201，重复提交 200 并返回第一次的案卷。",
    openapi_extra=body_schema(ReportIn, files=REPORT_FILES),
    operation_id="cases_report",
)
def report_case(
    request: HttpRequest, idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=80)
) -> HttpResponse:
    user = _user(request)
    payload, files = read_body(request, ReportIn, file_fields=tuple(REPORT_FILES))
    key = payload.idempotency_key or (idempotency_key or "").strip() or None
    if key is not None:
        try:
            check_text(key)
        except ValueError as exc:
            raise ApiError(422, details={"idempotency_key": [str(exc)]}) from None
    source = payload.source or (Source.INSPECTOR if user.role == Role.INSPECTOR else Source.PUBLIC)
    if user.role == Role.CITIZEN and source != Source.PUBLIC:
        raise PermissionDenied("市民只能以“公众举报”的来源上报")
    result = case_report(
        source=source,
        category=payload.category,
        description=payload.description,
        lon=payload.lon,
        lat=payload.lat,
        crs=payload.crs,
        address=payload.address,
        urgency=payload.urgency,
        reporter=user,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        photos=files["photos"],
        self_handled=payload.self_handled,
        after_photos=files["after_photos"],
        idempotency_key=f"api:{user.pk}:{key}" if key else None,
        external_id=payload.external_id,
        asset_code=payload.asset_code,
    )
    forget_cached_lists(user)
    body = {"created": result.created, "duplicates": [int(pk) for pk in result.duplicates],
            "case": present.case_item(result.case)}
    return json_response(body, 201 if result.created else 200)


def _load(case_id: int) -> Case:
    return Case.objects.select_related(
        "category", "category__parent", "grid", "community", "street", "district", "department", "assignee",
        "merged_into", "proposed_department",
    ).get(pk=case_id)


def _visible(request: HttpRequest, case_id: int) -> Case:
    if not 0 < case_id <= MAX_ID:
        raise NotFound("案卷不存在")
    return case_get_for_user(user=_user(request), case_id=case_id)


@cases.get("/cases/{case_id}", response={200: CaseDetail, **E(401, 403, 404, 422, 429)}, summary="案卷详情（含时间线和环节）",
           operation_id="cases_get")
def get_case(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _visible(request, case_id)
    return json_response(present.case_detail(case, _user(request), request))


@cases.get("/cases/{case_id}/inspectors", response={200: list[InspectorOut], **E(401, 403, 404, 422, 429)},
           summary="负责该案卷区域的监督员（派发核实/核查时选择）", operation_id="cases_inspectors")
def case_inspectors(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    case = _visible(request, case_id)
    if _user(request).role == Role.CITIZEN:
        raise PermissionDenied("市民不能查看监督员名单")
    return [{"id": u.pk, "username": u.username, "name": u.display_name}
            for u in sorted(users_covering(case, [Role.INSPECTOR]), key=lambda u: u.username)]


# --- workflow actions ------------------------------------------------------------------------

ACTION_ERRORS = E(400, 401, 403, 404, 409, 413, 415, 422, 429)
PHOTO_FILES = {"photos": "现场照片"}


def _act(request: HttpRequest, case_id: int, action: Action | str, payload: ActionIn, *,
         data: dict[str, Any] | None = None, photos: list[Any] | tuple[Any, ...] = (),
         photo_kind: str = AttachmentKind.AFTER) -> HttpResponse:
    user = _user(request)
    case = _visible(request, case_id)
    case_transition(case=case, action=action, actor=user, note=payload.note, data=data, photos=photos,
                    photo_kind=photo_kind, expected_version=payload.expected_version)
    forget_cached_lists(user)
    return json_response(present.case_detail(_load(case.pk), user, request))


def _action(name: str, schema: type[ActionIn], summary: str, *, files: bool = False) -> Any:
    extra = body_schema(schema, files=PHOTO_FILES if files else None,
                        required=bool(schema.model_json_schema().get("required")))
    return cases.post(f"/cases/{{case_id}}/actions/{name}", response={200: CaseDetail, **ACTION_ERRORS},
                      summary=summary, openapi_extra=extra, operation_id=f"cases_{name}", tags=["案卷流转"])


@_action("send_verify", InspectorActionIn, "派发核实")
def act_send_verify(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, InspectorActionIn)
    return _act(request, case_id, Action.SEND_VERIFY, payload, data={"inspector": payload.inspector_id})


@_action("verify", VerifyIn, "核实回复（可带照片）", files=True)
def act_verify(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, files = read_body(request, VerifyIn, file_fields=("photos",))
    return _act(request, case_id, Action.VERIFY, payload, data={"valid": payload.valid}, photos=files["photos"],
                photo_kind=AttachmentKind.BEFORE)


@_action("register", ActionIn, "立案")
def act_register(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, ActionIn)
    return _act(request, case_id, Action.REGISTER, payload)


@_action("reject", ActionIn, "不予立案（note 必填）")
def act_reject(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, ActionIn)
    return _act(request, case_id, Action.REJECT, payload)


@_action("merge", MergeIn, "合并到另一案卷")
def act_merge(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, MergeIn)
    return _act(request, case_id, Action.MERGE, payload, data={"into": payload.into_id})


@_action("review_self_handling", ApproveIn, "自处理审核")
def act_review_self_handling(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, ApproveIn)
    action = Action.APPROVE_SELF_HANDLING if payload.approve else Action.REFUSE_SELF_HANDLING
    return _act(request, case_id, action, payload)


@_action("dispatch", DispatchIn, "派遣（省略 department_id 则按派遣规则）")
def act_dispatch(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, DispatchIn)
    return _act(request, case_id, Action.DISPATCH, payload, data={"department": payload.department_id})


@_action("handle", ActionIn, "处置反馈（note 必填，可带照片）", files=True)
def act_handle(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, files = read_body(request, ActionIn, file_fields=("photos",))
    return _act(request, case_id, Action.HANDLE, payload, photos=files["photos"])


@_action("send_check", InspectorActionIn, "派发核查")
def act_send_check(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, InspectorActionIn)
    return _act(request, case_id, Action.SEND_CHECK, payload, data={"inspector": payload.inspector_id})


@_action("check", CheckIn, "核查（passed=false 为返工，可带照片）", files=True)
def act_check(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, files = read_body(request, CheckIn, file_fields=("photos",))
    action = Action.CHECK_PASS if payload.passed else Action.REWORK
    return _act(request, case_id, action, payload, photos=files["photos"])


@_action("close", ActionIn, "结案")
def act_close(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, ActionIn)
    return _act(request, case_id, Action.CLOSE, payload)


REQUEST_ACTIONS = {"return": Action.REQUEST_RETURN, "extension": Action.REQUEST_EXTENSION,
                   "suspension": Action.REQUEST_SUSPENSION}
DECISIONS = {
    "return": (Action.APPROVE_RETURN, Action.REFUSE_RETURN),
    "extension": (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION),
    "suspension": (Action.APPROVE_SUSPENSION, Action.REFUSE_SUSPENSION),
}


@_action("request", RequestIn, "申请回退、延期（value、unit）或挂账（note 为理由，必填）")
def act_request(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, RequestIn)
    value = None if payload.value is None else format(payload.value, "g")
    return _act(request, case_id, REQUEST_ACTIONS[payload.kind], payload,
                data={"value": value, "unit": payload.unit})


@_action("decide", ApproveIn, "审批待审批的申请")
def act_decide(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, ApproveIn)
    case = _visible(request, case_id)
    if case.pending_request not in DECISIONS:
        from cityloop.cases.errors import InvalidTransition

        raise InvalidTransition(f"案卷 {case.number} 没有待审批的申请")
    approve, refuse = DECISIONS[case.pending_request]
    return _act(request, case_id, approve if payload.approve else refuse, payload)


@_action("resume", ActionIn, "挂账恢复")
def act_resume(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, ActionIn)
    return _act(request, case_id, Action.RESUME, payload)


@_action("void", ActionIn, "作废（note 必填）")
def act_void(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, ActionIn)
    return _act(request, case_id, Action.VOID, payload)


@_action("supervise", SuperviseIn, "督办 / 取消督办")
def act_supervise(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, SuperviseIn)
    return _act(request, case_id, Action.SUPERVISE if payload.on else Action.UNSUPERVISE, payload)


@_action("rate", RateIn, "满意度评价（举报人本人）")
def act_rate(request: HttpRequest, case_id: int) -> HttpResponse:
    payload, _ = read_body(request, RateIn)
    return _act(request, case_id, Action.RATE, payload, data={"rating": payload.rating})


# --- reference data --------------------------------------------------------------------------

reference = Router(tags=["基础数据"])
KIND_LABELS = dict(CategoryKind.choices)
DEPARTMENT_KIND_LABELS = dict(DepartmentKind.choices)


def _category(c: Category) -> dict[str, Any]:
    parent = c.parent if c.parent_id else None
    return {
        "code": c.code, "name": c.name, "kind": c.kind, "kind_label": KIND_LABELS.get(c.kind, c.kind),
        "is_major": c.parent_id is None,
        "parent": {"code": parent.code, "name": parent.name} if parent else None,
    }


@reference.get("/categories", response={200: list[CategoryOut], **E(401, 422, 429)}, summary="案件分类（可搜索）",
               operation_id="categories_list")
def list_categories(request: HttpRequest, query: Query[CategoryQuery]) -> list[dict[str, Any]]:
    if query.q and query.q.strip():
        found = category_search(query.q, kind=query.kind, limit=50)
    else:
        qs = Category.objects.filter(is_active=True).select_related("parent")
        if query.kind:
            qs = qs.filter(kind=query.kind)
        found = list(qs.order_by("code"))
    if query.parent:
        found = [c for c in found if c.parent is not None and c.parent.code == query.parent]
    if query.minor_only:
        found = [c for c in found if c.parent_id]
    return [_category(c) for c in found]


@reference.get("/departments", response={200: list[DepartmentOut], **E(401, 429)}, summary="处置单位",
               operation_id="departments_list")
def list_departments(request: HttpRequest) -> list[dict[str, Any]]:
    rows = Department.objects.filter(is_active=True).select_related("region").order_by("code")
    return [
        {"id": d.pk, "code": d.code, "name": d.name, "kind": d.kind,
         "kind_label": DEPARTMENT_KIND_LABELS.get(d.kind, d.kind),
         "region": d.region.code if d.region_id and d.region else None, "phone": d.phone}
        for d in rows.only("id", "code", "name", "kind", "phone", "region__code")
    ]


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None or not text.strip():
        return None
    parts = text.split(",")
    try:
        values: tuple[float, ...] = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValidationFailed("bbox 应为 最小经度,最小纬度,最大经度,最大纬度", field="bbox")
    return values[0], values[1], values[2], values[3]


@reference.get("/geo/regions", response={200: FeatureCollection, **E(401, 422, 429)},
               summary="区划边界 GeoJSON（按级别，可按 bbox 筛选）", operation_id="geo_regions")
def geo_regions(request: HttpRequest, query: Query[RegionQuery]) -> HttpResponse:
    return _geojson(regions_geojson(level=query.level, bbox=_bbox(query.bbox)))


@reference.get("/geo/grids", response={200: FeatureCollection, **E(401, 422, 429)},
               summary="单元网格 GeoJSON（bbox 必填）", operation_id="geo_grids")
def geo_grids(request: HttpRequest, query: Query[GridQuery]) -> HttpResponse:
    bbox = _bbox(query.bbox)
    if bbox is None:
        raise ValidationFailed("需要指定 bbox", field="bbox")
    return _geojson(grids_geojson(bbox, limit=query.limit))


def _geojson(collection: dict[str, Any]) -> HttpResponse:
    import json

    for feature in collection["features"]:
        feature["id"] = str(feature["id"])
    return HttpResponse(json.dumps(collection, ensure_ascii=False, separators=(",", ":")),
                        content_type="application/json; charset=utf-8")


# --- evaluation (综合评价) ---------------------------------------------------------------------

evaluation = Router(tags=["综合评价"])


def _check_period(text: str) -> None:
    """422 for a period ``Period.parse`` refuses, years outside its range included (named ``period``: the
    API has no from/to fields)."""
    try:
        Period.parse(text)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="period") from None


@evaluation.get(
    "/evaluation/{level}",
    response={200: EvaluationOut, **E(401, 403, 422, 429)},
    summary="综合评价：一类考评对象在一个周期的指标、综合指标值、等级和排名",
    description=(
        "与“综合评价”页面同一套数字和权限：领导、值班长、派遣员和管理员看全部考评对象和全部单位（含全市合计）；"
        "处置单位人员只看处置单位这一级中本单位的行；受理员和监督员只看本岗位中自己的一行；市民无权查看（403）。"
        "名次总是在全部同级单位中排出。统计截至请求时刻。"
    ),
    operation_id="evaluation_get",
)
def get_evaluation(request: HttpRequest, level: EvaluationLevelCode, query: Query[EvaluationQuery]) -> HttpResponse:
    _check_period(query.period)
    return json_response(evaluation_for_api(user=_user(request), level=level, period=query.period))


# --- notifications and the account -------------------------------------------------------------

account = Router(tags=["通知与账号"])
NOTIFICATION_LABELS = dict(NotificationKind.choices)


@account.get("/me", response={200: MeOut, **E(401, 429)}, summary="当前用户及其岗位、范围", operation_id="me")
def me(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    return {
        "id": user.pk, "username": user.username, "name": user.display_name, "role": user.role,
        "role_label": user.get_role_display(),
        "regions": [{"code": r.code, "name": r.name} for r in user.regions.only("code", "name").order_by("code")],
        "departments": [{"id": d.pk, "name": d.name} for d in user.departments.only("id", "name").order_by("code")],
    }


@account.get("/notifications", response={200: NotificationList, **E(401, 422, 429)}, summary="我的通知",
             operation_id="notifications_list")
def list_notifications(request: HttpRequest, query: Query[NotificationQuery]) -> dict[str, Any]:
    user = _user(request)
    return {
        "unread": unread_count(user),
        "results": [
            {"id": n.pk, "kind": n.kind, "kind_label": NOTIFICATION_LABELS.get(n.kind, n.kind), "title": n.title,
             "body": n.body, "link": n.link, "case_id": n.case_id, "case_number": n.case_number,
             "created_at": present.local(n.created_at), "read_at": present.local(n.read_at)}
            for n in notifications_for(user, unread_only=query.unread_only, limit=query.limit)
        ],
    }


@account.get("/notifications/unread-count", response={200: UnreadOut, **E(401, 429)}, summary="未读通知数",
             operation_id="notifications_unread")
def notifications_unread(request: HttpRequest) -> dict[str, int]:
    return {"unread": unread_count(_user(request))}


@account.post("/notifications/read", response={200: MarkedOut, **E(400, 401, 403, 415, 422, 429)},
              summary="标为已读（省略 ids 表示全部）", openapi_extra=body_schema(MarkReadIn, required=False),
              operation_id="notifications_mark_read")
def notifications_read(request: HttpRequest) -> dict[str, int]:
    payload, _ = read_body(request, MarkReadIn)
    ids = None if payload.ids is None else [i for i in payload.ids if 0 < i <= MAX_ID]
    return {"marked": notification_mark_read(user=_user(request), notification_ids=ids)}


def _token(t: ApiToken) -> dict[str, Any]:
    return {"id": t.pk, "name": t.name, "prefix": t.prefix, "created_at": present.local(t.created_at),
            "last_used_at": present.local(t.last_used_at), "revoked_at": present.local(t.revoked_at)}


@account.get("/tokens", response={200: list[TokenOut], **E(401, 429)}, summary="我的 API 令牌", operation_id="tokens_list")
def list_tokens(request: HttpRequest) -> list[dict[str, Any]]:
    return [_token(t) for t in tokens_of(_user(request))]


@account.post("/tokens", response={201: TokenCreated, **E(400, 401, 403, 415, 422, 429)},
              summary="创建 API 令牌（完整令牌只返回这一次）", openapi_extra=body_schema(TokenIn),
              operation_id="tokens_create")
def create_token(request: HttpRequest) -> Status[dict[str, Any]]:
    payload, _ = read_body(request, TokenIn)
    token, key = token_create(user=_user(request), name=payload.name, by=_user(request))
    return Status(201, {**_token(token), "key": key})


@account.delete("/tokens/{token_id}", response={200: TokenOut, **E(401, 403, 404, 422, 429)}, summary="吊销 API 令牌",
                operation_id="tokens_revoke")
def revoke_token(request: HttpRequest, token_id: int) -> dict[str, Any]:
    user = _user(request)
    token = ApiToken.objects.filter(Q(pk=token_id) if 0 < token_id <= MAX_ID else Q(pk__in=[]), user=user).first()
    if token is None:
        raise NotFound("令牌不存在")
    return _token(token_revoke(token=token, by=user))


api.add_router("", cases)
api.add_router("", reference)
api.add_router("", evaluation)
api.add_router("", account)
