"""The error hierarchy every service raises; adapters (pages, API, CLI) turn them into messages."""

from __future__ import annotations


class CityLoopError(Exception):
    """Base of every error a user can be shown; ``code`` is stable, ``message`` is for people, and
    ``http_status`` is the answer every adapter (pages, API, portal, work plans) gives it."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}


class ValidationFailed(CityLoopError):
    code = "invalid"
    http_status = 422


class NotFound(CityLoopError):
    code = "not_found"
    http_status = 404


class PermissionDenied(CityLoopError):
    code = "forbidden"
    http_status = 403


class Conflict(CityLoopError):
    code = "conflict"
    http_status = 409


class ImportFailed(ValidationFailed):
    """An import file could not be loaded; the message names the file, the feature and the reason."""

    code = "import_failed"

    def __init__(self, message: str, *, source: str = "", feature: str | int | None = None) -> None:
        where = source
        if feature is not None:
            where = f"{source} 第 {feature} 个要素" if isinstance(feature, int) else f"{source} 要素 {feature}"
        full = f"{where}：{message}" if where else message
        super().__init__(full, details={"source": source, "feature": feature, "reason": message})
        self.reason = message


class OutsideCity(ValidationFailed):
    """A point lies outside every unit grid of the city."""

    code = "outside_city"
