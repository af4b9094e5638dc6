"""Password rules beyond Django's own (AUTH_PASSWORD_VALIDATORS): no password that names the city."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def city_words() -> set[str]:
    """The configured city's name, Chinese and pinyin (济南市 → 济南, jinan): from the city-level region."""
    from pypinyin import lazy_pinyin

    from cityloop.geo.models import Region, RegionLevel

    words: set[str] = set()
    for name in Region.objects.filter(level=RegionLevel.CITY).values_list("name", flat=True):
        short = name.removesuffix("市")
        if len(short) >= 2:
            words.add(short)
            words.add("".join(lazy_pinyin(short)).lower())
    return words


class CityNameValidator:
    """Refuses a password containing the city's name (jinan2026, 济南123): the first guess of anyone nearby."""

    def validate(self, password: str, user: Any = None) -> None:
        lowered = password.lower()
        for word in city_words():
            if word and word in lowered:
                raise ValidationError(_("密码不能包含城市名称（%(word)s）。") % {"word": word}, code="password_city_name")

    def get_help_text(self) -> str:
        return _("密码不能包含城市名称（中文或拼音）。")
