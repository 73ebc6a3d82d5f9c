"""The dashboard's figures cache: served again without rebuilding, and rebuilt after every kind of write."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest

from budget import services as budget
from tests.factories import commit_money, fund, login, make_programme, make_project, make_user

URL = "/?jaar=2025&peildatum=2025-12-31"


def _cards(client) -> dict[str, str]:
    html = client.get(URL).get_data(as_text=True)
    cards = html[html.index('id="kerncijfers"'):]
    cards = cards[:cards.index("</dl>")]
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", cards))


def _builds(app) -> int:
    return app.extensions["programmamonitor.figures_cache"].builds


@pytest.fixture()
def setup(app, session):
    fin = make_user(session, "financieel")
    prog = make_programme(session, make_user(session, "beheerder"))
    source = fund(session, fin, prog, {2024: "1.000.000", 2025: "1.000.000", 2026: "1.000.000"})
    project = make_project(session, fin, prog)
    commitment = commit_money(session, fin, project, {2025: D("100000")}, signed=date(2025, 2, 1))
    reservation = budget.set_staffing_reservation(session, fin, prog, year=2025, fte="1", amount="100.000",
                                                  valid_from=date(2025, 1, 1))
    session.commit()
    return {"fin": fin, "prog": prog, "source": source, "project": project, "commitment": commitment,
            "reservation": reservation}


def test_a_second_visit_is_served_from_the_cache(app, client, session, setup):
    login(client, setup["fin"])
    first = _cards(client)
    builds = _builds(app)
    assert _cards(client) == first
    assert _builds(app) == builds
    # Another year or peildatum is its own entry.
    client.get("/?jaar=2025&peildatum=2025-06-30")
    assert _builds(app) == builds + 1


WRITES = {
    "allocation": lambda s, f, d: budget.set_allocation(s, f, d["source"], 2025, "1.200.000",
                                                              valid_from=date(2025, 3, 1)),
    "mutation": lambda s, f, d: budget.add_mutation(s, f, d["prog"], year=2025, amount="50.000", kind="beleidsmatig",
                                                    moment="voorjaarsnota", reason="Extra",
                                                    mutation_date=date(2025, 4, 1)),
    "commitment": lambda s, f, d: commit_money(s, f, d["project"], {2025: D("10000")}, signed=date(2025, 3, 1)),
    "payment": lambda s, f, d: budget.add_payment(s, f, d["commitment"], payment_date=date(2025, 5, 1),
                                                  amount="25.000", kind="betaling"),
    "staffing cost": lambda s, f, d: budget.add_staffing_cost(s, f, d["reservation"], cost_date=date(2025, 3, 31),
                                                              amount="20.000", description="Q1"),
    "commitment deleted": lambda s, f, d: budget.delete_commitment(s, f, d["commitment"]),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_write_shows_on_the_next_visit(app, client, session, setup, write):
    login(client, setup["fin"])
    before = _cards(client)
    builds = _builds(app)
    WRITES[write](session, setup["fin"], setup)
    session.commit()
    after = _cards(client)
    assert _builds(app) == builds + 1
    assert after != before, write


def test_a_write_undone_by_a_rollback_changes_nothing(app, client, session, setup):
    login(client, setup["fin"])
    before = _cards(client)
    builds = _builds(app)
    WRITES["payment"](session, setup["fin"], setup)
    session.rollback()
    assert _cards(client) == before
    assert _builds(app) == builds
