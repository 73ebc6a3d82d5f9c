"""Portfolio pages through the test client: access per role, list filters, forms and their errors."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.audit import AuditEntry
from projects import services as portfolio
from projects.models import Organisation, Project, StatusUpdate
from tests.factories import login as login_as
from tests.factories import make_programme, make_project, make_user


@pytest.fixture
def world(app, session):
    """A programme with one user per role, an organisation and one project owned by `owner`."""
    admin = make_user(session, "beheerder")
    w = {
        "beheerder": admin,
        "financieel": make_user(session, "financieel"),
        "owner": make_user(session, "projectleider"),
        "other_owner": make_user(session, "projectleider"),
        "lezer": make_user(session, "lezer"),
    }
    w["programme"] = make_programme(session, admin)
    w["org"] = portfolio.create_organisation(session, admin, "Stichting Voorbeeld", "ngo")
    w["project"] = make_project(session, admin, w["programme"], code="STM-001", title="Opvang Noord",
                                owner_id=w["owner"].id, organisation_id=w["org"].id, status="toegekend",
                                internal_notes="Geheime werknotitie", contact_person="Jan Contact",
                                requested_amount=Decimal("125000.50"))
    session.commit()
    return w


def login(app, user):
    client = app.test_client()
    response = login_as(client, user)
    assert response.status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def project_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(Project.id)))


def field_error(html: str, field: str) -> bool:
    return f'id="{field}-fout"' in html


# --- access per role ------------------------------------------------------------------------

PAGES = ["/projecten", "/projecten/{pid}", "/projecten/mijn", "/projecten/nieuw", "/projecten/{pid}/bewerken",
         "/projecten/{pid}/status", "/organisaties", "/organisaties/nieuw", "/organisaties/{oid}/bewerken"]

#: GET status per page for each role; "other_owner" is a projectleider who does not own the project.
EXPECTED = {
    "beheerder": [200, 200, 403, 200, 200, 200, 200, 200, 200],
    "financieel": [200, 200, 403, 200, 200, 200, 200, 200, 200],
    "owner": [200, 200, 200, 403, 403, 200, 403, 403, 403],
    "other_owner": [200, 200, 200, 403, 403, 403, 403, 403, 403],
    "lezer": [200, 200, 403, 403, 403, 403, 403, 403, 403],
}


def _url(template: str, w) -> str:
    return template.format(pid=w["project"].id, oid=w["org"].id)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_every_page_gives_each_role_its_page_or_403(app, world, role):
    client = login(app, world[role])
    got = [client.get(_url(page, world)).status_code for page in PAGES]
    assert got == EXPECTED[role]


def test_anonymous_users_are_sent_to_login(client, world):
    for page in PAGES:
        response = client.get(_url(page, world))
        assert response.status_code == 302 and "/login" in response.headers["Location"], page
    for page in ["/projecten/nieuw", "/projecten/{pid}/bewerken", "/projecten/{pid}/status",
                 "/organisaties/nieuw", "/organisaties/{oid}/verwijderen"]:
        response = client.post(_url(page, world), data={"code": "X", "name": "X"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], page


@pytest.mark.parametrize("page, action", [
    ("/projecten/{pid}", "Project wijzigen"),
    ("/projecten/{pid}/bewerken", "Project STM-001 wijzigen"),
    ("/organisaties", "Wijzigen"),
    ("/organisaties/{oid}/bewerken", "Organisatie wijzigen"),
])
def test_edit_is_called_wijzigen_as_on_the_budget_pages(app, world, page, action):
    # What the reader sees, not the addresses in the links (those keep /bewerken for old bookmarks).
    words = " ".join(re.sub(r"<[^>]+>", " ", text(login(app, world["financieel"]).get(_url(page, world)))).split())
    assert action in words
    assert "bewerk" not in words.lower()


def test_unknown_project_is_404(app, world):
    assert login(app, world["lezer"]).get("/projecten/9999").status_code == 404


def test_nav_shows_portfolio_items_by_role(app, world):
    finance = text(login(app, world["financieel"]).get("/projecten"))
    assert 'href="/organisaties"' in finance and 'href="/projecten/mijn"' not in finance
    owner = text(login(app, world["owner"]).get("/projecten"))
    assert 'href="/projecten/mijn"' in owner and 'href="/organisaties"' not in owner
    assert "Nieuw project" in finance and "Nieuw project" not in owner


# --- project list ---------------------------------------------------------------------------

def _codes(html: str) -> list[str]:
    return re.findall(r'<td class="nowrap">([^<]+)</td>', html)


@pytest.fixture
def portfolio_list(session, world):
    admin, programme = world["beheerder"], world["programme"]
    other_org = portfolio.create_organisation(session, admin, "Gemeente Havenstad", "gemeente")
    make_project(session, admin, programme, code="STM-002", title="Zorg voor slachtoffers", category="lopend",
                 line="zorg", forms=["arbeidsuitbuiting"], organisation_id=other_org.id)
    make_project(session, admin, programme, code="STM-003", title="Alfa campagne", category="op_de_plank",
                 line="preventie", forms=["criminele_uitbuiting", "seksuele_uitbuiting"], status="in_behandeling")
    # A project of another programme never shows in this programme's list.
    other = make_programme(session, admin, code="ANDER")
    make_project(session, admin, other, code="ANDER-1", title="Ander programma")
    session.commit()
    return other_org


def test_list_shows_classification_and_status_of_the_current_programme(app, world, portfolio_list):
    html = text(login(app, world["lezer"]).get("/projecten?programma=TST"))
    assert _codes(html) == ["STM-001", "STM-002", "STM-003"]
    assert "Ander programma" not in html
    assert "3 projecten gevonden" in html
    row = html[html.index("Zorg voor slachtoffers"):]
    assert "Lopend" in row and "Gemeente Havenstad" in row
    assert 'class="badge badge-in_behandeling">In behandeling<' in html


@pytest.mark.parametrize("query, expected", [
    ("categorie=lopend", ["STM-002"]),
    ("lijn=preventie", ["STM-001", "STM-003"]),
    ("status=toegekend", ["STM-001"]),
    ("vorm=seksuele_uitbuiting", ["STM-001", "STM-003"]),
    ("vorm=arbeidsuitbuiting", ["STM-002"]),
    ("zoek=alfa", ["STM-003"]),
    ("zoek=stm-00", ["STM-001", "STM-002", "STM-003"]),
    ("zoek=bestaat-niet", []),
    ("lijn=preventie&vorm=criminele_uitbuiting", ["STM-003"]),
    ("categorie=onzin", ["STM-001", "STM-002", "STM-003"]),  # unknown values are ignored, not an error
])
def test_list_filters(app, world, portfolio_list, query, expected):
    response = login(app, world["lezer"]).get(f"/projecten?programma=TST&{query}")
    assert response.status_code == 200
    assert _codes(text(response)) == expected


def test_list_filters_on_organisation(app, world, portfolio_list):
    html = text(login(app, world["lezer"]).get(f"/projecten?programma=TST&organisatie={portfolio_list.id}"))
    assert _codes(html) == ["STM-002"]


@pytest.mark.parametrize("query, expected", [
    ("sorteer=titel", ["STM-003", "STM-001", "STM-002"]),
    ("sorteer=titel&richting=af", ["STM-002", "STM-001", "STM-003"]),
    ("sorteer=code&richting=af", ["STM-003", "STM-002", "STM-001"]),
    ("sorteer=categorie", ["STM-002", "STM-003", "STM-001"]),  # listed order: lopend, vervolg, op de plank, nieuw
    ("sorteer=organisatie", ["STM-002", "STM-001", "STM-003"]),  # no organisation sorts last
    ("sorteer=status", ["STM-002", "STM-003", "STM-001"]),  # lifecycle: voorstel, in behandeling, toegekend
    ("sorteer=status&richting=af", ["STM-001", "STM-003", "STM-002"]),
    ("sorteer=lijn&richting=af", ["STM-002", "STM-001", "STM-003"]),  # zorg after preventie
])
def test_list_sorting(app, world, portfolio_list, query, expected):
    html = text(login(app, world["lezer"]).get(f"/projecten?programma=TST&{query}"))
    assert _codes(html) == expected


def test_list_pagination_keeps_filters(app, session, world):
    admin = world["beheerder"]
    # 31: one more than a page and its five orphans (core.paging.ORPHANS), so there is a second page.
    for n in range(2, 33):
        make_project(session, admin, world["programme"], code=f"STM-{n:03d}", line="zorg")
    session.commit()
    client = login(app, world["lezer"])
    first = text(client.get("/projecten?programma=TST&lijn=zorg"))
    assert len(_codes(first)) == 25 and "Pagina 1 van 2" in first and "31 projecten gevonden" in first
    assert "STM-001" not in _codes(first)  # line preventie: filtered out
    next_link = re.search(r'href="([^"]*page=2[^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "lijn=zorg" in next_link
    second = text(client.get(next_link))
    assert _codes(second) == [f"STM-{n:03d}" for n in range(27, 33)]
    # Beyond the last page: the last page, not an error.
    assert _codes(text(client.get("/projecten?lijn=zorg&page=99"))) == _codes(second)


# --- project page ---------------------------------------------------------------------------

def test_project_page_shows_details_history_and_chain(app, session, world):
    admin, project = world["beheerder"], world["project"]
    follow = make_project(session, admin, world["programme"], code="STM-010", title="Opvang Noord vervolg",
                          category="vervolg", predecessor_id=project.id)
    portfolio.add_status_update(session, world["owner"], project, status="in_uitvoering", rag="risico",
                                update_date=date(2025, 3, 1), progress="Intern: personeelstekort",
                                public_text="De opvang is gestart.", next_steps="Werving")
    session.commit()
    client = login(app, world["financieel"])
    html = text(client.get(f"/projecten/{project.id}"))
    for expected in ("Opvang Noord", "Openbare samenvatting", "Stichting Voorbeeld", "Subsidie",
                     "€\xa0125.000,50", "Seksuele uitbuiting", world["owner"].name, "1-3-2025",
                     "De opvang is gestart.", "Werving", "In uitvoering", "Risico"):
        assert expected in html, expected
    assert f'href="/projecten/{follow.id}"' in html  # follow-up linked
    follow_html = text(client.get(f"/projecten/{follow.id}"))
    assert f'href="/projecten/{project.id}"' in follow_html and "Vervolg" in follow_html  # predecessor linked


@pytest.mark.parametrize("role, sees", [("beheerder", True), ("financieel", True), ("owner", True),
                                        ("other_owner", False), ("lezer", False)])
def test_internal_fields_only_for_finance_and_the_owner(app, session, world, role, sees):
    portfolio.add_status_update(session, world["owner"], world["project"], status="toegekend", rag="op_koers",
                                update_date=date(2025, 3, 1), progress="Interne voortgangstekst",
                                public_text="Openbare voortgang")
    session.commit()
    html = text(login(app, world[role]).get(f"/projecten/{world['project'].id}"))
    assert "Openbare voortgang" in html
    for secret in ("Geheime werknotitie", "Jan Contact", "Interne voortgangstekst"):
        assert (secret in html) is sees, secret


def test_project_owner_sees_no_edit_or_money_controls(app, world):
    html = text(login(app, world["owner"]).get(f"/projecten/{world['project'].id}"))
    assert "Status bijwerken" in html
    assert "/bewerken" not in html
    # The only form on the page is the logout button: nothing that would change money.
    assert re.findall(r'<form[^>]*method="post"[^>]*action="([^"]*)"', html) == ["/logout"]


# --- create and edit ------------------------------------------------------------------------

def shown_version(client, url: str) -> str:
    """The version an edit page puts in its form, which the browser sends back with the edit."""
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)


def _project_form(**overrides) -> dict:
    data = {"code": "STM-100", "title": "Nieuw meldpunt", "summary": "Een meldpunt.", "category": "nieuw",
            "line": "zicht_op_slachtoffers", "forms": ["arbeidsuitbuiting", "overig"], "status": "voorstel",
            "instrument": "opdracht", "organisation_id": "", "owner_id": "", "predecessor_id": "",
            "start_date": "2026-01-01", "end_date": "2027-12-31", "requested_amount": "1.234.567,89",
            "contact_person": "", "internal_notes": ""}
    data.update(overrides)
    return data


def test_finance_creates_a_project(app, session, world):
    client = login(app, world["financieel"])
    response = client.post("/projecten/nieuw", data=_project_form(
        organisation_id=str(world["org"].id), owner_id=str(world["owner"].id), contact_person="Piet"))
    assert response.status_code == 302
    project = session.scalar(select(Project).where(Project.code == "STM-100"))
    assert response.headers["Location"] == f"/projecten/{project.id}"
    assert project.programme_id == world["programme"].id
    assert project.requested_amount == Decimal("1234567.89")
    assert project.form_codes == ["arbeidsuitbuiting", "overig"]
    assert project.owner_id == world["owner"].id and project.organisation_id == world["org"].id
    assert project.start_date == date(2026, 1, 1) and project.contact_person == "Piet"
    assert session.scalar(select(AuditEntry).where(AuditEntry.entity == "Project",
                                                   AuditEntry.entity_id == project.id)) is not None
    assert "Project STM-100 is toegevoegd" in text(client.get(response.headers["Location"]))


@pytest.mark.parametrize("overrides, field", [
    ({"title": ""}, "title"),
    ({"code": "   "}, "code"),
    ({"forms": []}, "forms"),
    ({"category": ""}, "category"),
    ({"requested_amount": "12.50"}, "requested_amount"),  # a dot is a thousands separator in Dutch
    ({"requested_amount": "-5"}, "requested_amount"),
    ({"start_date": "2026-13-45"}, "start_date"),
    ({"end_date": "2025-01-01"}, "end_date"),  # before the start: the service refuses it
    ({"category": "vervolg"}, "predecessor_id"),  # a follow-up needs its predecessor
    ({"code": "STM-001"}, "code"),  # already exists in this programme
    ({"line": "onbekend"}, "line"),
])
def test_bad_project_input_shows_field_errors_and_saves_nothing(app, session, world, overrides, field):
    before = project_count(session)
    response = login(app, world["financieel"]).post("/projecten/nieuw", data=_project_form(**overrides))
    assert response.status_code == 400
    html = text(response)
    assert field_error(html, field) and 'class="error-summary"' in html and f'href="#{field}"' in html
    assert project_count(session) == before


def _summary_items(html: str) -> list[str]:
    """The error summary's lines as a user reads them."""
    summary = html[html.index('id="foutoverzicht"'):]
    summary = summary[:summary.index("</div>")]
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", summary, re.DOTALL)]


def test_a_new_project_reports_every_error_on_the_first_submit(app, session, world):
    before = project_count(session)
    client = login(app, world["financieel"])
    # A taken code and an end date before the start date: both rules of the service, both at once.
    response = client.post("/projecten/nieuw", data=_project_form(code="STM-001", end_date="2025-01-01"))
    assert response.status_code == 400
    html = text(response)
    assert field_error(html, "code") and field_error(html, "end_date")
    assert _summary_items(html) == ["Projectcode: Projectcode STM-001 bestaat al in dit programma.",
                                    "Einddatum: De einddatum ligt voor de startdatum."]
    # The form's own checks (an empty title, a date that is no date) come together with the rules'.
    response = client.post("/projecten/nieuw", data=_project_form(code="STM-001", title="", start_date="2026-01-01",
                                                                 end_date="2025-01-01", requested_amount="12.50"))
    assert response.status_code == 400
    items = _summary_items(text(response))
    assert "Titel: Vul een titel in." in items
    assert "Projectcode: Projectcode STM-001 bestaat al in dit programma." in items
    assert "Einddatum: De einddatum ligt voor de startdatum." in items
    assert any(item.startswith("Gevraagd bedrag (euro): ") for item in items)
    assert len(items) == 4  # each field said once, not once by the form and again by the rule
    assert project_count(session) == before


def test_an_edited_project_reports_every_error_at_once(app, session, world):
    other = make_project(session, world["beheerder"], world["programme"], code="STM-002")
    session.commit()
    client = login(app, world["financieel"])
    url = f"/projecten/{other.id}/bewerken"
    response = client.post(url, data={**_project_form(code="STM-001", end_date="2025-01-01"),
                                      "version": shown_version(client, url)})
    assert response.status_code == 400
    assert _summary_items(text(response)) == ["Projectcode: Projectcode STM-001 bestaat al in dit programma.",
                                              "Einddatum: De einddatum ligt voor de startdatum."]


def test_owner_must_be_an_active_projectleider(app, session, world):
    response = login(app, world["financieel"]).post("/projecten/nieuw",
                                                    data=_project_form(owner_id=str(world["lezer"].id)))
    assert response.status_code == 400 and field_error(text(response), "owner_id")
    html = text(login(app, world["financieel"]).get("/projecten/nieuw"))
    owner_select = html[html.index('id="owner_id"'):html.index("</select>", html.index('id="owner_id"'))]
    assert world["owner"].name in owner_select and world["lezer"].name not in owner_select


def test_finance_edits_a_project(app, session, world):
    project = world["project"]
    client = login(app, world["beheerder"])
    form = text(client.get(f"/projecten/{project.id}/bewerken"))
    assert 'value="STM-001"' in form and 'value="125.000,50"' in form and "Beginstatus" not in form
    response = client.post(f"/projecten/{project.id}/bewerken", data=_project_form(
        code="STM-001", title="Opvang Noord en Oost", forms=["criminele_uitbuiting"], requested_amount="",
        owner_id=str(world["other_owner"].id), version=shown_version(client, f"/projecten/{project.id}/bewerken")))
    assert response.status_code == 302
    session.expire_all()
    project = session.get(Project, project.id)
    assert project.title == "Opvang Noord en Oost" and project.form_codes == ["criminele_uitbuiting"]
    assert project.requested_amount is None and project.owner_id == world["other_owner"].id
    assert project.status == "toegekend"  # status is never changed by the edit form


def test_project_cannot_follow_itself(app, session, world):
    project = world["project"]
    response = login(app, world["beheerder"]).post(
        f"/projecten/{project.id}/bewerken",
        data=_project_form(code="STM-001", category="vervolg", predecessor_id=str(project.id)))
    assert response.status_code == 400 and field_error(text(response), "predecessor_id")
    session.expire_all()
    assert session.get(Project, project.id).category == "nieuw"


@pytest.mark.parametrize("role", ["owner", "other_owner", "lezer"])
def test_only_finance_may_create_or_edit(app, session, world, role):
    client = login(app, world[role])
    before = project_count(session)
    assert client.post("/projecten/nieuw", data=_project_form()).status_code == 403
    response = client.post(f"/projecten/{world['project'].id}/bewerken",
                           data=_project_form(code="STM-001", title="Gekaapt"))
    assert response.status_code == 403
    session.expire_all()
    assert project_count(session) == before and session.get(Project, world["project"].id).title == "Opvang Noord"


# --- status updates -------------------------------------------------------------------------

def _update_form(**overrides) -> dict:
    data = {"status": "in_uitvoering", "rag": "op_koers", "update_date": "2026-02-01",
            "progress": "Intern verslag", "public_text": "Gestart", "next_steps": "Evaluatie"}
    data.update(overrides)
    return data


def test_status_form_offers_only_allowed_transitions(app, world):
    html = text(login(app, world["owner"]).get(f"/projecten/{world['project'].id}/status"))
    select_html = html[html.index('id="status"'):html.index("</select>", html.index('id="status"'))]
    options = re.findall(r'<option[^>]*value="([^"]+)"', select_html)
    assert options == ["toegekend", "in_uitvoering", "ingetrokken", "opgeschort"]
    assert "Ongewijzigd (Toegekend)" in select_html


@pytest.mark.parametrize("role", ["owner", "financieel", "beheerder"])
def test_owner_and_finance_post_a_status_update(app, session, world, role):
    project = world["project"]
    response = login(app, world[role]).post(f"/projecten/{project.id}/status", data=_update_form())
    assert response.status_code == 302 and response.headers["Location"] == f"/projecten/{project.id}"
    session.expire_all()
    update = session.scalars(select(StatusUpdate)).one()
    assert (update.status, update.rag, update.date) == ("in_uitvoering", "op_koers", date(2026, 2, 1))
    assert update.author_id == world[role].id and update.public_text == "Gestart"
    assert session.get(Project, project.id).status == "in_uitvoering"


def test_unchanged_status_keeps_the_project_status(app, session, world):
    project = world["project"]
    response = login(app, world["owner"]).post(f"/projecten/{project.id}/status",
                                               data=_update_form(status="toegekend", rag="risico"))
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Project, project.id).status == "toegekend"
    assert session.scalars(select(StatusUpdate)).one().rag == "risico"


@pytest.mark.parametrize("role", ["other_owner", "lezer"])
def test_others_cannot_update_status_and_nothing_changes(app, session, world, role):
    project = world["project"]
    audit_before = session.scalar(select(func.count(AuditEntry.id)))
    client = login(app, world[role])
    assert client.get(f"/projecten/{project.id}/status").status_code == 403
    assert client.post(f"/projecten/{project.id}/status", data=_update_form()).status_code == 403
    session.expire_all()
    assert session.scalars(select(StatusUpdate)).all() == []
    assert session.get(Project, project.id).status == "toegekend"
    assert session.scalar(select(func.count(AuditEntry.id))) == audit_before


@pytest.mark.parametrize("overrides, field", [
    ({"status": "afgerond"}, "status"),  # not reachable from toegekend
    ({"status": "onzin"}, "status"),
    ({"rag": ""}, "rag"),
    ({"update_date": ""}, "update_date"),
    ({"update_date": "1-2-2026"}, "update_date"),
])
def test_bad_status_update_shows_errors_and_writes_nothing(app, session, world, overrides, field):
    response = login(app, world["owner"]).post(f"/projecten/{world['project'].id}/status",
                                               data=_update_form(**overrides))
    assert response.status_code == 400 and field_error(text(response), field)
    session.expire_all()
    assert session.scalars(select(StatusUpdate)).all() == []
    assert session.get(Project, world["project"].id).status == "toegekend"


def test_mine_lists_only_own_projects(app, session, world):
    make_project(session, world["beheerder"], world["programme"], code="STM-050", title="Van een ander",
                 owner_id=world["other_owner"].id)
    session.commit()
    html = text(login(app, world["owner"]).get("/projecten/mijn"))
    assert "Opvang Noord" in html and "Van een ander" not in html
    assert f'href="/projecten/{world["project"].id}/status"' in html
    other = text(login(app, world["other_owner"]).get("/projecten/mijn"))
    assert "Van een ander" in other and "Opvang Noord" not in other


# --- organisations --------------------------------------------------------------------------

def test_organisations_list_create_and_edit(app, session, world):
    client = login(app, world["financieel"])
    html = text(client.get("/organisaties"))
    assert "Stichting Voorbeeld" in html and "Ngo" in html
    response = client.post("/organisaties/nieuw", data={"name": "Gemeente Zeestad", "type": "gemeente"})
    assert response.status_code == 302
    org = session.scalar(select(Organisation).where(Organisation.name == "Gemeente Zeestad"))
    assert org.type == "gemeente"
    url = f"/organisaties/{org.id}/bewerken"
    response = client.post(url, data={"version": shown_version(client, url), "name": "Gemeente Zeestad-Noord",
                                      "type": "rijksoverheid"})
    assert response.status_code == 302
    session.expire_all()
    org = session.get(Organisation, org.id)
    assert (org.name, org.type) == ("Gemeente Zeestad-Noord", "rijksoverheid")
    assert "Gemeente Zeestad-Noord is opgeslagen" in text(client.get("/organisaties"))


@pytest.mark.parametrize("data, field", [
    ({"name": "", "type": "ngo"}, "name"),
    ({"name": "stichting voorbeeld", "type": "ngo"}, "name"),  # duplicate, whatever the case
    ({"name": "Nieuw", "type": ""}, "type"),
    ({"name": "Nieuw", "type": "bedrijf"}, "type"),
])
def test_bad_organisation_input_shows_errors_and_writes_nothing(app, session, world, data, field):
    client = login(app, world["beheerder"])
    response = client.post("/organisaties/nieuw", data=data)
    assert response.status_code == 400 and field_error(text(response), field)
    assert session.scalar(select(func.count(Organisation.id))) == 1


def test_renaming_to_an_existing_name_is_refused(app, session, world):
    other = portfolio.create_organisation(session, world["beheerder"], "Gemeente Havenstad", "gemeente")
    session.commit()
    client, url = login(app, world["beheerder"]), f"/organisaties/{other.id}/bewerken"
    response = client.post(url, data={"version": shown_version(client, url), "name": "Stichting Voorbeeld",
                                      "type": "gemeente"})
    assert response.status_code == 400 and "bestaat al" in text(response)
    session.expire_all()
    assert session.get(Organisation, other.id).name == "Gemeente Havenstad"


def test_delete_organisation_only_when_unused(app, session, world):
    unused = portfolio.create_organisation(session, world["beheerder"], "Ongebruikt", "overig")
    session.commit()
    client = login(app, world["financieel"])
    response = client.post(f"/organisaties/{world['org'].id}/verwijderen")
    assert response.status_code == 302
    html = text(client.get("/organisaties"))
    assert "kan niet worden verwijderd: 1 project noemt haar als penvoerder" in html
    assert session.get(Organisation, world["org"].id) is not None
    assert client.post(f"/organisaties/{unused.id}/verwijderen").status_code == 302
    session.expire_all()
    assert session.get(Organisation, unused.id) is None
    assert "Ongebruikt is verwijderd" in text(client.get("/organisaties"))


@pytest.mark.parametrize("role", ["owner", "lezer"])
def test_organisation_changes_forbidden_for_other_roles(app, session, world, role):
    client = login(app, world[role])
    org_id = world["org"].id
    assert client.post("/organisaties/nieuw", data={"name": "X", "type": "ngo"}).status_code == 403
    assert client.post(f"/organisaties/{org_id}/bewerken", data={"name": "X", "type": "ngo"}).status_code == 403
    assert client.post(f"/organisaties/{org_id}/verwijderen").status_code == 403
    session.expire_all()
    assert [o.name for o in session.scalars(select(Organisation))] == ["Stichting Voorbeeld"]


def test_without_a_programme_the_pages_explain_instead_of_failing(app, session):
    finance = make_user(session, "financieel")
    session.commit()
    client = login(app, finance)
    for page in ("/projecten", "/projecten/nieuw"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"] == "/", page
    assert "Er is nog geen programma" in text(client.get("/"))


# --- financial statuses are for finance roles ------------------------------------------------

def _in_behandeling(session, world):
    project = world["project"]
    project.status = "in_behandeling"
    session.commit()
    return project


def _status_options(html: str) -> list[str]:
    select_html = html[html.index('id="status"'):html.index("</select>", html.index('id="status"'))]
    return re.findall(r'<option[^>]*value="([^"]+)"', select_html)


@pytest.mark.parametrize("role, options", [
    ("owner", ["in_behandeling", "ingetrokken"]),
    ("financieel", ["in_behandeling", "toegekend", "afgewezen", "ingetrokken"]),
    ("beheerder", ["in_behandeling", "toegekend", "afgewezen", "ingetrokken"]),
])
def test_status_form_offers_financial_statuses_only_to_finance(app, session, world, role, options):
    project = _in_behandeling(session, world)
    html = text(login(app, world[role]).get(f"/projecten/{project.id}/status"))
    assert _status_options(html) == options
    hint = "De status Toegekend of Afgewezen zet alleen de financiële afdeling."
    assert (hint in html) is (role == "owner")


@pytest.mark.parametrize("status", ["toegekend", "afgewezen"])
def test_owner_cannot_post_a_financial_status(app, session, world, status):
    project = _in_behandeling(session, world)
    audit_before = session.scalar(select(func.count(AuditEntry.id)))
    response = login(app, world["owner"]).post(f"/projecten/{project.id}/status", data=_update_form(status=status))
    html = text(response)
    assert response.status_code == 400 and field_error(html, "status")
    label = {"toegekend": "Toegekend", "afgewezen": "Afgewezen"}[status]
    assert (f"De status &#39;{label}&#39; is een financieel besluit; die zet alleen een financieel medewerker "
            "of beheerder.") in html
    session.expire_all()
    assert session.scalars(select(StatusUpdate)).all() == []
    assert session.get(Project, project.id).status == "in_behandeling"
    assert session.scalar(select(func.count(AuditEntry.id))) == audit_before


def test_owner_cannot_close_a_project_but_finance_can(app, session, world):
    project = world["project"]
    project.status = "in_uitvoering"
    session.commit()
    response = login(app, world["owner"]).post(f"/projecten/{project.id}/status", data=_update_form(status="afgerond"))
    assert response.status_code == 400 and "Afgerond&#39; is een financieel besluit" in text(response)
    response = login(app, world["financieel"]).post(f"/projecten/{project.id}/status",
                                                    data=_update_form(status="afgerond"))
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Project, project.id).status == "afgerond"


def test_finance_grants_what_the_owner_proposed(app, session, world):
    project = _in_behandeling(session, world)
    response = login(app, world["financieel"]).post(f"/projecten/{project.id}/status",
                                                    data=_update_form(status="toegekend"))
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Project, project.id).status == "toegekend"
