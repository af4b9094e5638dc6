"""Reads of cases: what a user may see, queues, the timeline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.where import WhereNode
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.accounts.selectors import user_department_ids, user_region_codes
from cityloop.cases import deadlines
from cityloop.cases.errors import ActionForbidden
from cityloop.cases.models import Attachment, Case, CaseEvent, CaseFollower, CaseStage
from cityloop.cases.statuses import CaseStatus
from cityloop.catalog.selectors import RoutingDecision, RoutingFailed, route_case
from cityloop.core.errors import NotFound


def _region_q(codes: list[str]) -> Q:
    q = Q(pk__in=[])
    for code in codes:
        prefix = code[:4] if len(code) == 6 and code.endswith("00") else code
        q |= Q(community__code__startswith=prefix)
    return q


def cases_visible_to(user: User) -> QuerySet[Case]:
    """The cases ``user`` may see: handlers their departments' cases, inspectors their region's and their
    tasks, center roles and leaders their region (all of the city without a region), citizens their own."""
    cases = Case.objects.all()
    if not user.is_authenticated or not user.is_active:
        return cases.none()
    if user.role == Role.HANDLER:
        # Dispatch is the only way a case gets a department, and it opens a handling stage of that department:
        # the stages alone name every case a department handles or handled (read from one index, no OR).
        handled = CaseStage.objects.filter(department_id__in=user_department_ids(user))
        if connection.vendor == "sqlite":
            # SQLite turns ``IN (subquery)`` into a list of every case the department ever had and sorts them
            # for a page; ``EXISTS`` walks the list's order index and stops after a page (0.3 ms, not 800, at
            # 10⁶ cases). PostgreSQL plans both as the same semi-join.
            return cases.filter(Exists(handled.filter(case_id=OuterRef("pk"))))
        return cases.filter(pk__in=handled.values("case_id"))
    if user.role == Role.CITIZEN:
        followed = CaseFollower.objects.filter(user=user).values("case_id")
        return cases.filter(Q(reporter=user) | Q(pk__in=followed))
    codes = user_region_codes(user)
    if codes is None:
        return cases
    scope = _region_q(codes)
    if user.role == Role.INSPECTOR:
        scope |= Q(assignee=user) | Q(reporter=user)
    return cases.filter(scope)


def cases_visible_count(user: User) -> int:
    """How many cases ``cases_visible_to(user)`` holds, counted the cheapest way for the role.

    A handler's cases are the distinct cases of their departments' stages: counted in the stage index alone
    rather than case by case (72 ms rather than 390–1,850 ms for 180,000 cases of 10⁶ on SQLite).
    """
    if user.is_authenticated and user.is_active and user.role == Role.HANDLER:
        stages = CaseStage.objects.filter(department_id__in=user_department_ids(user))
        return stages.values("case_id").distinct().count()
    return cases_visible_to(user).count()


#: Terms this long or longer are looked up in the trigram index of descriptions and addresses (migration 0005).
TEXT_INDEX_MIN_LENGTH = 3


def case_text_q(term: str) -> Q:
    """Cases whose description or address contains ``term`` (letters in any case), or whose number starts with
    it when it is all digits.

    On SQLite a term of three characters or more is matched in the FTS5 trigram table ``cases_case_text``; on
    PostgreSQL ``icontains`` uses the ``pg_trgm`` indexes. Shorter terms scan the table on either engine.
    """
    if connection.vendor == "sqlite" and len(term) >= TEXT_INDEX_MIN_LENGTH:
        phrase = '"' + term.replace('"', '""') + '"'
        text = Q(pk__in=RawSQL("SELECT rowid FROM cases_case_text WHERE cases_case_text MATCH %s", [phrase]))
    else:
        text = Q(address__icontains=term) | Q(description__icontains=term)
    if term.isascii() and term.isdigit():
        # A range on the number's unique index, usable whatever the database's collation.
        text |= Q(number__gte=term, number__lt=term[:-1] + chr(ord(term[-1]) + 1))
    return text


#: A text search (``q``) counts its matches up to this many; beyond, its total reads "more than 1,000". Counting
#: every match fetched every matching row to recheck it against the trigram index's candidates, so the count
#: grew with the city while the page shows 20–50 rows: 泉城路 at 10⁶ cases on PostgreSQL matched 21,837 cases
#: on 18,464 table pages (114 ms in EXPLAIN ANALYZE); counted up to 1,001 from the same index, 24 ms.
SEARCH_COUNT_CAP = 1_000


def capped_count(queryset: QuerySet[Any], cap: int | None = None, *, terms: Iterable[str] = ()) -> tuple[int, bool]:
    """``(count, exact)``: how many rows ``queryset`` holds, counted up to ``cap`` (default ``SEARCH_COUNT_CAP``);
    ``(cap, False)`` when there are more (``SELECT count(*) FROM (… LIMIT cap + 1)``: the database stops at the
    ``cap + 1``-th match).

    ``terms``: the text search's words. When each is long enough for the trigram indexes, PostgreSQL is told
    not to scan the table for the count (``SET LOCAL enable_seqscan = off`` around it): with a limit it would
    otherwise read the table in order until the ``cap + 1``-th match, as it overrates how many rows a word
    matches (泉城路 at 10⁶ cases: 49,891 expected, 21,837 found), which took 75–90 ms at 10⁵ and at 10⁶
    cases against 9 and 24 ms from the indexes (their candidates, then at most ``cap + 1`` rows fetched).
    """
    cap = SEARCH_COUNT_CAP if cap is None else cap
    counted = queryset.order_by().values("pk")[: cap + 1]
    words = list(terms)
    alias = counted.db
    if words and connections[alias].vendor == "postgresql" and min(map(len, words)) >= TEXT_INDEX_MIN_LENGTH:
        with transaction.atomic(using=alias):
            with connections[alias].cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
            found = counted.count()
            with connections[alias].cursor() as cursor:  # within an outer transaction, for its later statements
                cursor.execute("RESET enable_seqscan")
    else:
        found = counted.count()
    return (cap, False) if found > cap else (found, True)


#: From this offset on, a page of a case list is read in two steps (``deep_page_ids``). 0: every page, since
#: page 1 gains too: at 10⁶ cases on SQLite a text search's first page took 1,118 ms in one query (every match
#: built with its joins, then sorted) and 346 ms in two; the city-wide list 253 ms and 127 ms; PostgreSQL
#: was the same either way. The tests raise it to check that both paths return the same rows.
DEEP_OFFSET = 0


def deep_page_ids(queryset: QuerySet[Case], start: int, stop: int) -> list[int] | None:
    """The ids of rows ``start:stop`` of ``queryset`` in its order, or None for a page read in one query.

    A plain ``queryset[start:stop]`` makes the database build every row it skips or sorts, with its joins;
    asking for the ids alone lets the OFFSET walk the ordering's index (``case_reported_order_idx``), after
    which ``page_rows`` fetches the page's rows by primary key.
    """
    if start < DEEP_OFFSET:
        return None
    return list(queryset.values_list("pk", flat=True)[start:stop])


def page_rows(queryset: QuerySet[Any], ids: list[int]) -> QuerySet[Any]:
    """``queryset``'s rows with these ids (its joins and columns, without its filters and order).

    The ids were chosen through the filters already; applying them again would make the database evaluate
    them a second time (a text search's whole match list, for instance)."""
    rows = queryset.order_by()
    rows.query.where = WhereNode()
    return rows.filter(pk__in=ids)


def case_get_for_user(*, user: User, case_id: int | None = None, number: str | None = None) -> Case:
    """One case, or NotFound/ActionForbidden when it does not exist or lies outside the user's scope."""
    lookup = Q(pk=case_id) if case_id is not None else Q(number=number)
    case = Case.objects.filter(lookup).select_related(
        "category", "category__parent", "grid", "community", "street", "district", "department", "reporter",
        "assignee", "merged_into", "proposed_department",
    ).first()
    if case is None:
        raise NotFound("案卷不存在")
    if not cases_visible_to(user).filter(pk=case.pk).exists():
        raise ActionForbidden("您无权查看该案卷")
    return case


def case_timeline(case: Case, *, public_only: bool = False) -> QuerySet[CaseEvent]:
    events = case.events.select_related("actor", "department").prefetch_related("attachments")
    return events.filter(is_public=True) if public_only else events


@dataclass(frozen=True)
class StageView:
    stage: CaseStage
    light: deadlines.Light
    used_share: float


def case_stages(case: Case, *, now: datetime | None = None) -> list[StageView]:
    moment = now or timezone.now()
    return [StageView(s, deadlines.light(s, now=moment), deadlines.used_share(s, now=moment))
            for s in case.stages.select_related("department", "actor")]


def overdue_open_stages(*, now: datetime | None = None) -> QuerySet[CaseStage]:
    moment = now or timezone.now()
    return CaseStage.objects.filter(ended_at__isnull=True, paused_at__isnull=True, due_at__lt=moment)


def routing_proposal(case: Case) -> RoutingDecision | None:
    """Where the routing rules send ``case`` (its asset's maintainer first), or None when no rule applies."""
    maintainer = case.asset.maintainer if case.asset_id and case.asset else None
    try:
        return route_case(category=case.category, region=case.community, asset_maintainer=maintainer)
    except RoutingFailed:
        return None


# --- what the public may see -------------------------------------------------------------------------

#: Statuses of the cases the public may see (real problems: open ones and closed ones).
PUBLIC_STATUSES = frozenset(
    {
        CaseStatus.REPORTED, CaseStatus.VERIFYING, CaseStatus.REGISTERED, CaseStatus.DISPATCHED,
        CaseStatus.SUSPENDED, CaseStatus.HANDLED, CaseStatus.CHECKING, CaseStatus.CLOSED,
    }
)
#: Positions shown to the public are the unit grid's centre rounded to this many decimals (0.001° ≈ 100 m).
PUBLIC_POSITION_DECIMALS = 3


def public_position(min_lon: float | None, max_lon: float | None, min_lat: float | None,
                    max_lat: float | None) -> tuple[float, float] | None:
    """Where the public may see a case: its grid's centre, rounded to ~100 m (never the reported point)."""
    if min_lon is None or max_lon is None or min_lat is None or max_lat is None:
        return None
    return (round((min_lon + max_lon) / 2, PUBLIC_POSITION_DECIMALS),
            round((min_lat + max_lat) / 2, PUBLIC_POSITION_DECIMALS))


def is_public_photo(attachment: Attachment) -> bool:
    """A photo whose public variant (no EXIF/GPS) may be shown to anyone."""
    return attachment.public_path.startswith("photos/public/")
