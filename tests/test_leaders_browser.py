"""In headless chromium: a project leader's landing page and status form, the list's money, sort, size and CSV."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from budget import services as budget
from projects import services as portfolio
from tests.browser import WCAG, browser_on, log_in
from tests.factories import commit_money, fund, make_programme, make_project, make_user

pytestmark = pytest.mark.browser



@pytest.fixture
def world(app, session, today):
    admin, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    owner = make_user(session, "projectleider")
    programme = make_programme(session, admin, first_year=2024, last_year=max(2026, today.year))
    fund(session, fin, programme, {2024: Decimal(1000000), 2025: Decimal(1000000), 2026: Decimal(1000000)})
    org = portfolio.create_organisation(session, admin, "Stichting Voorbeeld", "ngo")
    late = make_project(session, admin, programme, code="STM-001", title="Opvang met een oude update",
                        owner_id=owner.id, status="toegekend", line="zorg", organisation_id=org.id,
                        start_date=date(2024, 2, 1))
    fresh = make_project(session, admin, programme, code="STM-002", title="Voorlichting net bijgewerkt",
                         owner_id=owner.id, status="toegekend", line="preventie", start_date=date(2024, 2, 1))
    make_project(session, admin, programme, code="STM-009", title="Afgerond project", owner_id=owner.id,
                 status="afgerond", start_date=date(2024, 1, 1))
    portfolio.add_status_update(session, owner, late, status="in_uitvoering", rag="risico",
                                update_date=date(2024, 6, 1), progress="Werving loopt achter",
                                public_text="De opvang is gestart.", next_steps="Tweede locatie openen")
    portfolio.add_status_update(session, owner, fresh, status="in_uitvoering", rag="op_koers",
                                update_date=today - timedelta(days=10))
    amounts = {"STM-001": ("250000.00", "100000.00"), "STM-002": ("40000.00", "0"), "STM-003": ("90000.50", "90000.50"),
               "STM-004": ("175000.00", "12500.25")}
    projects = {"STM-001": late, "STM-002": fresh}
    for n, line in ((3, "zorg"), (4, "zorg"), (5, "preventie")):
        projects[f"STM-00{n}"] = make_project(session, admin, programme, code=f"STM-00{n}", title=f"Project {n}",
                                              line=line, status="toegekend")
    for code, (committed, paid) in amounts.items():
        commitment = commit_money(session, fin, projects[code], {2025: Decimal(committed)})
        if Decimal(paid):
            budget.add_payment(session, fin, commitment, payment_date=date(2025, 3, 1), amount=Decimal(paid),
                               kind="betaling")
    session.commit()
    return {"admin": admin, "fin": fin, "owner": owner, "late": late, "fresh": fresh, "programme": programme}


def _rows(page) -> list[dict]:
    """The list rows as a user reads them: code and the three amounts (Decimal)."""
    rows = []
    for row in page.locator("table.project-list tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        amounts = [Decimal(c.replace("€", "").replace("\xa0", "").replace(" ", "").replace(".", "").replace(",", "."))
                   for c in row.locator("td.num").all_inner_texts()]
        rows.append({"code": cells[0].strip(), "Verplicht": amounts[0], "Betaald": amounts[1],
                     "Resterend": amounts[2]})
    return rows


def test_a_project_leader_lands_on_mijn_projecten_with_the_late_update_marked(app, world, today):
    with browser_on(app) as (base, page):
        log_in(page, base, world["owner"])
        assert page.url == f"{base}/projecten/mijn"
        assert page.get_by_role("heading", name="Mijn projecten").is_visible()
        late = page.get_by_role("row").filter(has_text="STM-001")
        fresh = page.get_by_role("row").filter(has_text="STM-002")
        assert late.get_by_text("achterstallig", exact=True).is_visible()
        assert fresh.get_by_text("achterstallig", exact=True).count() == 0
        # The late one is on top, with its last update and the due date half a year later.
        assert page.locator("table.mine tbody tr").first.locator("td").first.inner_text() == "STM-001"
        assert "1-6-2024" in late.inner_text() and "1-12-2024" in late.inner_text()
        assert page.get_by_text("1 project wacht op een statusupdate.").is_visible()
        # The closed project is folded away: out of sight until its section is opened.
        assert not page.get_by_text("Afgerond project").is_visible()
        page.get_by_text("Afgeronde en gestopte projecten (1)").click()
        assert page.get_by_role("link", name="Afgerond project").is_visible()

        # The status form: the previous update in view, voortgang and next steps carried over.
        late.get_by_role("link", name="Status bijwerken STM-001").click()
        previous = page.get_by_role("region", name="Vorige update van 1 juni 2024")
        assert "Werving loopt achter" in previous.inner_text() and "De opvang is gestart." in previous.inner_text()
        assert page.get_by_label("Voortgang", exact=True).input_value() == "risico"
        assert page.get_by_label("Volgende stappen").input_value() == "Tweede locatie openen"
        assert page.get_by_label("Openbare tekst voor de Kamer").input_value() == ""
        assert page.get_by_label("Datum").input_value() == today.isoformat()
        page.get_by_label("Voortgang", exact=True).select_option(label="Op koers")
        page.get_by_role("button", name="Opslaan").click()
        page.get_by_text("De statusupdate voor STM-001 is opgeslagen.").wait_for()
        page.get_by_role("link", name="Mijn projecten").click()
        assert page.get_by_text("achterstallig", exact=True).count() == 0


def test_on_a_phone_mijn_projecten_shows_the_marker_and_the_action_without_scrolling_sideways(app, world):
    with browser_on(app) as (base, page):
        page.set_viewport_size({"width": 375, "height": 800})
        log_in(page, base, world["owner"])
        late = page.get_by_role("row").filter(has_text="STM-001")
        # The rows stack as labelled lines, so the marker and the action sit inside the screen's width.
        for element in (late.get_by_text("achterstallig", exact=True),
                        late.get_by_role("link", name="Status bijwerken STM-001")):
            box = element.bounding_box()
            assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 375, box
        due = late.locator("td", has_text="1-12-2024")
        assert due.evaluate("td => getComputedStyle(td, '::before').content") == '"Volgende update: "'
        assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_filtered_list_sorts_on_money_and_its_csv_opens_in_pandas_as_shown(app, world):
    with browser_on(app) as (base, page):
        log_in(page, base, world["fin"])
        page.goto(f"{base}/projecten")
        page.get_by_label("Programmalijn").select_option(label="Zorg")
        page.get_by_role("button", name="Filter").click()
        page.get_by_role("link", name="Verplicht").click()
        page.get_by_role("link", name="Verplicht").click()  # a second click sorts descending
        header = page.get_by_role("columnheader", name="Verplicht")
        assert header.get_attribute("aria-sort") == "descending"
        shown = _rows(page)
        assert [r["code"] for r in shown] == ["STM-001", "STM-004", "STM-003"]
        total_row = page.locator("table.project-list tfoot td.num").all_inner_texts()

        with page.expect_download() as download:
            page.get_by_role("link", name="CSV (.csv)").first.click()
        assert re.fullmatch(r"projecten-TST-\d{8}-openbaar\.csv", download.value.suggested_filename)
        frame = pd.read_csv(download.value.path(), sep=";", decimal=",")
        assert list(frame["Code"]) == [r["code"] for r in shown]
        for column in ("Verplicht", "Betaald", "Resterend"):
            assert [Decimal(str(v)).quantize(Decimal("0.01")) for v in frame[column]] == [r[column] for r in shown]
        sums = [f"€ {Decimal(str(round(frame[c].sum(), 2))):,.2f}".replace(",", "_").replace(".", ",")
                .replace("_", ".") for c in ("Verplicht", "Betaald", "Resterend")]
        assert [t.replace("\xa0", " ") for t in total_row] == sums


def test_page_size_choice_in_the_browser(app, session, world):
    for n in range(10, 40):
        make_project(session, world["admin"], world["programme"], code=f"STM-{n:03d}")
    session.commit()
    with browser_on(app) as (base, page):
        log_in(page, base, world["fin"])
        page.goto(f"{base}/projecten")
        assert page.locator("table.project-list tbody tr").count() == 25
        assert page.get_by_role("navigation", name="Paginering").is_visible()
        page.get_by_label("Projecten per pagina").select_option("50")
        page.get_by_role("button", name="Toon").click()
        page.wait_for_url("**per_pagina=50**")
        assert page.locator("table.project-list tbody tr").count() == 36
        assert page.get_by_role("navigation", name="Paginering").count() == 0


def test_leader_pages_and_the_money_list_have_no_wcag_violations(app, world):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    with browser_on(app) as (base, page):
        log_in(page, base, world["owner"])
        for path in ("/projecten/mijn", f"/projecten/{world['late'].id}/status",
                     "/projecten?sorteer=betaald&richting=af&per_pagina=50"):
            page.goto(base + path)
            result = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
            assert result.violations_count == 0, f"{path}\n{result.generate_report()}"
