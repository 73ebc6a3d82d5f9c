"""The four-eyes rules on plain values: when an entry waits for approval, what it holds, and who may decide."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from core import validate
from core.errors import PermissionDenied, ValidationError
from core.money import ZERO

#: Shortest reason for a rejection: the person who entered it must be able to act on it.
REJECT_REASON_MIN = 10


def entry_amount(deltas: Mapping[int, Decimal]) -> Decimal:
    """The size of an entry from its change in free room per year: the larger side of it.

    A commitment of € 300.000 over three years lowers the free room by € 300.000 in all; a
    kasschuif of € 50.000 from 2026 to 2027 moves € 50.000; a mutation of € −20.000 is € 20.000.
    """
    up = sum((d for d in deltas.values() if d > 0), ZERO)
    down = -sum((d for d in deltas.values() if d < 0), ZERO)
    return max(up, down)


def needs_approval(four_eyes: bool, threshold: Decimal, amount: Decimal, override: bool) -> bool:
    """Above the threshold (0: everything), and every budget-stop override, waits for a second person."""
    return four_eyes and (override or amount > threshold)


def payment_needs_approval(four_eyes: bool, payments_too: bool, threshold: Decimal, amount: Decimal) -> bool:
    """A payment follows its approved commitment, unless the programme asks four eyes on payments too."""
    return four_eyes and payments_too and abs(amount) > threshold


def holds(deltas: Mapping[int, Decimal]) -> dict[int, Decimal]:
    """The room a pending entry holds per year: what it would take from the free room (never what it adds).

    An entry that would add room adds nothing until it is approved, so the budget stop never
    counts on money that a second person may still refuse.
    """
    return {year: -delta for year, delta in deltas.items() if delta < 0}


def check_decider(actor_id: int | None, actor_role: str | None, entered_by_id: int | None,
                  override: bool) -> None:
    """The person who entered an entry never decides it; an override is decided by a beheerder only."""
    if actor_id is None:
        raise PermissionDenied("Goedkeuren of afwijzen doet een persoon met een eigen account, niet de "
                               "opdrachtregel.")
    if actor_id == entered_by_id:
        raise PermissionDenied("U heeft deze boeking zelf ingevoerd; een ander moet haar goedkeuren of afwijzen "
                               "(vier ogen).")
    if override and actor_role != "beheerder":
        raise PermissionDenied("Deze boeking doorbreekt de budgetstop: alleen een beheerder mag haar goedkeuren.")


def reject_reason(reason) -> str:
    reason = validate.text(reason, "een reden voor de afwijzing", "reason", max_len=2000)
    if len(reason) < REJECT_REASON_MIN:
        raise ValidationError(f"Geef een reden van minstens {REJECT_REASON_MIN} tekens, zodat wie het invoerde "
                              "weet wat er anders moet.", field="reason")
    return reason


def threshold(value) -> Decimal:
    return validate.amount(value, field="threshold")
