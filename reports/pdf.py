"""The standalone HTML report printed to an A4 PDF by headless Chromium (playwright), with page numbers."""
from __future__ import annotations

import html
import shutil
from pathlib import Path

from core.dates import datum_lang
from core.errors import DomainError
from reports.queries import ReportFrames

CHROMIUM = "/usr/bin/chromium"
INSTALL = "apt-get install -y --no-install-recommends chromium"
# As tests/browser.py: no sandbox (root in a container), and nothing that calls outside hosts.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
MARGIN_MM = {"top": 18, "bottom": 16, "left": 14, "right": 14}
# The page is laid out at the printable width (A4 minus the margins, in CSS pixels), so the
# Plotly charts, which size themselves in pixels when drawn, fit the paper exactly.
PRINT_WIDTH_PX = round((297 - MARGIN_MM["left"] - MARGIN_MM["right"]) / 25.4 * 96)
TIMEOUT_MS = 30_000


class PdfUnavailable(DomainError):
    """No Chromium (or no playwright) on this machine: the PDF cannot be made here."""


def chromium_path() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


def _unavailable(reason: str) -> PdfUnavailable:
    return PdfUnavailable(f"De PDF kan op deze server niet worden gemaakt: {reason} Installeer Chromium met "
                          f"`sudo {INSTALL}` (of `make test`, dat het als root installeert). Het werkboek, de "
                          "losse HTML en de Word-bijlage werken zonder.")


def build_pdf(rf: ReportFrames) -> bytes:
    """The report of `rf` as PDF bytes; raises PdfUnavailable when no Chromium can be started."""
    from reports import charts

    if rf.meta["internal"]:
        raise ValueError("De PDF is altijd de openbare versie.")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise _unavailable("het pakket playwright ontbreekt (pip install -r requirements.txt).") from None
    executable = chromium_path()
    if executable is None:
        raise _unavailable("Chromium ontbreekt.")
    document = charts.standalone_html(rf)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1000})
                # Everything is in the document itself: any request out is refused.
                page.route("**/*", lambda route: route.abort())
                page.set_content(document, wait_until="load", timeout=TIMEOUT_MS)
                # Plotly draws with JavaScript: print once every chart has its SVG.
                page.wait_for_function(
                    "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))",
                    timeout=TIMEOUT_MS)
                page.emulate_media(media="print")
                page.add_style_tag(content=PRINT_CSS)
                # Landscape: the project annex has thirteen columns, and all of them must be on the paper.
                return page.pdf(format="A4", landscape=True, print_background=True, display_header_footer=True,
                                header_template=_header(rf), footer_template=FOOTER,
                                margin={k: f"{v}mm" for k, v in MARGIN_MM.items()})
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise _unavailable(f"Chromium gaf een fout ({str(exc).splitlines()[0][:200]}).") from None


#: On paper nothing scrolls: every table column must be on the page, so the type is a little smaller.
PRINT_CSS = """
body { max-width: none; padding: 0; font-size: 10pt; line-height: 1.35; }
h1 { font-size: 18pt; } h2 { font-size: 13pt; break-after: avoid; }
.scroll { overflow: visible !important; }
table.figures { font-size: 8pt; }
table.figures th, table.figures td { padding: .15rem .3rem; }
tr { break-inside: avoid; }
"""
_STYLE = "font-family: Arial, 'Liberation Sans', sans-serif; font-size: 9px; color: #555; width: 100%; margin: 0 14mm;"
FOOTER = (f'<div style="{_STYLE} text-align: right;">Pagina <span class="pageNumber"></span> van '
          '<span class="totalPages"></span></div>')


def _header(rf: ReportFrames) -> str:
    m = rf.meta
    text = (f"{m['programme_name']} · Stand van zaken {m['year']} · stand t/m {datum_lang(m['peildatum'])}"
            + (f" · vastgelegde stand {m['snapshot']['id']}" if m["snapshot"] else "") + " · openbare versie")
    return f'<div style="{_STYLE}">{html.escape(text)}</div>'
