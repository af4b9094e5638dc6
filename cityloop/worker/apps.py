from django.apps import AppConfig


class WorkerConfig(AppConfig):
    """The background worker (后台任务): everything that must not run in a user's request."""

    name = "cityloop.worker"
    verbose_name = "后台任务"
