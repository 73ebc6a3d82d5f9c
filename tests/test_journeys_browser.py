"""Finance journeys in headless chromium, and axe on the login, budget and user pages."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from budget.models import Commitment, Payment
from core.money import parse_eur
from tests.browser import WCAG, browser_on, log_in
from tests.factories import fund, make_programme, make_project, make_user

pytestmark = pytest.mark.browser
DASHBOARD = "/?jaar=2025&peildatum=2025-12-31"


@pytest.fixture
def world(app, session):
    boss = make_user(session, "beheerder")
    fin = make_user(session, "financieel")
    programme = make_programme(session, boss, first_year=2025, last_year=2026)
    fund(session, fin, programme, {2025: "1.000.000", 2026: "1.000.000"})
    project = make_project(session, fin, programme, title="Opvang in de regio")
    session.commit()
    return {"boss": boss, "fin": fin, "project": project}


def _card(page, label: str) -> Decimal:
    """The amount a key-figure card on the dashboard shows, read as the user reads it."""
    term = page.locator("#kerncijfers").get_by_text(label, exact=True)
    text = term.locator("xpath=following-sibling::dd[1]").inner_text()
    return parse_eur(text)


def _count(session, model) -> int:
    session.rollback()  # see what the server committed
    return session.scalar(select(func.count()).select_from(model))


def test_finance_officer_books_a_commitment_and_payment_and_sees_the_dashboard_move(app, session, world):
    pid = world["project"].id
    with browser_on(app) as (base, page):
        log_in(page, base, world["fin"])
        page.goto(base + DASHBOARD)
        committed, paid = _card(page, "Verplicht"), _card(page, "Gerealiseerd")

        page.goto(f"{base}/projecten/{pid}")
        page.get_by_role("link", name="Nieuwe verplichting").click()
        page.fill("#reference", "BS-2025-0042")
        page.fill("#signed_date", "2025-03-01")
        page.fill("#total", "150.000,00")
        page.fill("#jaar_2025", "100.000,00")
        page.fill("#jaar_2026", "50.000,00")
        page.get_by_role("button", name="Verplichting vastleggen").click()
        page.wait_for_url(f"**/projecten/{pid}*")

        page.get_by_role("link", name="Nieuwe betaling").click()
        page.fill("#payment_date", "2025-04-01")
        page.fill("#amount", "40.000,00")
        page.select_option("#kind", "voorschot")
        page.get_by_role("button", name="Betaling vastleggen").click()
        page.wait_for_url(f"**/projecten/{pid}*")

        page.goto(base + DASHBOARD)
        assert _card(page, "Verplicht") - committed == Decimal("100000.00")
        assert _card(page, "Gerealiseerd") - paid == Decimal("40000.00")
    assert _count(session, Commitment) == 1 and _count(session, Payment) == 1


def test_overrunning_commitment_is_refused_on_screen_and_nothing_saved(app, session, world):
    with browser_on(app) as (base, page):
        log_in(page, base, world["fin"])
        page.goto(f"{base}/projecten/{world['project'].id}/verplichtingen/nieuw")
        page.fill("#reference", "BS-TE-VEEL")
        page.fill("#signed_date", "2025-03-01")
        page.fill("#total", "1.200.000,00")
        page.fill("#jaar_2025", "1.200.000,00")
        page.get_by_role("button", name="Verplichting vastleggen").click()
        summary = page.locator(".error-summary")
        summary.wait_for()
        text = summary.inner_text()
        assert "Budgetstop" in text and "2025" in text and "200.000,00" in text
    assert _count(session, Commitment) == 0


def test_login_budget_user_and_report_pages_have_no_wcag_violations(app, session, world):
    from axe_playwright_python.sync_playwright import Axe

    from tests.factories import commit_money

    axe = Axe()
    pid = world["project"].id
    commitment = commit_money(session, world["fin"], world["project"], {2025: Decimal("500")})
    session.commit()

    def submit_empty(page):
        """Send the page's form emptied, so the error summary and field errors are audited too."""
        for field in page.locator("main input[type=text], main input[type=email], main input[type=date], "
                                  "main input[type=password], main textarea").all():
            if field.is_editable():
                field.fill("")
        page.locator("main form[method=post] button[type=submit]").first.click()
        page.locator(".error-summary").wait_for()

    pages = [("/budget", None), ("/budget/bronnen/nieuw", submit_empty), ("/budget/mutaties/nieuw", submit_empty),
             ("/budget/kasschuif/nieuw", submit_empty), ("/budget/personeel/nieuw", submit_empty),
             (f"/projecten/{pid}/verplichtingen/nieuw", submit_empty),
             (f"/verplichtingen/{commitment.id}/bijstelling", submit_empty),
             (f"/verplichtingen/{commitment.id}/betalingen/nieuw", submit_empty),
             ("/gebruikers/", None), ("/gebruikers/nieuw", submit_empty), (f"/gebruikers/{world['fin'].id}", None),
             ("/rapportage", None), ("/rapportage/standen", submit_empty), ("/import/", None), ("/audit/", None),
             ("/account/tweestapsverificatie", None), (DASHBOARD, None), (DASHBOARD + "&duizenden=1", None)]
    with browser_on(app) as (base, page):
        page.goto(f"{base}/login")
        page.get_by_role("button", name="Inloggen").click()  # the login form with its errors
        page.locator(".error").first.wait_for()
        result = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
        assert result.violations_count == 0, f"/login\n{result.generate_report()}"
        log_in(page, base, world["boss"])
        for path, action in pages:
            page.goto(base + path)
            if action:
                action(page)
            result = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
            assert result.violations_count == 0, f"{path}\n{result.generate_report()}"


def test_delete_asks_first_and_cancel_keeps_the_commitment(app, session, world):
    from tests.factories import commit_money

    commitment = commit_money(session, world["fin"], world["project"], {2025: Decimal("500")})
    session.commit()
    questions = []
    with browser_on(app) as (base, page):
        log_in(page, base, world["fin"])
        page.goto(f"{base}/projecten/{world['project'].id}")
        page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
        page.get_by_role("button", name=f"Verwijderen ({commitment.reference})").click()
        page.wait_for_timeout(300)
        assert questions == ["Verplichting verwijderen?"]
        assert _count(session, Commitment) == 1
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=f"Verwijderen ({commitment.reference})").click()
        page.wait_for_load_state()
    assert _count(session, Commitment) == 0


def test_a_payment_booked_then_back_and_submitted_again_is_booked_once(app, session, world):
    from tests.factories import commit_money

    commitment = commit_money(session, world["fin"], world["project"], {2025: Decimal("500000")})
    session.commit()
    form = f"/verplichtingen/{commitment.id}/betalingen/nieuw"
    with browser_on(app) as (base, page):
        log_in(page, base, world["fin"])
        page.goto(base + form)
        page.fill("#payment_date", "2025-04-01")
        page.fill("#amount", "1.000,00")
        page.get_by_role("button", name="Betaling vastleggen").click()
        page.wait_for_url(f"**/projecten/{world['project'].id}*")
        # The back button brings the form back; the browser must not offer the old amount to send again.
        page.go_back()
        page.wait_for_url(f"**{form}")
        assert page.locator("#amount").input_value() == ""
        page.get_by_role("button", name="Betaling vastleggen").click()
        page.locator(".error-summary").wait_for()
        # A double click on a filled form: the second post carries the same token and books nothing.
        page.fill("#payment_date", "2025-04-02")
        page.fill("#amount", "2.000,00")
        page.get_by_role("button", name="Betaling vastleggen").dblclick()
        page.wait_for_url(f"**/projecten/{world['project'].id}*")
    assert _count(session, Payment) == 2
