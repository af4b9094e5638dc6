"""Text from outside (forms, the API, Open311, imports) without control characters.

One rule for every channel, applied where text enters (the services) and again where it leaves for a
format that cannot carry control characters (the Excel exports), for rows stored before the rule:

- line ends (CR LF, CR) and the characters that stand for a line or page break — vertical tab (Word's soft
  line break), form feed (a page break pasted from a PDF), the file/group/record separators, NEL and the
  Unicode line and paragraph separators — become ``\\n``;
- every other C0/C1 control character, DEL, the non-characters U+FFFE/U+FFFF and lone surrogates are removed;
- tabs and ``\\n`` stay; in one-line fields (address, name, phone) line breaks and tabs become spaces.

NUL is removed here too, but the services refuse it first (a NUL means binary data, not text).
"""

from __future__ import annotations

import re
import unicodedata

_LINE_BREAK = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_UNPRINTABLE = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\ufffe\uffff\ud800-\udfff]")
_ONE_LINE = re.compile("[\n\t]")


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with line breaks normalised to ``\\n`` and other control characters removed (see above)."""
    text = _UNPRINTABLE.sub("", _LINE_BREAK.sub("\n", text))
    return _ONE_LINE.sub(" ", text) if one_line else text


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def decimal(text: str) -> float | None:
    """A plain decimal number typed as text (a coordinate), or None.

    The one rule of every channel: the text is NFKC-normalised first, so full-width digits, point and signs
    (a Chinese input method in full-width mode, ``１１７．０２``) read as ASCII; what is left must be a plain
    decimal — no exponent, no other scripts' digits, no ``nan``/``inf``, no ``_`` (all of which ``float``
    itself would take).
    """
    normal = unicodedata.normalize("NFKC", text or "").strip()
    return float(normal) if _DECIMAL.fullmatch(normal) else None
