"""Reads of the facility inventory."""

from __future__ import annotations

from cityloop.assets.models import Asset
from cityloop.core.errors import ValidationFailed


def asset_by_code(code: str) -> Asset:
    """The asset with this 16-digit code, or a clear error (cases naming an unknown asset are refused)."""
    asset = Asset.objects.select_related("maintainer", "category").filter(code=code.strip()).first()
    if asset is None:
        raise ValidationFailed(f"部件标识码“{code}”不存在", field="asset_code")
    return asset
