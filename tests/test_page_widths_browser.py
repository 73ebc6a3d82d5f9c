"""Every HTML page of the demo programme, per role: no wider than a 375 or 1.280 px window, no axe violations."""
from __future__ import annotations

import time
from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import func, select, update

from approvals.services import set_four_eyes
from budget import services as budget
from budget.demo import load_demo
from budget.models import (
    BudgetMutation,
    Commitment,
    FundingSource,
    StaffingCost,
    StaffingReservation,
)
from budget.services import periods
from core.users import User
from projects import services as portfolio
from projects.models import Organisation, Programme, Project
from reports import services as reports
from rounds import services as rounds
from scenarios import services as scenario_services
from tests.browser import ARGS, WCAG, serve
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser
WIDTHS = (375, 1280)
# Links and form controls cut off: outside the window or outside the scrolling box they sit in. On a phone a
# wide table may scroll its actions into view; on a desktop every action is in view without scrolling sideways.
OUT_OF_VIEW = """(desktop) => {
  const out = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')) {
    const r = el.getBoundingClientRect();
    if (!r.width || el.closest('.skip, .modebar-container')) continue;  // the skip link shows on focus
    let box = {left: 0, right: window.innerWidth}, scrolls = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') { box = a.getBoundingClientRect(); scrolls = true; break; }
    }
    if ((desktop || !scrolls) && (r.left < box.left - 1 || r.right > box.right + 1)) {
      out.push(el.tagName.toLowerCase() + ' "' + (el.innerText || el.name || el.id || '').trim().slice(0, 40) + '"');
    }
  }
  return out;
}"""
# What Plotly's own resize handler does a moment after the window changes, done now and awaited.
RESIZE_CHARTS = """async () => { if (window.Plotly) await Promise.all(
  [...document.querySelectorAll('.js-plotly-plot')].map((chart) => window.Plotly.Plots.resize(chart))); }"""

# GET endpoints that are no page of their own. A new route is walked below or named here, with why.
SKIP = {
    "static": "stylesheet, script and images",
    "reports.plotly_js": "the plotly.js script",
    "reports.workbook": "an .xlsx download",
    "reports.word": "a .docx download",
    "reports.pdf": "a .pdf download",
    "reports.open_data": "a .zip download (open data)",
    "imports.template": "an .xlsx download",
    "imports.export": "an .xlsx download",
    "projects.export_csv": "a .csv download",
    "projects.export_xlsx": "an .xlsx download",
    "api-docs.openapi_json": "the API's OpenAPI document (JSON)",
    "scenarios.fund": "a redirect to a scenario's proposal form (walked)",
    "health.healthz": "JSON for the load balancer",
    "health.readyz": "JSON for the load balancer",
    "health.metrics": "Prometheus' text format",
    "sso.start": "a redirect to the identity provider (only with OIDC_ISSUER)",
    "sso.callback": "the identity provider's return: a redirect, or the refusal page (tests/test_sso.py, in chromium)",
    "scenarios.beslisnota_xlsx": "an .xlsx download",
    "scenarios.beslisnota_docx": "a .docx download",
    "api_docs.page": "Swagger UI: the API's documentation, laid out by Swagger UI itself (checked in make screenshots)",
    "api_docs.swagger_file": "Swagger UI's script and stylesheet",
    "api_docs.static": "the docs page's script",
    **{f"api.{name}": "the API: JSON, no page" for name in (
        "programmes", "programme", "figures", "projects", "project", "project_money", "snapshots", "snapshot",
        "snapshot_figures", "audit_trail")},
}


@pytest.fixture
def world(app, session):
    """The demo programme, a user per role, a closed and reopened period, two snapshots and a second programme."""
    load_demo(session, with_users=False)
    programme = session.scalar(select(Programme).where(Programme.code == "STM"))
    users = {role: make_user(session, role) for role in ("beheerder", "financieel", "projectleider", "lezer")}
    # A second programme puts the programme switcher in the header (STM sorts first, so stays chosen).
    portfolio.create_programme(session, users["beheerder"], "TGC",
                               "Aanpak ondermijning en georganiseerde criminaliteit",
                               "Ministerie van Justitie en Veiligheid", "33", 2025, 2028)
    # The project with the most commitments makes the fullest project page; its leader gets it.
    project_id = session.scalar(select(Project.id).join(Commitment).group_by(Project.id)
                                .order_by(func.count(Commitment.id).desc(), Project.id).limit(1))
    session.execute(update(Project).where(Project.id == project_id).values(owner_id=users["projectleider"].id))
    periods.close_period(session, users["financieel"], programme, date(2024, 6, 30))
    periods.reopen_period(session, users["beheerder"], programme, date(2024, 3, 31), "Correctie van een boeking")
    first = reports.create_snapshot(session, users["financieel"], programme, date(2025, 6, 30), "Stand juni 2025")
    second = reports.create_snapshot(session, users["financieel"], programme, date(2025, 12, 31),
                                     "Stand december 2025", kamerstuk="Kamerstuk 28638-999")
    # A closed reporting round and an open one (whose board the projectleider's project is on).
    today = date.today()
    spring = rounds.open_round(session, users["financieel"], programme, {
        "title": "Voortgangsrapportage voorjaar", "peildatum": today, "deadline": today})
    rounds.close_round(session, users["financieel"], spring, allow_missing=True)
    autumn = rounds.open_round(session, users["financieel"], programme, {
        "title": "Voortgangsrapportage najaar", "peildatum": today, "deadline": today + timedelta(days=14),
        "kamerstuk": "Kamerstuk 28638-1000"})
    # Four eyes on, with a mutation by the finance officer waiting for the beheerder.
    set_four_eyes(session, users["beheerder"], programme, True, "10.000")
    budget.add_mutation(session, users["financieel"], programme, year=today.year, amount="25.000",
                        kind="technisch", moment="intern", reason="Aanvulling uit de reserve", mutation_date=today)
    # Two scenarios: one funding a proposal past the budget (a year below zero), one empty to compare with.
    shelf = session.scalar(select(Project).where(Project.programme_id == programme.id, Project.status == "voorstel")
                           .order_by(Project.code))
    wide = scenario_services.create_scenario(session, users["financieel"], programme, "Plankvoorstellen 2027")
    scenario_services.add_entry(session, users["financieel"], wide, "commitment", project=shelf,
                                reference="SC-2027-001", signed_date=today, total="2.500.000,00",
                                schedule={2027: "2.500.000,00"})
    empty = scenario_services.create_scenario(session, users["financieel"], programme, "Niets doen")
    session.commit()

    def first_id(model, *where):
        return session.scalar(select(model.id).where(*where).order_by(model.id).limit(1))

    commitment_id = first_id(Commitment, Commitment.project_id == project_id)
    ids = {
        "project": project_id, "commitment": commitment_id, "organisation": first_id(Organisation),
        "source": first_id(FundingSource),
        "mutation": first_id(BudgetMutation, BudgetMutation.kasschuif_group.is_(None)),
        "group": session.scalar(select(BudgetMutation.kasschuif_group)
                                .where(BudgetMutation.kasschuif_group.isnot(None)).limit(1)),
        "reservation": first_id(StaffingReservation), "cost": first_id(StaffingCost),
        "user": users["financieel"].id, "snapshots": (first.id, second.id), "rounds": (spring.id, autumn.id),
        "scenarios": (wide.id, empty.id), "shelf": shelf.id,
    }
    assert all(ids.values()), ids
    return {"users": users, "ids": ids}


def _pages(ids: dict) -> dict[str, list[str]]:
    """The beheerder walks every page; the other roles the pages that differ for them (menu, amounts, forms)."""
    i = ids
    project, commitment, (snap_a, snap_b) = i["project"], i["commitment"], i["snapshots"]
    everyone = ["/", "/projecten", f"/projecten/{project}", "/rapportage", "/rapportage/standen",
                f"/rapportage/standen/{snap_b}"]
    beheerder = everyone + [
        f"/rapportage/standen/verschil?a={snap_a}&b={snap_b}", "/rapportage/stand.html",
        "/account/tweestapsverificatie", "/account/api-tokens",
        "/budget", "/budget/bronnen/nieuw", f"/budget/bronnen/{i['source']}", "/budget/mutaties/nieuw",
        f"/budget/mutaties/{i['mutation']}", "/budget/kasschuif/nieuw", f"/budget/kasschuif/{i['group']}",
        "/budget/perioden", "/budget/personeel/nieuw", f"/budget/personeel/{i['reservation']}",
        f"/budget/personeel/{i['reservation']}/kosten/nieuw", f"/budget/personeelskosten/{i['cost']}",
        f"/projecten/{project}/verplichtingen/nieuw", f"/verplichtingen/{commitment}/bijstelling",
        f"/verplichtingen/{commitment}/betalingen/nieuw", f"/verplichtingen/{commitment}/vaststelling",
        "/voorschotten", "/onderuitputting", "/projecten/nieuw", f"/projecten/{project}/bewerken",
        f"/projecten/{project}/status", "/organisaties", "/organisaties/nieuw",
        f"/organisaties/{i['organisation']}/bewerken", "/import/", "/audit/", f"/audit/Project/{project}",
        "/gebruikers/", "/gebruikers/nieuw", f"/gebruikers/{i['user']}",
        "/rondes", *(f"/rondes/{r}" for r in i["rounds"]), "/goedkeuring", "/goedkeuring/instellingen",
        "/scenarios", f"/scenarios/{i['scenarios'][0]}", f"/scenarios/{i['scenarios'][0]}/posten/commitment",
        f"/scenarios/{i['scenarios'][0]}/posten/kasschuif",
        f"/scenarios/vergelijken?a={i['scenarios'][0]}&b={i['scenarios'][1]}", "/wachtlijst",
        f"/wachtlijst/{i['shelf']}"]
    return {"beheerder": beheerder,
            "financieel": ["/", f"/projecten/{project}", "/budget", f"/projecten/{project}/verplichtingen/nieuw",
                           "/voorschotten"],
            "projectleider": everyone + ["/projecten/mijn", f"/projecten/{project}/status"],
            "lezer": everyone + ["/account/api-tokens", f"/scenarios/{i['scenarios'][0]}"]}


def _html_get_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods} - SKIP.keys()


def test_every_page_fits_a_phone_and_a_desktop_and_passes_axe(app, session, world, tmp_path):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    axe = Axe()
    urls = app.url_map.bind("localhost")
    too_wide: list[str] = []
    cut_off: list[str] = []
    violations: list[str] = []
    visited: set[str] = set()

    def check(page, label: str) -> None:
        """Measure the page as shown at both widths, then run axe at 1.280 px."""
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.evaluate(RESIZE_CHARTS)
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                too_wide.append(f"{label} at {width} px: {scroll} px wide")
            if hidden := page.evaluate(OUT_OF_VIEW, width >= 1280):
                cut_off.append(f"{label} at {width} px: {', '.join(hidden)}")
        # Only violations are collected: passes would double axe's time on the long pages.
        result = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]})
        if result.violations_count:
            violations.append(f"{label}\n{result.generate_report()}")

    def visit(page, base: str, role: str, path: str) -> None:
        endpoint, _args = urls.match(path.split("?")[0], "GET")
        visited.add(endpoint)
        if endpoint == "reports.standalone":
            # A download the reader opens in a browser: shown as it would be opened from disk.
            response = page.context.request.get(base + path)
            assert response.ok, path
            page.set_content(response.text())
        else:
            response = page.goto(base + path)
            assert response.ok and page.url == base + path, f"{role} {path}: {response.status} {page.url}"
        check(page, f"{role} {path}")

    def check_step(page, label: str) -> None:
        visited.add(urls.match(page.url.removeprefix(base), "GET")[0])
        check(page, label)

    def log_in(page, base: str, user, check_steps: bool = False) -> None:
        """Log in through the pages; `check_steps`: check the login pages on the way too."""
        page.goto(f"{base}/login")
        if check_steps:
            check_step(page, "anoniem /login")
        page.fill("#email", user.email)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_load_state()
        for step, field in (("/login/koppelen", "code.secret"), ("/login/code", None)):
            if page.url.endswith(step):
                if check_steps:
                    check_step(page, f"{user.role} {step}")
                # Koppelen: the key as a person would type it; later, the code the app shows next.
                code = pyotp.TOTP(page.locator(field).inner_text()).now() if field else _next_code(session, user)
                page.fill("#code", code)
                page.locator("main form button[type=submit]").click()
                break
        page.wait_for_url(lambda url: "/login" not in url)

    with serve(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            for role, paths in _pages(world["ids"]).items():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                # The beheerder links an app at the first login (koppelen); the second asks its code.
                log_in(page, base, world["users"][role], check_steps=role == "beheerder")
                for path in paths:
                    visit(page, base, role, path)
                if role == "beheerder":
                    # The import check answers a POST: the programme's own export, shown as it would import.
                    workbook = tmp_path / "stm.xlsx"
                    workbook.write_bytes(context.request.get(f"{base}/import/export.xlsx").body())
                    page.goto(f"{base}/import/")
                    page.set_input_files("#file", workbook)
                    page.get_by_role("button", name="Controleren").click()
                    page.wait_for_url(f"{base}/import/controleren")
                    check(page, "beheerder /import/controleren (na POST)")
                context.close()
            # A second login of the linked beheerder asks for the code (/login/code).
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            log_in(page, base, world["users"]["beheerder"], check_steps=True)
            page.goto(f"{base}/projecten/999999")  # errors/error.html: the Dutch 404 page
            check(page, "beheerder /projecten/999999 (404)")
            context.close()
        finally:
            browser.close()
    assert not too_wide, "Pages wider than the window:\n" + "\n".join(too_wide)
    assert not cut_off, "Links or fields out of view:\n" + "\n".join(cut_off)
    assert not violations, "\n\n".join(violations)
    missing = _html_get_endpoints(app) - visited
    assert not missing, f"Pages not walked (walk them above, or name them in SKIP with why): {sorted(missing)}"


def _next_code(session, user) -> str:
    """The code the beheerder's app shows next: a code logs in once, so after the first login's step."""
    session.rollback()  # see what the server committed
    secret, last_step = session.execute(select(User.totp_secret, User.totp_last_step).where(User.id == user.id)).one()
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(max(int(time.time()) // totp.interval, last_step + 1))
