from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cityloop.accounts"
    label = "accounts"
    verbose_name = "用户与权限"
