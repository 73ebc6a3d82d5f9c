"""The workbook prints as the Kamer gets it, and a report for a past year shows 31 December: through page, download and CLI."""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal as D

import openpyxl
import pytest

from core.dates import datum_lang, default_peildatum
from projects import services as portfolio
from reports import excel_print
from reports.excel_print import INTERN, LINE_PT
from reports.terms import TERMS
from tests.factories import (
    commit_money,
    entered_on,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)

LONG_TEXT = ("Een lange openbare toelichting die in de smalle kolom over meerdere regels loopt, zodat de rij "
             "hoger moet zijn dan een gewone rij om niets te laten overlappen. ") * 2
FIRST_HEADERS = {"Samenvatting": "Omschrijving", "Per categorie": "Categorie", "Per programmalijn": "Programmalijn",
                 "Matrix": "Categorie", "Projecten": "Projectcode", "Mutaties": "Datum", "Controles": "Controle",
                 "Verantwoording": "Gegeven", "Toelichting": "Begrip", "Per instrument": "Omschrijving",
                 "Mutatieoverzicht": "Omschrijving", "Verloop verplichtingen": "Categorie"}


@pytest.fixture
def past_year(this_year):
    return this_year - 1


@pytest.fixture
def next_year(this_year):
    return this_year + 1


@pytest.fixture
def setup(session, next_year, this_year, past_year):
    """A programme over last year, this year and next, with one project whose public text is long."""
    fin = make_user(session, "financieel")
    prog = make_programme(session, make_user(session, "beheerder"), code="PRT", first_year=past_year,
                          last_year=next_year)
    fund(session, fin, prog, {past_year: "1.000.000", this_year: "1.000.000", next_year: "1.000.000"})
    project = make_project(session, fin, prog, code="P-01", title="Project met een lange toelichting",
                           contact_person="Contact Persoon", internal_notes="Interne notitie")
    entered_on(session, project, date(past_year, 1, 1))
    commit_money(session, fin, project, {past_year: D(100000), this_year: D(100000)}, signed=date(past_year, 3, 1),
                 reference="BS-1")
    portfolio.add_status_update(session, fin, project, status="voorstel", rag="op_koers",
                                update_date=date(past_year, 3, 2), progress="", public_text=LONG_TEXT, next_steps="")
    session.commit()
    return {"programme": prog, "fin": fin}


def _signed_in(client, session, role="financieel"):
    user = make_user(session, role)
    session.commit()
    login(client, user)


def _header_row(ws) -> int:
    """1-based number of the row whose first cell is the sheet's first header (the workbook's contract)."""
    first = FIRST_HEADERS[ws.title]
    return next(r for r in range(1, 10) if ws.cell(r, 1).value == first)


def _assert_print_ready(wb, year: int, peildatum: date, internal: bool):
    assert set(FIRST_HEADERS) <= set(wb.sheetnames)
    for ws in wb.worksheets:
        ps = ws.page_setup
        assert ps.orientation == "landscape" and ps.paperSize == 9, ws.title  # 9 = A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        # One page wide (fitToWidth absent is 1, the schema's default), as many pages high as needed.
        assert ps.fitToWidth in (None, 1) and ps.fitToHeight == 0, ws.title
        row = _header_row(ws)
        assert ws.print_title_rows == f"${row}:${row}", ws.title
        assert ws.freeze_panes == f"B{row + 1}", ws.title
        head = ws.oddHeader
        assert "PRT" in head.left.text and "Testprogramma" in head.left.text, ws.title
        assert str(year) in head.center.text and f"stand t/m {peildatum:%d-%m-%Y}" in head.center.text, ws.title
        assert (INTERN in head.right.text) == internal, ws.title
        assert "&P" in ws.oddFooter.right.text and "&N" in ws.oddFooter.right.text, ws.title
        assert "Gemaakt op" in ws.oddFooter.left.text, ws.title
        # Titles carry the year with the peildatum next to it.
        title = next(c.value for c in ws["A"][:2] if c.value != INTERN)
        assert f"{year}, stand t/m {peildatum:%d-%m-%Y}" in title, ws.title
    first = wb.worksheets[0]
    assert (first["A1"].value == INTERN) == internal


def _terms_ok(wb):
    ws = wb["Toelichting"]
    row = _header_row(ws)
    assert [ws.cell(row, c).value for c in (1, 2)] == ["Begrip", "Omschrijving"]
    found = [(ws.cell(r, 1).value, ws.cell(r, 2).value) for r in range(row + 1, row + 1 + len(TERMS))]
    assert found == TERMS


@pytest.mark.parametrize("internal", [False, True])
def test_downloaded_workbook_is_print_ready(client, session, setup, internal, past_year):
    _signed_in(client, session)
    url = f"/rapportage/werkboek.xlsx?jaar={past_year}&peildatum={past_year}-06-30"
    url += "&versie=intern" if internal else ""
    response = client.get(url)
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    _assert_print_ready(wb, past_year, date(past_year, 6, 30), internal)
    _terms_ok(wb)
    # The contract holds under the banner: the header row is found by its first cell.
    ws = wb["Samenvatting"]
    assert ws.cell(_header_row(ws), 2).value == past_year


def test_cli_workbook_is_print_ready_and_defaults_to_the_end_of_a_past_year(runner, session, setup, tmp_path,
                                                                            past_year):
    out = tmp_path / "intern.xlsx"
    result = runner.invoke(args=["report", "xlsx", "--programme", "PRT", "--year", str(past_year), "--internal",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"stand t/m {datum_lang(date(past_year, 12, 31))}" in result.output
    wb = openpyxl.load_workbook(out)
    _assert_print_ready(wb, past_year, date(past_year, 12, 31), internal=True)
    _terms_ok(wb)
    rows = dict(wb["Verantwoording"].iter_rows(min_row=4, max_col=2, values_only=True))
    assert rows["Peildatum"].date() == date(past_year, 12, 31)


def test_annex_rows_grow_with_their_text(client, session, setup, past_year):
    _signed_in(client, session)
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/rapportage/werkboek.xlsx?jaar={past_year}").data))
    ws = wb["Projecten"]
    header = [c.value for c in ws[_header_row(ws)]]
    row = next(r for r in ws.iter_rows() if r[0].value == "P-01")
    text = row[header.index("Toelichting")]
    assert text.value == LONG_TEXT.strip() or text.value == LONG_TEXT
    assert text.alignment.wrap_text
    width = ws.column_dimensions[text.column_letter].width
    needed = excel_print.lines(text.value, width)
    assert needed >= 4
    assert ws.row_dimensions[text.row].height >= LINE_PT * needed
    # The width the estimate assumes is what the sheet has: Excel stores a little more than it was given.
    assert 30 <= width <= 34


def test_header_and_footer_escape_user_text():
    meta = {"programme_name": "Zorg & Veiligheid", "programme_code": "ZV", "year": 2025,
            "peildatum": date(2025, 6, 30), "internal": False, "made_at": datetime(2025, 7, 1, 9, 30),
            "snapshot": {"id": 3, "title": "Brief R&D " + "x" * 200}}
    head, foot = excel_print.header_text(meta), excel_print.footer_text(meta)
    assert "&LZorg && Veiligheid (ZV)&C" in head and "&RPagina &P van &N" in foot
    assert "Vastgelegde stand 3: Brief R&&D" in foot and foot.endswith("…, vastgelegd op 01-07-2025 09:30&RPagina &P van &N")
    assert len(head) <= 255 and len(foot) <= 255  # Excel's limit for a header or footer


# --- Defaults: a past year at 31 December, this year and a later one at today ----------------------------------------

def test_default_peildatum_rule():
    assert default_peildatum(2024, date(2026, 11, 30)) == date(2024, 12, 31)
    assert default_peildatum(2026, date(2026, 11, 30)) == date(2026, 11, 30)
    assert default_peildatum(2027, date(2026, 11, 30)) == date(2026, 11, 30)


def test_report_page_and_downloads_default_by_year(client, session, setup, next_year, this_year, past_year, today):
    _signed_in(client, session, "lezer")
    page = client.get(f"/rapportage?jaar={past_year}").get_data(as_text=True)
    end = date(past_year, 12, 31)
    assert f"Stand van zaken {past_year}, stand t/m {datum_lang(end)}" in page
    assert f"peildatum={end.isoformat()}" in page  # the downloads take the same stand
    # The form sends an empty peildatum when none was chosen: still the default.
    empty = client.get(f"/rapportage?jaar={past_year}&peildatum=").get_data(as_text=True)
    assert f"stand t/m {datum_lang(end)}" in empty
    chosen = client.get(f"/rapportage?jaar={past_year}&peildatum={past_year}-06-30").get_data(as_text=True)
    assert f"stand t/m {datum_lang(date(past_year, 6, 30))}" in chosen

    now = client.get(f"/rapportage?jaar={this_year}").get_data(as_text=True)
    assert f"Stand van zaken {this_year}, stand t/m {datum_lang(today)}" in now and "nog niet begonnen" not in now
    later = client.get(f"/rapportage?jaar={next_year}").get_data(as_text=True)
    assert f"Stand van zaken {next_year}, stand t/m {datum_lang(today)}" in later
    assert f"{next_year} is nog niet begonnen" in later

    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/rapportage/werkboek.xlsx?jaar={past_year}").data))
    assert f"{past_year}, stand t/m {end:%d-%m-%Y}" in wb["Samenvatting"]["A1"].value
    assert f"stand t/m {end:%d-%m-%Y}" in wb["Samenvatting"].oddHeader.center.text
    html = client.get(f"/rapportage/stand.html?jaar={past_year}").get_data(as_text=True)
    assert f"stand t/m {datum_lang(end)}" in html
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/rapportage/werkboek.xlsx?jaar={this_year}").data))
    assert f"{this_year}, stand t/m {today:%d-%m-%Y}" in wb["Samenvatting"]["A1"].value


def test_cli_defaults_by_year(runner, session, setup, tmp_path, next_year, this_year, past_year, today):
    out = tmp_path / "nu.xlsx"
    result = runner.invoke(args=["report", "xlsx", "--programme", "PRT", "--year", str(this_year), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"stand t/m {datum_lang(today)}" in result.output
    assert f"{this_year}, stand t/m {today:%d-%m-%Y}" in openpyxl.load_workbook(out)["Samenvatting"]["A1"].value
    html = tmp_path / "later.html"
    result = runner.invoke(args=["report", "html", "--programme", "PRT", "--year", str(next_year), "--out", str(html)])
    assert result.exit_code == 0, result.output
    assert f"stand t/m {datum_lang(today)}" in result.output and f"{next_year} is nog niet begonnen" in result.output
    result = runner.invoke(args=["report", "html", "--programme", "PRT", "--year", str(past_year), "--out", str(html)])
    assert f"stand t/m {datum_lang(date(past_year, 12, 31))}" in result.output
    assert f"stand t/m {datum_lang(date(past_year, 12, 31))}" in html.read_text()
