"""The budget documents' sheets (Per instrument, Mutatieoverzicht, Verloop verplichtingen) against hand arithmetic."""
from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from decimal import Decimal as D

import openpyxl
import pytest
from sqlalchemy import select

from budget import services as budget
from budget.demo import DEMO_CODE, load_demo
from budget.ledger import programme_years
from projects.models import Programme
from reports import excel, services
from reports.models import ReportSnapshot
from reports.queries import live_frames
from tests.factories import (
    commit_money,
    entered_on,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)

PEIL = date(2025, 6, 30)
BUDGET_SHEETS = ["Per instrument", "Mutatieoverzicht", "Verloop verplichtingen"]
INSTRUMENT_ROWS = ["Subsidies", "Opdrachten", "Bijdragen aan medeoverheden", "Bijdragen aan zbo's/rwt's",
                   "Overige instrumenten", "Ambtelijke ondersteuning JenV (apparaat)", "Totaal"]
VERLOOP_HEADER = ["Categorie", "Stand 1 januari", "Aangegaan", "Betaald", "Negatieve bijstellingen / vrijval",
                  "Positieve bijstellingen", "Stand einde periode", "Voorschotten 1 januari", "Voorschotten verstrekt",
                  "Voorschotten vastgesteld", "Openstaande voorschotten"]


@pytest.fixture
def world(session):
    """Programme 2024–2026 at 30-06-2025: three instruments, every budget moment, entries after the peildatum."""
    fin = make_user(session, "financieel")
    prog = make_programme(session, make_user(session, "beheerder"))
    fund(session, fin, prog, {2024: "1.000.000", 2025: "1.000.000", 2026: "1.000.000"}, name="Coalitieakkoord")
    fund(session, fin, prog, {2025: "200.000"}, name="Extra JenV", kind="incidenteel")
    mutation = lambda year, amount, kind, moment, reason, day: budget.add_mutation(
        session, fin, prog, year=year, amount=amount, kind=kind, moment=moment, reason=reason, mutation_date=day)
    mutation(2025, "20.000", "beleidsmatig", "ontwerpbegroting", "Amendement opvang", date(2024, 12, 1))
    mutation(2025, "50.000", "beleidsmatig", "voorjaarsnota", "Intensivering zorg", date(2025, 4, 15))
    budget.add_kasschuif(session, fin, prog, amounts={2024: "-100.000", 2025: "100.000"}, moment="najaarsnota",
                         reason="Vertraging project A", mutation_date=date(2024, 11, 20))
    mutation(2024, "5.000", "technisch", "slotwet", "Slotwet 2024", date(2025, 3, 1))
    mutation(2026, "-10.000", "technisch", "intern", "Interne herschikking", date(2025, 2, 1))
    mutation(2025, "-30.000", "technisch", "najaarsnota", "Na de peildatum", date(2025, 10, 1))
    for year, amount, costs in ((2024, "100.000", [(date(2024, 12, 31), "100.000")]),
                                (2025, "150.000", [(date(2025, 3, 31), "40.000"), (date(2025, 6, 30), "35.000"),
                                                   (date(2025, 9, 30), "40.000")])):
        res = budget.set_staffing_reservation(session, fin, prog, year=year, fte="1,0", amount=amount,
                                              valid_from=date(year, 1, 1))
        for day, cost in costs:
            budget.add_staffing_cost(session, fin, res, cost_date=day, amount=cost, description="kwartaal")
    a = make_project(session, fin, prog, code="A", category="lopend", instrument="subsidie")
    b = make_project(session, fin, prog, code="B", category="nieuw", instrument="opdracht")
    c = make_project(session, fin, prog, code="C", category="vervolg", instrument="bijdrage_medeoverheid",
                     predecessor_outside="Project uit het vorige programma")
    d = make_project(session, fin, prog, code="D", category="op_de_plank", instrument="bijdrage_zbo_rwt")
    for project in (a, b, c, d):
        entered_on(session, project, date(2024, 1, 1))
    ca = commit_money(session, fin, a, {2024: D(100000), 2025: D(150000), 2026: D(50000)},
                      signed=date(2024, 3, 1), reference="BS-A")
    cb = commit_money(session, fin, b, {2025: D(80000), 2026: D(40000)}, signed=date(2025, 2, 10),
                      reference="BS-B")
    cc = commit_money(session, fin, c, {2024: D(70000)}, signed=date(2024, 6, 1), reference="BS-C")
    commit_money(session, fin, d, {2025: D(50000)}, signed=date(2025, 8, 1), reference="BS-D")  # after
    pay = lambda commitment, day, amount, kind: budget.add_payment(
        session, fin, commitment, payment_date=day, amount=amount, kind=kind)
    pay(ca, date(2024, 3, 15), "100.000", "voorschot")
    pay(cc, date(2024, 7, 1), "60.000", "betaling")
    pay(ca, date(2025, 2, 1), "80.000", "voorschot")
    pay(cb, date(2025, 3, 1), "30.000", "betaling")
    pay(ca, date(2025, 5, 20), "5.000", "terugbetaling")
    pay(ca, date(2025, 7, 15), "20.000", "betaling")  # after
    adjust = lambda commitment, day, changes, reason: budget.adjust_commitment(
        session, fin, commitment, adjustment_date=day, changes=changes, reason=reason)
    adjust(cc, date(2024, 11, 1), {2024: "-10.000"}, "Lagere vaststelling 2024")
    adjust(ca, date(2025, 5, 1), {2025: "-20.000"}, "Lagere vaststelling")
    adjust(cb, date(2025, 6, 15), {2026: "10.000"}, "Meerwerk")
    session.commit()
    return {"programme": prog, "fin": fin, "ca": ca, "cb": cb}


# --- Hand arithmetic (independent of the code under test) -------------------------------------------

def _expected_instruments() -> dict:
    """(Omschrijving, Instrument): [2024, 2025, 2026] at 30-06-2025."""
    committed = {
        "Subsidies": [100000, 150000 - 20000, 50000],               # A, its lower vaststelling in 2025
        "Opdrachten": [0, 80000, 40000 + 10000],                    # B, meerwerk in 2026
        "Bijdragen aan medeoverheden": [70000 - 10000, 0, 0],       # C
        "Bijdragen aan zbo's/rwt's": [0, 0, 0],                     # D is signed after the peildatum
        "Overige instrumenten": [0, 0, 0],
        "Ambtelijke ondersteuning JenV (apparaat)": [100000, 150000, 0],
    }
    paid = {
        "Subsidies": [100000, 80000 - 5000, 0],                     # the payment of 15-07 is after it
        "Opdrachten": [0, 30000, 0],
        "Bijdragen aan medeoverheden": [60000, 0, 0],
        "Bijdragen aan zbo's/rwt's": [0, 0, 0],
        "Overige instrumenten": [0, 0, 0],
        "Ambtelijke ondersteuning JenV (apparaat)": [100000, 40000 + 35000, 0],
    }
    out = {}
    for measure, rows in (("Verplicht", committed), ("Gerealiseerd", paid)):
        for label, values in rows.items():
            out[(measure, label)] = values
        out[(measure, "Totaal")] = [sum(v[i] for v in rows.values()) for i in range(3)]
    return out


#: Mutatieoverzicht: (Omschrijving, Soort, [2024, 2025, 2026]); None is an empty cell.
EXPECTED_MOMENTS = [
    ("Financieringsbron: Coalitieakkoord", "Structureel", [1000000, 1000000, 1000000]),
    ("Financieringsbron: Extra JenV", "Incidenteel", [None, 200000, None]),
    ("Amendement opvang", "Beleidsmatig", [None, 20000, None]),
    ("Stand ontwerpbegroting", None, [1000000, 1220000, 1000000]),
    ("Intensivering zorg", "Beleidsmatig", [None, 50000, None]),
    ("Stand 1e suppletoire begroting (Voorjaarsnota)", None, [1000000, 1270000, 1000000]),
    ("Vertraging project A", "Kasschuif", [-100000, 100000, None]),
    ("Stand 2e suppletoire begroting (Najaarsnota)", None, [900000, 1370000, 1000000]),
    ("Slotwet 2024", "Technisch", [5000, None, None]),
    ("Stand slotwet", None, [905000, 1370000, 1000000]),
    ("Interne herschikking", "Technisch", [None, None, -10000]),
    ("Beschikbaar budget", None, [905000, 1370000, 990000]),
]

#: Verloop verplichtingen 2025 (1-1 t/m 30-6): per category the columns after Categorie. Nothing is settled
#: (no vaststelling), so every advance paid is open.
EXPECTED_VERLOOP = {
    # A: 300.000 signed in 2024, 100.000 advanced then; 80.000 advanced and 5.000 refunded in 2025; −20.000.
    "Lopend": [300000 - 100000, 0, 80000 - 5000, 20000, 0, 200000 - 75000 - 20000, 100000, 80000, 0, 180000],
    # C: 70.000 − 10.000 (2024) − 60.000 paid in 2024: nothing open on 1 January, nothing moves.
    "Vervolg": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "Op de plank": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # D is signed after the peildatum
    # B: 120.000 signed in 2025, 30.000 paid, +10.000 meerwerk.
    "Nieuw": [0, 120000, 30000, 0, 10000, 120000 - 30000 + 10000, 0, 0, 0, 0],
}
EXPECTED_VERLOOP["Totaal"] = [sum(v[i] for v in EXPECTED_VERLOOP.values()) for i in range(10)]


# --- Reading the workbook back ------------------------------------------------------------------------

def _rows(ws, first_header: str) -> tuple[list, list[list]]:
    """(header, rows) of the table whose header row starts with `first_header`, up to the first empty row."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == first_header)
    header = list(rows[start])
    while header and header[-1] is None:
        header.pop()
    body = []
    for r in rows[start + 1:]:
        if all(v is None for v in r):
            break
        body.append(list(r[:len(header)]))
    return header, body


def _eur(value):
    return None if value is None else D(str(value)).quantize(D("0.01"))


def _money(values) -> list:
    return [None if v is None else D(v).quantize(D("0.01")) for v in values]


def _assert_sheets(wb) -> None:
    """The three sheets hold exactly the hand-computed numbers, and every control is OK."""
    assert [n for n in wb.sheetnames if n in BUDGET_SHEETS] == BUDGET_SHEETS
    header, body = _rows(wb["Per instrument"], "Omschrijving")
    assert header == ["Omschrijving", "Instrument", 2024, 2025, 2026]
    expected = _expected_instruments()
    assert [(r[0], r[1]) for r in body] == list(expected)
    assert [r[1] for r in body[:7]] == INSTRUMENT_ROWS
    for r in body:
        assert [_eur(v) for v in r[2:]] == _money(expected[(r[0], r[1])]), r[:2]

    header, body = _rows(wb["Mutatieoverzicht"], "Omschrijving")
    assert header == ["Omschrijving", "Soort", "Datum", 2024, 2025, 2026, "Kenmerk"]
    assert [(r[0], r[1]) for r in body] == [(label, kind) for label, kind, _v in EXPECTED_MOMENTS]
    for r, (label, _kind, values) in zip(body, EXPECTED_MOMENTS):
        assert [_eur(v) for v in r[3:6]] == _money(values), label
    kasschuif = next(r for r in body if r[1] == "Kasschuif")
    assert kasschuif[2].date() == date(2024, 11, 20)

    header, body = _rows(wb["Verloop verplichtingen"], "Categorie")
    assert header == VERLOOP_HEADER
    assert [r[0] for r in body] == list(EXPECTED_VERLOOP)
    for r in body:
        assert [_eur(v) for v in r[1:]] == _money(EXPECTED_VERLOOP[r[0]]), r[0]
    ws = wb["Verloop verplichtingen"]
    note = ws.cell(row=2, column=1).value
    assert "1 januari 2025 t/m 30 juni 2025 (de peildatum)" in note
    assert "telt als openstaand tot de vaststelling van zijn subsidie" in note and "vrijval" in note

    _h, controls = _rows(wb["Controles"], "Controle")
    ours = [r for r in controls if r[0].startswith(("Per instrument", "Mutatieoverzicht", "Verloop"))]
    assert len(ours) == 3 * 3 + 4
    assert {r[1] for r in controls} == {"OK"}, [r for r in controls if r[1] != "OK"]
    by_label = {r[0]: r for r in ours}
    independent = by_label["Verloop verplichtingen: stand einde periode gelijk aan alle verplichtingen min alle "
                           "betalingen (afzonderlijk berekend)"]
    assert _eur(independent[3]) == D(EXPECTED_VERLOOP["Totaal"][5])


def _cells(wb, names=BUDGET_SHEETS) -> dict:
    return {n: [list(r) for r in wb[n].iter_rows(values_only=True)] for n in names}


def test_the_three_sheets_equal_the_hand_computation_in_the_download_and_the_cli(client, session, world, runner,
                                                                                   tmp_path):
    user = make_user(session, "financieel")
    session.commit()
    login(client, user)
    response = client.get("/rapportage/werkboek.xlsx?jaar=2025&peildatum=2025-06-30")
    assert response.status_code == 200
    downloaded = openpyxl.load_workbook(io.BytesIO(response.data))
    _assert_sheets(downloaded)
    assert downloaded.sheetnames.index("Verloop verplichtingen") < downloaded.sheetnames.index("Controles")

    out = tmp_path / "stand.xlsx"
    result = runner.invoke(args=["report", "xlsx", "--programme", "TST", "--year", "2025", "--peildatum",
                                 "2025-06-30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    _assert_sheets(openpyxl.load_workbook(out))
    # In thousands only the number format changes: the cells keep the exact amounts.
    result = runner.invoke(args=["report", "xlsx", "--programme", "TST", "--year", "2025", "--peildatum",
                                 "2025-06-30", "--thousands", "--out", str(out)])
    _assert_sheets(openpyxl.load_workbook(out))


def test_facts_dated_after_the_peildatum_leave_the_sheets_alone(session, world):
    prog, fin = world["programme"], world["fin"]
    before = _cells(openpyxl.load_workbook(io.BytesIO(excel.build_workbook(live_frames(session, prog, 2025, PEIL)))))
    after = date(2025, 7, 1)
    fund(session, fin, prog, {2025: "300.000"}, name="Later gevonden", kind="incidenteel", valid_from=after)
    budget.add_mutation(session, fin, prog, year=2025, amount="40.000", kind="beleidsmatig", moment="voorjaarsnota",
                        reason="Laat geboekt", mutation_date=date(2025, 7, 2))
    budget.add_payment(session, fin, world["ca"], payment_date=date(2025, 7, 3), amount="10.000", kind="voorschot")
    budget.adjust_commitment(session, fin, world["cb"], adjustment_date=date(2025, 7, 4), changes={2025: "-5.000"},
                             reason="Na de peildatum")
    late = make_project(session, fin, prog, code="E", category="nieuw", instrument="overig")
    commit_money(session, fin, late, {2025: D(25000)}, signed=date(2025, 7, 5), reference="BS-E")
    session.commit()
    wb = openpyxl.load_workbook(io.BytesIO(excel.build_workbook(live_frames(session, prog, 2025, PEIL))))
    assert _cells(wb) == before
    _assert_sheets(wb)
    # Today's stand did move: the same facts show at a later peildatum.
    later = live_frames(session, prog, 2025, date(2025, 7, 31)).budgetdocs
    assert later.verloop.loc["Nieuw", "Aangegaan"] == D("145000.00")
    assert later.verloop.loc["Totaal", "Openstaande voorschotten"] == D("190000.00")


def test_a_snapshot_keeps_the_sheets_and_an_old_one_goes_without_them(session, world):
    prog, fin = world["programme"], world["fin"]
    snap = services.create_snapshot(session, fin, prog, PEIL, "Voorjaar 2025")
    session.commit()
    state = json.loads(snap.data)
    assert "budgetdocs" in state and all("verloop" in d for d in state["detail"].values())
    _assert_sheets(openpyxl.load_workbook(io.BytesIO(excel.build_workbook(services.snapshot_frames(snap, 2025)))))

    # A snapshot frozen before these tables: the same state without them, stored as the old code stored it.
    del state["budgetdocs"]
    for detail in state["detail"].values():
        del detail["verloop"]
    data = services.canonical_json(state)
    old = ReportSnapshot(programme_id=prog.id, peildatum=PEIL, title="Oud", kamerstuk="", data=data,
                         sha256=hashlib.sha256(data.encode("utf-8")).hexdigest())
    session.add(old)
    session.commit()
    for year in (2024, 2025, 2026):
        rf = services.snapshot_frames(old, year)
        assert rf.budgetdocs is None
        wb = openpyxl.load_workbook(io.BytesIO(excel.build_workbook(rf)))
        assert not set(BUDGET_SHEETS) & set(wb.sheetnames)
        _h, controls = _rows(wb["Controles"], "Controle")
        assert {r[1] for r in controls} == {"OK"}
        assert not [r for r in controls if r[0].startswith(("Per instrument", "Mutatieoverzicht", "Verloop"))]
        _h, body = _rows(wb["Verantwoording"], "Gegeven")
        note = {r[0]: r[1] for r in body}["Begrotingstabellen"]
        assert "ontbreken" in note and "nooit" in note
    # Reading the old snapshot never rewrote it: its bytes and hash are as stored.
    session.expire_all()
    stored = session.get(ReportSnapshot, old.id)
    assert stored.data == data and stored.sha256 == old.sha256


@pytest.mark.parametrize("peil", [date(2025, 6, 30), date(2026, 12, 31)])
def test_every_control_is_ok_on_the_demo_for_every_year(session, peil):
    load_demo(session, with_users=False)
    session.commit()
    prog = session.scalar(select(Programme).where(Programme.code == DEMO_CODE))
    for year in programme_years(session, prog):
        rf = live_frames(session, prog, year, peil)
        assert rf.budgetdocs is not None
        bad = rf.controls[rf.controls["Uitkomst"] != "OK"]
        assert bad.empty, (year, bad.values.tolist())
        ours = rf.controls[rf.controls["Controle"].str.startswith(("Per instrument", "Mutatieoverzicht", "Verloop"))]
        assert len(ours) == 3 * len(rf.summary.columns) + 4
        # Real amounts, not zeros that agree: the demo has instruments, a kasschuif and advances.
        docs = rf.budgetdocs
        if year == 2025:
            assert docs.instruments.loc[("Verplicht", "Subsidies"), 2025] > 0
            assert docs.verloop.loc["Totaal", "Openstaande voorschotten"] > 0
            assert "Kasschuif" in set(docs.moments["Soort"])


def test_a_past_year_runs_to_31_december_and_a_later_year_starts_at_the_peildatum(session, world):
    prog = world["programme"]
    past = live_frames(session, prog, 2024, PEIL)
    docs = past.budgetdocs
    assert (docs.start, docs.through) == (date(2024, 1, 1), date(2024, 12, 31))
    v = docs.verloop
    # 2024: A signed (300.000) with a voorschot of 100.000; C signed (70.000), paid 60.000, set 10.000 lower.
    assert v.loc["Lopend"].tolist() == _money([0, 300000, 100000, 0, 0, 200000, 0, 100000, 0, 100000])
    assert v.loc["Vervolg"].tolist() == _money([0, 70000, 60000, 10000, 0, 0, 0, 0, 0, 0])
    assert v.loc["Totaal", "Stand einde periode"] == docs.open_end == D("200000.00")
    # The payment of 1 July and later facts of 2025 are not in 2024's verloop, nor is anything after the peildatum.
    assert set(past.controls["Uitkomst"]) == {"OK"}

    later = live_frames(session, prog, 2026, PEIL).budgetdocs
    assert later.through == PEIL < later.start
    # Not begun at the peildatum: the opening stand is the stand at the peildatum and nothing moves.
    total = later.verloop.loc["Totaal"].tolist()
    assert total == _money([205000, 0, 0, 0, 0, 205000, 180000, 0, 0, 180000])
    wb = openpyxl.load_workbook(io.BytesIO(excel.build_workbook(live_frames(session, prog, 2026, PEIL))))
    assert "nog niet begonnen" in wb["Verloop verplichtingen"].cell(row=2, column=1).value


def _dutch(text: str):
    """An amount as the Word annex writes it (1.234,56; empty for none) back to a Decimal."""
    return None if not text else D(text.replace(".", "").replace(",", "."))


def test_the_word_annex_has_the_three_tables_with_the_hand_computed_amounts(client, session, world):
    import docx

    user = make_user(session, "lezer")
    session.commit()
    login(client, user)
    response = client.get("/rapportage/bijlage.docx?jaar=2025&peildatum=2025-06-30")
    assert response.status_code == 200
    document = docx.Document(io.BytesIO(response.data))
    tables = {tuple(c.text for c in t.rows[0].cells[:2]): [[c.text for c in row.cells] for row in t.rows[1:]]
              for t in document.tables}
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert any("per financieel instrument" in h for h in headings)
    assert any("Mutatieoverzicht" in h for h in headings)
    assert any("Verloop openstaande verplichtingen" in h for h in headings)

    expected = _expected_instruments()
    instruments = tables[("Omschrijving", "Instrument")]
    assert [(r[0], r[1]) for r in instruments] == list(expected)
    for r in instruments:
        assert [_dutch(v) for v in r[2:]] == _money(expected[(r[0], r[1])]), r[:2]

    moments = tables[("Omschrijving", "Soort")]
    assert [(r[0], r[1]) for r in moments] == [(label, kind or "") for label, kind, _v in EXPECTED_MOMENTS]
    for r, (label, _kind, values) in zip(moments, EXPECTED_MOMENTS):
        assert [_dutch(v) for v in r[3:6]] == _money(values), label
    assert next(r for r in moments if r[1] == "Kasschuif")[2] == "20-11-2024"

    verloop = tables[("Categorie", "Stand 1 januari")]
    assert [r[0] for r in verloop] == list(EXPECTED_VERLOOP)
    for r in verloop:
        assert [_dutch(v) for v in r[1:]] == _money(EXPECTED_VERLOOP[r[0]]), r[0]
