"""Request bodies that may come as JSON or as multipart/form-data with photos (one schema for both)."""

from __future__ import annotations

import copy
import json
from typing import Any, TypeVar

import pydantic
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

from cityloop.api.errors import ApiError, validation_details

MAX_PHOTOS = 9
M = TypeVar("M", bound=pydantic.BaseModel)

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def read_body(request: HttpRequest, schema: type[M], *, file_fields: tuple[str, ...] = ()) -> tuple[M, dict[str, list[UploadedFile]]]:
    """Parse and validate the body as ``schema``: JSON, or form fields plus files in ``file_fields``.

    Malformed JSON is 400, a body of another content type 415, invalid fields 422 (with per-field
    details), more than ``MAX_PHOTOS`` files in a field 422.
    """
    content_type = (request.content_type or "").lower()
    files: dict[str, list[UploadedFile]] = {name: [] for name in file_fields}
    data: Any
    strict = False
    if _declared_length(request) == 0:  # no body at all (whatever the content type says)
        data = {}
    elif content_type in FORM_TYPES:
        try:
            posted, uploaded = request.POST, request.FILES
        except MultiPartParserError:
            raise ApiError(400, "multipart/form-data 请求体格式不正确") from None
        data = {key: posted.getlist(key)[-1] for key in posted if posted.getlist(key)[-1] != ""}
        for name in file_fields:
            files[name] = uploaded.getlist(name)
            if len(files[name]) > MAX_PHOTOS:
                raise ApiError(422, details={name: [f"最多上传 {MAX_PHOTOS} 张照片"]})
    elif content_type in ("application/json", "") or content_type.endswith("+json"):
        raw = request.body
        if not raw.strip():
            data = {}
        else:
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "请求体不是有效的 JSON") from None
            except RecursionError:  # thousands of nested arrays: no request of this API looks like that
                raise ApiError(400, _("请求体 JSON 嵌套过深")) from None
        if not isinstance(data, dict):
            raise ApiError(422, "请求体应为 JSON 对象", details={"__all__": ["应为 JSON 对象"]})
        strict = True  # JSON has types: no "1" for 1, no false for 0
    else:
        raise ApiError(415, "请求体应为 application/json 或 multipart/form-data")
    try:
        return schema.model_validate(data, strict=strict), files
    except pydantic.ValidationError as exc:
        raise ApiError(422, details=validation_details([dict(e) for e in exc.errors(include_url=False)])) from None


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def body_schema(schema: type[pydantic.BaseModel], *, files: dict[str, str] | None = None,
                required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring ``schema`` as JSON and as multipart/form-data (plus the file fields)."""
    json_schema = schema.model_json_schema(ref_template="#/components/schemas/{model}")
    assert "$defs" not in json_schema, f"{schema.__name__} must be flat to be inlined"
    content: dict[str, Any] = {"application/json": {"schema": json_schema}}
    if files:
        form_schema = copy.deepcopy(json_schema)
        for name, description in files.items():
            form_schema["properties"][name] = {
                "type": "array",
                # OpenAPI 3.1 spelling of a file part (``format: binary`` is the 3.0 one)
                "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                "maxItems": MAX_PHOTOS,
                "description": description,
            }
        content["multipart/form-data"] = {"schema": form_schema}
    return {"requestBody": {"required": required, "content": content}}
