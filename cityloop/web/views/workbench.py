"""The workbench (工作台): the signed-in user's queues with counts, each a link to the filtered list."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cityloop.accounts.models import Role
from cityloop.accounts.selectors import users_with_published_password
from cityloop.cases.models import Case
from cityloop.cases.selectors import cases_visible_to
from cityloop.cases.statuses import OPEN_STATUSES
from cityloop.core.checks import missing_calendar_years
from cityloop.core.workcal import unknown_year_message
from cityloop.web import selectors
from cityloop.web.views.common import current_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    now = timezone.now()
    queues = selectors.workbench_queues(user, now=now)
    urgent: list[Case] = []
    overdue_q = selectors.queue_q(user, "overdue", now=now)
    soon_q = selectors.queue_q(user, "due_soon", now=now)
    late_or_soon = sum(q.count for q in queues if q.key in ("overdue", "due_soon"))
    if overdue_q is not None and soon_q is not None and late_or_soon:
        # Both queues hold open cases only: reading the open cases (the status index) rather than walking the
        # deadline index through years of closed cases keeps this list as cheap as the open work.
        urgent = list(
            cases_visible_to(user).filter(status__in=OPEN_STATUSES).filter(overdue_q | soon_q)
            .select_related("category", "street", "department").order_by("stage_due_at")[:10]
        )
    is_admin = user.role == Role.ADMIN or user.is_superuser
    context = {
        "queues": queues,
        "urgent": urgent,
        "lights": selectors.open_stage_lights([c.pk for c in urgent], now=now) if urgent else {},
        "summary": selectors.city_summary() if is_admin else [],
        # Deadlines fall back to Monday–Friday for a year without holiday data: the admin must enter it.
        "calendar_warnings": [unknown_year_message(year) for year in missing_calendar_years()] if is_admin else [],
        # Accounts still on a published password (the demo's): the admin sees them all, each user their own.
        "published_passwords": users_with_published_password() if is_admin else [],
        "my_password_published": not is_admin and user.has_published_password(),
        "is_citizen": user.role == Role.CITIZEN,
        "is_inspector": user.role == Role.INSPECTOR,
    }
    return render(request, "web/workbench.html", context)
