from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "cityloop.notifications"
    label = "notifications"
    verbose_name = "通知"

    def ready(self) -> None:
        from django.core import checks

        from cityloop.notifications.checks import check_transports

        checks.register(check_transports, "cityloop")
