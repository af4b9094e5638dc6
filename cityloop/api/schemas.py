"""Request and response schemas of ``/api/v1`` (they are the OpenAPI document's components)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from cityloop.accounts.models import Role
from cityloop.cases.statuses import CaseStatus, Source
from cityloop.core.text import decimal
from cityloop.evaluation.models import Level

StatusCode = Literal[
    "reported", "verifying", "registered", "dispatched", "suspended", "handled", "checking", "closed",
    "rejected", "merged", "voided",
]
SourceCode = Literal["inspector", "public", "hotline", "sensor", "camera", "superior", "open311"]
ReportSource = Literal["inspector", "public", "hotline", "sensor", "camera", "superior"]
UrgencyCode = Literal["normal", "urgent"]
CrsCode = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
RoleCode = Literal["inspector", "operator", "shift_leader", "dispatcher", "handler", "leader", "citizen", "admin"]
Ordering = Literal["reported_at", "-reported_at", "number", "-number", "due", "-due", "handling_due", "-handling_due"]
RequestKind = Literal["return", "extension", "suspension"]
TimeUnitCode = Literal["work_hour", "work_day", "hour", "day"]
RegionLevelCode = Literal["city", "district", "street", "community"]
EvaluationLevelCode = Literal[
    "inspector", "operator", "shift_leader", "dispatcher", "department", "district", "street", "community", "grid",
]

assert set(StatusCode.__args__) == set(CaseStatus.values)  # type: ignore[attr-defined]
assert set(SourceCode.__args__) == set(Source.values)  # type: ignore[attr-defined]
assert set(RoleCode.__args__) == set(Role.values)  # type: ignore[attr-defined]
assert set(EvaluationLevelCode.__args__) == set(Level.values)  # type: ignore[attr-defined]

#: What a date-time parameter must look like (pydantic alone would also take a Unix timestamp).
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|z|[+-]\d{2}:?\d{2})?$")

#: Datetimes outside these years are refused (they cannot be stored or compared safely).
MIN_YEAR, MAX_YEAR = 1970, 2200


def check_moment(value: datetime | None) -> datetime | None:
    if value is not None and not (MIN_YEAR <= value.year <= MAX_YEAR):
        raise ValueError(f"日期应在 {MIN_YEAR} 年至 {MAX_YEAR} 年之间")
    return value


def check_text(value: str) -> str:
    """Refuse NUL characters and lone surrogates (no database stores them)."""
    if "\x00" in value:
        raise ValueError("含有非法字符")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("含有无效的 Unicode 字符") from None
    return value


class InSchema(Schema):
    """Base of every input schema: unknown fields are refused, text is checked for NUL and surrogates."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return check_text(value)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    check_text(item)
        return value


# --- errors ----------------------------------------------------------------------------------


class ErrorOut(Schema):
    """Every failure: a stable ``code``, a Chinese ``message`` and per-field messages."""

    code: str = Field(description="稳定的错误代码，如 invalid、outside_city、photo_rejected、forbidden、stale_case")
    message: str = Field(description="给人看的中文说明")
    details: dict[str, list[str]] = Field(description="字段 → 该字段的错误说明")


# --- shared references ---------------------------------------------------------------------


class CodeName(Schema):
    code: str
    name: str


class DepartmentRef(Schema):
    id: int
    name: str


class UserRef(Schema):
    id: int
    name: str


class CaseRef(Schema):
    id: int
    number: str


class PhotoOut(Schema):
    kind: Literal["before", "after"]
    url: str = Field(description="公开版本（去除 EXIF/GPS）的地址")
    width: int
    height: int
    event_id: int | None


# --- cases -----------------------------------------------------------------------------------


class CaseItem(Schema):
    id: int
    number: str
    status: StatusCode
    status_label: str
    source: SourceCode
    source_label: str
    category: CodeName
    major_category: CodeName | None
    urgency: UrgencyCode
    description: str
    address: str
    lon: float = Field(description="WGS-84 经度")
    lat: float = Field(description="WGS-84 纬度")
    grid: str = Field(description="单元网格编码")
    district: CodeName
    street: CodeName
    community: CodeName
    department: DepartmentRef | None
    stage: str = Field(description="当前环节（accept/verify/register/dispatch/handle/check/close），已办结为空")
    stage_due_at: datetime | None
    handling_due_at: datetime | None
    pending_request: Literal["", "return", "extension", "suspension"]
    supervised: bool
    is_open: bool
    overdue: bool
    reported_at: datetime
    updated_at: datetime
    version: int = Field(description="每次状态变化加 1；动作可带 expected_version 防止覆盖他人的操作")


class CasePage(Schema):
    count: int = Field(description="符合条件的案卷总数；全文搜索（q）最多数到 1000，更多时为 1000 且 count_exact 为 false")
    count_exact: bool = Field(
        True, description="count 是否为确切总数；false 表示搜索结果超过 count 条，pages 之后的页仍可按 page 继续读取，"
                          "直到某页不足 page_size 条")
    page: int
    page_size: int
    pages: int
    results: list[CaseItem]


class EventOut(Schema):
    id: int
    action: str
    action_label: str
    from_status: str
    to_status: str
    actor_name: str
    actor_role: str
    created_at: datetime
    note: str
    data: dict[str, Any]
    department: DepartmentRef | None
    is_public: bool
    photos: list[PhotoOut]


class StageOut(Schema):
    stage: str
    stage_label: str
    started_at: datetime
    warn_at: datetime
    due_at: datetime
    paused_at: datetime | None
    ended_at: datetime | None
    on_time: bool | None
    extended: bool
    light: Literal["green", "yellow", "red"]
    used_share: float
    department: DepartmentRef | None


class CaseDetail(CaseItem):
    asset_code: str
    external_id: str
    verified: bool
    verification_valid: bool | None
    self_handled: bool
    check_passed: bool
    assignee: UserRef | None
    proposed_department: DepartmentRef | None
    routing_reason: str
    merged_into: CaseRef | None
    duplicate_candidates: list[int]
    satisfaction: int | None
    rework_count: int
    return_count: int
    dispatch_count: int
    registered_at: datetime | None
    closed_at: datetime | None
    allowed_actions: list[str] = Field(description="当前用户现在可以进行的动作")
    photos: list[PhotoOut]
    stages: list[StageOut]
    timeline: list[EventOut]


class ReportOut(Schema):
    created: bool = Field(description="false 表示同一幂等键的重复提交，返回的是第一次创建的案卷")
    duplicates: list[int] = Field(description="疑似重复的未办结案卷 id")
    case: CaseItem


class ReportIn(InSchema):
    """A new report. As multipart/form-data the same fields plus files ``photos`` (and ``after_photos``)."""

    category: str = Field(min_length=1, max_length=8, description="5 位小类编码，如 01001")
    description: str = Field(min_length=1, max_length=2000)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: CrsCode = Field("wgs84", description="坐标系")
    address: str = Field("", max_length=300)
    urgency: UrgencyCode = "normal"
    source: ReportSource | None = Field(
        None, description="来源；省略时监督员为 inspector，其他人为 public。市民只能用 public"
    )
    reporter_name: str = Field("", max_length=50, description="举报人姓名（热线代录时填写）")
    reporter_phone: str = Field("", max_length=20)
    self_handled: bool = Field(False, description="监督员自处理（需同时上传 after_photos）")
    asset_code: str = Field("", max_length=16)
    external_id: str = Field("", max_length=100)
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=80, description="幂等键（也可放在 Idempotency-Key 头）；同一用户同一键只建一个案卷"
    )

    @field_validator("lon", "lat", mode="before")
    @classmethod
    def _decimal_text(cls, value: Any) -> Any:
        """Coordinates sent as form text follow the rule of every channel (``core.text.decimal``): full-width
        digits read as ASCII, nothing but a plain decimal. Handed on as ASCII text, so JSON stays strict."""
        if isinstance(value, str):
            number = decimal(value)
            if number is None:
                raise ValueError("应为数字")
            return repr(number)
        return value

    @field_validator("lon", "lat", mode="after")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("应为有限的数字")
        return value


# --- workflow actions ------------------------------------------------------------------------


class ActionIn(InSchema):
    note: str = Field("", max_length=2000, description="意见")
    expected_version: int | None = Field(
        None, ge=0, le=2**31, description="案卷的 version；不一致时返回 409 stale_case"
    )


class InspectorActionIn(ActionIn):
    inspector_id: int = Field(ge=1, le=2**62, description="监督员的用户 id（见 GET /cases/{case_id}/inspectors）")


class VerifyIn(ActionIn):
    valid: bool = Field(description="核实结果：属实/不属实")


class MergeIn(ActionIn):
    into_id: int = Field(ge=1, le=2**62, description="合并到的案卷 id")


class ApproveIn(ActionIn):
    approve: bool


class DispatchIn(ActionIn):
    department_id: int | None = Field(None, ge=1, le=2**62, description="处置单位 id；省略则按派遣规则")


class CheckIn(ActionIn):
    passed: bool = Field(description="核查通过；false 为返工")


class RequestIn(ActionIn):
    kind: RequestKind = Field(description="回退、延期或挂账")
    value: float | None = Field(None, gt=0, le=1000, description="延期时长（仅延期）")
    unit: TimeUnitCode = "work_day"


class SuperviseIn(ActionIn):
    on: bool = Field(True, description="true 督办，false 取消督办")


class RateIn(ActionIn):
    rating: Literal[1, 2, 3] = Field(description="3 满意，2 基本满意，1 不满意")


# --- reference data --------------------------------------------------------------------------


class CategoryOut(Schema):
    code: str
    name: str
    kind: Literal["component", "event"]
    kind_label: str
    is_major: bool
    parent: CodeName | None


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    kind_label: str
    region: str | None = Field(description="所在区划代码")
    phone: str


class GeoFeature(Schema):
    type: Literal["Feature"]
    id: str
    properties: dict[str, Any]
    geometry: dict[str, Any]


class FeatureCollection(Schema):
    type: Literal["FeatureCollection"]
    features: list[GeoFeature]


class InspectorOut(Schema):
    id: int
    username: str
    name: str


# --- notifications, account, tokens ------------------------------------------------------------


class NotificationOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    link: str
    case_id: int | None
    case_number: str
    created_at: datetime
    read_at: datetime | None


class NotificationList(Schema):
    unread: int
    results: list[NotificationOut]


class UnreadOut(Schema):
    unread: int


class MarkReadIn(InSchema):
    ids: list[int] | None = Field(None, max_length=1000, description="要标为已读的通知 id；省略表示全部")


class MarkedOut(Schema):
    marked: int


class MeOut(Schema):
    id: int
    username: str
    name: str
    role: RoleCode
    role_label: str
    regions: list[CodeName]
    departments: list[DepartmentRef]


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    key: str = Field(description="完整令牌，只显示这一次")


class TokenIn(InSchema):
    name: str = Field(min_length=1, max_length=100)


class HealthOut(Schema):
    status: Literal["ok"]


# --- evaluation (综合评价) ---------------------------------------------------------------------


class EvaluationPeriodOut(Schema):
    key: str = Field(description="周期代码，可原样用作 period 参数：2026Q3、2026-10、2026 或 2026-09-28~2026-10-11")
    label: str = Field(description="中文名称，如 2026年第3季度")
    start: date = Field(description="第一天")
    end: date = Field(description="最后一天（含）")


class EvaluationWeightOut(Schema):
    indicator: str = Field(description="指标代码（见 columns）")
    weight: float = Field(description="权重（%），合计 100")
    method: Literal["rate", "inverse_rate", "steps"] = Field(
        description="rate：比率×100；inverse_rate：(1−比率)×100；steps：分档计分"
    )


class EvaluationSchemeOut(Schema):
    name: str
    formula: str = Field(description="综合指标值的计算公式（中文）")
    weights: list[EvaluationWeightOut]


class EvaluationColumnOut(Schema):
    code: str = Field(description="指标代码，即 values 的键")
    label: str
    kind: Literal["count", "rate", "density"] = Field(description="count 件数，rate 0–1 的比率，density 每平方公里件数")
    definition: str
    lower_is_better: bool


class EvaluationUnitOut(Schema):
    id: int = Field(description="用户、处置单位、区划或单元网格的 id")
    code: str = Field(description="用户名、单位编码、区划代码或网格编码")
    name: str
    parent: str = Field(description="所属上级的名称（区域和网格），其他为空")
    area_km2: float | None = Field(description="面积（平方公里），仅区域和网格")
    region_class: Literal["", "1", "2"] = Field(description="区域类别：1 一类，2 二类；非区域为空")


class EvaluationFiguresOut(Schema):
    values: dict[str, float | None] = Field(
        description="指标代码 → 值：件数为整数，比率为 0–1，密度为每平方公里件数；分母为 0（或无合计）时为 null"
    )
    scores: dict[str, float | None] = Field(description="计入综合指标值的各指标得分（0–100），无值时为 null")
    composite: float | None = Field(description="综合指标值（百分制，两位小数）；本期无工作量时为 null")
    grade: Literal["", "A", "B", "C", "D", "E"] = Field(description="等级：A ≥ 90，B ≥ 75，C ≥ 60，D ≥ 40，E 以下；无得分为空")
    rank: int | None = Field(description="在全部同级单位中的名次（并列同名次）")
    previous: float | None = Field(description="上期综合指标值")
    change: float | None = Field(description="较上期的变化")
    previous_rank: int | None = Field(description="上期名次")
    active: bool = Field(description="本期有工作量（参与评分和排名）")


class EvaluationRowOut(EvaluationFiguresOut):
    unit: EvaluationUnitOut


class EvaluationTotalOut(EvaluationFiguresOut):
    unit: None = Field(description="合计行没有单位")


class EvaluationOut(Schema):
    level: EvaluationLevelCode
    level_label: str
    period: EvaluationPeriodOut
    previous_period: str | None = Field(description="上期的周期代码")
    scheme: EvaluationSchemeOut
    columns: list[EvaluationColumnOut]
    rows: list[EvaluationRowOut] = Field(description="按名次排列；只含当前用户可以查看的单位")
    total: EvaluationTotalOut | None = Field(description="全市合计；只能看到部分单位的用户为 null")
    peers: int = Field(description="参与排名的单位数（全部同级单位，不限于可见的）")


# --- query parameters ------------------------------------------------------------------------


class QuerySchema(InSchema):
    model_config = ConfigDict(extra="ignore")


class CaseFilters(QuerySchema):
    """The workbench's filters (``cases.filters.CaseFilterSet``) plus the page."""

    q: str | None = Field(None, max_length=100, description="搜索编号前缀、地址、描述")
    status: list[StatusCode] | None = Field(None, description="状态，可重复")
    category: str | None = Field(None, max_length=8, description="分类编码：2 位大类或 5 位小类")
    region: str | None = Field(None, max_length=15, description="区划代码：区县、街道或社区")
    department: int | None = Field(None, ge=1, le=2**62, description="处置单位 id")
    source: list[SourceCode] | None = Field(None, description="来源，可重复")
    reported_from: datetime | None = Field(None, description="上报时间起（含）")
    reported_to: datetime | None = Field(None, description="上报时间止（不含）")
    overdue: bool | None = Field(None, description="已超期")
    supervised: bool | None = Field(None, description="督办")
    is_open: bool | None = Field(None, description="未办结")
    ordering: Ordering | None = Field(None, description="排序；默认按上报时间倒序")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)

    @field_validator("reported_from", "reported_to", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        if isinstance(value, str) and not ISO_DATETIME.match(value.strip()):
            raise ValueError("应为 ISO 8601 日期时间，如 2026-01-01T08:00:00+08:00")
        return value

    @field_validator("reported_from", "reported_to", mode="after")
    @classmethod
    def _moment(cls, value: datetime | None) -> datetime | None:
        return check_moment(value)


class CategoryQuery(QuerySchema):
    q: str | None = Field(None, max_length=50, description="名称、编码前缀或拼音首字母")
    kind: Literal["component", "event"] | None = None
    parent: str | None = Field(None, max_length=8, description="只列这个大类的小类；空值等于不填")
    minor_only: bool = Field(False, description="只列小类")


class RegionQuery(QuerySchema):
    level: RegionLevelCode = "district"
    bbox: str | None = Field(None, max_length=200, description="最小经度,最小纬度,最大经度,最大纬度（WGS-84）")


class GridQuery(QuerySchema):
    bbox: str = Field(max_length=200, description="最小经度,最小纬度,最大经度,最大纬度（WGS-84），必填")
    limit: int = Field(2000, ge=1, le=5000)


class EvaluationQuery(QuerySchema):
    period: str = Field(
        min_length=1, max_length=40,
        description="考评周期：2026Q3（季度）、2026-10（月）、2026（年）或 2026-09-28~2026-10-11（不超过 400 天）",
    )


class NotificationQuery(QuerySchema):
    unread_only: bool = False
    limit: int = Field(50, ge=1, le=200)
