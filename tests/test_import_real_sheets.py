"""Real spreadsheets import: a predecessor outside the system; kasschuif rows each with their own Toelichting."""
from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import select

from budget import services as budget
from budget.models import BudgetMutation
from core.audit import AuditEntry
from imports.contract import UNCHANGED
from imports.services import run_import
from imports.writer import export_bytes
from projects.models import Programme, Project
from tests.factories import login, make_programme, make_user
from tests.test_import import ACTOR, counts, small_programme, xlsx

OUTSIDE = "WODC-onderzoek 2019 (vorig programma)"


def _follow_up_of_outside() -> dict:
    sheets = small_programme(Verplichtingen=[], Betalingen=[], Bijstellingen=[])
    base = sheets["Projecten"][0]
    sheets["Projecten"] = [[*base[:1], "P2", "Vervolg op oud onderzoek", *base[3:4], "Vervolg", *base[5:13],
                            OUTSIDE, *base[14:]]]
    return sheets


def test_a_follow_up_of_a_predecessor_outside_the_system_is_kept_shown_and_round_trips(app, session):
    assert run_import(session, ACTOR, xlsx(_follow_up_of_outside())).errors == []
    session.commit()
    project = session.scalar(select(Project).where(Project.code == "P2"))
    assert (project.category, project.predecessor_id, project.predecessor_outside) == ("vervolg", None, OUTSIDE)

    client = app.test_client()
    login(client, make_user(session, "lezer"))
    html = client.get(f"/projecten/{project.id}").get_data(as_text=True)
    assert OUTSIDE in html and "voorganger buiten het systeem" in html

    # The export writes the name back in Vervolg op, and importing it again changes nothing.
    programme = session.scalar(select(Programme).where(Programme.code == "TST"))
    before = counts(session)
    again = run_import(session, ACTOR, export_bytes(session, programme))
    assert again.ok and not again.changed, again.errors
    session.commit()
    assert counts(session) == before


def test_vervolg_op_naming_a_project_of_the_programme_still_links_it(session):
    sheets = small_programme(Verplichtingen=[], Betalingen=[], Bijstellingen=[])
    base = sheets["Projecten"][0]
    sheets["Projecten"].append([*base[:1], "P2", "Vervolg", *base[3:4], "Vervolg", *base[5:13], "P1", *base[14:]])
    assert run_import(session, ACTOR, xlsx(sheets)).errors == []
    p1, p2 = (session.scalar(select(Project).where(Project.code == c)) for c in ("P1", "P2"))
    assert (p2.predecessor_id, p2.predecessor_outside) == (p1.id, "")


def test_the_project_form_takes_a_predecessor_outside_the_system(app, session):
    admin, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    make_programme(session, admin)
    session.commit()
    client = app.test_client()
    login(client, fin)
    form = {"code": "STM-200", "title": "Vervolg meldpunt", "summary": "", "category": "vervolg",
            "line": "zicht_op_slachtoffers", "forms": ["overig"], "status": "voorstel", "instrument": "opdracht",
            "organisation_id": "", "owner_id": "", "predecessor_id": "", "start_date": "", "end_date": "",
            "requested_amount": "", "contact_person": "", "internal_notes": ""}
    refused = client.post("/projecten/nieuw", data=form)
    assert refused.status_code == 400
    assert "een project uit de lijst of een voorganger buiten het systeem" in refused.get_data(as_text=True)
    assert session.scalar(select(Project).where(Project.code == "STM-200")) is None

    response = client.post("/projecten/nieuw", data={**form, "predecessor_outside": OUTSIDE})
    assert response.status_code == 302
    session.expire_all()
    project = session.scalar(select(Project).where(Project.code == "STM-200"))
    assert project.predecessor_outside == OUTSIDE
    assert OUTSIDE in client.get(f"/projecten/{project.id}").get_data(as_text=True)


def _kasschuif(reasons=("Kasschuif uit 2025", "Kasschuif naar 2026"), references=("KS-1", "KS-1")) -> dict:
    return small_programme(Mutaties=[
        ["TST", 2025, -100_000, "Kasschuif", "Najaarsnota", reasons[0], references[0], "01-11-2025", "A"],
        ["TST", 2026, 100_000, "Kasschuif", "Najaarsnota", reasons[1], references[1], "01-11-2025", "A"]])


def test_kasschuif_rows_each_keep_their_own_toelichting_and_a_second_import_changes_nothing(session):
    data = xlsx(_kasschuif())
    assert run_import(session, ACTOR, data).errors == []
    session.commit()
    rows = session.scalars(select(BudgetMutation).where(BudgetMutation.kind == "kasschuif")
                           .order_by(BudgetMutation.year)).all()
    assert [(m.year, m.amount, m.reason) for m in rows] == [
        (2025, D("-100000.00"), "Kasschuif uit 2025"), (2026, D("100000.00"), "Kasschuif naar 2026")]
    assert rows[0].kasschuif_group == rows[1].kasschuif_group

    before = counts(session)
    again = run_import(session, ACTOR, data)
    assert again.ok and not again.changed and again.counts["Mutaties"][UNCHANGED] == 2
    programme = session.scalar(select(Programme).where(Programme.code == "TST"))
    assert not run_import(session, ACTOR, export_bytes(session, programme)).changed
    session.commit()
    assert counts(session) == before


def test_kasschuif_rows_must_still_share_date_moment_and_kenmerk(session):
    result = run_import(session, ACTOR, xlsx(_kasschuif(references=("KS-1", "KS-2"))))
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [("Mutaties", 3, "Kasschuifgroep")]
    assert "dezelfde datum, moment en kenmerk als regel 2" in result.errors[0].message
    assert session.scalar(select(BudgetMutation.id)) is None


def test_editing_an_imported_kasschuif_on_the_page_says_its_years_had_their_own_toelichting(app, session):
    assert run_import(session, ACTOR, xlsx(_kasschuif())).errors == []
    session.commit()
    group = session.scalar(select(BudgetMutation.kasschuif_group))
    client = app.test_client()
    login(client, make_user(session, "financieel"))
    html = client.get(f"/budget/kasschuif/{group}").get_data(as_text=True)
    assert "elk een eigen toelichting" in html and "Kasschuif naar 2026" in html

    rows = budget.kasschuif_rows(session, group)
    budget.update_kasschuif(session, make_user(session, "financieel"), group,
                            amounts={r.year: r.amount for r in rows}, moment="najaarsnota",
                            reason="Eén toelichting", mutation_date=rows[0].date, reference="KS-1")
    session.commit()
    assert {m.reason for m in budget.kasschuif_rows(session, group)} == {"Eén toelichting"}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")
                            .order_by(AuditEntry.id.desc())).first()
    # Nothing silently overwritten: the audit entry keeps what each year said before.
    assert entry.changes_dict["before"]["reasons"] == {"2025": "Kasschuif uit 2025", "2026": "Kasschuif naar 2026"}
