"""Overruns show and percentages agree: a year past the budget stop is marked, named and checked everywhere."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal as D

import openpyxl
import pytest

from budget import services as budget
from core.users import create_user
from reports import services as snapshots
from reports.queries import frames, live_frames
from tests.factories import (
    PASSWORD,
    TEST_ACTOR,
    commit_money,
    fund,
    make_programme,
    make_project,
    make_user,
)
from tests.factories import login as login_as

REASON = "Toezegging in de Kamerbrief van 12 november"
BOSS_NAME = "Bea Heerlijk"


@pytest.fixture
def overrun(session):
    """Programme 2025–2027; 2027 overcommitted by € 180.000 through a beheerder's override.

    2027: available 2.750.000, committed 2.930.000: 106,545...% (rounded twice it read 106,6 %).
    2026: paid 469.000 of 2.000.000: exactly 23,45 % (half up 23,5 %; half even or a float 23,4 %).
    Commitment BS-4A is paid 140.000 on 02-03-2026 and raised to 150.000 only on 01-09-2026: at
    30-06-2026 it is overpaid, hidden behind BS-4B of the same project in a per-project sum.
    """
    fin = make_user(session, "financieel")
    boss = create_user(session, TEST_ACTOR, "bea.heerlijk@minjenv.example", BOSS_NAME, "beheerder", PASSWORD)
    prog = make_programme(session, boss, code="OVR", first_year=2025, last_year=2027)
    fund(session, fin, prog, {2025: "2.000.000", 2026: "2.000.000", 2027: "2.000.000"})
    fund(session, fin, prog, {2027: "750.000"}, name="Extra JenV", kind="incidenteel")
    signed = date(2026, 1, 15)
    p1 = make_project(session, fin, prog, code="OVR-1")
    commit_money(session, fin, p1, {2027: D("2650000")}, signed=signed, reference="BS-1")
    p2 = make_project(session, fin, prog, code="OVR-2")
    budget.add_commitment(session, boss, p2, reference="BS-2", signed_date=signed, total=D("280000"),
                          schedule={2027: D("280000")}, override_reason=REASON)
    p3 = make_project(session, fin, prog, code="OVR-3")
    c3 = commit_money(session, fin, p3, {2026: D("500000")}, signed=signed, reference="BS-3")
    budget.add_payment(session, fin, c3, payment_date=date(2026, 3, 1), amount="329.000", kind="betaling")
    p4 = make_project(session, fin, prog, code="OVR-4")
    c4a = commit_money(session, fin, p4, {2026: D("100000")}, signed=signed, reference="BS-4A")
    commit_money(session, fin, p4, {2026: D("200000")}, signed=signed, reference="BS-4B")
    budget.adjust_commitment(session, fin, c4a, adjustment_date=date(2026, 9, 1), changes={2026: "50.000"},
                             reason="Ophoging na aanvraag")
    budget.add_payment(session, fin, c4a, payment_date=date(2026, 3, 2), amount="140.000", kind="betaling")
    session.commit()
    return {"programme": prog, "fin": fin, "boss": boss}


def _login(client, session, role):
    user = make_user(session, role)
    session.commit()
    login_as(client, user)
    return user


def _table(ws, first_header):
    rows = list(ws.iter_rows())
    start = next(i for i, r in enumerate(rows) if r[0].value == first_header)
    header = [c.value for c in rows[start] if c.value is not None]
    return header, [r for r in rows[start + 1:] if any(c.value is not None for c in r)]


def _workbook(client, url):
    r = client.get(url)
    assert r.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(r.data))


def _red(cell) -> bool:
    color = cell.font.color
    return bool(color is not None and str(color.rgb).upper().endswith("C00000"))


def _shown_by_excel(cell) -> str:
    """What Excel shows for a 0.0% cell, without rounding: the cell must hold the rounded value already."""
    assert cell.number_format == "0.0%"
    shown = D(repr(cell.value)) * 100
    assert shown == shown.quantize(D("0.1")), f"{cell.value} would be rounded again by Excel"
    return f"{shown.quantize(D('0.1'))}".replace(".", ",") + "%"


def _row_cells(html: str, table_id: str, label: str) -> list[str]:
    """The cells of one row of an HTML table, as text."""
    table = html[html.index(f'id="{table_id}"'):]
    table = table[:table.index("</table>")]
    row = table[table.index(f">{label}</th>"):]
    row = row[:row.index("</tr>")]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_page_html_report_and_workbook_show_the_same_percentages(client, session, overrun, today):
    _login(client, session, "financieel")
    args = f"jaar=2027&peildatum={today.isoformat()}"
    page = client.get(f"/rapportage?{args}").get_data(as_text=True)
    html = client.get(f"/rapportage/stand.html?{args}").get_data(as_text=True)
    wb = _workbook(client, f"/rapportage/werkboek.xlsx?{args}")
    header, rows = _table(wb["Samenvatting"], "Omschrijving")
    years = header[1:]
    book = {r[0].value: {y: _shown_by_excel(c) for y, c in zip(years, r[1:])}
            for r in rows if r[0].value in ("% verplicht", "% gerealiseerd")}
    for label in ("% verplicht", "% gerealiseerd"):
        on_page = dict(zip(years, _row_cells(page, "tabel-samenvatting", label)))
        in_html = dict(zip(years, _row_cells(html, "tabel-samenvatting", label)))
        assert on_page == in_html == book[label], label
    assert book["% verplicht"][2027] == "106,5%"      # 106,545...%, not 106,55 % rounded again
    assert book["% gerealiseerd"][2026] == "23,5%"    # exactly 23,45 %: half up
    # The dashboard's tile shows the same value.
    dash = client.get(f"/?{args}").get_data(as_text=True)
    tiles = dash[dash.index('id="kerncijfers"'):dash.index("</dl>", dash.index('id="kerncijfers"'))]
    assert "106,5%" in tiles


def test_an_overridden_overrun_is_marked_and_named_everywhere(client, session, overrun, today):
    _login(client, session, "financieel")
    args = f"jaar=2027&peildatum={today.isoformat()}"

    wb = _workbook(client, f"/rapportage/werkboek.xlsx?{args}")
    _h, body = _table(wb["Controles"], "Controle")
    checks = {r[0].value: r for r in body}
    row = checks["Vrije ruimte niet negatief (2027)"]
    assert row[1].value == "AFWIJKING" and row[2].value == -180000 and row[3].value == 0
    assert checks["Vrije ruimte niet negatief (2026)"][1].value == "OK"
    # The Samenvatting marks the year's cells red and says why above the table, without a name.
    ws = wb["Samenvatting"]
    header, rows = _table(ws, "Omschrijving")
    col = header.index(2027)
    by_label = {r[0].value: r for r in rows}
    for label in ("Vrije ruimte", "% verplicht"):
        assert _red(by_label[label][col]), label
        assert not _red(by_label[label][header.index(2026)]), label
    assert _red(row[1])
    notes = " ".join(str(c.value) for r in ws.iter_rows(max_row=6) for c in r if isinstance(c.value, str))
    assert "2027: de vrije ruimte is negatief (€\xa0-180.000,00)" in notes
    assert REASON in notes and "een beheerder" in notes and BOSS_NAME not in notes

    # The report page: the checks summary never says "alle OK"; the note names the override.
    page = client.get(f"/rapportage?{args}").get_data(as_text=True)
    assert "controles zijn OK" not in page
    summary = page[page.index('id="controles"'):page.index("</div>", page.index('id="controles"'))]
    assert re.search(r"1 van de \d+ controles wijkt af", summary)
    assert "Vrije ruimte niet negatief (2027): €\xa0-180.000,00 / €\xa00,00" in summary
    assert REASON in page and BOSS_NAME not in page  # the public version names no one
    cells = _row_cells(page, "tabel-samenvatting", "Vrije ruimte")
    assert "€\xa0-180.000,00" in cells[-1]
    assert 'class="num negative"' in page
    internal = client.get(f"/rapportage?{args}&versie=intern").get_data(as_text=True)
    assert f"door {BOSS_NAME} bij een verplichting (tekort €\xa0180.000,00)" in internal

    html = client.get(f"/rapportage/stand.html?{args}").get_data(as_text=True)
    assert REASON in html and "2027: de vrije ruimte is negatief" in html and "negative" in html

    dash = client.get(f"/?{args}").get_data(as_text=True)
    assert "2027: de vrije ruimte is negatief" in dash and REASON in dash
    assert 'class="overrun"' in dash


def test_the_cli_says_how_many_checks_deviate_and_why(runner, overrun, tmp_path, today):
    out = tmp_path / "stand.xlsx"
    result = runner.invoke(args=["report", "xlsx", "--programme", "OVR", "--year", "2027", "--peildatum",
                                 today.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "alle OK" not in result.output.lower() and "Alle" not in result.output
    assert re.search(r"1 van de \d+ controles wijkt af", result.output)
    assert "Let op: 2027: de vrije ruimte is negatief (€\xa0-180.000,00)" in result.output and REASON in result.output
    html = runner.invoke(args=["report", "html", "--programme", "OVR", "--year", "2027", "--peildatum",
                               today.isoformat(), "--out", str(tmp_path / "stand.html")])
    assert html.exit_code == 0 and re.search(r"1 van de \d+ controles wijkt af", html.output)
    assert REASON in html.output


def test_the_budget_page_marks_the_year_and_names_who_overrode(client, session, overrun):
    _login(client, session, "financieel")
    html = client.get("/budget").get_data(as_text=True)
    assert "2027: de vrije ruimte is negatief (€\xa0-180.000,00)" in html
    assert f"door {BOSS_NAME} bij een verplichting" in html and REASON in html
    assert 'num negative' in html


def test_an_overpaid_commitment_shows_even_when_its_project_is_not_overpaid(client, session, overrun):
    _login(client, session, "financieel")
    wb = _workbook(client, "/rapportage/werkboek.xlsx?jaar=2026&peildatum=2026-06-30")
    _h, body = _table(wb["Controles"], "Controle")
    checks = {r[0].value: [c.value for c in r[1:4]] for r in body}
    assert checks["Betaald ≤ verplicht (alle 5 verplichtingen): aantal met meer betaald"] == ["AFWIJKING", 1, 0]
    assert checks["Betaald ≤ verplicht: verplichting BS-4A (project OVR-4): betaald, verplicht"] == [
        "AFWIJKING", 140000, 100000]
    page = client.get("/rapportage?jaar=2026&peildatum=2026-06-30").get_data(as_text=True)
    assert "BS-4A" in page
    # Once the raise of 01-09-2026 counts, the commitment is within its total again.
    wb = _workbook(client, "/rapportage/werkboek.xlsx?jaar=2026&peildatum=2026-09-30")
    _h, body = _table(wb["Controles"], "Controle")
    checks = {r[0].value: [c.value for c in r[1:4]] for r in body}
    assert checks["Betaald ≤ verplicht (alle 5 verplichtingen): aantal met meer betaald"] == ["OK", 0, 0]
    assert not any("BS-4A" in k for k in checks)


def test_a_snapshot_keeps_the_note_and_the_checks(session, overrun, today):
    snap = snapshots.create_snapshot(session, overrun["fin"], overrun["programme"], today, "Stand met overschrijding")
    session.commit()
    rf = snapshots.snapshot_frames(snap, 2027)
    assert REASON in rf.overruns[2027] and BOSS_NAME not in rf.overruns[2027]
    assert BOSS_NAME in snapshots.snapshot_frames(snap, 2027, internal=True).overruns[2027]
    failed = rf.controls[rf.controls["Uitkomst"] != "OK"]
    assert list(failed["Controle"]) == ["Vrije ruimte niet negatief (2027)"]
    assert rf.summary.loc["% verplicht", 2027] == D("1.065")


def test_a_report_at_a_peildatum_names_only_overrides_recorded_by_then(session, overrun, today):
    # At 30-06-2026 the 2027 commitments (signed 15-01-2026) count, but the override was recorded later.
    rf = live_frames(session, overrun["programme"], 2026, date(2026, 6, 30))
    assert rf.overruns[2027].endswith("De audittrail bevat t/m de peildatum geen doorbreking van de budgetstop "
                                      "voor dit jaar.")
    assert REASON in live_frames(session, overrun["programme"], 2026, today).overruns[2027]


def test_a_snapshot_from_before_these_checks_still_reads(session, overrun):
    snap = snapshots.create_snapshot(session, overrun["fin"], overrun["programme"], date(2026, 6, 30), "Oud")
    session.commit()
    state = snapshots.snapshot_state(snap)
    del state["overrides"], state["commitments"]  # what a snapshot made before this change holds
    rf = frames(state, 2026)
    assert rf.overruns[2027].endswith("Deze vastgelegde stand bevat geen gegevens over doorbrekingen van de "
                                      "budgetstop.")
    checks = dict(zip(rf.controls["Controle"], rf.controls["Uitkomst"]))
    # Its projects' totals are all it has: OVR-4 as a whole is not overpaid, so that check cannot see BS-4A.
    assert checks["Aantal projecten met meer betaald dan verplicht"] == "OK"
    assert checks["Vrije ruimte niet negatief (2027)"] == "AFWIJKING"


@pytest.mark.parametrize("role, named", [("lezer", False), ("financieel", True)])
def test_the_dashboard_names_who_overrode_only_to_finance_roles(client, session, overrun, role, named, today):
    _login(client, session, role)
    dash = client.get(f"/?jaar=2027&peildatum={today.isoformat()}").get_data(as_text=True)
    note = dash[dash.index('id="kerncijfers-overschrijding"'):]
    note = note[:note.index("</p>")]
    assert REASON in note and "€\xa0-180.000,00" in note
    assert (BOSS_NAME in note) is named and ("door een beheerder" in note) is not named
