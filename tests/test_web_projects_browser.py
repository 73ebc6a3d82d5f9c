"""In headless chromium: a project owner's status update journey, and axe on the portfolio pages."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from projects import services as portfolio
from projects.models import Project, StatusUpdate
from tests.browser import WCAG, browser_on, log_in
from tests.factories import make_programme, make_project, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def world(app, session):
    admin = make_user(session, "beheerder")
    owner = make_user(session, "projectleider")
    other = make_user(session, "projectleider")
    programme = make_programme(session, admin)
    org = portfolio.create_organisation(session, admin, "Stichting Voorbeeld", "ngo")
    own = make_project(session, admin, programme, code="STM-001", title="Eigen opvangproject",
                       owner_id=owner.id, status="toegekend", organisation_id=org.id)
    foreign = make_project(session, admin, programme, code="STM-002", title="Project van een ander",
                           owner_id=other.id, status="toegekend")
    session.commit()
    return {"admin": admin, "owner": owner, "own": own, "foreign": foreign, "org": org}


def test_owner_posts_a_status_update_and_cannot_edit_another_project(app, session, world):
    with browser_on(app) as (base, page):
        log_in(page, base, world["owner"])
        page.get_by_role("link", name="Mijn projecten").click()
        assert page.get_by_text("Project van een ander").count() == 0
        page.get_by_role("link", name="Status bijwerken STM-001").click()
        page.get_by_label("Nieuwe status").select_option(label="In uitvoering")
        page.get_by_label("Voortgang", exact=True).select_option(label="Risico")
        page.get_by_label("Openbare tekst voor de Kamer").fill("De eerste cliënten zijn opgevangen.")
        page.get_by_label("Toelichting (intern)").fill("Werving loopt achter.")
        page.get_by_role("button", name="Opslaan").click()
        page.get_by_text("De statusupdate voor STM-001 is opgeslagen.").wait_for()
        assert page.url == f"{base}/projecten/{world['own'].id}"
        history = page.get_by_role("table", name="Statusupdates, nieuwste eerst")
        assert "De eerste cliënten zijn opgevangen." in history.inner_text()
        assert "In uitvoering" in page.locator(".page-head + p").inner_text()

        for path in (f"/projecten/{world['foreign'].id}/bewerken", f"/projecten/{world['foreign'].id}/status",
                     f"/projecten/{world['own'].id}/bewerken"):
            response = page.goto(base + path)
            assert response.status == 403, path
            assert page.get_by_role("heading", name="Geen toegang").is_visible()
        page.goto(f"{base}/projecten/{world['foreign'].id}")
        assert page.get_by_role("link", name="Status bijwerken").count() == 0
        assert page.get_by_role("link", name="Project wijzigen").count() == 0

    session.expire_all()
    assert session.get(Project, world["own"].id).status == "in_uitvoering"
    assert session.get(Project, world["foreign"].id).status == "toegekend"
    update = session.scalars(select(StatusUpdate)).one()
    assert (update.project_id, update.rag) == (world["own"].id, "risico")


def test_portfolio_pages_have_no_wcag_violations(app, world):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    own, org = world["own"].id, world["org"].id

    def with_errors(page):
        # Submit the form emptied, so the error summary and field errors are audited too.
        for selector in ("#code", "#title", "#name"):
            if page.locator(selector).count():
                page.fill(selector, "")
        if page.locator("#rag").count():
            page.select_option("#rag", "")
        page.get_by_role("button", name="Opslaan").click()
        page.locator(".error-summary").wait_for()

    pages = [("/projecten", None), ("/projecten?sorteer=titel&richting=af&lijn=preventie", None),
             (f"/projecten/{own}", None), ("/projecten/nieuw", None), ("/projecten/nieuw", with_errors),
             (f"/projecten/{own}/bewerken", with_errors), (f"/projecten/{own}/status", with_errors),
             ("/organisaties", None), ("/organisaties/nieuw", with_errors),
             (f"/organisaties/{org}/bewerken", with_errors)]
    with browser_on(app) as (base, page):
        log_in(page, base, world["admin"])
        for path, action in pages:
            page.goto(base + path)
            if action:
                action(page)
            result = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
            assert result.violations_count == 0, f"{path}\n{result.generate_report()}"
