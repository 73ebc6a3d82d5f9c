"""The underspend forecast: how much of a year's cash schedule will be paid, from each project's own pattern.

Plain values in, plain values out (no database): budget.underspend loads them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from core.money import CENT, ZERO, share


def elapsed_share(peildatum: date) -> Decimal:
    """The share of peildatum's year that has passed at the end of the peildatum (t/m)."""
    first = date(peildatum.year, 1, 1)
    days = (date(peildatum.year + 1, 1, 1) - first).days
    return share(Decimal((peildatum - first).days + 1), Decimal(days))


@dataclass(frozen=True)
class History:
    """What a project paid in the programme's earlier years: in full, and by this day of each year."""

    full: Decimal = ZERO
    by_now: Decimal = ZERO

    def share(self) -> Decimal | None:
        """The part of a year's payments this project usually has made by this day (rounded once, to 0,1 %, as
        the page shows it); None without a history."""
        return share(self.by_now, self.full) if self.full > 0 else None


@dataclass(frozen=True)
class ProjectForecast:
    project_id: int
    planned: Decimal        # the year's cash schedule (committed for the year)
    paid: Decimal           # paid in the year up to the peildatum
    share: Decimal | None   # the pattern used: its own, else the programme's, else the year elapsed
    expected: Decimal       # expected paid by 31 December

    @property
    def underspend(self) -> Decimal:
        return self.planned - self.expected


def expected(planned: Decimal, paid: Decimal, share: Decimal | None) -> Decimal:
    """Paid so far, grown by the pattern (paid / share), never above the schedule nor below what is paid.

    Without any pattern, or when payments usually come later in the year (share 0), nothing says the
    schedule will not be met: the schedule is expected.
    """
    if paid >= planned:
        return paid
    if share is None or share <= 0:
        return planned
    projected = (paid / share).quantize(CENT, ROUND_HALF_UP)
    return min(planned, max(paid, projected))


def forecast(projects: dict[int, tuple[Decimal, Decimal, History]], fallback: Decimal | None) -> list[ProjectForecast]:
    """Per project (planned, paid, history): its forecast; `fallback` is the share for a project without history."""
    rows = []
    for pid, (planned, paid, history) in sorted(projects.items()):
        if planned <= 0 and paid <= 0:
            continue
        share = history.share()
        share = fallback if share is None else share
        rows.append(ProjectForecast(pid, planned, paid, share, expected(planned, paid, share)))
    return rows


def programme_share(histories: list[History]) -> Decimal | None:
    """The programme's own pattern: every project's earlier payments together."""
    return History(sum((h.full for h in histories), ZERO), sum((h.by_now for h in histories), ZERO)).share()


def warning(year: int, peildatum: date, planned: Decimal, expected_total: Decimal, pct: int, month: int) -> bool:
    """Flag the year: from the first of `month` on, the expected underspend is more than `pct` % of the schedule."""
    if peildatum.year != year or peildatum < date(year, month, 1) or planned <= 0:
        return False
    return (planned - expected_total) * 100 > planned * pct


def shift(unpaid: dict[int, Decimal], amount: Decimal) -> dict[int, Decimal]:
    """Spread `amount` over commitments (id -> what is unpaid of the year), the largest first; never more than unpaid."""
    moved, left = {}, amount
    for cid, room in sorted(unpaid.items(), key=lambda item: (-item[1], item[0])):
        if left <= 0:
            break
        part = min(room, left)
        if part > 0:
            moved[cid] = part
            left -= part
    return moved
