"""Every page runs as many SQL statements at 500 projects (with money) as at 20."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from sqlalchemy import event, insert, select

from budget.models import Commitment, CommitmentSchedule, Payment
from core.db import db
from projects import services as portfolio
from projects.models import EXPLOITATION_FORMS, Project, ProjectExploitation
from tests.factories import login as login_as
from tests.factories import make_programme, make_project, make_user

CATEGORIES = ["lopend", "nieuw", "op_de_plank"]
LINES = ["preventie", "zorg", "zicht_op_slachtoffers", "opsporing_vervolging"]
FORMS = list(EXPLOITATION_FORMS)


@contextmanager
def counted():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def add_projects(session, programme, orgs, owner, start: int, stop: int) -> None:
    """Bulk-insert projects (each with two forms of exploitation): far faster than the service."""
    rows = [{"programme_id": programme.id, "code": f"Q-{n:04d}", "title": f"Project {n}", "summary": "",
             "category": CATEGORIES[n % 3], "line": LINES[n % 4], "instrument": "subsidie",
             "status": "in_uitvoering", "organisation_id": orgs[n % len(orgs)].id, "owner_id": owner.id,
             "start_date": date(2025, 1, 1), "internal_notes": "", "contact_person": ""}
            for n in range(start, stop)]
    session.execute(insert(Project), rows)
    ids = session.scalars(select(Project.id).where(Project.code.in_([r["code"] for r in rows]))).all()
    session.execute(insert(ProjectExploitation),
                    [{"project_id": pid, "form": FORMS[(pid + k) % len(FORMS)]} for pid in ids for k in (0, 1)])
    # Money on every project, so pages that aggregate commitments and payments are measured too.
    session.execute(insert(Commitment), [{"id": pid, "project_id": pid, "reference": f"BS-Q-{pid}",
                                          "signed_date": date(2024, 6, 1), "total": Decimal("1000.00"),
                                          "description": ""} for pid in ids])
    session.execute(insert(CommitmentSchedule), [{"commitment_id": pid, "year": 2025, "amount": Decimal("1000.00")}
                                                 for pid in ids])
    session.execute(insert(Payment), [{"commitment_id": pid, "date": date(2025, 2, 1), "amount": Decimal("250.00"),
                                       "kind": "voorschot", "description": ""} for pid in ids])
    session.commit()


def statements_per_page(client, urls: list[str]) -> dict[str, int]:
    result = {}
    for url in urls:
        assert client.get(url).status_code == 200, url  # warm-up: first-use work is not per page
        # The test client shares the test's app context and so its session: start each request
        # with an empty identity map, as a real request does, so lazy loads would show.
        db.session.remove()
        with counted() as statements:
            response = client.get(url)
        assert response.status_code == 200, url
        result[url] = len(statements)
    return result


def test_pages_do_not_query_per_project(app, session):
    admin = make_user(session, "beheerder")
    owner = make_user(session, "projectleider")
    programme = make_programme(session, admin)
    orgs = [portfolio.create_organisation(session, admin, f"Organisatie {n}", "ngo") for n in range(5)]
    main = make_project(session, admin, programme, code="A-MAIN", organisation_id=orgs[0].id, owner_id=owner.id,
                        forms=["arbeidsuitbuiting", "overig"])
    follow = make_project(session, admin, programme, code="A-NEXT", category="vervolg", predecessor_id=main.id)
    portfolio.add_status_update(session, admin, main, status="in_behandeling", rag="op_koers",
                                update_date=date(2025, 2, 1), public_text="Loopt")
    session.commit()
    add_projects(session, programme, orgs, owner, 0, 18)

    client = app.test_client()
    assert login_as(client, admin).status_code == 302
    urls = ["/projecten", "/projecten?sorteer=organisatie&richting=af&vorm=overig",
            f"/projecten/{main.id}", f"/projecten/{follow.id}", "/", "/?jaar=2025&peildatum=2025-12-31",
            "/rapportage?jaar=2025&peildatum=2025-12-31", "/rapportage/standen", "/budget", "/organisaties",
            "/gebruikers/", "/import/", "/projecten/nieuw", f"/projecten/{main.id}/bewerken",
            f"/projecten/{main.id}/status"]
    owner_client = app.test_client()
    assert login_as(owner_client, owner).status_code == 302
    owner_urls = ["/projecten/mijn", f"/projecten/{main.id}"]
    assert session.query(Project).count() == 20
    small = statements_per_page(client, urls)
    small_owner = statements_per_page(owner_client, owner_urls)

    add_projects(session, programme, orgs, owner, 18, 498)
    assert session.query(Project).count() == 500
    large = statements_per_page(client, urls)

    assert large == small
    assert statements_per_page(owner_client, owner_urls) == small_owner
    # The list page really shows a full page of projects at 500, so the equality is not vacuous.
    assert client.get("/projecten").get_data(as_text=True).count('<td class="nowrap">') == 25
