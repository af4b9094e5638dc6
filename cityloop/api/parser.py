"""How ``/api/v1`` reads query strings and form fields: as Ninja does, except that a parameter that takes
one value and arrives several times (``?parent=01&parent=02``) is refused with 422 instead of silently
keeping the last value. The OpenAPI document describes such parameters as single values, so a client that
repeats one has sent something the document calls invalid, and the answer says so."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja.errors import ValidationError
from ninja.parser import Parser
from ninja.types import DictStrAny


class SingleValueParser(Parser):
    """Ninja's JSON parser; query strings and forms refuse a repeated single-value parameter."""

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str], request: HttpRequest) -> DictStrAny:
        repeated = [key for key in data if key not in list_fields and len(data.getlist(key)) > 1]
        if repeated:
            raise ValidationError([
                {"loc": ("query", key), "type": "repeated", "msg": _("只能给一个值，不能重复")} for key in repeated
            ])
        return super().parse_querydict(data, list_fields, request)
