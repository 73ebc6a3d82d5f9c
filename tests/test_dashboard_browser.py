"""In headless chromium: the free room is what the dashboard shows first, and a saved change is confirmed in view."""
from __future__ import annotations

from datetime import date

import pytest

from tests.browser import WCAG, browser_on, log_in
from tests.factories import commit_money, fund, make_programme, make_project, make_user

pytestmark = pytest.mark.browser
DASHBOARD = "/?jaar=2025&peildatum=2025-09-30"


@pytest.fixture
def world(session):
    fin = make_user(session, "financieel")
    programme = make_programme(session, make_user(session, "beheerder"))
    fund(session, fin, programme, {2024: "1.000.000", 2025: "1.850.000,55", 2026: "1.000.000"})
    project = make_project(session, fin, programme)
    commit_money(session, fin, project, {2025: 1_200_000}, signed=date(2025, 1, 15))
    session.commit()
    return {"fin": fin}


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


@pytest.mark.parametrize("width", [1280, 375])
def test_the_free_room_comes_first_and_largest_at_both_widths(app, world, width):
    from axe_playwright_python.sync_playwright import Axe

    with browser_on(app) as (base, page):
        log_in(page, base, world["fin"])
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(base + DASHBOARD)
        free, tiles = _box(page, "#vrije-ruimte .free-amount"), _box(page, "#kerncijfers")
        # Seen without scrolling (on a phone below a header whose height depends on the user's name),
        # right after the year form, above the other figures, and in the largest type of them all.
        assert free["y"] + free["height"] <= 900 and free["y"] < tiles["y"]
        assert page.evaluate("document.querySelector('form.filters').nextElementSibling.id") == "vrije-ruimte"
        size = page.evaluate("s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)",
                             "#vrije-ruimte .free-amount")
        tile_sizes = page.evaluate("""() => [...document.querySelectorAll('#kerncijfers dd')]
                                      .map(e => parseFloat(getComputedStyle(e).fontSize))""")
        assert size >= 1.5 * max(tile_sizes)
        assert page.locator("#vrije-ruimte .free-amount").inner_text() == "€\xa0650.001"
        assert "Beschikbaar € 1.850.000,55 − verplicht € 1.200.000,00 = vrije ruimte € 650.000,55" in \
            page.locator("#vrije-ruimte").inner_text().replace("\xa0", " ").replace("\n", " ")
        # Nothing paid by the end of September: the lag warning is on screen, beside the sum.
        assert page.locator("#realisatie-achterstand").is_visible()
        # The dashboard's own blocks fit the width (tables scroll inside their own container).
        for selector in ("#vrije-ruimte", "#kerncijfers", "form.filters"):
            box = _box(page, selector)
            assert box["x"] + box["width"] <= width, selector
        result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
        assert result.violations_count == 0, result.generate_report()


@pytest.mark.parametrize("width", [1280, 375])
def test_the_confirmation_after_a_budget_save_is_in_view(app, world, width):
    with browser_on(app) as (base, page):
        log_in(page, base, world["fin"])
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{base}/budget/mutaties/nieuw")
        page.fill("#year", "2025")
        page.fill("#amount", "25.000,00")
        page.fill("#reason", "Extra middelen")
        page.fill("#date", "2025-09-01")
        page.get_by_role("button", name="Opslaan").click()
        page.wait_for_url(f"{base}/budget")
        message = page.locator("#meldingen")
        message.wait_for()
        assert "Mutatie toegevoegd." in message.inner_text()
        box = message.bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= 800  # on screen, not scrolled away
        assert page.evaluate("document.activeElement.id") == "meldingen"  # read out by a screen reader
        assert page.evaluate("window.scrollY") < box["y"] + box["height"]
        page.get_by_role("link", name="Naar de mutaties").click()
        page.wait_for_url(f"{base}/budget#mutaties")
