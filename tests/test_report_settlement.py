"""The vaststelling in the stand van zaken: vrijval, settled advances and their Controles, through the report path."""
from __future__ import annotations

import hashlib
import io
import json
from datetime import date, timedelta
from decimal import Decimal as D

import docx
import openpyxl
import pytest

from budget import services as budget
from budget.advances import open_advance_totals, open_advances
from reports import excel, services, word
from reports.models import ReportSnapshot
from reports.queries import SUMMARY_ROWS, collect_state, frames, live_frames
from tests.factories import (
    TEST_ACTOR,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)

PEIL = date(2026, 6, 30)
PEIL_BEFORE = date(2026, 2, 28)
SETTLED_ON = date(2026, 3, 15)
VERLOOP = ["Stand 1 januari", "Aangegaan", "Betaald", "Negatieve bijstellingen / vrijval", "Positieve bijstellingen",
           "Stand einde periode", "Voorschotten 1 januari", "Voorschotten verstrekt", "Voorschotten vastgesteld",
           "Openstaande voorschotten"]
OPEN_CHECK = ("Verloop verplichtingen: Openstaande voorschotten gelijk aan de betaalde voorschotten zonder "
              "vaststelling aan het eind van de periode (afzonderlijk berekend)")


@pytest.fixture
def grant(session):
    """The issue's scenario: € 300.000 granted 20-01-2025, 150/150 over 2025–2026, advances € 150.000 (01-02-2025)
    and € 100.000 (10-01-2026); settled at € 230.000 on 15-03-2026 by the test that needs it."""
    anna = make_user(session, "financieel")
    prog = make_programme(session, TEST_ACTOR, first_year=2025, last_year=2027)
    fund(session, TEST_ACTOR, prog, {2025: "500.000", 2026: "500.000", 2027: "500.000"})
    project = make_project(session, anna, prog, code="SUB", category="lopend", instrument="subsidie",
                           start_date=date(2025, 1, 1), end_date=date(2026, 1, 31))
    commitment = budget.add_commitment(session, anna, project, reference="SUB-1", signed_date=date(2025, 1, 20),
                                       total=D("300000"), schedule={2025: D("150000"), 2026: D("150000")})
    budget.add_payment(session, anna, commitment, payment_date=date(2025, 2, 1), amount=D("150000"),
                       kind="voorschot", reference="VS-1")
    budget.add_payment(session, anna, commitment, payment_date=date(2026, 1, 10), amount=D("100000"),
                       kind="voorschot", reference="VS-2")
    session.commit()
    return {"anna": anna, "prog": prog, "commitment": commitment}


def _settle(session, grant):
    budget.settle_commitment(session, grant["anna"], grant["commitment"], settlement_date=SETTLED_ON,
                             amount="230.000", reference="VST-1")
    session.commit()


def _money(values) -> list[D]:
    return [D(v).quantize(D("0.01")) for v in values]


def _bad(rf) -> list:
    return rf.controls[rf.controls["Uitkomst"] != "OK"].values.tolist()


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


def _eur(value) -> D:
    return D(str(value)).quantize(D("0.01"))


def test_the_year_of_the_vaststelling_shows_the_vrijval_and_the_settled_advances(session, grant):
    _settle(session, grant)
    rf = live_frames(session, grant["prog"], 2026, PEIL)
    v = rf.budgetdocs.verloop
    assert list(v.columns) == VERLOOP
    # Open on 1 January 300.000 − 150.000; 100.000 paid; 70.000 vrijval: 20.000 paid above the settled amount
    # (the terugvordering). The advances: 150.000 from 2025, 100.000 in 2026, all 250.000 settled.
    expected = _money([150000, 0, 100000, 70000, 0, -20000, 150000, 100000, 250000, 0])
    assert v.loc["Lopend"].tolist() == expected and v.loc["Totaal"].tolist() == expected
    assert rf.summary.loc["Vrijval na vaststelling"].tolist() == _money([0, 70000, 0])
    # Information only: Verplicht projecten is already the lower amount, and Verplicht totaal adds nothing to it.
    assert rf.summary.loc["Verplicht projecten", 2026] == rf.summary.loc["Verplicht totaal", 2026] == D("80000")
    assert rf.summary.loc["Vrije ruimte", 2026] == D("420000")
    assert _bad(rf) == []
    assert rf.controls.set_index("Controle").loc[OPEN_CHECK, "Waarde 2"] == D("0")

    wb = openpyxl.load_workbook(io.BytesIO(excel.build_workbook(rf)))
    header, body = _rows(wb["Verloop verplichtingen"], "Categorie")
    assert header == ["Categorie"] + VERLOOP
    assert [_eur(x) for x in next(r for r in body if r[0] == "Totaal")[1:]] == expected
    note = wb["Verloop verplichtingen"].cell(row=2, column=1).value
    assert "tot de vaststelling van zijn subsidie" in note and "geen vaststelling" not in note
    _h, body = _rows(wb["Samenvatting"], "Omschrijving")
    labels = [r[0] for r in body]
    assert labels.index("Vrijval na vaststelling") == labels.index("Verplicht projecten") + 1
    assert [_eur(x) for x in body[labels.index("Vrijval na vaststelling")][1:]] == _money([0, 70000, 0])
    summary_note = " ".join(str(c.value) for c in wb["Samenvatting"]["A"][:3] if c.value)
    assert "al afgetrokken van Verplicht projecten" in summary_note
    _h, controls = _rows(wb["Controles"], "Controle")
    assert {r[1] for r in controls} == {"OK"} and OPEN_CHECK in [r[0] for r in controls]

    document = docx.Document(io.BytesIO(word.build_docx(rf)))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "Categorie"
                 and t.rows[0].cells[1].text == "Stand 1 januari")
    assert [c.text for c in table.rows[0].cells] == ["Categorie"] + VERLOOP
    text = "\n".join(p.text for p in document.paragraphs)
    assert "tot de vaststelling van zijn subsidie" in text and "er is nog geen vaststelling" not in text
    assert "al afgetrokken van Verplicht projecten" in text


def test_every_year_reconciles_after_the_vaststelling(session, grant):
    _settle(session, grant)
    prog = grant["prog"]
    # 2025 ended before the peildatum: through 31 December, its advance still open then (settled in 2026).
    past = live_frames(session, prog, 2025, PEIL)
    assert past.budgetdocs.verloop.loc["Totaal"].tolist() == _money([0, 300000, 150000, 0, 0, 150000, 0, 150000, 0,
                                                                      150000])
    assert open_advances(session, prog.id, date(2025, 12, 31)).total == D("150000")
    # 2027 has not begun: its 1 January is the stand at the peildatum, where nothing is open any more.
    later = live_frames(session, prog, 2027, PEIL)
    assert later.budgetdocs.verloop.loc["Totaal"].tolist() == _money([-20000, 0, 0, 0, 0, -20000, 0, 0, 0, 0])
    for rf in (past, later):
        assert _bad(rf) == [], rf.meta["year"]
        assert OPEN_CHECK in set(rf.controls["Controle"])


def test_before_the_vaststellings_date_the_stand_is_unchanged(session, grant):
    prog = grant["prog"]
    before = collect_state(session, prog, PEIL_BEFORE)
    _settle(session, grant)
    assert collect_state(session, prog, PEIL_BEFORE) == before
    rf = live_frames(session, prog, 2026, PEIL_BEFORE)
    v = rf.budgetdocs.verloop.loc["Totaal"]
    assert (v["Negatieve bijstellingen / vrijval"], v["Voorschotten vastgesteld"], v["Openstaande voorschotten"]) == (
        D("0"), D("0"), D("250000"))
    assert rf.summary.loc["Vrijval na vaststelling", 2026] == D("0")
    assert _bad(rf) == []
    assert rf.controls.set_index("Controle").loc[OPEN_CHECK, "Waarde 2"] == D("250000")


def test_the_check_counts_the_open_advances_as_budget_advances_does(session, grant):
    prog = grant["prog"]
    days = [date(2025, 1, 31), date(2025, 2, 1), date(2025, 12, 31), SETTLED_ON - timedelta(days=1), SETTLED_ON,
            PEIL]
    _settle(session, grant)
    totals = open_advance_totals(session, prog.id, days)
    assert totals == {day: open_advances(session, prog.id, day).total for day in days}
    assert list(totals.values()) == _money([0, 150000, 150000, 250000, 0, 0])
    assert open_advance_totals(session, prog.id, []) == {}


def _old_state(state: dict) -> dict:
    """The state as the code before the vaststelling stored it: no vrijval, settled or separately counted advances."""
    old = json.loads(json.dumps(state))
    for raw in old["summary"].values():
        del raw["released"]
    for detail in old["detail"].values():
        verloop = detail["verloop"]
        del verloop["open_advances"]
        for values in verloop["categories"].values():
            values.pop("settled", None)
    return old


def _stored(session, prog, state: dict, title: str) -> ReportSnapshot:
    data = services.canonical_json({**state, "frozen_at": "2026-03-01T09:00:00+00:00"})
    snap = ReportSnapshot(programme_id=prog.id, peildatum=date.fromisoformat(state["peildatum"]), title=title,
                          kamerstuk="", data=data, sha256=hashlib.sha256(data.encode("utf-8")).hexdigest())
    session.add(snap)
    session.commit()
    return snap


def test_a_state_frozen_before_the_vaststelling_renders_as_it_did(session, grant):
    prog = grant["prog"]
    # Nothing settled at the peildatum, as in every state frozen before this feature.
    new = collect_state(session, prog, PEIL_BEFORE)
    old = _stored(session, prog, _old_state(new), "Oud")
    assert not any("settled" in values for d in new["detail"].values()
                   for values in d["verloop"]["categories"].values())
    for year in (2025, 2026, 2027):
        rf, current = services.snapshot_frames(old, year), frames(new, year)
        assert list(rf.summary.index) == [label for label, key, _kind in SUMMARY_ROWS if key != "released"]
        assert rf.summary_notes == []
        # The verloop reads the same: nothing settled, so 0 vastgesteld is right.
        assert rf.budgetdocs.verloop.equals(current.budgetdocs.verloop)
        assert rf.budgetdocs.open_advances is None
        assert OPEN_CHECK not in set(rf.controls["Controle"]) and OPEN_CHECK in set(current.controls["Controle"])
        assert len(rf.controls) == len(current.controls) - 1 and _bad(rf) == []
        wb = openpyxl.load_workbook(io.BytesIO(excel.build_workbook(rf)))
        _h, body = _rows(wb["Samenvatting"], "Omschrijving")
        assert "Vrijval na vaststelling" not in [r[0] for r in body]
        assert wb["Samenvatting"].cell(row=2, column=1).value == "Bedragen in euro."
        header, _body = _rows(wb["Verloop verplichtingen"], "Categorie")
        assert header == ["Categorie"] + VERLOOP

    # Compared with a stand after the vaststelling, the old one counts as no vrijval.
    _settle(session, grant)
    snap = services.create_snapshot(session, grant["anna"], prog, PEIL, "Na de vaststelling")
    session.commit()
    diff = services.diff_snapshots(old, snap, 2026)
    rows = {(r[0], r[1]): r[2:] for r in diff.totals.values.tolist()}
    assert rows[(2026, "Vrijval na vaststelling")] == [D("0"), D("70000"), D("70000")]
    assert rows[(2026, "Verplicht projecten")] == [D("150000"), D("80000"), D("-70000")]


def test_the_html_report_shows_the_vrijval_row_with_its_note(client, session, grant):
    _settle(session, grant)
    login(client, make_user(session, "lezer"))
    html = client.get("/rapportage/stand.html?jaar=2026&peildatum=2026-06-30").get_data(as_text=True)
    assert "Vrijval na vaststelling" in html and "al afgetrokken van Verplicht projecten" in html
