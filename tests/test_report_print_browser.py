"""The stand van zaken in chromium on the demo: the annex whole at 1.280 px and on paper, stacked on a phone, Dutch modebars."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from budget.demo import load_demo
from projects.models import Programme
from reports import charts
from reports.queries import PUBLIC_PROJECT_COLUMNS, live_frames
from tests.browser import ARGS, WCAG, log_in, serve
from tests.factories import make_user

pytestmark = pytest.mark.browser

REPORT = "/rapportage?jaar=2025&peildatum=2025-06-30"
#: A4 landscape less the print stylesheet's 12 mm margins (273 x 186 mm), in CSS pixels.
PAPER = {"width": 1031, "height": 703}

# Every header cell and every cell of the first and last project: drawn, and within the window.
ANNEX = """() => {
  const table = document.querySelector('#tabel-projecten');
  const rows = [...table.tBodies[0].rows];
  const cells = [...table.tHead.rows[0].cells, ...rows[0].cells, ...rows[rows.length - 1].cells];
  const out = [];
  for (const cell of cells) {
    const r = cell.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0 && r.left >= -0.5 && r.right <= window.innerWidth + 0.5)) {
      out.push(`${cell.innerText.trim().slice(0, 30)}: ${Math.round(r.left)}-${Math.round(r.right)}`);
    }
  }
  return {outside: out, cells: cells.length, rows: rows.length,
          // A soft hyphen lets a long header break; unbroken, a reader sees none.
          headers: [...table.tHead.rows[0].cells].map((c) => c.innerText.trim().replaceAll('\u00ad', '')),
          scroll: document.documentElement.scrollWidth, inner: window.innerWidth};
}"""
# On a phone: every project a block of lines, each line saying which column it is.
STACKED = """() => {
  const table = document.querySelector('#tabel-projecten');
  const head = table.tHead.getBoundingClientRect();
  const rows = [...table.tBodies[0].rows];
  const out = [];
  for (const row of [rows[0], rows[rows.length - 1]]) {
    const cells = [...row.cells];
    cells.forEach((cell, i) => {
      const r = cell.getBoundingClientRect();
      const label = getComputedStyle(cell, '::before').content;
      if (getComputedStyle(cell).display !== 'block') out.push(`${cell.dataset.label}: not a block`);
      if (label !== `"${cell.dataset.label}: "`) out.push(`${cell.dataset.label}: label ${label}`);
      if (r.left < 0 || r.right > window.innerWidth) out.push(`${cell.dataset.label}: ${r.left}-${r.right}`);
      if (i && r.top < cells[i - 1].getBoundingClientRect().bottom - 1) out.push(`${cell.dataset.label}: beside`);
    });
  }
  return {problems: out, labels: [...rows[0].cells].map((c) => c.dataset.label),
          roles: [table.getAttribute('role'), rows[0].getAttribute('role'), rows[0].cells[1].getAttribute('role')],
          head: [head.width, head.height], scroll: document.documentElement.scrollWidth, inner: window.innerWidth};
}"""
# What print must leave out and how it must lay out (computed styles in print emulation).
PRINTED = """() => {
  const shown = (sel) => [...document.querySelectorAll(sel)].filter((el) => el.checkVisibility()).length;
  const table = document.querySelector('#tabel-projecten');
  return {
    shown: Object.fromEntries(['header.top', 'nav', 'form', 'button', '.actions', '.foot', '.modebar-container']
                              .map((sel) => [sel, shown(sel)])),
    thead: getComputedStyle(table.tHead).display,
    rowBreak: getComputedStyle(table.tBodies[0].rows[0]).breakInside,
    clipped: [...document.querySelectorAll('.scroll')].filter((el) => getComputedStyle(el).overflowX !== 'visible').length,
    charts: [...document.querySelectorAll('.js-plotly-plot .main-svg')].map((svg) => svg.getBoundingClientRect().right),
    inner: window.innerWidth,
  };
}"""
MODEBARS = """() => [...document.querySelectorAll('.js-plotly-plot')].map((plot) => ({
  id: plot.id,
  titles: [...plot.querySelectorAll('.modebar-btn')].map((b) => b.getAttribute('data-title')),
  links: plot.querySelectorAll('a[href]').length,
  logo: plot.querySelectorAll('.modebar-btn--logo').length,
  text: plot.innerText,
}))"""
CHARTS_DRAWN = "(n) => document.querySelectorAll('.js-plotly-plot .modebar').length >= n"
CHART_WIDTHS = "() => [...document.querySelectorAll('.js-plotly-plot .main-svg')].map((svg) => svg.getBoundingClientRect().width)"
CHARTS_AT_MOST = """(width) => Math.max(...[...document.querySelectorAll('.js-plotly-plot .main-svg')]
  .map((svg) => svg.getBoundingClientRect().width)) <= width"""
# What Plotly's own resize handler does a moment after the window changes, done now and awaited.
RESIZE_CHARTS = """async () => { if (window.Plotly) await Promise.all(
  [...document.querySelectorAll('.js-plotly-plot')].map((chart) => window.Plotly.Plots.resize(chart))); }"""


@pytest.fixture
def world(session):
    """The demo programme, a reader (the public version) and a finance officer (the internal one)."""
    load_demo(session, with_users=False)
    users = {role: make_user(session, role) for role in ("lezer", "financieel")}
    programme = session.scalar(select(Programme).where(Programme.code == "STM"))
    session.commit()
    return {"users": users, "programme": programme}


def _window(page, width: int, height: int = 900) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.evaluate(RESIZE_CHARTS)


def _fits(page) -> dict:
    annex = page.evaluate(ANNEX)
    assert annex["rows"] > 10  # the demo's projects
    assert annex["outside"] == [], annex
    assert annex["scroll"] <= annex["inner"], annex
    return annex


def _printed(page) -> dict:
    """In print emulation on a page as wide as A4 landscape: every annex column on it, nothing of the screen's."""
    page.emulate_media(media="print")
    # Still the 1.280 px window: charts.js draws every chart at the paper's width once the media is print.
    page.wait_for_function(CHARTS_AT_MOST, arg=PAPER["width"], timeout=5000)
    _window(page, PAPER["width"], PAPER["height"])
    _fits(page)
    printed = page.evaluate(PRINTED)
    assert all(n == 0 for n in printed["shown"].values()), printed["shown"]
    assert printed["thead"] == "table-header-group" and printed["rowBreak"] == "avoid"
    assert printed["clipped"] == 0
    assert printed["charts"] and max(printed["charts"]) <= printed["inner"] + 0.5, printed
    page.emulate_media(media="null")  # no emulation: print is print again, for page.pdf()
    _window(page, 1280)
    assert min(page.evaluate(CHART_WIDTHS)) > PAPER["width"]  # and back at the window's width after
    return printed


def _stacks(page) -> None:
    _window(page, 375, 800)
    stacked = page.evaluate(STACKED)
    assert stacked["problems"] == [], stacked
    assert stacked["labels"] == PUBLIC_PROJECT_COLUMNS
    assert stacked["roles"] == ["table", "row", "cell"]
    assert stacked["head"][0] <= 1 and stacked["head"][1] <= 1  # the header row: for screen readers only
    assert stacked["scroll"] <= stacked["inner"], stacked


def _dutch_modebars(page, count: int) -> None:
    page.wait_for_function(CHARTS_DRAWN, arg=count, timeout=20000)
    bars = page.evaluate(MODEBARS)
    assert len(bars) == count
    for bar in bars:
        # Only these two, in Dutch; no share, cloud, edit or "Produced with Plotly" link.
        assert bar["titles"] == ["Download als PNG", "Assen herstellen"], bar["id"]
        assert bar["links"] == 0 and bar["logo"] == 0, bar["id"]
        assert not re.search(r"(?i)share|cloud|chart studio|edit|plotly", bar["text"]), bar["text"]


def _axe(page, label: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]})
    assert result.violations_count == 0, f"{label}\n{result.generate_report()}"


def test_report_page_fits_a_desktop_paper_and_a_phone(app, session, world, tmp_path):
    from playwright.sync_api import sync_playwright

    with serve(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log_in(page, base, world["users"]["lezer"])
            page.goto(base + REPORT)
            _dutch_modebars(page, 3)
            annex = _fits(page)
            assert annex["headers"] == PUBLIC_PROJECT_COLUMNS
            assert page.locator("h1").inner_text().startswith("Stand van zaken 2025, stand t/m 30 juni 2025")
            _axe(page, "Rapportage at 1280 px")
            page.screenshot(path=tmp_path / "rapportage-1280.png", full_page=True)

            _printed(page)
            # The real print: A4 landscape on every page, charts back at the window's width afterwards.
            pdf = page.pdf(prefer_css_page_size=True, print_background=True)
            boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
            assert len(boxes) >= 3 and all(round(float(w)) == 842 and round(float(h)) == 595 for w, h in boxes)
            (tmp_path / "rapportage.pdf").write_bytes(pdf)

            _fits(page)
            _stacks(page)
            _axe(page, "Rapportage at 375 px")
        finally:
            browser.close()


def test_internal_annex_prints_every_column(app, session, world):
    """The internal version's three extra columns scroll in their region at 1.280 px, but are all on paper."""
    from playwright.sync_api import sync_playwright

    with serve(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log_in(page, base, world["users"]["financieel"])
            page.goto(base + REPORT + "&versie=intern")
            page.wait_for_function(CHARTS_DRAWN, arg=3, timeout=20000)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            _printed(page)
            assert page.evaluate(ANNEX)["headers"][-3:] == ["Projectleider", "Contactpersoon", "Interne notitie"]
        finally:
            browser.close()


def test_standalone_html_fits_a_desktop_paper_and_a_phone(session, world, tmp_path):
    """The mailed file as a reader opens it from disk."""
    from playwright.sync_api import sync_playwright

    html = charts.standalone_html(live_frames(session, world["programme"], 2025, date(2025, 6, 30)))
    report = tmp_path / "stand.html"
    report.write_text(html, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            outside: list[str] = []

            def offline(route):
                # Mailed as one file: it loads nothing from anywhere.
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.goto(report.as_uri())
            assert page.title().startswith("Stand van zaken 2025, stand t/m 30 juni 2025")
            _dutch_modebars(page, 3)
            assert _fits(page)["headers"] == PUBLIC_PROJECT_COLUMNS
            _printed(page)
            _stacks(page)
            assert outside == []
        finally:
            browser.close()


def test_dashboard_modebars_are_dutch_without_a_cloud(app, session, world):
    from playwright.sync_api import sync_playwright

    with serve(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log_in(page, base, world["users"]["lezer"])
            page.goto(f"{base}/?jaar=2025&peildatum=2025-06-30")
            _dutch_modebars(page, 2)
            # The hover title is the button's data-title: what a mouse user reads.
            page.hover("#grafiek-budget")
            button = page.locator("#grafiek-budget .modebar-btn").first
            button.hover()
            assert button.get_attribute("data-title") == "Download als PNG"
        finally:
            browser.close()
