"""Template helpers of the phone pages."""

from __future__ import annotations

from django import template
from django.urls import reverse

from cityloop.cases.models import Attachment

register = template.Library()

PUBLIC_PREFIX = "photos/public/"


@register.filter
def public_photo_url(attachment: Attachment) -> str:
    """The portal URL of an attachment's public variant (never the original, which keeps its GPS)."""
    path = attachment.public_path
    if not path.startswith(PUBLIC_PREFIX):
        return ""
    return reverse("portal_public:photo", kwargs={"path": path.removeprefix(PUBLIC_PREFIX)})

