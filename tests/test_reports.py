"""The stand-van-zaken workbook, HTML, charts and snapshots: right to the cent, public by construction."""
from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date
from decimal import Decimal as D

import openpyxl
import pytest
from sqlalchemy import event, select

from budget import services as budget
from budget.breakdowns import breakdown, matrix
from budget.ledger import programme_figures, programme_years
from core.audit import AuditEntry
from core.errors import PermissionDenied, ValidationError
from core.users import create_user
from projects import services as portfolio
from projects.models import CATEGORIES, LINES
from reports import charts, excel, services
from reports.models import ReportSnapshot
from reports.queries import live_frames
from tests.factories import (
    PASSWORD,
    TEST_ACTOR,
    commit_money,
    entered_on,
    fund,
    make_programme,
    make_project,
    make_user,
)
from tests.factories import login as login_as

PEIL = date(2025, 6, 30)
SHEETS = ["Samenvatting", "Per categorie", "Per programmalijn", "Matrix", "Projecten", "Mutaties", "Per instrument",
          "Mutatieoverzicht", "Verloop verplichtingen", "Controles", "Verantwoording", "Toelichting"]
GROUP_HEADER = ["Aantal projecten", "Verplicht", "Gerealiseerd", "In voorbereiding"]
PUBLIC_HEADER = ["Projectcode", "Project", "Categorie", "Programmalijn", "Vormen van uitbuiting",
                 "Uitvoerende organisatie", "Instrument", "Looptijd", "Status", "Verplicht", "Gerealiseerd",
                 "Verplicht totaal", "Toelichting"]
INTERNAL_EXTRA = ["Projectleider", "Contactpersoon", "Interne notitie"]
SUMMARY_LABELS = ["Structureel budget", "Incidenteel budget", "Mutaties", "Beschikbaar budget",
                  "Ambtelijke ondersteuning JenV", "Verplicht projecten", "Vrijval na vaststelling", "Verplicht totaal",
                  "Gerealiseerd t/m peildatum", "Vrije ruimte", "% verplicht", "% gerealiseerd"]

# Personal data planted in every personal field; none may reach anything public.
OWNER_NAME, OWNER_EMAIL = "Xander Sentineleigenaar", "eigenaar.sentinel@geheim.example"
FIN_NAME, FIN_EMAIL = "Yvonne Sentinelfinancieel", "fin.sentinel@geheim.example"
CONTACT = "Zoë Sentinelcontact (contact.sentinel@geheim.example)"
NOTES = "NOTITIE-SENTINEL: bel mevrouw Sentinelnotitie"
PROGRESS = "VOORTGANG-SENTINEL loopt achter"
NEXT_STEPS = "STAPPEN-SENTINEL overleg plannen"
INTERNAL_SENTINELS = [OWNER_NAME, CONTACT, NOTES]
ALL_SENTINELS = ["Sentinel", "sentinel", "geheim.example", "NOTITIE", "VOORTGANG", "STAPPEN"]


# --- Scenario ---------------------------------------------------------------------------------

@pytest.fixture
def scenario(session):
    """Programme 2024–2026, hand-computed at 30-06-2025; some entries dated after the peildatum."""
    fin = create_user(session, TEST_ACTOR, FIN_EMAIL, FIN_NAME, "financieel", PASSWORD)
    owner = create_user(session, TEST_ACTOR, OWNER_EMAIL, OWNER_NAME, "projectleider", PASSWORD)
    prog = make_programme(session, make_user(session, "beheerder"))
    fund(session, fin, prog, {2024: "2.000.000", 2025: "2.000.000", 2026: "2.000.000"})
    fund(session, fin, prog, {2025: "500.000"}, name="Extra JenV", kind="incidenteel")
    budget.add_mutation(session, fin, prog, year=2025, amount="100.000", kind="beleidsmatig",
                        moment="voorjaarsnota", reason="Voorjaarsnota 2025", mutation_date=date(2025, 4, 15))
    budget.add_kasschuif(session, fin, prog, amounts={2024: "-150.000", 2025: "150.000"}, moment="najaarsnota",
                         reason="Vertraging project A", mutation_date=date(2024, 11, 20))
    budget.add_mutation(session, fin, prog, year=2025, amount="-50.000", kind="technisch",
                        moment="najaarsnota", reason="Overboeking (na de peildatum)", mutation_date=date(2025, 10, 1))
    res = budget.set_staffing_reservation(session, fin, prog, year=2025, fte="2,5", amount="300.000",
                                         valid_from=date(2025, 1, 1))
    for day in (date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30)):
        budget.add_staffing_cost(session, fin, res, cost_date=day, amount="75.000", description="kwartaal")
    org = portfolio.create_organisation(session, fin, "Stichting Opvang Noord", "zorg_opvang")
    a = make_project(session, fin, prog, code="A-01", title="Opvang slachtoffers", category="lopend", line="zorg",
                     owner_id=owner.id, contact_person=CONTACT, internal_notes=NOTES, organisation_id=org.id,
                     forms=["arbeidsuitbuiting", "seksuele_uitbuiting"], start_date=date(2024, 1, 1),
                     end_date=date(2026, 12, 31))
    b = make_project(session, fin, prog, code="B-01", title="Voorlichting scholen", category="nieuw",
                     line="preventie")
    c = make_project(session, fin, prog, code="C-01", title="Plankproject", category="op_de_plank",
                     line="opsporing_vervolging", requested_amount="80.000")
    d = make_project(session, fin, prog, code="D-01", title="Afgewezen voorstel", status="afgewezen")
    for project in (a, b, c, d):  # all four were entered before the peildatum
        entered_on(session, project, date(2024, 1, 1))
    ca = commit_money(session, fin, a, {2024: D("200000"), 2025: D("400000"), 2026: D("300000")},
                      signed=date(2024, 12, 10), reference="BS-A")
    commit_money(session, fin, b, {2025: D("250000")}, signed=date(2025, 8, 1), reference="BS-B")
    budget.adjust_commitment(session, fin, ca, adjustment_date=date(2025, 5, 1), changes={2025: "-40.000"},
                             reason="Lagere vaststelling")
    for day, amount, kind in ((date(2024, 12, 15), "200.000", "voorschot"),
                              (date(2025, 2, 1), "150.000", "betaling"),
                              (date(2025, 5, 20), "10.000", "terugbetaling"),
                              (date(2025, 6, 30), "100.000", "betaling"),
                              (date(2025, 7, 15), "50.000", "betaling")):
        budget.add_payment(session, fin, ca, payment_date=day, amount=amount, kind=kind)
    portfolio.add_status_update(session, owner, a, status="voorstel", rag="risico", update_date=date(2025, 3, 1),
                                progress=PROGRESS, public_text="De opvang loopt volgens plan.",
                                next_steps=NEXT_STEPS)
    session.commit()
    return {"programme": prog, "fin": fin, "owner": owner, "a": a, "b": b, "commitment": ca}


def _book(rf) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(excel.build_workbook(rf)))


def _table(ws, first_header: str) -> tuple[list, list[list]]:
    """(header, rows) of the table whose header row starts with `first_header`."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == first_header)
    header = list(rows[start])
    while header and header[-1] is None:
        header.pop()
    body = [list(r[:len(header)]) for r in rows[start + 1:] if any(v is not None for v in r)]
    return header, body


def _by_label(body) -> dict:
    return {r[0]: r[1:] for r in body}


def _eur(value) -> D:
    """A workbook amount back as an exact Decimal (Excel holds a double; cents survive)."""
    return D(str(value)).quantize(D("0.01"))


# --- Workbook: contract and numbers ------------------------------------------------------------

def test_workbook_has_every_sheet_with_the_contract_headers(session, scenario):
    wb = _book(live_frames(session, scenario["programme"], 2025, PEIL))
    assert wb.sheetnames == SHEETS
    header, body = _table(wb["Samenvatting"], "Omschrijving")
    assert header == ["Omschrijving", 2024, 2025, 2026]
    assert [r[0] for r in body] == SUMMARY_LABELS
    header, body = _table(wb["Per categorie"], "Categorie")
    assert header == ["Categorie"] + GROUP_HEADER
    assert [r[0] for r in body] == ["Ambtelijke ondersteuning JenV", "Lopend", "Vervolg", "Op de plank", "Nieuw",
                                    "Totaal"]
    header, body = _table(wb["Per programmalijn"], "Programmalijn")
    assert header == ["Programmalijn"] + GROUP_HEADER
    assert [r[0] for r in body] == ["Preventie", "Zicht op slachtoffers", "Zorg", "Opsporing en vervolging",
                                    "Totaal projecten"]
    header, body = _table(wb["Matrix"], "Categorie")
    assert header == ["Categorie"] + list(LINES.values()) + ["Totaal"]
    assert [r[0] for r in body] == list(CATEGORIES.values()) + ["Totaal"]
    header, _body = _table(wb["Projecten"], "Projectcode")
    assert header == PUBLIC_HEADER
    header, _body = _table(wb["Mutaties"], "Datum")
    assert header == ["Datum", "Soort", "Moment", "Bedrag", "Reden", "Kenmerk"]
    header, _body = _table(wb["Controles"], "Controle")
    assert header == ["Controle", "Uitkomst", "Waarde 1", "Waarde 2"]
    for name in SHEETS:
        assert wb[name].freeze_panes is not None, name

    internal = _book(live_frames(session, scenario["programme"], 2025, PEIL, internal=True))
    header, _body = _table(internal["Projecten"], "Projectcode")
    assert header == PUBLIC_HEADER + INTERNAL_EXTRA


def test_workbook_numbers_equal_the_hand_computation(session, scenario):
    wb = _book(live_frames(session, scenario["programme"], 2025, PEIL))
    _h, body = _table(wb["Samenvatting"], "Omschrijving")
    s = _by_label(body)
    expected = {  # label: (2024, 2025, 2026)
        "Structureel budget": ("2000000", "2000000", "2000000"),
        "Incidenteel budget": ("0", "500000", "0"),
        "Mutaties": ("-150000", "250000", "0"),
        "Beschikbaar budget": ("1850000", "2750000", "2000000"),
        "Ambtelijke ondersteuning JenV": ("0", "300000", "0"),
        "Verplicht projecten": ("200000", "360000", "300000"),
        "Vrijval na vaststelling": ("0", "0", "0"),  # no vaststelling in this scenario
        "Verplicht totaal": ("200000", "660000", "300000"),
        "Gerealiseerd t/m peildatum": ("200000", "390000", "0"),
        "Vrije ruimte": ("1650000", "2090000", "1700000"),
    }
    for label, values in expected.items():
        assert [_eur(v) for v in s[label]] == [D(v) for v in values], label
    assert s["% verplicht"][1] == 0.24
    # 390.000 / 2.750.000 = 14,18...%: rounded once to 0,1 %, and the cell holds exactly that.
    assert s["% gerealiseerd"][1] == 0.142
    ws = wb["Samenvatting"]
    amount_cell = next(c for row in ws.iter_rows() for c in row if c.value == 2750000)
    assert "€" in amount_cell.number_format and "0.00" in amount_cell.number_format
    pct_cell = next(c for row in ws.iter_rows() for c in row if c.value == 0.24)
    assert "%" in pct_cell.number_format

    _h, body = _table(wb["Per categorie"], "Categorie")
    c = _by_label(body)
    assert c["Ambtelijke ondersteuning JenV"][1:] == [300000, 150000, 0]
    assert c["Lopend"] == [1, 360000, 240000, 0]
    assert c["Vervolg"] == [0, 0, 0, 0]
    assert c["Op de plank"] == [1, 0, 0, 80000]
    assert c["Nieuw"] == [1, 0, 0, 0]  # B's commitment is signed after the peildatum
    assert c["Totaal"] == [3, 660000, 390000, 80000]  # D (rejected, no money) is not counted

    _h, body = _table(wb["Per programmalijn"], "Programmalijn")
    ln = _by_label(body)
    assert ln["Zorg"] == [1, 360000, 240000, 0]
    assert ln["Opsporing en vervolging"] == [1, 0, 0, 80000]
    assert ln["Totaal projecten"] == [3, 360000, 240000, 80000]

    _h, body = _table(wb["Matrix"], "Categorie")
    m = _by_label(body)
    assert m["Lopend"] == [0, 0, 360000, 0, 360000]
    assert m["Totaal"] == [0, 0, 360000, 0, 360000]

    _h, body = _table(wb["Projecten"], "Projectcode")
    projects = {r[0]: dict(zip(PUBLIC_HEADER, r)) for r in body if r[0] != "Totaal"}
    assert sorted(projects) == ["A-01", "B-01", "C-01"]
    a = projects["A-01"]
    assert (a["Verplicht"], a["Gerealiseerd"], a["Verplicht totaal"]) == (360000, 240000, 860000)
    assert a["Categorie"] == "Lopend" and a["Programmalijn"] == "Zorg" and a["Status"] == "Voorstel"
    assert a["Vormen van uitbuiting"] == "Seksuele uitbuiting, Arbeidsuitbuiting"
    assert a["Uitvoerende organisatie"] == "Stichting Opvang Noord"
    assert a["Looptijd"] == "1-1-2024 t/m 31-12-2026"
    assert a["Toelichting"] == "De opvang loopt volgens plan."

    _h, body = _table(wb["Mutaties"], "Datum")
    rows = [r for r in body if r[0] != "Totaal"]
    assert [(r[0].date(), _eur(r[3])) for r in rows] == [(date(2024, 11, 20), D("150000")),
                                                         (date(2025, 4, 15), D("100000"))]

    _h, body = _table(wb["Controles"], "Controle")
    assert len(body) >= 8 and {r[1] for r in body} == {"OK"}

    _h, body = _table(wb["Verantwoording"], "Gegeven")
    v = _by_label(body)
    assert v["Versie"] == ["openbaar"] and v["Jaar"] == [2025]
    assert v["Peildatum"][0].date() == PEIL


def test_cents_survive_the_workbook(session, scenario):
    fin = scenario["fin"]
    budget.add_payment(session, fin, scenario["commitment"], payment_date=date(2025, 6, 1), amount="1.234,57",
                       kind="betaling")
    session.commit()
    wb = _book(live_frames(session, scenario["programme"], 2025, PEIL))
    _h, body = _table(wb["Samenvatting"], "Omschrijving")
    assert _eur(_by_label(body)["Gerealiseerd t/m peildatum"][1]) == D("391234.57")


def test_thousands_only_changes_presentation(session, scenario):
    wb = _book(live_frames(session, scenario["programme"], 2025, PEIL, thousands=True))
    ws = wb["Samenvatting"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == 2750000)
    assert cell.number_format.startswith("#,##0,")  # shown as 2.750, stored exact
    assert "1.000" in ws["A2"].value


def test_text_cells_wrap_at_the_top_and_titles_stay_on_one_line(session, scenario):
    ws = _book(live_frames(session, scenario["programme"], 2025, PEIL))["Projecten"]
    header = [c.value for c in ws[3]]
    row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "A-01")
    title = row[header.index("Project")]
    assert title.alignment.wrap_text and title.alignment.vertical == "top" and not title.font.b
    amount = row[header.index("Verplicht")]
    assert amount.alignment.vertical == "top" and "€" in amount.number_format
    assert not ws["A1"].alignment.wrap_text and ws["A1"].font.b  # the title runs across the columns
    assert not ws["A2"].alignment.wrap_text


def test_toelichting_is_the_latest_public_text_up_to_the_peildatum(session, scenario):
    owner, a = scenario["owner"], scenario["a"]
    for day, text in ((date(2025, 5, 1), "Tweede stand."), (date(2025, 5, 1), "Derde stand, zelfde dag."),
                      (date(2025, 6, 1), ""),  # no public text: the previous one stays
                      (date(2025, 7, 1), "Na de peildatum.")):
        portfolio.add_status_update(session, owner, a, status="voorstel", rag="op_koers", update_date=day,
                                    progress=PROGRESS, public_text=text, next_steps=NEXT_STEPS)
    session.commit()
    _h, body = _table(_book(live_frames(session, scenario["programme"], 2025, PEIL))["Projecten"], "Projectcode")
    rows = {r[0]: dict(zip(PUBLIC_HEADER, r)) for r in body}
    assert rows["A-01"]["Toelichting"] == "Derde stand, zelfde dag."
    assert rows["B-01"]["Toelichting"] is None  # never a text: an empty cell
    _h, body = _table(_book(live_frames(session, scenario["programme"], 2025, date(2025, 4, 1)))["Projecten"],
                      "Projectcode")
    assert {r[0]: dict(zip(PUBLIC_HEADER, r)) for r in body}["A-01"]["Toelichting"] == "De opvang loopt volgens plan."


def test_building_a_report_leaves_the_garbage_collector_on(session, scenario):
    import gc

    from core.gcpause import gc_paused

    assert gc.isenabled()
    excel.build_workbook(live_frames(session, scenario["programme"], 2025, PEIL))
    assert gc.isenabled()

    @gc_paused
    def fails():
        assert not gc.isenabled()
        excel.build_workbook(live_frames(session, scenario["programme"], 2025, PEIL))  # nested pause
        assert not gc.isenabled()
        raise RuntimeError("kapot")

    with pytest.raises(RuntimeError):
        fails()
    assert gc.isenabled()


def test_demo_workbook_matches_the_ledger(session):
    from budget.demo import load_demo
    from projects.models import Programme

    load_demo(session, with_users=False)
    session.commit()
    prog = session.scalar(select(Programme))
    peil = date(2025, 6, 30)
    years = programme_years(session, prog)
    figures = programme_figures(session, prog.id, peil, years)
    for year in (2024, 2025):
        wb = _book(live_frames(session, prog, year, peil, internal=True))
        _h, body = _table(wb["Samenvatting"], "Omschrijving")
        s = _by_label(body)
        for label, attr in (("Beschikbaar budget", "available"), ("Verplicht totaal", "committed"),
                            ("Gerealiseerd t/m peildatum", "paid"), ("Vrije ruimte", "free"),
                            ("Ambtelijke ondersteuning JenV", "staffing"), ("Mutaties", "mutations")):
            assert [_eur(v) for v in s[label]] == [getattr(figures[y], attr) for y in years], (year, label)
        for sheet, first, by in (("Per categorie", "Categorie", "category"), ("Per programmalijn", "Programmalijn",
                                                                              "line")):
            _h, body = _table(wb[sheet], first)
            rows = _by_label(body)
            labels = CATEGORIES if by == "category" else LINES
            for code, g in breakdown(session, prog.id, year, peil, by).items():
                assert rows[labels[code]][0] == g.projects
                assert (_eur(rows[labels[code]][1]), _eur(rows[labels[code]][2]), _eur(rows[labels[code]][3])) == (
                    g.committed, g.paid, g.pipeline), (year, code)
        _h, body = _table(wb["Matrix"], "Categorie")
        m = _by_label(body)
        line_order = list(LINES)
        for (cat, line), amount in matrix(session, prog.id, year, peil).items():
            assert _eur(m[CATEGORIES[cat]][line_order.index(line)]) == amount
        _h, body = _table(wb["Controles"], "Controle")
        assert {r[1] for r in body} == {"OK"}, body
        _h, body = _table(wb["Projecten"], "Projectcode")
        assert len([r for r in body if r[0] != "Totaal"]) > 10


# --- Privacy and formula injection -------------------------------------------------------------

def _xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def test_public_outputs_hold_no_personal_data_and_internal_does(session, scenario):
    services.create_snapshot(session, scenario["fin"], scenario["programme"], PEIL, "Voorjaar 2025")
    session.commit()
    public = live_frames(session, scenario["programme"], 2025, PEIL)
    outputs = {
        "workbook": _xlsx_text(excel.build_workbook(public)),
        "html": charts.standalone_html(public),
        "charts": json.dumps(charts.chart_data(public), default=str),
    }
    snap = session.scalar(select(ReportSnapshot))
    from_snap = services.snapshot_frames(snap, 2025)
    outputs["snapshot workbook"] = _xlsx_text(excel.build_workbook(from_snap))
    outputs["snapshot html"] = charts.standalone_html(from_snap)
    for name, text in outputs.items():
        for sentinel in ALL_SENTINELS:
            assert sentinel not in text, (name, sentinel)
    assert "De opvang loopt volgens plan." in outputs["workbook"]  # the public text does go out

    internal = _xlsx_text(excel.build_workbook(live_frames(session, scenario["programme"], 2025, PEIL,
                                                           internal=True)))
    for sentinel in INTERNAL_SENTINELS:
        assert sentinel.replace("(", "").split()[0] in internal, sentinel
    assert "contact.sentinel@geheim.example" in internal and "NOTITIE-SENTINEL" in internal


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+31 6 1234", "-2+3", "\t=1+1"])
def test_user_text_never_becomes_a_formula(session, scenario, text):
    fin = scenario["fin"]
    project = make_project(session, fin, scenario["programme"], code="F-01", title=text)
    portfolio.add_status_update(session, fin, project, status="voorstel", rag="op_koers",
                                update_date=date(2025, 1, 10), public_text=text)
    session.commit()
    data = excel.build_workbook(live_frames(session, scenario["programme"], 2025, PEIL))
    ws = openpyxl.load_workbook(io.BytesIO(data))["Projecten"]
    row = next(r for r in ws.iter_rows() if r[0].value == "F-01")
    title, note = row[1], row[PUBLIC_HEADER.index("Toelichting")]
    assert title.value == text.strip() or title.value == text
    assert title.data_type == "s" and note.data_type == "s"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert not any("<f>" in s or "<f " in s for s in sheets)


# --- Snapshots --------------------------------------------------------------------------------

def _values(data: bytes) -> dict:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


def test_snapshot_report_is_identical_whatever_changes_later(session, scenario):
    fin = scenario["fin"]
    snap = services.create_snapshot(session, fin, scenario["programme"], PEIL, "Voortgangsbrief voorjaar 2025",
                                    "Kamerstuk 28638, nr. 200")
    session.commit()
    first = excel.build_workbook(services.snapshot_frames(snap, 2025))
    # Everything changes afterwards, including entries dated before the snapshot's peildatum.
    new = make_project(session, fin, scenario["programme"], code="E-01", title="Nieuw na snapshot")
    commit_money(session, fin, new, {2025: D("50000")}, signed=date(2025, 1, 2), reference="BS-E")
    budget.add_payment(session, fin, scenario["commitment"], payment_date=date(2025, 3, 3), amount="5.000",
                       kind="betaling")
    portfolio.update_project(session, fin, scenario["a"], {"title": "Andere titel"})
    session.commit()
    again = excel.build_workbook(services.snapshot_frames(session.get(ReportSnapshot, snap.id), 2025))
    assert _values(first) == _values(again)
    live = _values(excel.build_workbook(live_frames(session, scenario["programme"], 2025, PEIL)))
    assert live["Samenvatting"] != _values(first)["Samenvatting"]  # the live stand did move
    _h, body = _table(openpyxl.load_workbook(io.BytesIO(first))["Verantwoording"], "Gegeven")
    v = _by_label(body)
    assert v["Snapshot-hash (sha256)"] == [snap.sha256]
    assert v["Kamerstuk"] == ["Kamerstuk 28638, nr. 200"]


def test_snapshot_creation_is_audited_and_hash_guards_the_data(session, scenario):
    snap = services.create_snapshot(session, scenario["fin"], scenario["programme"], PEIL, "Stand")
    session.commit()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "ReportSnapshot",
                                                    AuditEntry.entity_id == snap.id))
    assert entry is not None and entry.action == "create" and entry.changes_dict["after"]["sha256"] == snap.sha256
    snap.data = snap.data.replace("2000000.00", "2000001.00", 1)
    with pytest.raises(ValidationError):
        services.snapshot_frames(snap, 2025)


def test_only_finance_roles_freeze_a_stand(session, scenario):
    lezer = make_user(session, "lezer")
    with pytest.raises(PermissionDenied):
        services.create_snapshot(session, lezer, scenario["programme"], PEIL, "Stand")
    with pytest.raises(ValidationError):
        services.create_snapshot(session, scenario["fin"], scenario["programme"], PEIL, "   ")
    # A bare string is no actor: only a user or a SystemActor (the command line) may freeze a stand.
    with pytest.raises(PermissionDenied):
        services.create_snapshot(session, "cli", scenario["programme"], PEIL, "Stand")


def test_diff_names_a_changed_commitment_and_a_new_project(session, scenario):
    fin, prog = scenario["fin"], scenario["programme"]
    first = services.create_snapshot(session, fin, prog, PEIL, "Voor")
    session.commit()
    new = make_project(session, fin, prog, code="E-01", title="Nieuw project", category="nieuw", line="zorg")
    commit_money(session, fin, new, {2025: D("50000")}, signed=date(2025, 6, 1), reference="BS-E")
    budget.adjust_commitment(session, fin, scenario["commitment"], adjustment_date=date(2025, 6, 2),
                             changes={2025: "-20.000"}, reason="Bijstelling")
    session.commit()
    second = services.create_snapshot(session, fin, prog, PEIL, "Na")
    session.commit()
    d = services.diff_snapshots(first, second, 2025)
    changes = {(r[0], r[2]) for r in d.projects.itertuples(index=False)}
    assert ("E-01", "nieuw") in changes
    assert ("A-01", "bedrag gewijzigd") in changes
    a_rows = [r[3] for r in d.projects.itertuples(index=False) if r[0] == "A-01"]
    assert any("verplicht 2025" in t and "340.000,00" in t for t in a_rows)
    totals = {(r[0], r[1]): r[4] for r in d.totals.itertuples(index=False)}
    assert totals[(2025, "Verplicht projecten")] == D("30000.00")  # +50.000 new, -20.000 adjustment
    cats = {(r[0], r[1]): r[4] for r in d.categories.itertuples(index=False)}
    assert cats[("Nieuw", "Verplicht")] == D("50000.00") and cats[("Lopend", "Verplicht")] == D("-20000.00")
    assert services.diff_snapshots(first, first).unchanged


# --- CLI -------------------------------------------------------------------------------------

def test_cli_writes_workbook_and_html_and_manages_snapshots(session, scenario, runner, tmp_path):
    out = tmp_path / "stand.xlsx"
    result = runner.invoke(args=["report", "xlsx", "--programme", "TST", "--year", "2025", "--peildatum",
                                 "2025-06-30", "--thousands", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert re.search(r"Alle \d+ controles zijn OK", result.output)
    assert openpyxl.load_workbook(out).sheetnames == SHEETS

    result = runner.invoke(args=["snapshot", "create", "--programme", "TST", "--peildatum", "2025-06-30",
                                 "--title", "Voorjaar", "--kamerstuk", "Kamerstuk 1"])
    assert result.exit_code == 0, result.output
    first = int(result.output.strip())
    made = session.scalars(select(AuditEntry).where(AuditEntry.entity == "ReportSnapshot")).one()
    assert made.actor_label == "systeem (cli)"
    budget.add_payment(session, scenario["fin"], scenario["commitment"], payment_date=date(2025, 6, 1),
                       amount="7.000", kind="betaling")
    session.commit()
    second = int(runner.invoke(args=["snapshot", "create", "--programme", "TST", "--peildatum", "2025-06-30",
                                     "--title", "Later"]).output.strip())
    listing = runner.invoke(args=["snapshot", "list"]).output
    assert "Voorjaar" in listing and "Later" in listing
    diff = runner.invoke(args=["snapshot", "diff", str(first), str(second)])
    assert diff.exit_code == 0 and "A-01" in diff.output and "7.000,00" in diff.output

    html = tmp_path / "stand.html"
    result = runner.invoke(args=["report", "html", "--snapshot", str(first), "--year", "2025", "--out", str(html)])
    assert result.exit_code == 0, result.output
    text = html.read_text()
    assert "Plotly" in text and "grafiek-budget" in text and "Sentinel" not in text
    internal = tmp_path / "intern.xlsx"
    runner.invoke(args=["report", "xlsx", "--snapshot", str(first), "--internal", "--out", str(internal)])
    assert "NOTITIE-SENTINEL" in _xlsx_text(internal.read_bytes())

    bad = runner.invoke(args=["report", "xlsx", "--programme", "NOPE", "--out", str(out)])
    assert bad.exit_code != 0 and "bestaat niet" in bad.output


# --- Web ---------------------------------------------------------------------------------------

ROLES = ("beheerder", "financieel", "projectleider", "lezer")


def _login(client, session, role):
    user = make_user(session, role)
    session.commit()
    login_as(client, user)
    return user


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_dashboard_and_public_report(client, session, scenario, role):
    _login(client, session, role)
    for url in ("/", "/?jaar=2025&peildatum=2025-06-30", "/rapportage?jaar=2025&peildatum=2025-06-30",
                "/rapportage/standen"):
        r = client.get(url)
        assert r.status_code == 200, url
        for sentinel in ALL_SENTINELS:
            assert sentinel not in r.get_data(as_text=True), (url, sentinel)
    r = client.get("/rapportage/werkboek.xlsx?jaar=2025&peildatum=2025-06-30")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "NOTITIE" not in _xlsx_text(r.data)
    r = client.get("/rapportage?jaar=2025&peildatum=2025-06-30&versie=intern")
    assert r.status_code == (200 if role in ("beheerder", "financieel") else 403)
    r = client.get("/rapportage/werkboek.xlsx?jaar=2025&peildatum=2025-06-30&versie=intern")
    assert r.status_code == (200 if role in ("beheerder", "financieel") else 403)
    if r.status_code == 200:
        assert "NOTITIE-SENTINEL" in _xlsx_text(r.data)


def test_pages_need_a_login(client, scenario):
    for url in ("/", "/rapportage", "/rapportage/werkboek.xlsx", "/rapportage/standen"):
        assert client.get(url).status_code == 302, url


def test_dashboard_shows_the_ledger_figures(client, session, scenario):
    _login(client, session, "lezer")
    html = client.get("/?jaar=2025&peildatum=2025-06-30").get_data(as_text=True)
    # The free room first, as the sum it is; the other figures on tiles; all in whole euros.
    hero = html[html.index('id="vrije-ruimte"'):html.index("</section>")]
    hero = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", hero)).replace("\xa0", " ")
    assert "Beschikbaar € 2.750.000 − verplicht € 660.000 = vrije ruimte € 2.090.000" in hero
    cards = html[html.index('id="kerncijfers"'):]
    cards = cards[:cards.index("</dl>")]
    for amount in ("300.000", "660.000", "390.000"):
        assert f"€\xa0{amount}</dd>" in cards, amount
    assert "24,0%" in cards and "14,2%" in cards
    assert 'id="tabel-categorie"' in html and 'id="tabel-programmalijn"' in html and 'id="tabel-matrix"' in html
    assert 'id="grafiek-budget"' in html and 'id="grafiek-groepen"' in html
    assert '<script src="/assets/plotly.min.js" defer>' in html
    assert "cdn" not in html.lower()
    # An earlier peildatum leaves out what came later (the 30-06 payment of 100.000 and staffing cost).
    earlier = client.get("/?jaar=2025&peildatum=2025-06-29").get_data(as_text=True)
    assert "€\xa0215.000,00" in earlier  # 150.000 - 10.000 + 75.000 staffing
    assert client.get("/?jaar=1999").status_code == 400
    assert client.get("/?peildatum=gisteren").status_code == 400


def test_plotly_js_is_served_by_the_app(client):
    r = client.get("/assets/plotly.min.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert len(r.data) > 1_000_000 and b"plotly" in r.data[:2000].lower()


def test_snapshot_pages_create_view_and_diff(client, session, scenario):
    _login(client, session, "financieel")
    r = client.post("/rapportage/standen", data={"peildatum": "2025-06-30", "title": "", "kamerstuk": ""})
    assert r.status_code == 400 and "titel" in r.get_data(as_text=True)
    assert session.scalar(select(ReportSnapshot.id)) is None
    r = client.post("/rapportage/standen", data={"peildatum": "2025-06-30", "title": "Voorjaar 2025",
                                                  "kamerstuk": "Kamerstuk 28638, nr. 1"})
    assert r.status_code == 302
    first = session.scalar(select(ReportSnapshot).where(ReportSnapshot.title == "Voorjaar 2025"))
    assert first is not None
    assert session.scalar(select(AuditEntry).where(AuditEntry.entity == "ReportSnapshot")) is not None
    client.post("/rapportage/standen", data={"peildatum": "2025-12-31", "title": "Najaar 2025"})
    second = session.scalar(select(ReportSnapshot).where(ReportSnapshot.title == "Najaar 2025"))
    page = client.get(f"/rapportage/standen/{first.id}").get_data(as_text=True)
    assert "Voorjaar 2025" in page and first.sha256 in page
    diff = client.get(f"/rapportage/standen/verschil?a={first.id}&b={second.id}").get_data(as_text=True)
    assert "Gewijzigde totalen" in diff and "Gerealiseerd t/m peildatum" in diff
    assert client.get(f"/rapportage?stand={first.id}").status_code == 200
    assert client.get("/rapportage/standen/9999").status_code == 404
    assert client.get("/rapportage/standen/verschil?a=x&b=1").status_code == 400


def test_readers_see_snapshots_but_cannot_create_them(client, session, scenario):
    services.create_snapshot(session, scenario["fin"], scenario["programme"], PEIL, "Voorjaar 2025")
    session.commit()
    _login(client, session, "lezer")
    page = client.get("/rapportage/standen").get_data(as_text=True)
    assert "Voorjaar 2025" in page and "Stand vastleggen" not in page and FIN_NAME not in page
    assert client.post("/rapportage/standen", data={"peildatum": "2025-06-30", "title": "X"}).status_code == 403
    assert len(session.scalars(select(ReportSnapshot)).all()) == 1


def _count_queries(app, fn) -> int:
    from core.db import db

    count = 0

    def before(*_args):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return count


def test_report_pages_run_a_fixed_number_of_queries(app, client, session, scenario):
    _login(client, session, "financieel")
    urls = ("/?jaar=2025&peildatum=2025-06-30", "/rapportage?jaar=2025&peildatum=2025-06-30&versie=intern")
    for url in urls:
        client.get(url)  # warm up (login, caches)

    def counts() -> list[int]:
        # Cold (the dashboard's figures cache emptied, so they are built) and warm (served from it).
        app.extensions.pop("programmamonitor.figures_cache", None)
        return [_count_queries(app, lambda u=u: client.get(u)) for u in urls for _ in range(2)]

    before = counts()
    fin = scenario["fin"]
    for i in range(15):
        p = make_project(session, fin, scenario["programme"], code=f"Q-{i:02d}", owner_id=scenario["owner"].id)
        commit_money(session, fin, p, {2025: D("1000")}, signed=date(2025, 1, 5), reference=f"BS-Q{i}")
        portfolio.add_status_update(session, fin, p, status="voorstel", rag="op_koers", update_date=date(2025, 2, 1),
                                    public_text="tekst")
    session.commit()
    after = counts()
    assert before == after
    # The dashboard's second request is served from the cache: fewer queries than building it.
    assert before[1] < before[0]


def test_workbook_download_runs_a_fixed_number_of_queries(app, client, session, scenario):
    _login(client, session, "financieel")
    url = "/rapportage/werkboek.xlsx?jaar=2025&peildatum=2025-06-30&versie=intern"
    client.get(url)  # warm up (login, caches)
    before = _count_queries(app, lambda: client.get(url))
    fin = scenario["fin"]
    for i in range(15):
        p = make_project(session, fin, scenario["programme"], code=f"W-{i:02d}", owner_id=scenario["owner"].id,
                         forms=["arbeidsuitbuiting"])
        commit_money(session, fin, p, {2025: D("1000"), 2026: D("500")}, signed=date(2025, 1, 5),
                     reference=f"BS-W{i}")
        portfolio.add_status_update(session, fin, p, status="voorstel", rag="op_koers", update_date=date(2025, 2, 1),
                                    public_text="tekst")
    session.commit()
    response = client.get(url)
    assert response.status_code == 200
    assert _count_queries(app, lambda: client.get(url)) == before
    _h, body = _table(openpyxl.load_workbook(io.BytesIO(response.data))["Projecten"], "Projectcode")
    rows = {r[0]: r for r in body}
    header = PUBLIC_HEADER + INTERNAL_EXTRA
    w = rows["W-07"]
    assert (w[header.index("Verplicht")], w[header.index("Verplicht totaal")]) == (1000, 1500)
    assert w[header.index("Toelichting")] == "tekst"
    # An empty text stays an empty cell, never the text "None" or "nan".
    assert w[header.index("Interne notitie")] is None


def test_snapshot_migration_downgrades_and_upgrades(app, session):
    import flask_migrate
    from sqlalchemy import inspect

    from core.db import db

    session.remove()
    flask_migrate.downgrade(revision="0001")
    assert "report_snapshot" not in inspect(db.engine).get_table_names()
    flask_migrate.upgrade()
    assert "report_snapshot" in inspect(db.engine).get_table_names()
    columns = {c["name"] for c in inspect(db.engine).get_columns("report_snapshot")}
    assert {"programme_id", "peildatum", "title", "kamerstuk", "data", "sha256", "created_by_id"} <= columns


def test_standalone_html_embeds_plotly_and_every_chart(session, scenario):
    html = charts.standalone_html(live_frames(session, scenario["programme"], 2025, PEIL))
    assert len(re.findall(r'id="grafiek-(budget|groepen|cumulatief)"', html)) == 3
    assert "<script src=" not in html  # nothing loaded from anywhere: plotly.js is inline
    assert charts.PLOTLY_JS.read_text(encoding="utf-8")[:200] in html
