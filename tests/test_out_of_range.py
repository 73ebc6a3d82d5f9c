"""Ids, page numbers, years and dates out of range are a 404 or a 400 (or simply no hits), never a 500."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reports.services import create_snapshot
from tests.factories import commit_money, fund, login, make_programme, make_project, make_user

HUGE = "9999999999999999999999999"
BEYOND_INTEGER = str(2**31)  # PostgreSQL: "integer out of range"; SQLite takes it, so both are walked

URLS = [
    f"/projecten/{BEYOND_INTEGER}",
    f"/projecten/{HUGE}",
    f"/projecten/{BEYOND_INTEGER}/status",
    f"/projecten/{BEYOND_INTEGER}/bewerken",
    f"/projecten/{BEYOND_INTEGER}/verplichtingen/nieuw",
    f"/projecten?page={HUGE}",
    f"/projecten?page={BEYOND_INTEGER}",
    "/projecten?page=-1",
    "/projecten?page=\u0663",            # an Arabic-Indic 3
    "/projecten?page=\u00b2",            # '²'.isdigit() is True, int('²') fails
    f"/projecten?organisatie={HUGE}",
    "/projecten?organisatie=\u00b2",
    f"/organisaties/{BEYOND_INTEGER}/bewerken",
    f"/audit/?id={HUGE}",
    f"/audit/?id={BEYOND_INTEGER}",
    "/audit/?id=\u00b2",
    f"/audit/?page={HUGE}",
    f"/audit/Project/{HUGE}",
    f"/audit/Project/{BEYOND_INTEGER}",
    "/audit/?tot=9999-12-31",
    "/audit/?van=0001-01-01&tot=0001-01-01",
    "/audit/?van=9999-12-31",
    f"/rapportage?stand={HUGE}",
    f"/rapportage?stand={BEYOND_INTEGER}",
    "/rapportage?stand=\u00b2",
    f"/rapportage?jaar={HUGE}",
    "/rapportage?jaar=\u0662\u0660\u0662\u0665",
    f"/rapportage/werkboek.xlsx?stand={HUGE}",
    f"/rapportage/stand.html?stand={BEYOND_INTEGER}",
    f"/rapportage/standen/{HUGE}",
    f"/rapportage/standen/{BEYOND_INTEGER}",
    f"/rapportage/standen/verschil?a={HUGE}&b=1",
    f"/rapportage/standen/verschil?a=1&b={BEYOND_INTEGER}",
    f"/rapportage/standen/verschil?a=1&b=1&jaar={HUGE}",
    f"/budget/mutaties/{HUGE}",
    f"/budget/mutaties/{BEYOND_INTEGER}",
    f"/budget/bronnen/{BEYOND_INTEGER}",
    f"/budget/personeel/{BEYOND_INTEGER}",
    f"/budget/personeelskosten/{BEYOND_INTEGER}",
    f"/verplichtingen/{HUGE}/bijstelling",
    f"/verplichtingen/{BEYOND_INTEGER}/bijstelling",
    f"/verplichtingen/{BEYOND_INTEGER}/betalingen/nieuw",
]


@pytest.fixture
def finance_client(app, session):
    boss, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    programme = make_programme(session, boss)
    fund(session, fin, programme, {2025: Decimal("1000000")})
    project = make_project(session, fin, programme)
    commit_money(session, fin, project, {2025: Decimal("1000")})
    create_snapshot(session, fin, programme, date(2025, 6, 30), "Stand")
    session.commit()
    client = app.test_client()
    assert login(client, fin).status_code == 302
    return client


@pytest.mark.parametrize("url", URLS)
def test_out_of_range_numbers_are_a_404_or_a_400_never_a_500(finance_client, url):
    response = finance_client.get(url)
    assert response.status_code in (200, 400, 404), (url, response.status_code)
    if response.status_code != 200:
        # The app's own Dutch error page, not an incident.
        assert "Er is een fout opgetreden" not in response.get_data(as_text=True)


def test_an_absurd_page_number_is_the_first_page(finance_client):
    response = finance_client.get(f"/projecten?page={HUGE}")
    assert response.status_code == 200 and "Project " in response.get_data(as_text=True)


def test_an_audit_id_that_no_row_can_have_finds_nothing(finance_client):
    response = finance_client.get(f"/audit/?id={HUGE}")
    assert response.status_code == 200 and "/audit/Project/" not in response.get_data(as_text=True)
