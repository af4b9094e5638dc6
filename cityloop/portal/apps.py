from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "cityloop.portal"
    label = "portal"
    verbose_name = "市民与监督员移动端"
