"""How an approved entry is booked: per kind, the same budget service it was entered through, run again."""
from __future__ import annotations

from budget import services as budget
from budget.models import BudgetMutation, Commitment
from core.errors import Conflict, NotFound, ValidationError
from projects.models import Programme, Project


def _get(session, model, object_id, what: str):
    obj = session.get(model, object_id)
    if obj is None:
        raise NotFound(f"{what} bestaat niet meer; de boeking kan niet worden vastgelegd.")
    return obj


def _unchanged(obj, version: int, what: str) -> None:
    # The entry was made against this version; a change since would be silently overwritten.
    if obj.version != version:
        raise Conflict(f"{what} is gewijzigd nadat deze wijziging ter goedkeuring werd aangeboden. Wijs haar af "
                       "en voer haar opnieuw in op de huidige stand.")


def _commitment(session, actor, p: dict, entry):
    project = _get(session, Project, p.pop("project_id"), "Het project")
    return budget.add_commitment(session, actor, project, **p)


def _adjustment(session, actor, p: dict, entry):
    commitment = _get(session, Commitment, p.pop("commitment_id"), "De verplichting")
    return budget.adjust_commitment(session, actor, commitment, **p)


def _settlement(session, actor, p: dict, entry):
    commitment = _get(session, Commitment, p.pop("commitment_id"), "De verplichting")
    return budget.settle_commitment(session, actor, commitment, **p)


def _settlement_delete(session, actor, p: dict, entry):
    commitment = _get(session, Commitment, p.pop("commitment_id"), "De verplichting")
    return budget.withdraw_settlement(session, actor, commitment)


def _mutation(session, actor, p: dict, entry):
    programme = _get(session, Programme, p.pop("programme_id"), "Het programma")
    return budget.add_mutation(session, actor, programme, **p)


def _mutation_update(session, actor, p: dict, entry):
    mutation = _get(session, BudgetMutation, p.pop("mutation_id"), "De mutatie")
    _unchanged(mutation, p.pop("version"), "De mutatie")
    return budget.update_mutation(session, actor, mutation, **p)


def _mutation_delete(session, actor, p: dict, entry):
    mutation = _get(session, BudgetMutation, p.pop("mutation_id"), "De mutatie")
    _unchanged(mutation, p.pop("version"), "De mutatie")
    return budget.delete_mutation(session, actor, mutation, **p)


def _kasschuif(session, actor, p: dict, entry):
    programme = _get(session, Programme, p.pop("programme_id"), "Het programma")
    return budget.add_kasschuif(session, actor, programme, **p)


def _kasschuif_update(session, actor, p: dict, entry):
    rows = budget.kasschuif_rows(session, p["group"])
    if {r.id: r.version for r in rows} != {int(k): v for k, v in p.pop("versions").items()}:
        raise Conflict("De kasschuif is gewijzigd nadat deze wijziging ter goedkeuring werd aangeboden. Wijs haar "
                       "af en voer haar opnieuw in op de huidige stand.")
    return budget.update_kasschuif(session, actor, p.pop("group"), **p)


def _payment(session, actor, p: dict, entry):
    commitment = _get(session, Commitment, p.pop("commitment_id"), "De verplichting")
    return budget.add_payment(session, actor, commitment, **p)


def _staffing(session, actor, p: dict, entry):
    programme = _get(session, Programme, p.pop("programme_id"), "Het programma")
    return budget.set_staffing_reservation(session, actor, programme, **p)


def _import(session, actor, p: dict, entry):
    from imports.services import run_import

    result = run_import(session, actor, entry.payload, filename=p.get("filename", ""))
    if result.errors:
        shown = "; ".join(str(e) for e in result.errors[:5])
        raise ValidationError(f"De import kan nu niet meer worden vastgelegd ({len(result.errors)} fout(en)): {shown}")
    if not result.changed:
        raise Conflict("De import verandert niets meer: de gegevens staan er al.")
    return None


KINDS = {
    "import": _import,
    "commitment": _commitment,
    "adjustment": _adjustment,
    "mutation": _mutation,
    "mutation_update": _mutation_update,
    "mutation_delete": _mutation_delete,
    "kasschuif": _kasschuif,
    "kasschuif_update": _kasschuif_update,
    "staffing": _staffing,
    "payment": _payment,
    "settlement": _settlement,
    "settlement_delete": _settlement_delete,
}
