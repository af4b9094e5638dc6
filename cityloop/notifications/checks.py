"""System check: the configured notification transports can be built."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def check_transports(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    from cityloop.notifications.transports import get_transports

    try:
        get_transports()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(str(exc), hint="见 cityloop/notifications/transports.py", id="notifications.E001")
        ]
    return []
