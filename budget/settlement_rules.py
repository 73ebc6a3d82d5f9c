"""The vaststelling's rules on plain state (no session): settle a subsidy, its terugvordering, what follows it."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from budget.rules import CommitmentState
from core.dates import datum_lang
from core.errors import Conflict, ValidationError
from core.money import ZERO, format_eur
from core.validate import amount, day

#: A terugvordering is due this many days after the vaststelling unless the decision names another date.
RECOVERY_TERM_DAYS = 42
#: What may still be booked on a settled commitment: the refund of the terugvordering and the final
#: payment of a settled balance not yet paid.
AFTER_SETTLEMENT = ("terugbetaling", "eindbetaling")


@dataclass(frozen=True)
class Settled:
    """What a vaststelling does to a commitment: its new cash schedule, the change per year, the terugvordering."""

    amount: Decimal
    years: dict[int, Decimal]
    #: New minus old per changed year: a negative one is vrijval, returned to that year's free room.
    deltas: dict[int, Decimal]
    #: Paid above the settled amount: to be refunded.
    recovery: Decimal

    @property
    def released(self) -> Decimal:
        """The vrijval: what the settlement takes off the years it lowers, as a positive amount."""
        return -sum((d for d in self.deltas.values() if d < 0), ZERO)


def settlement_day(value, signed: date, today: date, reference: str = "") -> date:
    """A vaststelling is dated on or after the signing and not after today (it is a decision taken)."""
    checked = day(value, "settlement_date")
    if checked < signed:
        raise ValidationError(f"De vaststelling ligt vóór de ondertekening van verplichting {reference} "
                              f"({datum_lang(signed)}).", field="settlement_date")
    if checked > today:
        raise ValidationError(f"Een vaststelling kan niet na vandaag ({datum_lang(today)}) zijn gedateerd.",
                              field="settlement_date")
    return checked


def settle(state: CommitmentState, payments: Iterable[tuple[date, str, Decimal]], value, settle_day: date,
           programme_years) -> Settled:
    """Settle a commitment at `value` on `settle_day`, given its payments (date, kind, signed amount; all dates).

    The total becomes the settled amount. Each year before the settlement's year keeps as its
    schedule what was paid in it; the settlement's year gets the rest (settled minus paid before
    it); later years nothing. Paid on the settlement's date above the settled amount is the terugvordering.
    """
    settled = amount(value, "amount")
    if settled > state.total:
        raise ValidationError(f"Het vastgestelde bedrag ({format_eur(settled)}) is hoger dan verplichting "
                              f"{state.reference} ({format_eur(state.total)}); een vaststelling valt nooit hoger uit "
                              "dan de verlening. Stel de verplichting eerst bij.", field="amount")
    paid_by_year: dict[int, Decimal] = {}
    later = ZERO
    paid_then = ZERO
    for paid_day, kind, paid in payments:
        paid_by_year[paid_day.year] = paid_by_year.get(paid_day.year, ZERO) + paid
        if paid_day <= settle_day:
            paid_then += paid
        elif kind != "terugbetaling":
            later += paid
    if later:
        raise ValidationError(f"Na {datum_lang(settle_day)} is er nog {format_eur(later)} betaald op verplichting "
                              f"{state.reference}; een vaststelling is gedateerd op of na de laatste betaling.",
                              field="settlement_date")
    d_year = settle_day.year
    years = {y: p for y, p in paid_by_year.items() if y < d_year and p != 0}
    rest = settled - sum(years.values(), ZERO)
    if rest != 0:
        if d_year not in programme_years:
            raise ValidationError(f"Na de vaststelling valt er nog {format_eur(rest)} in {d_year}, buiten de "
                                  f"programmajaren {programme_years[0]}–{programme_years[-1]}.",
                                  field="settlement_date")
        years[d_year] = rest
    deltas = {y: years.get(y, ZERO) - state.years.get(y, ZERO) for y in set(years) | set(state.years)}
    return Settled(amount=settled, years=years, deltas={y: d for y, d in sorted(deltas.items()) if d != 0},
                   # What was paid on its date: a refund booked already, dated after it, pays the claim off.
                   recovery=max(paid_then - settled, ZERO))


def recovery_due(value, settle_day: date, recovery: Decimal) -> date | None:
    """The date the terugvordering is due: none without one; by default RECOVERY_TERM_DAYS after the settlement."""
    if recovery == 0:
        return None
    if value is None:
        return settle_day + timedelta(days=RECOVERY_TERM_DAYS)
    checked = day(value, "recovery_due")
    if checked < settle_day:
        raise ValidationError("De terugvordering kan niet vóór de vaststelling vervallen.", field="recovery_due")
    return checked


#: The longest term a programme may set between a project's end and its grants' vaststelling.
SETTLEMENT_MONTHS_MAX = 60


def settlement_term(value) -> int:
    """Months after a project's end date before its grants count as "vast te stellen": 0 to 60."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SETTLEMENT_MONTHS_MAX:
        raise ValidationError(f"De termijn voor de vaststelling is een aantal maanden van 0 tot en met "
                              f"{SETTLEMENT_MONTHS_MAX}.", field="months")
    return value


def not_settled(settled_on: date | None, reference: str, what: str = "vaststelling") -> None:
    """A settled commitment is final: no adjustment, no second vaststelling (`what` names the refused entry)."""
    if settled_on is not None:
        raise Conflict(f"Verplichting {reference} is vastgesteld op {datum_lang(settled_on)}; een {what} kan er niet "
                       "meer bij.")


def withdrawable(settled_on: date, paid_after: Decimal, reference: str = "") -> None:
    """A vaststelling entered by mistake may be withdrawn until something was paid or refunded after it."""
    if paid_after:
        raise Conflict(f"Na de vaststelling van verplichting {reference} is er al betaald of terugbetaald; "
                       "de vaststelling blijft staan.")


def pay_settled(settled_on: date | None, settled_amount: Decimal | None, paid: Decimal, signed: Decimal, kind: str,
                payment_day: date, reference: str = "") -> bool:
    """After a vaststelling only the refund of the terugvordering and the final payment of the settled balance,
    dated on or after it, and neither past the settled amount (rules.pay keeps the final payment within it)."""
    if settled_on is None:
        return True
    if kind not in AFTER_SETTLEMENT:
        raise Conflict(f"Verplichting {reference} is vastgesteld op {datum_lang(settled_on)}: er kan alleen nog een "
                       "terugbetaling (de terugvordering) of de eindbetaling van het vastgestelde bedrag bij.",
                       field="kind")
    if payment_day < settled_on:
        raise ValidationError(f"Verplichting {reference} is vastgesteld op {datum_lang(settled_on)}; een betaling of "
                              "terugbetaling daarna is op of na die datum gedateerd.", field="payment_date")
    if kind == "terugbetaling" and paid + signed < settled_amount:
        raise ValidationError(f"De terugbetaling is groter dan de openstaande terugvordering "
                              f"({format_eur(max(paid - settled_amount, ZERO))}).", field="amount")
    return True
