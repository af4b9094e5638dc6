"""Plain Django views of the API app: the API-token page and the offline API documentation page."""

from __future__ import annotations

from pathlib import Path

import ninja
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from cityloop.accounts.models import User
from cityloop.api.models import ApiToken
from cityloop.api.selectors import tokens_of
from cityloop.api.services import token_create, token_revoke
from cityloop.core.errors import CityLoopError

REDOC_JS = Path(ninja.__file__).resolve().parent / "static" / "ninja" / "redoc.standalone.js"


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    """List, create and revoke one's own API tokens; a new token's key is shown once."""
    user = request.user
    assert isinstance(user, User)
    new_key = None
    if request.method == "POST":
        if "revoke" in request.POST:
            token = ApiToken.objects.filter(pk=_int(request.POST.get("revoke")), user=user).first()
            if token is None:
                messages.error(request, "令牌不存在")
            else:
                token_revoke(token=token, by=user)
                messages.success(request, f"已吊销令牌“{token.name}”")
            return redirect(reverse("api-tokens"))
        try:
            _token, new_key = token_create(user=user, name=request.POST.get("name", ""), by=user)
        except CityLoopError as exc:
            messages.error(request, exc.message)
    return render(request, "api/tokens.html", {"tokens": tokens_of(user), "new_key": new_key})


def _int(value: str | None) -> int:
    try:
        number = int(value or "0")
    except ValueError:
        return 0
    return number if 0 < number < 2**62 else 0


def api_docs(request: HttpRequest) -> HttpResponse:
    """ReDoc over ``openapi.json``, with the script served from the installed django-ninja package."""
    return render(request, "api/docs.html", {"openapi_url": reverse("api-v1:openapi-json")})


def api_docs_script(request: HttpRequest) -> FileResponse:
    if not REDOC_JS.exists():  # pragma: no cover - depends on the installed package
        raise Http404
    response = FileResponse(REDOC_JS.open("rb"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
