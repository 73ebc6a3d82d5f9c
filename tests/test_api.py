"""The REST API: its OpenAPI document, the same figures as the workbook, and writes through the same rules."""
from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal as D

import openpyxl
import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from api import tokens
from api.models import IdempotentRequest
from approvals.services import set_four_eyes
from budget.models import Commitment
from budget.services.periods import close_period
from core.users import User
from projects.models import Programme, Project
from reports import excel
from reports.queries import live_frames
from tests.factories import (
    TEST_ACTOR,
    commit_money,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)

API = "/api/v1"


def make_token(session, user, scope: str = "write", days: int = 30) -> str:
    _token, secret = tokens.create_token(session, user, name=f"test {scope}", scope=scope,
                                         expires_on=date.today() + timedelta(days=days))
    session.commit()
    return secret


def auth(secret: str, key: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {secret}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


@pytest.fixture
def demo(runner, session):
    result = runner.invoke(args=["demo", "load", "--with-users"])
    assert result.exit_code == 0, result.output
    users = {u.role if u.role != "projectleider" else u.email.split("@")[0]: u
             for u in session.scalars(select(User))}
    return {"programme": session.scalar(select(Programme).where(Programme.code == "STM")), "users": users}


@pytest.fixture
def small(session):
    """A programme with € 100.000 in 2025 and one project; a financieel and a lezer with tokens."""
    programme = make_programme(session, TEST_ACTOR)
    fund(session, TEST_ACTOR, programme, {2024: D("100000"), 2025: D("100000"), 2026: D("100000")})
    project = make_project(session, TEST_ACTOR, programme)
    finance, reader, leader = (make_user(session, r) for r in ("financieel", "lezer", "projectleider"))
    session.commit()
    return {"programme": programme, "project": project, "finance": finance, "reader": reader, "leader": leader,
            "write": make_token(session, finance), "read": make_token(session, finance, "read"),
            "reader_write": make_token(session, reader)}


def _commitment(reference="API-1", total="30000.00", year=2025, signed="2025-02-01"):
    return {"kenmerk": reference, "datum_ondertekening": signed, "totaal": total,
            "kasritme": [{"jaar": year, "bedrag": total}]}


# --- The document ------------------------------------------------------------------------------------------

def test_openapi_document_validates_and_the_docs_page_needs_no_cdn(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"]["token"] == {
        "type": "http", "scheme": "bearer", "description": "Persoonlijk API-token (pm_...)."}
    page = client.get(f"{API}/docs").get_data(as_text=True)
    assets = [part.split('"')[0] for part in page.split('src="')[1:]] + [page.split('href="')[1].split('"')[0]]
    assert assets and all(a.startswith("/api/v1/docs/") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get(f"{API}/docs/swagger/../../app.py").status_code == 404


# --- Figures: exactly the workbook ------------------------------------------------------------------------

def _workbook_summary(session, programme, year, peildatum) -> dict:
    wb = openpyxl.load_workbook(io.BytesIO(excel.build_workbook(live_frames(session, programme, year, peildatum))))
    rows = list(wb["Samenvatting"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "Omschrijving")
    column = list(rows[start]).index(year)
    return {r[0]: r[column] for r in rows[start + 1:] if r[0]}


@pytest.mark.parametrize("year", [2023, 2025, 2026])
def test_figures_are_the_workbooks_samenvatting_for_the_demo(demo, client, session, year):
    secret = make_token(session, demo["users"]["lezer"], "read")
    peildatum = date(2026, 11, 29) if year == 2026 else date(year, 12, 31)
    response = client.get(f"{API}/programmas/STM/cijfers/{year}?peildatum={peildatum}", headers=auth(secret))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["jaar"] == year and body["peildatum"] == peildatum.isoformat()
    book = _workbook_summary(session, demo["programme"], year, peildatum)
    api = body["samenvatting"]
    pairs = {"Structureel budget": "structureel_budget", "Incidenteel budget": "incidenteel_budget",
             "Mutaties": "mutaties", "Beschikbaar budget": "beschikbaar_budget",
             "Ambtelijke ondersteuning JenV": "ambtelijke_ondersteuning",
             "Verplicht projecten": "verplicht_projecten", "Vrijval na vaststelling": "vrijval_na_vaststelling",
             "Verplicht totaal": "verplicht_totaal", "Gerealiseerd t/m peildatum": "gerealiseerd",
             "Vrije ruimte": "vrije_ruimte", "% verplicht": "aandeel_verplicht",
             "% gerealiseerd": "aandeel_gerealiseerd"}
    assert set(book) >= set(pairs)
    for label, key in pairs.items():
        # The workbook holds a double; its exact cents (or 0,1 %) come back through str().
        assert D(api[key]) == D(str(book[label])).quantize(D(api[key])), (label, api[key], book[label])
    assert D(api["beschikbaar_budget"]) > 0 and D(api["verplicht_projecten"]) > 0
    lines = {g["omschrijving"]: g for g in body["programmalijnen"]}
    assert D(lines["Totaal projecten"]["verplicht"]) == D(api["verplicht_projecten"])
    matrix_total = sum(D(cell["verplicht"]) for cell in body["matrix"])
    assert matrix_total == D(api["verplicht_projecten"])


def test_figures_of_an_unknown_year_or_programme_are_404_problems(demo, client, session):
    secret = make_token(session, demo["users"]["lezer"], "read")
    for url in (f"{API}/programmas/STM/cijfers/2099", f"{API}/programmas/XXX/cijfers/2025", f"{API}/bestaat-niet"):
        response = client.get(url, headers=auth(secret))
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["title"] == "Niet gevonden"
    bad = client.get(f"{API}/programmas/STM/cijfers/2025?peildatum=31-12-2025", headers=auth(secret))
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == [{"veld": "peildatum", "melding": "Geef een datum als JJJJ-MM-DD."}]


def test_reads_carry_an_etag_and_answer_304_when_unchanged(small, client):
    url = f"{API}/programmas/TST/cijfers/2025"
    first = client.get(url, headers=auth(small["read"]))
    etag = first.headers["ETag"]
    again = client.get(url, headers={**auth(small["read"]), "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    # A booking changes the figures, so the old ETag no longer matches.
    assert client.post(f"{API}/projecten/{small['project'].id}/verplichtingen", json=_commitment(),
                       headers=auth(small["write"], "key-000001")).status_code == 201
    changed = client.get(url, headers={**auth(small["read"]), "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["samenvatting"]["verplicht_projecten"] == "30000.00"


# --- Projects ---------------------------------------------------------------------------------------------

def test_project_list_pages_filters_and_sorts_like_the_list(demo, client, session):
    secret = make_token(session, demo["users"]["lezer"], "read")
    total = session.scalar(select(func.count(Project.id)))
    first = client.get(f"{API}/programmas/STM/projecten?per_pagina=5&sorteer=verplicht&richting=af",
                       headers=auth(secret)).get_json()
    assert first["totaal"] == total and first["paginas"] == -(-total // 5) and len(first["items"]) == 5
    amounts = [D(p["verplicht"]) for p in first["items"]]
    assert amounts == sorted(amounts, reverse=True)
    codes = set()
    for page in range(1, first["paginas"] + 1):
        body = client.get(f"{API}/programmas/STM/projecten?per_pagina=5&pagina={page}", headers=auth(secret)).get_json()
        codes |= {p["code"] for p in body["items"]}
    assert len(codes) == total
    past = client.get(f"{API}/programmas/STM/projecten?per_pagina=5&pagina={first['paginas'] + 1}",
                      headers=auth(secret)).get_json()
    assert past["items"] == [] and past["pagina"] == first["paginas"] + 1
    running = client.get(f"{API}/programmas/STM/projecten?status=in_uitvoering", headers=auth(secret)).get_json()
    assert running["items"] and {p["status"] for p in running["items"]} == {"in_uitvoering"}
    refused = client.get(f"{API}/programmas/STM/projecten?status=bezig", headers=auth(secret))
    assert refused.status_code == 422
    assert "Kies uit" in refused.get_json()["errors"][0]["melding"]


def test_internal_fields_only_for_the_roles_that_see_them(demo, client, session):
    project = session.scalar(select(Project).where(Project.owner_id.is_not(None)).order_by(Project.code))
    owner = session.get(User, project.owner_id)
    seen = {}
    for name, user in (("lezer", demo["users"]["lezer"]), ("financieel", demo["users"]["financieel"]),
                       ("eigenaar", owner)):
        body = client.get(f"{API}/projecten/{project.id}", headers=auth(make_token(session, user, "read"))).get_json()
        seen[name] = body
    assert "projectleider" not in seen["lezer"] and "interne_notitie" not in seen["lezer"]
    assert seen["financieel"]["projectleider"] == owner.name
    assert seen["eigenaar"]["projectleider"] == owner.name
    listing = client.get(f"{API}/programmas/STM/projecten?per_pagina=500",
                         headers=auth(make_token(session, demo["users"]["lezer"], "read"))).get_json()
    assert all("contactpersoon" not in p for p in listing["items"])


def test_audit_trail_is_for_finance_roles(demo, client, session):
    reader = client.get(f"{API}/audittrail", headers=auth(make_token(session, demo["users"]["lezer"], "read")))
    assert reader.status_code == 403
    finance = client.get(f"{API}/audittrail?per_pagina=3",
                         headers=auth(make_token(session, demo["users"]["financieel"], "read")))
    body = finance.get_json()
    assert finance.status_code == 200 and len(body["items"]) == 3 and body["totaal"] > 3
    assert body["items"][0]["id"] > body["items"][1]["id"]


def test_snapshot_figures_never_move(demo, client, session, runner):
    result = runner.invoke(args=["snapshot", "create", "--programme", "STM", "--peildatum", "2025-12-31",
                                 "--title", "Stand 2025"])
    assert result.exit_code == 0, result.output
    secret = make_token(session, demo["users"]["financieel"])
    listed = client.get(f"{API}/programmas/STM/standen", headers=auth(secret)).get_json()
    snap = listed[0]
    assert snap["peildatum"] == "2025-12-31" and 2025 in snap["jaren"]
    frozen = client.get(f"{API}/standen/{snap['id']}/cijfers/2025", headers=auth(secret)).get_json()
    live = client.get(f"{API}/programmas/STM/cijfers/2025?peildatum=2025-12-31", headers=auth(secret)).get_json()
    assert frozen["samenvatting"] == live["samenvatting"]
    # A fact dated back into 2025 moves the live stand, never the snapshot.
    project = session.scalar(select(Project).where(Project.programme_id == demo["programme"].id,
                                                   Project.status == "in_uitvoering").order_by(Project.code))
    body = {**_commitment("API-TERUG", "1000.00", 2025, "2025-06-01")}
    booked = client.post(f"{API}/projecten/{project.id}/verplichtingen", json=body, headers=auth(secret, "terug-0001"))
    assert booked.status_code in (201, 422), booked.get_json()
    again = client.get(f"{API}/standen/{snap['id']}/cijfers/2025", headers=auth(secret)).get_json()
    assert again == frozen


# --- Tokens -----------------------------------------------------------------------------------------------

def test_no_token_or_a_session_cookie_is_not_enough(small, client):
    response = client.get(f"{API}/programmas")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["title"] == "Niet aangemeld"
    login(client, small["finance"])
    assert client.get("/projecten").status_code == 200  # the session works on the pages
    assert client.get(f"{API}/programmas").status_code == 401  # but never on the API
    assert client.post(f"{API}/projecten/{small['project'].id}/verplichtingen", json=_commitment(),
                       headers={"Idempotency-Key": "session-0001"}).status_code == 401


def test_token_is_shown_once_and_stored_hashed(small, client, session):
    login(client, small["reader"])
    page = client.post("/account/api-tokens", data={"name": "Dashboard NRM", "scope": "read",
                                                      "expires_on": (date.today() + timedelta(days=30)).isoformat()})
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    secret = html.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("pm_") and len(secret) > 40
    stored = session.scalar(select(tokens.ApiToken).where(tokens.ApiToken.name == "Dashboard NRM"))
    assert stored.token_hash == tokens.digest(secret) and secret not in json.dumps(
        [stored.prefix, stored.token_hash, stored.name])
    assert secret not in client.get("/account/api-tokens").get_data(as_text=True)
    # Used: works with the reader's role, and the use is recorded.
    assert stored.last_used_at is None
    assert client.get(f"{API}/programmas", headers=auth(secret)).status_code == 200
    session.expire_all()
    assert session.get(tokens.ApiToken, stored.id).last_used_at is not None


def test_expired_revoked_and_deactivated_tokens_stop_working(small, client, session):
    token = session.scalar(select(tokens.ApiToken).where(tokens.ApiToken.token_hash == tokens.digest(small["read"])))
    assert client.get(f"{API}/programmas", headers=auth(small["read"])).status_code == 200
    token.expires_on = date.today() - timedelta(days=1)
    session.commit()
    assert client.get(f"{API}/programmas", headers=auth(small["read"])).status_code == 401
    # Revoked through the page (by its own user).
    login(client, small["finance"])
    write = session.scalar(select(tokens.ApiToken).where(tokens.ApiToken.token_hash == tokens.digest(small["write"])))
    assert client.post(f"/account/api-tokens/{write.id}/intrekken").status_code == 302
    assert client.get(f"{API}/programmas", headers=auth(small["write"])).status_code == 401
    # Someone else's token cannot be revoked by a non-beheerder.
    other = session.scalar(select(tokens.ApiToken).where(tokens.ApiToken.token_hash == tokens.digest(
        small["reader_write"])))
    client.post(f"/account/api-tokens/{other.id}/intrekken")
    assert client.get(f"{API}/programmas", headers=auth(small["reader_write"])).status_code == 200
    # A deactivated user's tokens stop with the account.
    small["reader"].active = False
    session.commit()
    assert client.get(f"{API}/programmas", headers=auth(small["reader_write"])).status_code == 401
    assert client.get(f"{API}/programmas", headers=auth("pm_" + "x" * 43)).status_code == 401


def test_token_rules_on_the_page(small, client):
    login(client, small["finance"])
    page = client.post("/account/api-tokens", data={"name": " ", "scope": "alles",
                                                      "expires_on": (date.today() + timedelta(days=400)).isoformat()})
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "Vul een naam in." in html and "Not a valid choice" not in html


def test_a_read_token_never_writes_and_a_token_never_exceeds_its_role(small, client):
    body = _commitment()
    url = f"{API}/projecten/{small['project'].id}/verplichtingen"
    read_only = client.post(url, json=body, headers=auth(small["read"], "scope-0001"))
    assert read_only.status_code == 403 and "alleen lezen" in read_only.get_json()["detail"]
    reader = client.post(url, json=body, headers=auth(small["reader_write"], "scope-0002"))
    assert reader.status_code == 403
    assert client.post(url, json=body, headers=auth(small["write"], "scope-0003")).status_code == 201


def test_a_projectleider_updates_only_own_projects(small, client, session):
    leader = small["leader"]
    own = make_project(session, TEST_ACTOR, small["programme"], owner_id=leader.id)
    session.commit()
    secret = make_token(session, leader)
    update = {"status": "voorstel", "voortgang": "op_koers", "datum": date.today().isoformat(),
              "openbare_tekst": "Loopt volgens plan."}
    assert client.post(f"{API}/projecten/{own.id}/statusupdates", json=update,
                       headers=auth(secret, "status-0001")).status_code == 201
    assert client.post(f"{API}/projecten/{small['project'].id}/statusupdates", json=update,
                       headers=auth(secret, "status-0002")).status_code == 403
    money = client.post(f"{API}/projecten/{own.id}/verplichtingen", json=_commitment(),
                        headers=auth(secret, "status-0003"))
    assert money.status_code == 403


def test_rate_limited_like_the_login(small, client, app):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    codes = [client.get(f"{API}/programmas", headers=auth(small["read"])).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get(f"{API}/programmas", headers=auth(small["read"]))
    assert limited.mimetype == "application/problem+json" and limited.get_json()["title"] == "Te veel verzoeken"
    # Another token has its own count.
    assert client.get(f"{API}/programmas", headers=auth(small["write"])).status_code == 200


# --- Writes: the same rules as the pages ------------------------------------------------------------------

def test_commitment_booked_once_per_idempotency_key(small, client, session):
    url = f"{API}/projecten/{small['project'].id}/verplichtingen"
    first = client.post(url, json=_commitment(), headers=auth(small["write"], "dubbel-0001"))
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["totaal"] == "30000.00" and first.headers["Location"].endswith("/geld")
    again = client.post(url, json=_commitment(), headers=auth(small["write"], "dubbel-0001"))
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert session.scalar(select(func.count(Commitment.id))) == 1
    other = client.post(url, json=_commitment("API-2"), headers=auth(small["write"], "dubbel-0001"))
    assert other.status_code == 422 and "al gebruikt" in other.get_json()["detail"]
    missing = client.post(url, json=_commitment("API-3"), headers=auth(small["write"]))
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == [{"veld": "Idempotency-Key", "melding": "Dit veld is verplicht."}]
    assert session.scalar(select(func.count(Commitment.id))) == 1
    broken = client.post(url, data="{kenmerk", headers={**auth(small["write"], "dubbel-0002"),
                                                         "Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.get_json()["errors"] == [{"veld": None, "melding": "De inhoud is geen geldige JSON."}]


def test_a_key_is_remembered_for_a_day(small, client, session):
    url = f"{API}/projecten/{small['project'].id}/verplichtingen"
    assert client.post(url, json=_commitment(), headers=auth(small["write"], "dag-000001")).status_code == 201
    stored = session.scalar(select(IdempotentRequest))
    stored.at = stored.at - timedelta(hours=25)
    session.commit()
    # A day later the key is free again: a new booking, not the old answer.
    again = client.post(url, json=_commitment("API-2"), headers=auth(small["write"], "dag-000001"))
    assert again.status_code == 201 and again.get_json()["kenmerk"] == "API-2"
    assert session.scalar(select(func.count(Commitment.id))) == 2


def test_budget_stop_refuses_with_the_pages_message(small, client, session):
    url = f"{API}/projecten/{small['project'].id}/verplichtingen"
    response = client.post(url, json=_commitment(total="100000.01"), headers=auth(small["write"], "stop-00001"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["tekort"] == {"2025": "0.01"}
    assert "Budgetstop" in body["detail"] or "vrije ruimte" in body["detail"]
    # The same refusal as the service gives a page.
    from budget.services.commitments import add_commitment
    from core.errors import DomainError

    with pytest.raises(DomainError) as page_refusal:
        add_commitment(session, small["finance"], small["project"], reference="API-1",
                       signed_date=date(2025, 2, 1), total=D("100000.01"), schedule={2025: D("100000.01")})
    session.rollback()
    assert body["detail"] == page_refusal.value.message
    assert session.scalar(select(func.count(Commitment.id))) == 0
    # The refused request kept no key: corrected, it may be sent again with the same key.
    fixed = client.post(url, json=_commitment(total="100000.00"), headers=auth(small["write"], "stop-00001"))
    assert fixed.status_code == 201


def test_closed_period_and_field_errors_in_dutch(small, client, session):
    close_period(session, TEST_ACTOR, small["programme"], date(2025, 3, 31))
    session.commit()
    url = f"{API}/projecten/{small['project'].id}/verplichtingen"
    closed = client.post(url, json=_commitment(), headers=auth(small["write"], "closed-0001"))
    assert closed.status_code == 422
    assert closed.get_json()["errors"][0]["veld"] == "datum_ondertekening"
    assert "afgesloten" in closed.get_json()["detail"]
    bad = client.post(url, json={**_commitment(), "totaal": 30000.5, "extra": 1}, headers=auth(small["write"],
                                                                                             "closed-0002"))
    assert bad.status_code == 422
    errors = {e["veld"]: e["melding"] for e in bad.get_json()["errors"]}
    assert errors["totaal"].startswith("Geef een bedrag als tekst") and errors["extra"] == "Onbekend veld."


def test_four_eyes_entries_wait_and_change_no_figure(small, client, session):
    set_four_eyes(session, TEST_ACTOR, small["programme"], True, D("10000"), False)
    session.commit()
    before = client.get(f"{API}/programmas/TST/cijfers/2025", headers=auth(small["read"])).get_json()
    response = client.post(f"{API}/projecten/{small['project'].id}/verplichtingen", json=_commitment(),
                           headers=auth(small["write"], "vier-00001"))
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "ter_goedkeuring" and "goedkeuren" in body["melding"]
    after = client.get(f"{API}/programmas/TST/cijfers/2025", headers=auth(small["read"])).get_json()
    assert after["samenvatting"] == before["samenvatting"]
    assert session.scalar(select(func.count(Commitment.id))) == 0


def test_payment_adjustment_and_mutation_through_the_api(small, client, session):
    commitment = commit_money(session, TEST_ACTOR, small["project"], {2025: D("20000")})
    session.commit()
    paid = client.post(f"{API}/verplichtingen/{commitment.id}/betalingen",
                       json={"datum": "2025-03-01", "bedrag": "5000.00", "soort": "voorschot", "kenmerk": "F-1"},
                       headers=auth(small["write"], "betaal-0001"))
    assert paid.status_code == 201 and paid.get_json()["bedrag"] == "5000.00"
    over = client.post(f"{API}/verplichtingen/{commitment.id}/betalingen",
                       json={"datum": "2025-03-02", "bedrag": "15000.01", "soort": "betaling"},
                       headers=auth(small["write"], "betaal-0002"))
    assert over.status_code == 422
    adjusted = client.post(f"{API}/verplichtingen/{commitment.id}/bijstellingen",
                           json={"datum": "2025-04-01", "wijzigingen": [{"jaar": 2025, "bedrag": "-2000.00"}],
                                 "reden": "Lager uitgevallen"}, headers=auth(small["write"], "bijstel-001"))
    assert adjusted.status_code == 201 and adjusted.get_json()["totaal"] == "18000.00"
    mutation = client.post(f"{API}/programmas/TST/mutaties",
                           json={"jaar": 2025, "bedrag": "-82000.01", "soort": "beleidsmatig", "moment": "intern",
                                 "reden": "Korting", "datum": "2025-05-01"}, headers=auth(small["write"], "mut-00001"))
    assert mutation.status_code == 422 and mutation.get_json()["tekort"] == {"2025": "0.01"}
    ok = client.post(f"{API}/programmas/TST/mutaties",
                     json={"jaar": 2025, "bedrag": "-82000.00", "soort": "beleidsmatig", "moment": "intern",
                           "reden": "Korting", "datum": "2025-05-01"}, headers=auth(small["write"], "mut-00002"))
    assert ok.status_code == 201
    figures = client.get(f"{API}/programmas/TST/cijfers/2025", headers=auth(small["read"])).get_json()
    assert figures["samenvatting"]["vrije_ruimte"] == "0.00"
    assert figures["samenvatting"]["gerealiseerd"] == "5000.00"


def test_a_status_update_on_a_stale_version_is_409(small, client, session):
    project = small["project"]
    version = client.get(f"{API}/projecten/{project.id}", headers=auth(small["read"])).get_json()["versie"]
    update = {"status": "in_behandeling", "voortgang": "op_koers", "datum": date.today().isoformat(),
              "versie": version}
    first = client.post(f"{API}/projecten/{project.id}/statusupdates", json=update,
                        headers=auth(small["write"], "versie-0001"))
    assert first.status_code == 201 and first.get_json()["projectversie"] == version + 1
    stale = client.post(f"{API}/projecten/{project.id}/statusupdates", json={**update, "status": "toegekend"},
                        headers=auth(small["write"], "versie-0002"))
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    assert session.get(Project, project.id).status == "in_behandeling"
