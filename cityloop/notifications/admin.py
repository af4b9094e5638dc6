"""Admin of notifications: the messages, and the delivery attempts (read-only) to spot failing transports."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cityloop.notifications.models import DeliveryAttempt, Notification


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
