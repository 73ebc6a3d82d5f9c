"""The access policy, walked: every endpoint has a rule, and every role gets exactly what it says."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from api import tokens
from approvals.services import set_four_eyes
from budget import services as budget
from core.audit import AuditEntry
from core.policy import ALL, POLICY
from projects import services as portfolio
from projects.models import Project, StatusUpdate
from reports.services import create_snapshot
from rounds.services import open_round
from scenarios import services as scenarios
from tests.factories import (
    commit_money,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)

ROLES = ("anoniem",) + ALL
# Endpoints whose allowed requests would end the walking client's own session.
SESSION_ENDERS = {"auth.logout"}


def test_every_endpoint_has_a_rule_and_every_rule_an_endpoint(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(endpoints - set(POLICY)) == []
    assert sorted(set(POLICY) - endpoints) == []


@pytest.fixture
def world(session):
    boss = make_user(session, "beheerder")
    fin = make_user(session, "financieel")
    owner = make_user(session, "projectleider")
    other_owner = make_user(session, "projectleider")
    target = make_user(session, "lezer")
    prog = make_programme(session, boss)
    source = fund(session, fin, prog, {2024: "1.000.000", 2025: "1.000.000"})
    org = portfolio.create_organisation(session, fin, "Stichting Doel", "ngo")
    project = make_project(session, fin, prog, owner_id=owner.id, organisation_id=org.id)
    commitment = commit_money(session, fin, project, {2025: D("1000")})
    mutation = budget.add_mutation(session, fin, prog, year=2025, amount="5", kind="technisch", moment="intern",
                                   reason="Test", mutation_date=date(2025, 1, 1))
    shift = budget.add_kasschuif(session, fin, prog, amounts={2024: "-1", 2025: "1"}, moment="intern",
                                 reason="Schuif", mutation_date=date(2025, 1, 1))
    reservation = budget.set_staffing_reservation(session, fin, prog, year=2025, fte="1", amount="100")
    cost = budget.add_staffing_cost(session, fin, reservation, cost_date=date(2025, 3, 31), amount="10")
    snapshot = create_snapshot(session, fin, prog, date(2025, 6, 30), "Stand juni")
    rnd = open_round(session, fin, prog, {"title": "Ronde", "peildatum": date(2025, 6, 30),
                                          "deadline": date.today()}, [project.code])
    set_four_eyes(session, boss, prog, True, "0")
    waiting = commit_money(session, fin, project, {2025: D("10")})
    # The API is walked with each role's token (no session there); one more token to revoke on the page.
    expires = date.today() + timedelta(days=7)
    api_tokens = {role: tokens.create_token(session, user, name="walk", scope="write", expires_on=expires)[1]
                  for role, user in (("beheerder", boss), ("financieel", fin), ("projectleider", owner),
                                     ("lezer", target))}
    spare, _secret = tokens.create_token(session, target, name="spare", scope="read", expires_on=expires)
    scenario = scenarios.create_scenario(session, fin, prog, "Wat als")
    scenarios.add_entry(session, fin, scenario, "mutation", year=2025, amount="1000", mutation_kind="technisch",
                        moment="intern", reason="Test", mutation_date=date(2025, 2, 1))
    session.commit()
    users = {"beheerder": boss, "financieel": fin, "projectleider": owner, "lezer": target,
             "other_owner": other_owner, "api_tokens": api_tokens}
    args = {"project_id": project.id, "commitment_id": commitment.id, "source_id": source.id,
            "mutation_id": mutation.id, "group": shift[0].kasschuif_group, "reservation_id": reservation.id,
            "cost_id": cost.id, "organisation_id": org.id, "snapshot_id": snapshot.id, "user_id": target.id,
            "action": "activeren", "filename": "app.css", "entity": "Project", "entity_id": project.id,
            "round_id": rnd.id, "entry_id": waiting.id, "code": prog.code, "jaar": 2025, "token_id": spare.id,
            "name": "swagger-ui.css", "scenario_id": scenario.id, "kind": "mutation"}
    return users, args


def _requests(app, args):
    """One request per (endpoint, URL rule): GET where the rule allows it, else POST."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        method = "GET" if "GET" in rule.methods else "POST"
        url = rule.build({name: args[name] for name in rule.arguments}, append_unknown=False)[1]
        yield rule.endpoint, method, url


def _client(app, users, role):
    client = app.test_client()
    if role != "anoniem":
        assert login(client, users[role]).status_code == 302
    return client


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_the_policy_says(app, session, world, role):
    users, args = world
    client = _client(app, users, role)
    wrong = []
    for endpoint, method, url in _requests(app, args):
        if endpoint in SESSION_ENDERS and role != "anoniem":
            continue
        allowed_roles = POLICY[endpoint].roles_for(method)
        api = url.startswith("/api/")
        headers = {"Authorization": f"Bearer {users['api_tokens'][role]}"} if api and role != "anoniem" else {}
        response = client.open(url, method=method, headers=headers)
        # The API asks for a token (401) where a page sends to the login.
        to_login = response.status_code == 401 if api else (
            response.status_code == 302 and "/login" in response.headers.get("Location", ""))
        if allowed_roles is None:
            ok = response.status_code != 403
        elif role == "anoniem":
            ok = to_login
        elif role in allowed_roles:
            ok = response.status_code != 403 and not to_login
        else:
            ok = response.status_code == 403
        if not ok:
            wrong.append(f"{role} {method} {url} ({endpoint}) -> {response.status_code}")
        headers = response.headers
        if headers.get("X-Content-Type-Options") != "nosniff" or "script-src 'self'" not in headers.get(
                "Content-Security-Policy", ""):
            wrong.append(f"{role} {method} {url}: security headers missing")
        if role != "anoniem" and response.status_code == 200 and headers.get("Cache-Control") != "no-store" \
                and endpoint not in ("static", "reports.plotly_js", "api-docs.openapi_json", "api_docs.page",
                                     "api_docs.swagger_file", "api_docs.static"):
            wrong.append(f"{role} {method} {url}: signed-in page without Cache-Control: no-store")
    assert wrong == []


def test_a_project_owner_cannot_reach_another_owners_project(app, session, world):
    users, args = world
    intruder = _client(app, users, "other_owner")
    audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
    status_url = f"/projecten/{args['project_id']}/status"
    assert intruder.get(status_url).status_code == 403
    assert intruder.post(status_url, data={"status": "in_behandeling", "rag": "op_koers",
                                           "update_date": "2025-03-01"}).status_code == 403
    owner = _client(app, users, "projectleider")
    assert owner.get(status_url).status_code == 200
    session.rollback()

    assert session.get(Project, args["project_id"]).status == "voorstel"
    assert session.scalars(select(StatusUpdate)).all() == []
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
