"""No lost updates: an edit based on an old version is refused with 409, nothing is overwritten."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from budget import services as budget
from budget.models import BudgetMutation
from core.audit import AuditEntry
from core.audit_labels import local_time
from core.db import db
from projects import services as portfolio
from projects.models import Organisation, Project
from tests.factories import fund, login, make_programme, make_project, make_user


def _page_text(html: str) -> str:
    """The page's own text without tags, as a person reads it."""
    main = html[html.index("<main"):html.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).replace("&amp;", "&")


def _version(html: str) -> str:
    return re.search(r'id="version" name="version" type="hidden" value="(\d+)"', html).group(1)


@pytest.fixture
def two_officers(app, session):
    first, second = make_user(session, "financieel"), make_user(session, "financieel")
    programme = make_programme(session, make_user(session, "beheerder"))
    session.commit()
    clients = []
    for user in (first, second):
        client = app.test_client()
        login(client, user)
        clients.append(client)
    return programme, clients


def test_hundred_stale_edit_pairs_give_hundred_refusals_and_no_overwrite(session, two_officers):
    programme, (first, second) = two_officers
    org = portfolio.create_organisation(session, make_user(session, "financieel"), "Stichting Start", "ngo")
    session.commit()
    url = f"/organisaties/{org.id}/bewerken"
    refused, overwritten = 0, 0
    for n in range(100):
        seen_by_first = _version(first.get(url).get_data(as_text=True))
        seen_by_second = _version(second.get(url).get_data(as_text=True))
        assert first.post(url, data={"version": seen_by_first, "name": f"Eerste {n}", "type": "ngo"}).status_code == 302
        late = second.post(url, data={"version": seen_by_second, "name": f"Tweede {n}", "type": "gemeente"})
        session.expire_all()
        current = session.get(Organisation, org.id)
        refused += late.status_code == 409
        overwritten += current.name != f"Eerste {n}" or current.type != "ngo"
        if n == 0:
            page = late.get_data(as_text=True)
            assert "In de tussentijd gewijzigd door iemand anders" in page and "Eerste 0" in page
    assert (refused, overwritten) == (100, 0)
    assert session.get(Organisation, org.id).version == 101


def test_stale_budget_mutation_edit_is_refused(session, two_officers):
    programme, (first, second) = two_officers
    fin = make_user(session, "financieel")
    fund(session, fin, programme, {2025: "1.000"})
    mutation = budget.add_mutation(session, fin, programme, year=2025, amount="10", kind="technisch",
                                   moment="intern", reason="Eerst", mutation_date=date(2025, 1, 1))
    session.commit()
    url = f"/budget/mutaties/{mutation.id}"
    old = _version(first.get(url).get_data(as_text=True))
    data = {"year": "2025", "amount": "20", "kind": "technisch", "moment": "intern", "reason": "Nieuw",
            "reference": "", "date": "2025-01-01"}
    assert second.post(url, data={**data, "version": old}).status_code == 302
    assert first.post(url, data={**data, "version": old, "reason": "Verouderd"}).status_code == 409
    session.expire_all()
    assert session.get(BudgetMutation, mutation.id).reason == "Nieuw"


def test_the_database_refuses_a_concurrent_write_on_an_old_version(app, session):
    fin = make_user(session, "financieel")
    project = make_project(session, fin, make_programme(session, make_user(session, "beheerder")))
    session.commit()
    with Session(db.engine) as one, Session(db.engine) as two:
        mine, theirs = one.get(Project, project.id), two.get(Project, project.id)
        mine.title = "Eerst opgeslagen"
        one.commit()
        theirs.title = "Op een oude versie"
        with pytest.raises(StaleDataError):
            two.commit()
    session.expire_all()
    assert session.get(Project, project.id).title == "Eerst opgeslagen"


@pytest.fixture
def every_edit(session, two_officers):
    """(URL, form data without version, the record, its editable field) for every edit form."""
    programme, (first, _second) = two_officers
    fin = make_user(session, "financieel")
    source = fund(session, fin, programme, {2025: "1.000.000"})
    mutation = budget.add_mutation(session, fin, programme, year=2025, amount="10", kind="technisch",
                                   moment="intern", reason="Eerst", mutation_date=date(2025, 1, 1))
    shift = budget.add_kasschuif(session, fin, programme, amounts={2025: "-5", 2026: "5"}, moment="intern",
                                 reason="Eerst", mutation_date=date(2025, 1, 1))
    reservation = budget.set_staffing_reservation(session, fin, programme, year=2025, fte="1", amount="100")
    cost = budget.add_staffing_cost(session, fin, reservation, cost_date=date(2025, 3, 31), amount="10",
                                    description="Eerst")
    org = portfolio.create_organisation(session, fin, "Stichting Eerst", "ngo")
    project = make_project(session, fin, programme, code="P-EERST", title="Eerst")
    session.commit()
    project_data = {"code": "P-EERST", "title": "Zonder versie", "summary": "s", "category": "nieuw",
                    "line": "preventie", "forms": ["overig"], "instrument": "subsidie", "organisation_id": "",
                    "owner_id": "", "predecessor_id": "", "start_date": "", "end_date": "",
                    "requested_amount": "", "contact_person": "", "internal_notes": ""}
    edits = [
        (f"/projecten/{project.id}/bewerken", project_data, project, "title"),
        (f"/organisaties/{org.id}/bewerken", {"name": "Zonder versie", "type": "ngo"}, org, "name"),
        (f"/budget/bronnen/{source.id}", {"name": "Zonder versie", "kind": "structureel", "jaar_2025": "1.000.000"},
         source, "name"),
        (f"/budget/mutaties/{mutation.id}", {"year": "2025", "amount": "10", "kind": "technisch", "moment": "intern",
                                             "reason": "Zonder versie", "date": "2025-01-01"}, mutation, "reason"),
        (f"/budget/kasschuif/{shift[0].kasschuif_group}", {"jaar_2025": "-5", "jaar_2026": "5", "moment": "intern",
                                                           "reason": "Zonder versie", "date": "2025-01-01"},
         shift[0], "reason"),
        (f"/budget/personeel/{reservation.id}", {"year": "2025", "fte": "1", "amount": "99"}, reservation, "amount"),
        (f"/budget/personeelskosten/{cost.id}", {"cost_date": "2025-03-31", "amount": "10",
                                                 "description": "Zonder versie"}, cost, "description"),
    ]
    return first, edits


def test_every_edit_page_sends_the_version_it_shows(every_edit):
    client, edits = every_edit
    for url, _data, record, _field in edits:
        assert _version(client.get(url).get_data(as_text=True)) == str(record.version), url


@pytest.mark.parametrize("version", [None, "", "  "])
def test_an_edit_without_its_version_is_refused_and_saves_nothing(session, every_edit, version):
    client, edits = every_edit
    for url, data, record, field in edits:
        before = getattr(record, field)
        sent = data if version is None else {**data, "version": version}
        response = client.post(url, data=sent)
        assert response.status_code == 400, url
        assert "Het verzoek kon niet worden verwerkt" in response.get_data(as_text=True)
        session.expire_all()
        assert getattr(session.get(type(record), record.id), field) == before, url
        # The same edit with the version the page showed is saved.
        saved = client.post(url, data={**data, "version": _version(client.get(url).get_data(as_text=True))})
        assert saved.status_code == 302, url


def test_a_save_landing_between_the_version_check_and_the_lock_is_not_overwritten(app, session, two_officers,
                                                                                 monkeypatch):
    """The early version check passes; a colleague saves before this request takes the write lock;
    the check under the lock refuses (409) instead of writing over the colleague's change."""
    import core.unit

    programme, (first, _second) = two_officers
    org = portfolio.create_organisation(session, make_user(session, "financieel"), "Stichting Start", "ngo")
    session.commit()
    url = f"/organisaties/{org.id}/bewerken"
    seen = _version(first.get(url).get_data(as_text=True))
    real = core.unit.serialise

    def colleague_saves_first(s):
        with Session(db.engine) as other:
            portfolio.update_organisation(other, make_user(other, "financieel"), other.get(Organisation, org.id),
                                          "Stichting Collega", "gemeente")
            other.commit()
        real(s)

    monkeypatch.setattr(core.unit, "serialise", colleague_saves_first)
    late = first.post(url, data={"version": seen, "name": "Stichting Mijn", "type": "ngo"})
    assert late.status_code == 409
    session.expire_all()
    assert session.get(Organisation, org.id).name == "Stichting Collega"


def test_the_conflict_page_says_what_happened_and_what_to_do(app, session):
    boss = make_user(session, "beheerder")
    first, second = make_user(session, "financieel"), make_user(session, "financieel")
    org = portfolio.create_organisation(session, boss, "Stichting Start", "ngo")
    session.commit()
    clients = []
    for user in (first, second):
        client = app.test_client()
        login(client, user)
        clients.append(client)
    url = f"/organisaties/{org.id}/bewerken"
    version = re.search(r'name="version" type="hidden" value="(\d+)"', clients[0].get(url).get_data(as_text=True))[1]
    assert clients[0].post(url, data={"version": version, "name": "Stichting Nieuw", "type": "ngo"}).status_code == 302
    late = clients[1].post(url, data={"version": version, "name": "Stichting Laat", "type": "gemeente"})
    assert late.status_code == 409
    text = _page_text(late.get_data(as_text=True))
    assert "Iemand anders heeft Organisatie Stichting Nieuw opgeslagen" in text
    assert "Open het formulier opnieuw" in text
    assert "Wat de ander wijzigde" in text and first.email in text and "Organisatie gewijzigd" in text
    assert "Naam Stichting Start Stichting Nieuw" in text
    entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert local_time(entry.at) in text
    for developer in ("version", "created_at", "{'", "name", "Organisation"):
        assert developer not in text, developer
