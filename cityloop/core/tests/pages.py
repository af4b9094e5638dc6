"""Checks on rendered pages shared by the apps' tests."""

from __future__ import annotations

import re

_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def external_assets(html: str) -> list[str]:
    """The ``src``/``href`` addresses of a page that point at another host (a CDN, say): none may, offline."""
    return [address for address in _ASSET.findall(html) if re.match(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", address, re.I)]
