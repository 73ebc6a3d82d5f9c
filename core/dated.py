"""Checks a package's dated write asks of another it may not import (the closed period lives in budget)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

#: check(session, programme_id, (day, field), ...) -> None or a DomainError; budget registers check_open.
_DAY_CHECKS: list[Callable] = []


def add_day_check(check: Callable) -> None:
    """Run `check` on every dated write that calls check_days (projects' status updates)."""
    if check not in _DAY_CHECKS:
        _DAY_CHECKS.append(check)


def check_days(session, programme_id: int, *days: tuple[date | None, str]) -> None:
    for check in _DAY_CHECKS:
        check(session, programme_id, *days)
