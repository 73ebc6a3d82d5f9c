"""Four eyes: with it on, a financial entry above the threshold changes nothing until someone else approves it."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from approvals import services as approvals
from approvals.models import PendingEntry
from budget import services as budget
from budget.ledger import programme_figures
from budget.models import BudgetMutation, Commitment
from core.audit import AuditEntry
from core.errors import BudgetStopError, Conflict, PermissionDenied, ValidationError
from tests.factories import TEST_ACTOR, fund, make_programme, make_project, make_user

YEAR = 2025


@pytest.fixture
def world(session):
    boss = make_user(session, "beheerder")
    boss2 = make_user(session, "beheerder")
    anna = make_user(session, "financieel")
    bram = make_user(session, "financieel")
    prog = make_programme(session, TEST_ACTOR)
    fund(session, TEST_ACTOR, prog, {YEAR: "100.000", YEAR + 1: "100.000"})
    project = make_project(session, anna, prog)
    approvals.set_four_eyes(session, boss, prog, True, "0")
    session.commit()
    return {"boss": boss, "boss2": boss2, "anna": anna, "bram": bram, "prog": prog, "project": project}


def _figures(session, prog):
    return {y: (f.committed, f.available, f.free) for y, f in programme_figures(session, prog.id, None).items()}


def _commit(session, actor, project, amount: str, reference: str = "BS-1", override_reason=None):
    return budget.add_commitment(session, actor, project, reference=reference, signed_date=date(YEAR, 2, 1),
                                 total=D(amount), schedule={YEAR: D(amount)}, override_reason=override_reason)


def test_a_commitment_counts_only_after_someone_else_approves_it(session, world):
    anna, bram, prog = world["anna"], world["bram"], world["prog"]
    before = _figures(session, prog)
    entry = _commit(session, anna, world["project"], "60000")
    session.commit()
    assert isinstance(entry, PendingEntry) and entry.is_pending and entry.amount == D("60000")
    assert _figures(session, prog) == before
    assert session.scalar(select(func.count()).select_from(Commitment)) == 0
    # Anna may not approve her own entry, from any door: the service refuses.
    with pytest.raises(PermissionDenied, match="zelf ingevoerd"):
        approvals.approve(session, anna, entry)
    session.rollback()
    commitment = approvals.approve(session, bram, entry)
    session.commit()
    after = _figures(session, prog)
    assert after[YEAR][0] == before[YEAR][0] + D("60000") and after[YEAR][2] == before[YEAR][2] - D("60000")
    assert after[YEAR + 1] == before[YEAR + 1]
    assert commitment.signed_date == date(YEAR, 2, 1)  # the booking date stays its own
    assert (entry.state, entry.decided_by_id, entry.result) == ("goedgekeurd", bram.id, f"Commitment {commitment.id}")
    create = session.scalar(select(AuditEntry).where(AuditEntry.entity == "Commitment"))
    assert create.actor_id == anna.id and create.changes_dict["approval"]["approved_by"] == bram.email
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "PendingEntry")
                              .order_by(AuditEntry.id)).all()
    assert actions == ["submit", "approve"]
    with pytest.raises(Conflict, match="al goedgekeurd"):
        approvals.approve(session, world["boss"], entry)


def test_a_rejection_changes_nothing_and_keeps_the_reason(session, world):
    prog = world["prog"]
    before = _figures(session, prog)
    entry = _commit(session, world["anna"], world["project"], "60000")
    session.commit()
    with pytest.raises(ValidationError, match="minstens 10 tekens"):
        approvals.reject(session, world["bram"], entry, "nee")
    session.rollback()
    approvals.reject(session, world["bram"], entry, "Kasritme klopt niet met de beschikking.")
    session.commit()
    assert _figures(session, prog) == before
    assert (entry.state, entry.decision_reason) == ("afgewezen", "Kasritme klopt niet met de beschikking.")
    entry_audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "reject"))
    assert entry_audit.actor_id == world["bram"].id
    assert entry_audit.changes_dict["after"]["reason"] == "Kasritme klopt niet met de beschikking."
    # Its room is free again: the same amount can be entered anew.
    assert isinstance(_commit(session, world["anna"], world["project"], "60000", "BS-2"), PendingEntry)


def test_two_pending_commitments_that_fit_only_one_at_a_time_cannot_both_wait(session, world):
    _commit(session, world["anna"], world["project"], "60000", "BS-1")
    session.commit()
    with pytest.raises(BudgetStopError):
        _commit(session, world["bram"], world["project"], "60000", "BS-2")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PendingEntry)) == 1


def test_approval_checks_the_rules_again_at_that_moment(session, world):
    entry = _commit(session, world["anna"], world["project"], "60000", "BS-1")
    session.commit()
    # Meanwhile the books are closed through a date after the commitment's signing date.
    budget.close_period(session, world["bram"], world["prog"], date(YEAR, 6, 30))
    session.commit()
    with pytest.raises(Conflict, match="is afgesloten"):
        approvals.approve(session, world["bram"], entry)
    session.rollback()
    assert session.get(PendingEntry, entry.id).is_pending
    assert session.scalar(select(func.count()).select_from(Commitment)) == 0


def test_a_budget_stop_override_needs_a_second_beheerder(session, world):
    boss, boss2, anna = world["boss"], world["boss2"], world["anna"]
    approvals.set_four_eyes(session, boss, world["prog"], True, "1.000.000")  # far above the amount
    session.commit()
    entry = _commit(session, boss, world["project"], "150000", override_reason="Kamerbrief toegezegd, dekking volgt")
    session.commit()
    assert isinstance(entry, PendingEntry) and entry.override_reason  # an override always waits
    with pytest.raises(PermissionDenied, match="alleen een beheerder"):
        approvals.approve(session, anna, entry)
    session.rollback()
    with pytest.raises(PermissionDenied, match="zelf ingevoerd"):
        approvals.approve(session, boss, entry)
    session.rollback()
    approvals.approve(session, boss2, entry)
    session.commit()
    assert programme_figures(session, world["prog"].id, None)[YEAR].free == D("-50000.00")


def test_under_the_threshold_or_with_four_eyes_off_it_is_booked_at_once(session, world):
    approvals.set_four_eyes(session, world["boss"], world["prog"], True, "10.000")
    session.commit()
    assert isinstance(_commit(session, world["anna"], world["project"], "10000", "BS-1"), Commitment)
    assert isinstance(_commit(session, world["anna"], world["project"], "10000.01", "BS-2"), PendingEntry)
    approvals.set_four_eyes(session, world["boss"], world["prog"], False, "0")
    assert isinstance(_commit(session, world["anna"], world["project"], "50000", "BS-3"), Commitment)
    with pytest.raises(PermissionDenied):
        approvals.set_four_eyes(session, world["anna"], world["prog"], True, "0")


def test_every_kind_of_money_entry_waits_and_is_booked_on_approval(session, world):
    anna, bram, prog = world["anna"], world["bram"], world["prog"]
    approvals.set_four_eyes(session, world["boss"], prog, False, "0")
    commitment = _commit(session, anna, world["project"], "10000", "BS-1")
    mutation = budget.add_mutation(session, anna, prog, year=YEAR, amount="5.000", kind="technisch",
                                   moment="intern", reason="Aanvulling", mutation_date=date(YEAR, 3, 1))
    approvals.set_four_eyes(session, world["boss"], prog, True, "0")
    session.commit()
    before = _figures(session, prog)
    entries = [
        budget.adjust_commitment(session, anna, commitment, adjustment_date=date(YEAR, 4, 1),
                                 changes={YEAR: D("-1000")}, reason="Lager vastgesteld"),
        budget.add_mutation(session, anna, prog, year=YEAR + 1, amount="-2.000", kind="technisch",
                            moment="intern", reason="Korting", mutation_date=date(YEAR, 3, 1)),
        budget.update_mutation(session, anna, mutation, year=YEAR, amount="7.000", kind="technisch",
                               moment="intern", reason="Aanvulling", mutation_date=date(YEAR, 3, 1)),
        budget.add_kasschuif(session, anna, prog, amounts={YEAR: "-3.000", YEAR + 1: "3.000"}, moment="intern",
                             reason="Schuif", mutation_date=date(YEAR, 5, 1)),
        budget.set_staffing_reservation(session, anna, prog, year=YEAR, fte="1", amount="4.000",
                                        valid_from=date(YEAR, 1, 1)),
    ]
    session.commit()
    assert all(isinstance(e, PendingEntry) for e in entries), entries
    assert _figures(session, prog) == before
    for entry in entries:
        approvals.approve(session, bram, entry)
        session.commit()
    after = _figures(session, prog)
    # committed: -1.000 (adjustment) +4.000 (staffing); available: -2.000 next year, +2.000 (mutation 5 -> 7),
    # -3.000 this year and +3.000 next year (kasschuif).
    assert after[YEAR][0] - before[YEAR][0] == D("3000")
    assert after[YEAR][1] - before[YEAR][1] == D("-1000")
    assert after[YEAR + 1][1] - before[YEAR + 1][1] == D("1000")
    # And removing a mutation waits too.
    pending_delete = budget.delete_mutation(session, anna, session.get(BudgetMutation, mutation.id))
    session.commit()
    assert isinstance(pending_delete, PendingEntry) and session.get(BudgetMutation, mutation.id) is not None
    approvals.approve(session, bram, pending_delete)
    session.commit()
    assert session.get(BudgetMutation, mutation.id) is None


def test_a_change_approved_after_its_target_changed_is_refused(session, world):
    anna, bram, prog = world["anna"], world["bram"], world["prog"]
    approvals.set_four_eyes(session, world["boss"], prog, False, "0")
    mutation = budget.add_mutation(session, anna, prog, year=YEAR, amount="5.000", kind="technisch",
                                   moment="intern", reason="Aanvulling", mutation_date=date(YEAR, 3, 1))
    approvals.set_four_eyes(session, world["boss"], prog, True, "1.000")
    session.commit()
    first = budget.update_mutation(session, anna, mutation, year=YEAR, amount="9.000", kind="technisch",
                                   moment="intern", reason="Aanvulling", mutation_date=date(YEAR, 3, 1))
    session.commit()
    # Under the threshold, so booked at once: the mutation is now a version further.
    budget.update_mutation(session, bram, mutation, year=YEAR, amount="5.500", kind="technisch",
                           moment="intern", reason="Aanvulling", mutation_date=date(YEAR, 3, 1))
    session.commit()
    with pytest.raises(Conflict, match="gewijzigd nadat"):
        approvals.approve(session, bram, first)


# --- the import: one batch ---------------------------------------------------------------------

def test_an_import_with_money_waits_as_one_batch_approved_by_someone_else(session, runner, tmp_path, world):
    from imports.services import run_import
    from tests.test_import import small_programme, xlsx  # noqa: I001

    anna, bram, tst = world["anna"], world["bram"], world["prog"]
    base = small_programme()
    before = _figures(session, tst)
    money = xlsx({"Organisaties": base["Organisaties"], "Projecten": base["Projecten"],
                  "Verplichtingen": [["P1", "BS-9", "15-01-2025", 2025, 20_000],
                                     ["P1", "BS-9", "15-01-2025", 2026, 30_000]]})
    result = run_import(session, anna, money, filename="verplichtingen.xlsx")
    assert result.ok and result.pending_id is not None
    session.commit()
    entry = session.get(PendingEntry, result.pending_id)
    assert entry.kind == "import" and entry.payload == money and entry.amount == D("50000")
    assert _figures(session, tst) == before
    assert session.scalar(select(func.count()).select_from(Commitment)) == 0
    with pytest.raises(PermissionDenied):
        approvals.approve(session, anna, entry)
    session.rollback()
    approvals.approve(session, bram, entry)
    session.commit()
    after = _figures(session, tst)
    assert after[2025][0] - before[2025][0] == D("20000") and after[2026][0] - before[2026][0] == D("30000")
    imported = session.scalar(select(AuditEntry).where(AuditEntry.action == "import")
                              .order_by(AuditEntry.id.desc()).limit(1))
    assert imported.actor_id == anna.id and imported.changes_dict["approval"]["approved_by"] == bram.email
    # The CLI says the same thing when a file waits.
    path = tmp_path / "mutatie.xlsx"
    path.write_bytes(xlsx({"Mutaties": [["TST", 2025, -1_000, "Technisch", "Intern", "Korting", "", "01-11-2025", ""]]}))
    out = runner.invoke(args=["import", "run", str(path)])
    assert out.exit_code == 0 and "wacht als geheel op goedkeuring" in out.output


def test_approvers_hear_that_something_waits_and_the_author_hears_the_decision(app, session, world, smtp):
    server = smtp
    first = _commit(session, world["anna"], world["project"], "30000", "BS-1")
    session.commit()
    told = sorted(rcpts[0] for rcpts, _ in server.messages)
    assert told == sorted(u.email for u in (world["boss"], world["boss2"], world["bram"]))
    assert "Verplichting BS-1" in server.text(server.messages[0][1])
    approvals.approve(session, world["bram"], first)
    session.commit()
    decided = server.to(world["anna"].email)
    assert len(decided) == 1 and "goedgekeurd" in server.subject(decided[0])
    _commit(session, world["anna"], world["project"], "30000", "BS-2")
    session.rollback()  # never committed: nobody is told
    assert len(server.messages) == 4
    second = _commit(session, world["anna"], world["project"], "30000", "BS-2")
    session.commit()
    approvals.reject(session, world["bram"], second, "Dubbel ingevoerd, zie BS-1.")
    session.commit()
    rejected = server.to(world["anna"].email)[-1]
    assert "afgewezen" in server.subject(rejected) and "Dubbel ingevoerd, zie BS-1." in server.text(rejected)


def test_the_bookings_history_says_who_approved_it(app, session, world):
    from core.audit_labels import readable

    entry = _commit(session, world["anna"], world["project"], "30000", "BS-1")
    session.commit()
    commitment = approvals.approve(session, world["bram"], entry)
    session.commit()
    created = session.scalars(select(AuditEntry).where(AuditEntry.entity == "Commitment",
                                                       AuditEntry.entity_id == commitment.id)).all()
    (shown,) = readable(session, created)
    assert shown.actor == world["anna"].email
    assert any(note.startswith(f"Goedgekeurd door {world['bram'].email} op ") and f"nr. {entry.id}" in note
               for note in shown.notes)


def test_payments_follow_their_commitment_unless_the_programme_asks_four_eyes_on_them(session, world):
    anna, bram, prog = world["anna"], world["bram"], world["prog"]
    approvals.set_four_eyes(session, world["boss"], prog, True, "1.000")
    session.commit()
    entry = _commit(session, anna, world["project"], "30000", "BS-1")
    session.commit()
    commitment = approvals.approve(session, bram, entry)
    session.commit()
    paid = budget.add_payment(session, anna, commitment, payment_date=date(YEAR, 3, 1), amount="5.000",
                              kind="voorschot")
    assert not isinstance(paid, PendingEntry)
    approvals.set_four_eyes(session, world["boss"], prog, True, "1.000", payments=True)
    waiting = budget.add_payment(session, anna, commitment, payment_date=date(YEAR, 3, 2), amount="5.000",
                                 kind="voorschot", reference="BET-2")
    session.commit()
    assert isinstance(waiting, PendingEntry) and waiting.summary.startswith("Betaling BET-2 op verplichting BS-1")
    before = programme_figures(session, prog.id, None)[YEAR].paid
    payment = approvals.approve(session, bram, waiting)
    session.commit()
    assert programme_figures(session, prog.id, None)[YEAR].paid - before == D("5000")
    assert payment.date == date(YEAR, 3, 2)
