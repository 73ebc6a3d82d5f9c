"""Money rules on plain state (no session): commitments, payments, kasschuif, staffing, budget stop, closed periods."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from budget.models import MUTATION_KINDS, MUTATION_MOMENTS, PAYMENT_KINDS
from core.dates import datum_lang
from core.errors import (
    BudgetStopError,
    Collect,
    Conflict,
    PermissionDenied,
    ValidationError,
)
from core.money import ZERO, format_eur
from core.validate import amount, code, day, text, year

#: The shortest reason a beheerder must give to break through the budget stop.
OVERRIDE_REASON_MIN = 10
_NOTHING_COMMITTED = "Een verplichting heeft een bedrag groter dan nul."


# --- Commitments and payments ------------------------------------------------------------------


@dataclass(frozen=True)
class CommitmentState:
    """One commitment as the rules see it: total incl. adjustments, paid so far, cash per year (all dates).

    A rule never changes a state; it returns the next one, so a caller can replay a series of
    rows (the import) or check one change (the services) with the same functions.
    """

    total: Decimal
    paid: Decimal
    #: Left empty where a rule needs no cash schedule (a payment).
    years: Mapping[int, Decimal] = field(default_factory=dict)
    #: The kenmerk, only for the overpayment message.
    reference: str = ""


def commitment_schedule(schedule: Mapping | Iterable[tuple], programme_years, allow_negative: bool = False,
                        ) -> dict[int, Decimal]:
    """A clean cash schedule: years inside the programme, amounts checked, zero years left out.

    `schedule` is a {year: amount} mapping or (year, amount) pairs; a year named twice (two
    rows of a sheet) is summed.
    """
    pairs = schedule.items() if isinstance(schedule, Mapping) else schedule
    clean: dict[int, Decimal] = {}
    for y, a in pairs:
        checked = year(y, "schedule")
        if checked not in programme_years:
            raise ValidationError(f"{checked} valt buiten de programmajaren {programme_years[0]}–"
                                  f"{programme_years[-1]}.", field="schedule")
        value = amount(a, "schedule", allow_negative=allow_negative)
        if value != 0:
            clean[checked] = clean.get(checked, ZERO) + value
    return clean


def new_commitment(total, schedule: Mapping | Iterable[tuple], programme_years,
                   reference: str = "") -> CommitmentState:
    """A commitment's first state: total above zero and a schedule inside the programme summing to it.

    `total` None takes the schedule's sum as the total (a sheet that has no total column).
    """
    if total is not None:
        total = amount(total, "total")
        if total == 0:
            raise ValidationError(_NOTHING_COMMITTED, field="total")
    years = commitment_schedule(schedule, programme_years)
    scheduled = sum(years.values(), ZERO)
    if total is None:
        if scheduled == 0:
            raise ValidationError(_NOTHING_COMMITTED, field="total")
        total = scheduled
    elif scheduled != total:
        raise ValidationError(f"Het kasritme telt op tot {format_eur(scheduled)}, "
                              f"maar de verplichting is {format_eur(total)}.", field="schedule")
    return CommitmentState(total, ZERO, years, reference)


def adjust(state: CommitmentState, deltas: Mapping[int, Decimal]) -> CommitmentState:
    """Apply an adjustment's clean deltas (commitment_schedule with allow_negative=True).

    No year of the cash schedule may go below zero, and the total never below what is paid.
    """
    if not deltas:
        raise ValidationError("Geef per jaar het bedrag van de bijstelling.", field="changes")
    for y, delta in deltas.items():
        if state.years.get(y, ZERO) + delta < 0:
            raise ValidationError(f"De bijstelling maakt het kasritme in {y} negatief.", field="changes")
    new_total = state.total + sum(deltas.values(), ZERO)
    if new_total < state.paid:
        raise ValidationError(f"Na deze bijstelling is de verplichting {format_eur(new_total)}, "
                              f"maar er is al {format_eur(state.paid)} betaald.", field="changes")
    years = dict(state.years)
    for y, delta in deltas.items():
        years[y] = years.get(y, ZERO) + delta
    return replace(state, total=new_total, years=years)


def payment_amount(value, kind: str) -> Decimal:
    """The signed amount of a payment: never zero, a terugbetaling always negative, nothing else negative."""
    kind = code(kind, PAYMENT_KINDS, "soort betaling", "kind")
    signed = amount(value, allow_negative=True, allow_zero=False)
    if kind == "terugbetaling":
        # Written either way (500 or -500), a refund lowers the paid total.
        return -abs(signed)
    if signed < 0:
        raise ValidationError("Een negatief bedrag boekt u als terugbetaling.", field="amount")
    return signed


def pay(state: CommitmentState, signed: Decimal, payment_day: date) -> CommitmentState:
    """Book a payment (its amount as payment_amount signs it): the paid total stays within the
    commitment and never goes below zero.

    An overpayment is refused as a budget stop in the payment's year (its date's year).
    """
    paid = state.paid + signed
    # A refund never overpays: on a commitment paid beyond its total (a vaststelling's terugvordering) it
    # may pay the claim off in parts.
    if signed > 0 and paid > state.total:
        excess = paid - state.total
        raise BudgetStopError({payment_day.year: excess},
                              f"Betaling geweigerd: verplichting {state.reference} is {format_eur(state.total)}; "
                              f"deze betaling gaat daar {format_eur(excess)} overheen.")
    if paid < 0:
        raise ValidationError("De terugbetaling is groter dan wat er op deze verplichting is betaald.",
                              field="amount")
    return replace(state, paid=paid)


# --- Mutations and kasschuif -------------------------------------------------------------------


def mutation_fields(kind, moment, reason, reference, mutation_day) -> dict:
    """The descriptive fields of a budget mutation, checked."""
    c = Collect()
    fields = {
        "kind": c(code, kind, MUTATION_KINDS, "soort mutatie", "kind"),
        "moment": c(code, moment, MUTATION_MOMENTS, "moment", "moment"),
        "reason": c(text, reason, "een toelichting", "reason"),
        "reference": c(text, reference, "", "reference", required=False, max_len=200),
        "date": c(day, mutation_day, "date"),
    }
    c.raise_any()
    return fields


def default_moment(today: date) -> str:
    """The moment a new mutation form proposes on `today`: voorjaarsnota through June, najaarsnota after."""
    # A change during the year reaches the Kamer in the next suppletoire begroting: the Voorjaarsnota
    # (sent by 1 June) for the first half of the year, the Najaarsnota (late November) for the second.
    # Ontwerpbegroting and slotwet set next or last year's budget, so they are chosen on purpose, never
    # by leaving a default; intern is a choice too.
    return "voorjaarsnota" if today.month <= 6 else "najaarsnota"


def single_mutation(kind: str) -> None:
    """A single-year mutation is never a kasschuif: that moves money between years, as one whole."""
    if kind == "kasschuif":
        raise ValidationError("Een kasschuif boekt u over meerdere jaren tegelijk, als kasschuif.", field="kind")


def kasschuif(amounts: Mapping | Iterable[tuple]) -> dict[int, Decimal]:
    """The non-zero amounts per year of a kasschuif: at least two years, netting to exactly zero."""
    pairs = amounts.items() if isinstance(amounts, Mapping) else amounts
    clean = {year(y): amount(a, allow_negative=True) for y, a in pairs}
    clean = {y: a for y, a in clean.items() if a != 0}
    if len(clean) < 2:
        raise ValidationError("Een kasschuif verschuift geld tussen minstens twee jaren.", field="amounts")
    total = sum(clean.values(), ZERO)
    if total != 0:
        raise ValidationError(f"Een kasschuif moet op nul uitkomen; het saldo is nu {format_eur(total)}.",
                              field="amounts")
    return clean


def kasschuif_reasons(years: Iterable[int], reason, reasons: Mapping[int, str] | None = None) -> dict[int, str]:
    """Each year's toelichting of a kasschuif: its own where given ("Kasschuif naar 2025"), else the common one."""
    reasons = reasons or {}
    return {y: text(reasons.get(y) or reason, "een toelichting", "reason") for y in years}


# --- Funding sources ---------------------------------------------------------------------------


def source_kind(name: str, old: str, new: str, counted_since: date | None, today: date) -> str:
    """The kind splits a source's money into structureel/incidenteel in every stand, so it is fixed once that counts.

    `counted_since` is the earliest day any of its amounts counts from (None: no amounts yet); a
    source whose amounts count from today on only may still be corrected.
    """
    if new != old and counted_since is not None and counted_since < today:
        raise Conflict(f"De soort van financieringsbron '{name}' verandert niet meer nu haar bedragen in standen "
                       "meetellen: eerdere standen zouden veranderen. Zet haar bedragen met een datum op nul en "
                       "voeg een bron met de juiste soort toe.", field="kind")
    return new


# --- Staffing ----------------------------------------------------------------------------------


def staffing_fte(value) -> Decimal:
    # The same Dutch decimal notation as money, two places.
    fte = amount(value, "fte", allow_negative=True)
    if fte < 0:
        raise ValidationError("Het aantal fte kan niet negatief zijn.", field="fte")
    return fte


def staffing_day(value, reservation_year: int) -> date:
    """A staffing cost is dated inside its reservation's year."""
    checked = day(value, "cost_date")
    if checked.year != reservation_year:
        raise ValidationError(f"Deze reservering is voor {reservation_year}; de datum valt in {checked.year}.",
                              field="cost_date")
    return checked


def staffing_room(booked_others: Decimal, value: Decimal, reservation_amount: Decimal,
                  reservation_year: int) -> Decimal:
    """The booked staffing costs with this one: within the reservation and not below zero; returns the sum."""
    booked = booked_others + value
    if booked > reservation_amount:
        excess = booked - reservation_amount
        raise BudgetStopError({reservation_year: excess},
                              f"De personeelskosten komen boven de reservering van {format_eur(reservation_amount)} "
                              f"voor {reservation_year} (tekort {format_eur(excess)}).")
    if booked < 0:
        raise ValidationError("Een correctie kan de geboekte personeelskosten niet negatief maken.", field="amount")
    return booked


def staffing_removal(booked_others: Decimal) -> None:
    """Removing a booking may not leave the corrections (negative costs) of the others below zero."""
    if booked_others < 0:
        raise Conflict("Zonder deze boeking zouden de correcties de personeelskosten negatief maken.")


# --- Closed periods and plausible dates --------------------------------------------------------

#: A reopen undoes what was reported to the Kamer, so it says why at the same length as an override.
REOPEN_REASON_MIN = 10


def _dmy(value: date) -> str:
    # Messages are sentences: a date in running text reads '3 februari 2026' (core.dates).
    return datum_lang(value)


def check_open(closed_through: date | None, fact_day: date, field: str) -> date:
    """A dated fact may be added, changed or removed only when dated after the programme's closed date.

    Call it with the new date and, for a change or a removal, with the old date too.
    """
    if closed_through is not None and fact_day <= closed_through:
        raise Conflict(f"De periode t/m {_dmy(closed_through)} is afgesloten; wat op of vóór die datum is "
                       "gedateerd, kan niet meer worden toegevoegd, gewijzigd of verwijderd. "
                       "Een beheerder kan de periode heropenen.", field=field)
    return fact_day


def close_through(closed_through: date | None, through, today: date) -> date:
    """The new closed date: later than the current one, and not after today."""
    through = day(through, "through")
    if through > today:
        raise ValidationError(f"Een periode sluit u af tot en met vandaag ({_dmy(today)}) of eerder.",
                              field="through")
    if closed_through is not None and through <= closed_through:
        raise Conflict(f"De periode is al afgesloten t/m {_dmy(closed_through)}; een eerdere datum kiezen "
                       "is heropenen, en dat doet een beheerder.", field="through")
    return through


def reopen_to(actor_role: str | None, closed_through: date | None, through, reason) -> tuple[date | None, str]:
    """A beheerder reopens to an earlier date (or fully, `through` None), with a reason; returns both clean."""
    if actor_role != "beheerder":
        raise PermissionDenied("Alleen een beheerder kan een afgesloten periode heropenen.")
    if closed_through is None:
        raise Conflict("Er is geen afgesloten periode om te heropenen.")
    if through is not None:
        through = day(through, "through")
        if through >= closed_through:
            raise ValidationError(f"Heropenen gaat naar een datum vóór {_dmy(closed_through)}, of laat de datum "
                                  "leeg om de hele periode te heropenen.", field="through")
    reason = (reason or "").strip()
    if len(reason) < REOPEN_REASON_MIN:
        raise ValidationError("Geef een reden van minstens 10 tekens voor het heropenen.", field="reason")
    return through, reason


def adjustment_day(value, signed: date, reference: str = "") -> date:
    """An adjustment changes a signed commitment, so it is not dated before the signing."""
    checked = day(value, "adjustment_date")
    if checked < signed:
        raise ValidationError(f"De bijstelling ligt vóór de ondertekening van verplichting {reference} "
                              f"({_dmy(signed)}).", field="adjustment_date")
    return checked


def payment_day(value, signed: date, today: date, reference: str = "") -> date:
    """A payment is dated on or after its commitment's signing and not after today."""
    checked = day(value, "payment_date")
    if checked < signed:
        raise ValidationError(f"De betaling ligt vóór de ondertekening van verplichting {reference} "
                              f"({_dmy(signed)}).", field="payment_date")
    if checked > today:
        raise ValidationError(f"Een betaling kan niet na vandaag ({_dmy(today)}) zijn gedateerd.",
                              field="payment_date")
    return checked


# --- The budget stop ---------------------------------------------------------------------------


def budget_stop(free_by_year: Mapping[int, Decimal], deltas: Mapping[int, Decimal]) -> dict[int, Decimal]:
    """The shortfall per year a change would cause: years it lowers below zero free room.

    `free_by_year` is today's free room (all entries, whatever their date) of at least the years
    the change lowers; `deltas` the change in free room per year. Raising a year never counts,
    so money can always be added, even to a year that is short already.
    """
    shortfalls = {}
    for y, delta in deltas.items():
        if delta < 0:
            after = free_by_year.get(y, ZERO) + delta
            if after < 0:
                shortfalls[y] = -after
    return dict(sorted(shortfalls.items()))


#: Said with every budget stop: the way through it, and whose it is.
OVERRIDE_WHO = "Alleen een beheerder mag de budgetstop doorbreken, met een reden."


def shortfall_message(shortfalls: Mapping[int, Decimal], free_by_year: Mapping[int, Decimal] | None = None) -> str:
    """The budget stop in words: per year the free room now and the shortfall, and who may override.

    `free_by_year` is the free room before the change (as budget_stop judged it); a year it
    does not name is said without it.
    """
    parts = []
    for y, short in sorted(shortfalls.items()):
        now = (free_by_year or {}).get(y)
        parts.append(f"{y} (vrije ruimte nu {format_eur(now)}, tekort {format_eur(short)})" if now is not None
                     else f"{y} (tekort {format_eur(short)})")
    return "Budgetstop: onvoldoende vrije ruimte in " + "; ".join(parts) + ". " + OVERRIDE_WHO


def override(actor_role: str | None, reason: str | None, shortfalls: Mapping[int, Decimal],
             free_by_year: Mapping[int, Decimal] | None = None) -> dict | None:
    """Who may break through the budget stop: only a beheerder, with a reason of ten characters or more.

    Returns None when there is no shortfall, else the override details the audit entry keeps.
    `free_by_year` (today's free room) only makes the refusal say what is free now.
    """
    if not shortfalls:
        return None
    reason = (reason or "").strip()
    if not reason:
        raise BudgetStopError(dict(shortfalls), shortfall_message(shortfalls, free_by_year))
    if actor_role != "beheerder":
        raise PermissionDenied("Alleen een beheerder mag een budgetstop doorbreken.")
    if len(reason) < OVERRIDE_REASON_MIN:
        raise ValidationError("Geef een reden van minstens 10 tekens voor het doorbreken van de budgetstop.",
                              field="override_reason")
    return {"reason": reason, "shortfalls": {str(y): str(a) for y, a in sorted(shortfalls.items())}}
