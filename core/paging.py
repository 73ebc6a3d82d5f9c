"""Paging a long list: the page sizes users may choose, and a last page that never holds a few rows alone."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from flask import request

#: ?per_pagina= choices; "alle" shows the whole list on one page.
PAGE_SIZES = ("25", "50", "100", "alle")
DEFAULT_PAGE_SIZE = "25"
#: A last page of up to this many rows is folded into the page before it: 26 projects make one page of
#: 26, not a page of 25 and a page with one lone project (31 make 25 + 6). Like Django's `orphans`.
ORPHANS = 5


def page_size_arg(name: str = "per_pagina") -> str:
    """The page size asked for, as one of PAGE_SIZES; anything else is the default."""
    value = request.args.get(name, "").strip()
    return value if value in PAGE_SIZES else DEFAULT_PAGE_SIZE


@dataclass
class Page:
    """Page `page` of `total` rows at `per_page` a page (None: all), after folding in the orphans.

    Has what the pagination macro (core/templates/_macros.html) reads; `items` is filled in by the caller.
    """

    page: int
    per_page: int | None
    total: int
    orphans: int = ORPHANS
    items: list = field(default_factory=list)

    def __post_init__(self):
        # A page past the end shows the last page, so a bookmark survives a shorter list.
        self.page = max(1, min(self.page, self.pages))

    @property
    def pages(self) -> int:
        if self.per_page is None:
            return 1
        return max(1, math.ceil(max(self.total - self.orphans, 1) / self.per_page))

    @property
    def offset(self) -> int:
        return 0 if self.per_page is None else (self.page - 1) * self.per_page

    @property
    def limit(self) -> int | None:
        """Rows on this page: the last page takes the orphans too; None: no limit."""
        if self.per_page is None or self.page == self.pages:
            return None
        return self.per_page

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1
