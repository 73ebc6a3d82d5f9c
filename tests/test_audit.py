"""The audit trail is hash-chained: `audit verify` passes untouched and names a tampered entry."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from budget import services as budget
from core.audit import AuditEntry, verify_chain
from tests.factories import fund, make_programme, make_user


@pytest.fixture
def trail(session):
    fin = make_user(session, "financieel")
    prog = make_programme(session, make_user(session, "beheerder"))
    fund(session, fin, prog, {2024: "1.000", 2025: "2.000"})
    for n in range(3):
        budget.add_mutation(session, fin, prog, year=2025, amount=f"{n + 1}", kind="technisch", moment="intern",
                            reason=f"Mutatie {n}", mutation_date=date(2025, 1, 1))
    session.commit()
    return session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()


def _tamper(session, db_kind, sql: str) -> None:
    """What an attacker with database access would do: lift the guard, change a row, restore it."""
    if db_kind == "postgresql":
        session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
        session.execute(text(sql))
        session.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only"))
    else:
        for name in ("audit_entry_no_update", "audit_entry_no_delete"):
            session.execute(text(f"DROP TRIGGER {name}"))
        session.execute(text(sql))
    session.commit()


def test_untouched_trail_verifies(runner, trail):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"{len(trail)} regels" in result.output


def test_chain_links_every_entry_to_its_predecessor(session, trail):
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:]))


def test_altered_entry_is_named(runner, session, db_kind, trail):
    victim = trail[3]
    _tamper(session, db_kind, f"UPDATE audit_entry SET changes = '{{}}' WHERE id = {victim}")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code != 0
    assert f"Regel {victim} is gewijzigd" in result.output


def test_removed_entry_is_named(session, db_kind, trail):
    victim = trail[2]
    _tamper(session, db_kind, f"DELETE FROM audit_entry WHERE id = {victim}")
    ok, first_bad, message = verify_chain(session)
    assert not ok and first_bad == trail[3]
    assert "verwijderd" in message


def test_audit_page_filters_and_object_history(client, session, trail):
    from tests.factories import login, make_user

    fin = make_user(session, "financieel")
    session.commit()
    login(client, fin)
    page = client.get("/audit/?soort=BudgetMutation")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.count("Mutatie aangemaakt") == 3 and "Financieringsbron aangemaakt" not in text
    mutation_id = session.scalar(select(AuditEntry.entity_id).where(AuditEntry.entity == "BudgetMutation")
                                 .order_by(AuditEntry.id))
    history = client.get(f"/audit/BudgetMutation/{mutation_id}").get_data(as_text=True)
    assert "Mutatie 0" in history and "Mutatie aangemaakt" in history
    assert client.get("/audit/?van=2000-01-01&tot=2000-01-02").get_data(as_text=True).count("Geen wijzigingen") == 1


def test_every_object_the_services_made_has_its_audit_entry(session):
    """The demo loader goes through every service; each row it made must be in the trail."""
    from budget.demo import load_demo
    from budget.models import (BudgetMutation, Commitment, FundingSource, Payment, StaffingCost,
                               StaffingReservation)
    from core.users import User
    from projects.models import Organisation, Programme, Project, StatusUpdate

    load_demo(session, with_users=True)
    session.commit()
    audited = set(session.execute(select(AuditEntry.entity, AuditEntry.entity_id)).all())
    missing = []
    for model in (Programme, FundingSource, BudgetMutation, StaffingReservation, StaffingCost, Organisation,
                  Project, StatusUpdate, Commitment, Payment, User):
        ids = session.scalars(select(model.id)).all()
        assert ids, model.__name__
        missing += [(model.__name__, i) for i in ids if (model.__name__, i) not in audited]
    assert missing == []
    ok, _entry, _message = verify_chain(session)
    assert ok
