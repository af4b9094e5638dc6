from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cityloop.core"
    label = "core"
    verbose_name = "基础设施"

    def ready(self) -> None:
        from django.core import checks

        from cityloop.core.checks import check_calendar_years

        checks.register(check_calendar_years, "cityloop", deploy=True)  # check --deploy; admins see it on the workbench
