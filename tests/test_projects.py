"""Portfolio rules: project owners update only their own projects, status follows the lifecycle."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core.audit import AuditEntry
from core.errors import InvalidTransition, PermissionDenied, ValidationError
from projects import services as portfolio
from projects.models import StatusUpdate
from tests.factories import make_programme, make_project, make_user


@pytest.fixture
def setup(session):
    boss = make_user(session, "beheerder")
    fin = make_user(session, "financieel")
    owner = make_user(session, "projectleider")
    other = make_user(session, "projectleider")
    prog = make_programme(session, boss)
    project = make_project(session, fin, prog, owner_id=owner.id)
    return {"fin": fin, "owner": owner, "other": other, "prog": prog, "project": project}


def _update(session, actor, project, status, **kw):
    return portfolio.add_status_update(session, actor, project, status=status, rag="op_koers",
                                       update_date=date(2025, 3, 1), progress="Intern", public_text="Openbaar",
                                       **kw)


def test_owner_updates_own_project_and_status_changes(session, setup):
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    _update(session, setup["owner"], setup["project"], "in_behandeling")
    assert setup["project"].status == "in_behandeling"
    new = session.scalars(select(AuditEntry).order_by(AuditEntry.id).offset(before)).all()
    assert [(e.entity, e.action) for e in new] == [("StatusUpdate", "create"), ("Project", "status")]


def test_owner_cannot_update_another_owners_project(session, setup):
    with pytest.raises(PermissionDenied):
        _update(session, setup["other"], setup["project"], "in_behandeling")
    assert setup["project"].status == "voorstel"
    assert session.scalar(select(func.count()).select_from(StatusUpdate)) == 0


def test_owner_cannot_change_project_details_or_amounts(session, setup):
    with pytest.raises(PermissionDenied):
        portfolio.update_project(session, setup["owner"], setup["project"], {"requested_amount": "1.000"})
    with pytest.raises(PermissionDenied):
        portfolio.update_project(session, setup["owner"], setup["project"], {"title": "Nieuwe titel"})
    assert setup["project"].requested_amount is None


def test_status_follows_the_lifecycle(session, setup):
    with pytest.raises(InvalidTransition, match="toegestaan"):
        _update(session, setup["owner"], setup["project"], "afgerond")
    # The owner takes the project's own steps, finance the financial decisions (toegekend, afgerond).
    for who, status in (("owner", "in_behandeling"), ("fin", "toegekend"), ("owner", "in_uitvoering"),
                        ("owner", "opgeschort"), ("owner", "in_uitvoering"), ("fin", "afgerond")):
        _update(session, setup[who], setup["project"], status)
    with pytest.raises(InvalidTransition):
        _update(session, setup["owner"], setup["project"], "in_uitvoering")


def test_update_project_audits_only_what_changed(session, setup):
    portfolio.update_project(session, setup["fin"], setup["project"], {"title": "Andere titel",
                                                                       "forms": ["arbeidsuitbuiting", "overig"]})
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "update"
    assert set(entry.changes_dict["after"]) == {"title", "forms"}
    assert entry.changes_dict["before"]["forms"] == ["seksuele_uitbuiting"]


def test_project_validation_messages_are_dutch(session, setup):
    with pytest.raises(ValidationError, match="Onbekende categorie"):
        make_project(session, setup["fin"], setup["prog"], category="geheim")
    with pytest.raises(ValidationError, match="vervolg"):
        make_project(session, setup["fin"], setup["prog"], category="vervolg")
    with pytest.raises(ValidationError, match="einddatum"):
        make_project(session, setup["fin"], setup["prog"], start_date=date(2025, 2, 1), end_date=date(2025, 1, 1))
