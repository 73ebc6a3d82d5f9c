"""In headless chromium, offline: the standalone HTML and the report page draw their Plotly charts."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest
from flask import Flask, Response

from budget import services as budget
from reports import charts
from reports.queries import live_frames
from tests.browser import ARGS, serve
from tests.factories import PASSWORD, commit_money, fund, make_programme, make_project, make_user

pytestmark = pytest.mark.browser

LOCAL = "http://127.0.0.1:"


@contextmanager
def _page():
    """A chromium page on which every request to a host other than 127.0.0.1 is blocked and recorded."""
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            def route(r):
                if r.request.url.startswith(LOCAL):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            yield page, blocked
        finally:
            browser.close()


def _drawn(page, count: int) -> dict:
    """Wait until `count` Plotly charts have drawn their SVG, then count bars and line traces."""
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {count * 2}",
                           timeout=20000)
    return page.evaluate("""() => ({
        plots: document.querySelectorAll('.js-plotly-plot').length,
        bars: document.querySelectorAll('.js-plotly-plot .bars .point path').length,
        lines: document.querySelectorAll('.js-plotly-plot .scatterlayer .trace .js-line').length,
    })""")


@pytest.fixture
def programme(session):
    fin = make_user(session, "financieel")
    prog = make_programme(session, make_user(session, "beheerder"))
    fund(session, fin, prog, {2024: "2.000.000", 2025: "2.000.000", 2026: "2.000.000"})
    project = make_project(session, fin, prog, category="lopend", line="zorg")
    c = commit_money(session, fin, project, {2025: 400_000, 2026: 300_000}, signed=date(2025, 1, 10))
    budget.add_payment(session, fin, c, payment_date=date(2025, 3, 1), amount="150.000", kind="voorschot")
    session.commit()
    return prog


def test_standalone_html_draws_its_charts_offline(session, programme):
    html = charts.standalone_html(live_frames(session, programme, 2025, date(2025, 6, 30)))
    static = Flask("standalone")
    static.add_url_rule("/stand.html", "stand", lambda: Response(html, mimetype="text/html"))
    with serve(static) as base, _page() as (page, blocked):
        page.goto(f"{base}/stand.html")
        drawn = _drawn(page, 3)
        assert drawn["plots"] == 3
        assert drawn["bars"] >= 6  # budget, committed and paid per year, and the committed stack
        assert drawn["lines"] >= 2  # cumulative payments and the available budget
        assert blocked == []


def test_report_page_draws_its_charts_from_the_apps_own_plotly(app, session, programme):
    user = make_user(session, "lezer")
    session.commit()
    with serve(app) as base, _page() as (page, blocked):
        page.goto(f"{base}/login")
        page.fill("#email", user.email)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("main button[type=submit]")
        page.goto(f"{base}/rapportage?jaar=2025&peildatum=2025-06-30")
        drawn = _drawn(page, 3)
        assert drawn["plots"] == 3 and drawn["bars"] > 0
        page.goto(f"{base}/?jaar=2025&peildatum=2025-06-30")
        assert _drawn(page, 2)["plots"] == 2
        assert blocked == []
