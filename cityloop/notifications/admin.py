"""Admin of notifications: the messages, the outbox of deliveries (failed ones can be sent again) and the
delivery attempts (read-only) to spot failing transports."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cityloop.notifications.models import Delivery, DeliveryAttempt, Notification
from cityloop.notifications.services import delivery_retry


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("transport", "succeeded", "detail", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "title", "case_number", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("title", "case_number", "recipient__username", "recipient__last_name")
    list_select_related = ("recipient",)
    raw_id_fields = ("recipient",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)
    inlines = (DeliveryAttemptInline,)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ("notification", "recipient", "transport", "succeeded", "detail", "created_at")
    list_filter = ("succeeded", "transport", "created_at")
    search_fields = ("detail", "notification__title", "notification__recipient__username")
    list_select_related = ("notification__recipient",)
    date_hierarchy = "created_at"

    @admin.display(description="接收人")
    def recipient(self, obj: DeliveryAttempt) -> str:
        return str(obj.notification.recipient)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The outbox: what the worker still has to send, what it sent, and what failed for good (发送失败)."""

    list_display = ("notification", "recipient", "transport", "status", "attempts", "next_attempt_at", "last_error",
                    "created_at")
    list_filter = ("status", "transport", "created_at")
    search_fields = ("last_error", "notification__title", "notification__recipient__username")
    list_select_related = ("notification__recipient",)
    date_hierarchy = "created_at"
    actions = ("send_again",)

    @admin.display(description=_("接收人"))
    def recipient(self, obj: Delivery) -> str:
        return str(obj.notification.recipient)

    @admin.action(description=_("重新发送选中的发送失败记录"), permissions=["view"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = delivery_retry(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, ngettext("%(count)d 条已放回发送队列。", "%(count)d 条已放回发送队列。", count)
                          % {"count": count}, messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
