"""The dashboard's headline: the year's free room as a sum, and the warnings that go with it (no request, no session)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from budget.underspend_rules import elapsed_share
from core.money import share

#: Realisation "lags the time of year" when the realised share of the committed amount is more than
#: this many percentage points below the share of the year that has passed at the peildatum. A grant
#: is often paid in a few advances, so a smaller gap is ordinary; a quarter of a year is not.
LAG_MARGIN = Decimal("0.250")


@dataclass(frozen=True)
class Lag:
    """Realisation behind the calendar: shares as core.money.share rounds them (0,1 %)."""

    peildatum: date
    elapsed: Decimal
    realised: Decimal


@dataclass(frozen=True)
class Headline:
    available: Decimal
    committed: Decimal
    free: Decimal
    #: Whether the sum is shown in whole euros: only when all three are whole, so it always adds up.
    whole: bool
    lag: Lag | None


def realisation_lag(year: int, peildatum: date, committed: Decimal, paid: Decimal) -> Lag | None:
    """A Lag when the year's realisation falls behind the calendar, else None.

    Only for the year the peildatum lies in (a finished year has its own story, a future year
    none yet) and only when something is committed (nothing to realise otherwise).
    """
    if peildatum.year != year or committed <= 0:
        return None
    elapsed = elapsed_share(peildatum)
    realised = share(paid, committed)
    if realised < elapsed - LAG_MARGIN:
        return Lag(peildatum, elapsed, realised)
    return None


def headline(figures, year: int, peildatum: date) -> Headline:
    """The year's Vrije ruimte as beschikbaar − verplicht, from one column of ReportFrames.summary."""
    available, committed = figures["Beschikbaar budget"], figures["Verplicht totaal"]
    free = figures["Vrije ruimte"]
    whole = all(v == v.to_integral_value() for v in (available, committed, free))
    return Headline(available, committed, free, whole,
                    realisation_lag(year, peildatum, committed, figures["Gerealiseerd t/m peildatum"]))
