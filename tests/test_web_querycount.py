"""Every GET page, for every role that may see it, runs as many SQL statements at 2,000 projects as at 20."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import SimpleNamespace

import flask_migrate
import psycopg
import pytest
from flask import url_for
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.engine import make_url

from api import tokens
from app import create_app
from approvals.services import set_four_eyes
from bench.generate import generate
from budget import services as budget
from budget.models import (
    BudgetMutation,
    Commitment,
    FundingSource,
    StaffingCost,
    StaffingReservation,
)
from core.db import db
from core.policy import ALL, FINANCE, POLICY
from core.users import User
from projects import services as portfolio
from projects.models import Organisation, Programme, Project
from reports.services import create_snapshot
from rounds.services import open_round
from scenarios import services as scenarios
from tests.factories import PASSWORD, login, make_user

SMALL, LARGE = 20, 2_000
ANONYMOUS = "anoniem"
#: GET endpoints this walk does not request, with the reason; every other GET endpoint must be walked.
NOT_WALKED: dict[str, str] = {
    # It prints reports.standalone's HTML with the same queries (walked below); a Chromium run per
    # role and world would only add minutes.
    "reports.pdf": "the standalone HTML's queries, printed by Chromium",
    "api_docs.static": "the API docs page's one script file, read from disk (no query)",
    "scenarios.fund": "a redirect to scenarios.entry_new (walked)",
    "health.metrics": "exists only with METRICS_TOKEN (tests/test_health.py); reads no table",
    "sso.start": "exists only with OIDC_ISSUER: a redirect to the identity provider (tests/test_sso.py)",
    "sso.callback": "exists only with OIDC_ISSUER: one user lookup by its subject (tests/test_sso.py)",
}
#: Extra query strings per endpoint (besides the bare URL), and the roles they are for (None: the rule's).
VARIANTS: dict[str, list[tuple[str, tuple[str, ...] | None]]] = {
    "projects.index": [
        ("?categorie=nieuw&lijn=preventie&sorteer=titel", None),
        ("?sorteer=organisatie&richting=af&vorm=arbeidsuitbuiting", None),
        ("?status=in_uitvoering&zoek=uitbuiting&sorteer=status", None),
        ("?organisatie={organisation_id}&sorteer=categorie", None),
        ("?sorteer=lijn&richting=af", None),
        # The money columns: sums in SQL, so sorting on them or showing every row adds no query.
        ("?sorteer=verplicht&richting=af", None),
        ("?sorteer=resterend&per_pagina=100&page=2&lijn=zorg", None),
        ("?per_pagina=alle&sorteer=betaald", None),
    ],
    "projects.export_csv": [("?versie=intern&lijn=preventie&sorteer=betaald&richting=af", FINANCE)],
    "projects.export_xlsx": [("?versie=intern&sorteer=verplicht", FINANCE)],
    "reports.dashboard": [("?jaar=2025&peildatum=2025-12-31", None), ("?jaar=2021&peildatum=2021-06-30", None)],
    "reports.index": [("?jaar=2025&peildatum=2025-12-31", None), ("?stand={snapshot_id}", None),
                      ("?jaar=2024&peildatum=2025-12-31&versie=intern&duizenden=1", FINANCE)],
    "reports.workbook": [("?jaar=2025&peildatum=2025-12-31&versie=intern", FINANCE),
                         ("?stand={snapshot_id}&jaar=2025", None)],
    "reports.standalone": [("?jaar=2025&peildatum=2025-12-31&versie=intern", FINANCE)],
    "audit.index": [("?soort=Project", None), ("?soort=BudgetMutation&actie=create&van=2020-01-01", None)],
    # The API with each role's token: its list pages like the project list, its figures like the dashboard.
    "api.projects": [("?categorie=nieuw&lijn=preventie&sorteer=titel", None),
                     ("?sorteer=verplicht&richting=af&per_pagina=500&pagina=2", None)],
    "api.figures": [("?peildatum=2025-06-30", None)],
    "api.audit_trail": [("?soort=Project&per_pagina=500", None)],
    # The proposal form opened from the waiting list, filled with the proposal's request.
    "scenarios.entry_new": [("?project={project_id}", None)],
}
#: Query strings some endpoints need to answer at all.
REQUIRED_QUERY = {"reports.snapshot_diff": "?a={snapshot_id}&b={other_snapshot_id}",
                  "scenarios.compare": "?a={scenario_id}&b={other_scenario_id}",
                  # The generated portfolio runs to 2025; the forecast is of a programme year.
                  "budget.underspend": "?jaar=2025"}
#: Pages that answer the same for every role but for one switch (finance roles get the internal version):
#: walked for one role on each side of it, as they are the slowest pages here (whole-programme reports).
ONE_ROLE_PER_SIDE = {"reports.index", "reports.workbook", "reports.standalone", "reports.word", "reports.open_data",
                     "reports.snapshot", "reports.snapshot_diff", "imports.export"}
SIDES = ("financieel", "lezer")
#: Login steps: requested by a client that has just given the password (see _login_step_counts).
LOGIN_STEPS = {"auth.second_factor", "auth.enrol"}


@dataclass
class World:
    """One database with bench.generate's dataset, a user per role and the ids the URLs need."""

    app: object
    users: dict = field(default_factory=dict)
    args: dict = field(default_factory=dict)


def _new_database(tag: str, database, migrated):
    """(SQLAlchemy URL, cleanup) of a fresh database beside the session's (conftest's _database, _migrated)."""
    if not isinstance(database, str):  # SQLite: a directory, and the migrated template file to copy
        path = database / f"querycount_{tag}.db"
        shutil.copyfile(migrated, path)
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    session_url = make_url(database)
    name = f"{session_url.database}_{tag}"
    server = session_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return session_url.set(database=name).render_as_string(hide_password=False), drop


def _populate(session, projects: int) -> tuple[dict, dict]:
    """The dataset, one user per role (two beheerders: one still has to link an app) and the URL ids."""
    generate(session, projects, 1, seed=7)
    programme = session.scalar(select(Programme).order_by(Programme.code))
    boss = make_user(session, "beheerder")
    users = {"beheerder": boss, "financieel": make_user(session, "financieel"),
             "projectleider": make_user(session, "projectleider"), "lezer": make_user(session, "lezer"),
             "new_beheerder": make_user(session, "beheerder")}
    fin, owner = users["financieel"], users["projectleider"]
    # Everything that is listed once per row grows with the portfolio: organisations and users too.
    extra = projects // 10
    first_org = (session.scalar(select(func.max(Organisation.id))) or 0) + 1
    session.execute(insert(Organisation), [{"id": first_org + i, "name": f"Extra organisatie {i}", "type": "ngo"}
                                           for i in range(extra)])
    first_user = (session.scalar(select(func.max(User.id))) or 0) + 1
    session.execute(insert(User), [{"id": first_user + i, "email": f"extra{i}@test.example", "name": f"Extra {i}",
                                    "role": ("projectleider", "lezer", "financieel")[i % 3], "password_hash": "!",
                                    "active": i % 7 != 0} for i in range(extra)])
    # The owner owns one project in twenty (1 at 20, 100 at 2,000), among them one with money.
    with_money = session.scalar(select(func.min(Commitment.project_id)))
    session.execute(update(Project).where((Project.id % 20 == 0) | (Project.id == with_money))
                    .values(owner_id=owner.id))
    session.flush()
    project = session.get(Project, with_money)
    successor = session.scalar(select(Project).where(Project.id != project.id).order_by(Project.id))
    successor.category, successor.predecessor_id = "vervolg", project.id
    portfolio.add_status_update(session, owner, project, status=project.status, rag="risico",
                                update_date=date(2025, 2, 1), public_text="Loopt", progress="Intern")
    # The generated budget is ~40 % committed per year overall, not in each small world's year: override.
    shift = budget.add_kasschuif(session, boss, programme, amounts={2024: "-1000", 2025: "1000"}, moment="intern",
                                 reason="Schuif", mutation_date=date(2025, 1, 1), override_reason="Testgegevens voor de telling")
    first = create_snapshot(session, fin, programme, date(2024, 12, 31), "Stand 2024")
    second = create_snapshot(session, fin, programme, date(2025, 6, 30), "Stand juni 2025")
    # A reporting round over every project running mid-2025: its board lists them all.
    rnd = open_round(session, fin, programme, {"title": "Voortgang 2025", "peildatum": date(2025, 6, 30),
                                               "deadline": date.today()})
    # Four eyes on, with a small mutation waiting for approval.
    set_four_eyes(session, boss, programme, True, "0")
    waiting = budget.add_mutation(session, fin, programme, year=2025, amount="1000", kind="technisch",
                                  moment="intern", reason="Wacht", mutation_date=date(2025, 1, 2))
    # Two scenarios: one funding a proposal and shifting cash, one empty to compare it with.
    scenario = scenarios.create_scenario(session, fin, programme, "Wat als")
    scenarios.add_entry(session, fin, scenario, "commitment", project=successor, reference="SC-1",
                        signed_date=date(2025, 3, 1), total="1000", schedule={2025: "1000"})
    scenarios.add_entry(session, fin, scenario, "kasschuif", amounts={2024: "-10", 2025: "10"}, moment="intern",
                        reason="Schuif", mutation_date=date(2025, 3, 1))
    other = scenarios.create_scenario(session, fin, programme, "Anders")
    args = {
        "scenario_id": scenario.id, "other_scenario_id": other.id, "kind": "commitment",
        "project_id": project.id, "commitment_id": session.scalar(
            select(func.min(Commitment.id)).where(Commitment.project_id == project.id)),
        "source_id": session.scalar(select(func.min(FundingSource.id))),
        "mutation_id": session.scalar(select(func.min(BudgetMutation.id)).where(
            BudgetMutation.kasschuif_group.is_(None))),
        "group": shift[0].kasschuif_group,
        "reservation_id": session.scalar(select(func.min(StaffingReservation.id))),
        "cost_id": session.scalar(select(func.min(StaffingCost.id))),
        "organisation_id": project.organisation_id, "snapshot_id": second.id, "other_snapshot_id": first.id,
        "user_id": users["lezer"].id, "filename": "app.css", "entity": "Project", "entity_id": project.id,
        "round_id": rnd.id, "entry_id": waiting.id, "code": programme.code, "jaar": 2025, "name": "swagger-ui.css",
        # The API is read with a token per role (no session there).
        "api_tokens": {role: tokens.create_token(session, u, name="telling", scope="read",
                                                 expires_on=date.today() + timedelta(days=7))[1]
                       for role, u in users.items() if role in ALL},
    }
    session.commit()
    # Plain values: the test logs in long after this session is gone.
    plain = {role: SimpleNamespace(email=u.email, totp_secret=None) for role, u in users.items()}
    return plain, args


@pytest.fixture(scope="module")
def worlds(_database, _migrated):
    """Two apps, built once for the module: 20 projects and 2,000 projects, both with money."""
    made, cleanups = {}, []
    try:
        for size in (SMALL, LARGE):
            url, cleanup = _new_database(f"q{size}", _database, _migrated)
            cleanups.append(cleanup)
            app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret-key",
                              "WTF_CSRF_ENABLED": False})
            with app.app_context():
                if url.startswith("postgresql"):
                    flask_migrate.upgrade()
                users, args = _populate(db.session, size)
                assert db.session.scalar(select(func.count()).select_from(Project)) == size
                db.session.remove()
            made[size] = World(app, users, args)
        yield made
    finally:
        for world in made.values():
            with world.app.app_context():
                db.session.remove()
                db.engine.dispose()
        for cleanup in cleanups:
            cleanup()


def _walk(app, args) -> list[tuple[str, str, tuple[str, ...]]]:
    """(endpoint, URL, roles) for every GET URL rule and its variants; roles include 'anoniem' for public pages."""
    walked = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        if "GET" not in rule.methods or rule.endpoint in NOT_WALKED or rule.endpoint in LOGIN_STEPS:
            continue
        policy = POLICY[rule.endpoint]
        roles = policy.roles_for("GET")
        roles = (ANONYMOUS,) if rule.endpoint == "auth.login" else (ALL + (ANONYMOUS,) if roles is None else roles)
        if rule.endpoint in ONE_ROLE_PER_SIDE:
            roles = tuple(r for r in roles if r in SIDES)
        path = rule.build({name: args[name] for name in rule.arguments}, append_unknown=False)[1]
        path += REQUIRED_QUERY.get(rule.endpoint, "").format(**args)
        walked.append((rule.endpoint, path, roles))
        for query, only in VARIANTS.get(rule.endpoint, []):
            walked.append((rule.endpoint, path + query.format(**args),
                           tuple(r for r in roles if only is None or r in only)))
    return walked


def _counting(app):
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    return engine, statements, count


def _statements(app, client, url: str, headers: dict | None = None) -> int:
    """Statements one request of `url` runs (the walk asks each URL once per role, so the
    dashboard's figures cache is met both cold and warm, in the same order in both worlds)."""
    engine, statements, count = _counting(app)
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    response.close()
    return len(statements)


def _client(app, user):
    client = app.test_client()
    if user is not None:
        assert login(client, user).status_code == 302
    return client


def _page_counts(world: World) -> dict:
    """{(role, url): statements} over the whole walk; no app context is open, as in production."""
    clients = {role: _client(world.app, None if role == ANONYMOUS else world.users[role])
               for role in ALL + (ANONYMOUS,)}
    tokens_by_role = world.args["api_tokens"]
    return {(role, url): _statements(world.app, clients[role], url, {"Authorization": f"Bearer {tokens_by_role[role]}"}
                                     if url.startswith("/api/") and role != ANONYMOUS else None)
            for endpoint, url, roles in _walk(world.app, world.args) for role in roles}


def _login_step_counts(world: World) -> dict:
    """The two second-factor pages, right after the password: linking an app, then entering a code."""
    result = {}
    for role, endpoint in (("new_beheerder", "auth.enrol"), ("beheerder", "auth.second_factor")):
        client = world.app.test_client()
        response = client.post("/login", data={"email": world.users[role].email, "password": PASSWORD})
        location = response.headers["Location"]
        with world.app.test_request_context():
            assert location.endswith(url_for(endpoint)), location
        result[endpoint] = _statements(world.app, client, location)
    return result


def test_every_get_endpoint_is_walked(worlds):
    app = worlds[SMALL].app
    walked = {endpoint for endpoint, _url, _roles in _walk(app, worlds[SMALL].args)} | LOGIN_STEPS
    gets = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert gets - walked - set(NOT_WALKED) == set()


def test_every_page_issues_as_many_queries_at_2000_projects_as_at_20(worlds):
    small, large = worlds[SMALL], worlds[LARGE]
    # Ids differ between the worlds, so compare by position in the (same) walk.
    small_counts = list(_page_counts(small).items())
    large_counts = list(_page_counts(large).items())
    assert len(small_counts) == len(large_counts)
    grown = [f"{role} {url} ({large_url}): {s} -> {n}"
             for ((role, url), s), ((_r, large_url), n) in zip(small_counts, large_counts) if s != n]
    assert grown == [], "\n".join(grown)
    assert _login_step_counts(small) == _login_step_counts(large)


def test_the_large_world_really_lists_many_rows(worlds):
    """The equality above is not vacuous: the 2,000-project pages show full pages of projects and money."""
    large = worlds[LARGE]
    client = _client(large.app, large.users["financieel"])
    assert client.get("/projecten").get_data(as_text=True).count('<td class="nowrap">') == 25
    assert client.get("/projecten?page=3").status_code == 200
    every = client.get("/projecten?per_pagina=alle").get_data(as_text=True)
    assert every.count('<td class="nowrap">') == LARGE and every.count('<td class="num">') == 3 * LARGE + 3
    assert client.get("/projecten/projecten.csv").get_data().count(b"\r\n") == LARGE + 1
    owner = _client(large.app, large.users["projectleider"])
    assert owner.get("/projecten/mijn").get_data(as_text=True).count("/projecten/") >= LARGE // 20
