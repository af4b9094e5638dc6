"""通知: the user's notifications, marking them read, and opening one (marks it read, then follows its link)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cityloop.notifications.models import Notification
from cityloop.notifications.selectors import notifications_for, unread_count
from cityloop.notifications.services import notification_mark_read
from cityloop.web.views.common import current_user, is_htmx

LIST_LIMIT = 100


def _context(request: HttpRequest) -> dict[str, object]:
    user = current_user(request)
    unread_only = request.GET.get("unread") == "1"
    return {
        "notifications": notifications_for(user, unread_only=unread_only, limit=LIST_LIMIT),
        "unread_only": unread_only,
        "unread": unread_count(user),
    }


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/notifications.html", _context(request))


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark the posted ids read (``all=1``: every unread notification)."""
    user = current_user(request)
    if request.POST.get("all") == "1":
        count = notification_mark_read(user=user)
    else:
        ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()]
        count = notification_mark_read(user=user, notification_ids=ids) if ids else 0
    if is_htmx(request):
        return render(request, "web/_notification_list.html", {**_context(request), "oob_badge": True})
    messages.success(request, _("已将 %(n)d 条通知标为已读") % {"n": count})
    return redirect("notifications")


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    notification = Notification.objects.filter(pk=pk, recipient=user).first()
    if notification is None:
        raise Http404(_("通知不存在"))
    notification_mark_read(user=user, notification_ids=[pk])
    link = notification.link
    if link and link.startswith("/") and url_has_allowed_host_and_scheme(link, allowed_hosts=None):
        return redirect(link)
    return redirect("notifications")
