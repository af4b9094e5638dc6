"""Open311 output in both formats.

JSON follows the Spark convention: a list response is a bare array, an object response an object.
XML starts with ``<?xml version="1.0" encoding="utf-8"?>``, has no namespace, wraps repeated children in
their container (``<services><service>…``), writes booleans as ``true``/``false`` and leaves out
elements whose value is unknown (``None``), as it leaves out the JSON keys.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'

#: Containers inside objects and the name of each of their items.
ITEM_NAMES = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
    "media_urls": "media_url",
}


def w3c(moment: datetime | None) -> str | None:
    """ISO 8601 with the local offset and no fractional seconds: ``2026-05-01T09:30:00+08:00``."""
    if moment is None:
        return None
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


#: Characters XML 1.0 cannot carry (control characters, lone surrogates): dropped from text.
_NOT_XML = re.compile("[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if child is None:
                continue
            if isinstance(child, list | tuple):
                container = ET.SubElement(element, key)
                item_name = ITEM_NAMES.get(key, key.removesuffix("s"))
                for item in child:
                    _fill(ET.SubElement(container, item_name), item)
            else:
                _fill(ET.SubElement(element, key), child)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any, item: str | None = None) -> bytes:
    """``value`` (a dict, or a list of dicts wrapped as ``<root><item>…``) as an XML document."""
    element = ET.Element(root)
    if isinstance(value, list):
        assert item is not None
        for entry in value:
            _fill(ET.SubElement(element, item), entry)
    else:
        _fill(element, value)
    return (XML_DECLARATION + ET.tostring(element, encoding="unicode")).encode("utf-8")


def respond(fmt: str, root: str, value: Any, *, item: str | None = None, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        return HttpResponse(to_xml(root, value, item), status=status, content_type=XML_TYPE)
    return HttpResponse(json.dumps(_clean(value), ensure_ascii=False), status=status, content_type=JSON_TYPE)


def errors(fmt: str, status: int, *descriptions: str, code: int | None = None) -> HttpResponse:
    """The spec's error array: ``[{"code": 404, "description": "…"}]`` / ``<errors><error>…``."""
    items = [{"code": code or status, "description": d} for d in descriptions]
    return respond(fmt, "errors", items, item="error", status=status)
