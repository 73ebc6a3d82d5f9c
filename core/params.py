"""Numbers from URLs and query strings, bounded so that an absurd value is a 404 or 400, never a 500."""
from __future__ import annotations

import re

from flask import request
from werkzeug.routing import IntegerConverter

#: The largest id a row can have: PostgreSQL's INTEGER. A larger one cannot exist, and asking
#: the database for it fails with "integer out of range" (SQLite: Python int too large).
MAX_ID = 2**31 - 1

_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every route: the digits 0-9 only, at most MAX_ID, else no route matches (404)."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max,
                         signed=signed)


def parse_id(text: str | None) -> int | None:
    """A row id or count as typed: 1 to MAX_ID in the digits 0-9, else None."""
    text = (text or "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def page_arg(name: str = "page") -> int:
    """The page number asked for; anything that is not one (or is absurdly large) is page 1."""
    return parse_id(request.args.get(name)) or 1
