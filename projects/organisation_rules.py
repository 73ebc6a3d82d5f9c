"""Organisation rules as a plain function: the service and the import check a name and a type alike."""
from __future__ import annotations

from collections.abc import Callable

from core.errors import Conflict, ValidationError
from projects.models import ORGANISATION_TYPES

NAME_MAX = 200


def checked_organisation(name, type, taken: Callable[[str], bool]) -> tuple[str, str]:
    """(name, type) as create_organisation and update_organisation accept them, or a DomainError.

    `taken(name)` answers whether another organisation already has this name in any case: a
    query for one web form, a dict for a whole import file. The order of the checks and every
    message are the service's own.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError("Vul een naam in.", field="name")
    if len(name) > NAME_MAX:
        raise ValidationError(f"Een naam is te lang (hoogstens {NAME_MAX} tekens).", field="name")
    if taken(name):
        raise Conflict(f"Organisatie '{name}' bestaat al.", field="name")
    if type not in ORGANISATION_TYPES:
        allowed = ", ".join(ORGANISATION_TYPES.values())
        raise ValidationError(f"Onbekende organisatietype '{type}'; kies uit: {allowed}.", field="type")
    return name, type
