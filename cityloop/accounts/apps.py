from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cityloop.accounts"
    label = "accounts"
    verbose_name = "用户与权限"

    def ready(self) -> None:
        from django.core import checks

        from cityloop.accounts.checks import check_published_passwords

        checks.register(check_published_passwords, "cityloop", deploy=True)
