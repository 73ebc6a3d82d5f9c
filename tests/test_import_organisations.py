"""Import of organisations and project leaders: the service's rules, in statements that do not grow with the file."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from core.audit import AuditEntry, verify_chain
from core.db import db
from core.errors import DomainError
from imports.cli import IMPORT_ACTOR
from imports.contract import CHANGED, NEW, SHEETS, UNCHANGED
from imports.services import run_import
from projects import services as portfolio
from projects.models import Organisation, Project
from projects.rules import checked_organisation
from tests.factories import make_user
from tests.test_import import small_programme, xlsx

OWNER = SHEETS["Projecten"].index("Projectleider")


def _statements(session, data: bytes) -> int:
    statements = []

    def count(*_args):
        statements.append(1)
    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = run_import(session, IMPORT_ACTOR, data)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert result.errors == []
    session.rollback()
    return len(statements)


def _organisations(n: int, type_: str = "Ngo") -> list[list]:
    return [[f"Organisatie {i}", type_] for i in range(n)]


def test_an_import_of_500_organisations_runs_as_many_statements_as_one_of_50(session):
    # Half of each file exists already with another type (updated), half is new (created).
    for i in range(250):
        session.add(Organisation(name=f"Organisatie {i}", type="gemeente"))
    session.commit()
    counts = {}
    for n in (50, 500):
        data = xlsx({"Organisaties": _organisations(25 if n == 50 else 250) + [
            [f"Nieuwe organisatie {i}", "Ngo"] for i in range(n // 2)]})
        counts[n] = _statements(session, data)
    assert counts[50] == counts[500]


def test_new_and_retyped_organisations_are_written_with_their_audit_entries(session):
    portfolio.create_organisation(session, IMPORT_ACTOR, "Stichting Bestaand", "gemeente")
    session.commit()
    result = run_import(session, IMPORT_ACTOR, xlsx({"Organisaties": [
        ["stichting  BESTAAND", "Ngo"], ["Stichting Nieuw", "Kennisinstelling"]]}))
    assert result.errors == []
    assert result.counts["Organisaties"] == {NEW: 1, CHANGED: 1, UNCHANGED: 0}
    session.commit()
    orgs = {o.name: o for o in session.scalars(select(Organisation))}
    assert (orgs["Stichting Bestaand"].type, orgs["Stichting Bestaand"].version) == ("ngo", 2)
    assert orgs["Stichting Nieuw"].type == "kennisinstelling"
    entries = {(e.action, e.entity_id): e.changes_dict for e in session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "Organisation"))}
    assert entries[("update", orgs["Stichting Bestaand"].id)] == {"before": {"type": "gemeente"},
                                                                   "after": {"type": "ngo"}}
    assert entries[("create", orgs["Stichting Nieuw"].id)]["after"]["id"] == orgs["Stichting Nieuw"].id
    assert verify_chain(session)[0]
    # The service still finds the imported name taken, in any case.
    with pytest.raises(DomainError, match="bestaat al"):
        portfolio.create_organisation(session, IMPORT_ACTOR, "STICHTING NIEUW", "ngo")


@pytest.mark.parametrize("name, type_", [("", "ngo"), ("x" * 201, "ngo"), ("  stichting oud ", "ngo"),
                                         ("Stichting Ander", "onbekend")])
def test_the_organisation_rules_refuse_what_the_service_refuses(session, name, type_):
    portfolio.create_organisation(session, IMPORT_ACTOR, "Stichting Oud", "ngo")
    session.flush()
    with pytest.raises(DomainError) as by_service:
        portfolio.create_organisation(session, IMPORT_ACTOR, name, type_)
    with pytest.raises(DomainError) as by_rule:
        checked_organisation(name, type_, lambda n: n.lower() == "stichting oud")
    assert (type(by_rule.value), by_rule.value.message, by_rule.value.field) == \
        (type(by_service.value), by_service.value.message, by_service.value.field)


def _with_owner(email: str) -> bytes:
    sheets = small_programme()
    sheets["Projecten"][0][OWNER] = email
    return xlsx(sheets)


@pytest.mark.parametrize("role", ["lezer", "financieel", "beheerder"])
def test_only_a_projectleider_may_be_named_projectleider(session, role):
    user = make_user(session, role)
    session.commit()
    [error] = run_import(session, IMPORT_ACTOR, _with_owner(user.email.upper())).errors
    assert (error.sheet, error.row, error.column) == ("Projecten", 2, "Projectleider")
    assert user.email in error.message and "geen projectleider" in error.message
    assert str(error).startswith("blad Projecten, regel 2, kolom Projectleider: ")
    session.rollback()
    assert session.scalar(select(Project.id)) is None


def test_a_projectleider_is_accepted_and_keeps_the_project_after_a_change_of_role(session):
    user = make_user(session, "projectleider")
    session.commit()
    data = _with_owner(user.email)
    assert run_import(session, IMPORT_ACTOR, data).errors == []
    session.commit()
    assert session.scalar(select(Project.owner_id)) == user.id
    # As the project form keeps a current owner visible, re-importing the same file is no error.
    user.role = "lezer"
    session.commit()
    result = run_import(session, IMPORT_ACTOR, data)
    assert result.errors == [] and not result.changed
