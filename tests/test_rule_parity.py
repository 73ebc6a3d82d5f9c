"""Every rule says the same from every door: the service (as the web form calls it), the web form and the import.

One table of cases, one per message of the rule layer (budget/rules.py, projects/rules.py). Each case is
run through every door that can express it; a door that cannot says why. The messages must be equal
to the letter, and a last test checks that every message the rule modules can raise has a case.
"""
from __future__ import annotations

import ast
import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from budget import services as money
from budget.models import Commitment
from core.db import db
from core.errors import DomainError
from imports.cli import IMPORT_ACTOR
from imports.contract import SHEETS
from imports.services import run_import
from projects import services as portfolio
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    STATUSES,
    Project,
)
from tests.factories import fund, login, make_programme, make_project, make_user

ROOT = Path(__file__).resolve().parent.parent
RULE_MODULES = ("budget/rules.py", "budget/settlement_rules.py", "projects/rules.py")


@dataclass
class World:
    boss: object
    fin: object
    leader: object
    programme: object
    project: object
    follow_up: object
    commitment: object
    reservation: object
    cost: object
    source: object = None


@pytest.fixture
def world(session):
    """TST 2025–2026 with € 1.000.000 a year; P1 with BS-1 (200k + 300k, 150k paid); P2 follows P1;
    staffing 2025 € 150.000 with € 30.000 booked; organisation Stichting Een. Free room 2025: 1.000.000 − 150.000 − 200.000 = 650.000."""
    boss, fin, leader = make_user(session, "beheerder"), make_user(session, "financieel"), make_user(
        session, "projectleider")
    programme = make_programme(session, boss, first_year=2025, last_year=2026)
    source = fund(session, fin, programme, {2025: D("1000000"), 2026: D("1000000")})
    project = make_project(session, fin, programme, code="P1", owner_id=leader.id)
    follow_up = make_project(session, fin, programme, code="P2", category="vervolg", predecessor_id=project.id)
    commitment = money.add_commitment(session, fin, project, reference="BS-1", signed_date=date(2025, 1, 15),
                                      total=D("500000"), schedule={2025: D("200000"), 2026: D("300000")})
    money.add_payment(session, fin, commitment, payment_date=date(2025, 2, 1), amount=D("150000"),
                      kind="voorschot", reference="BET-1")
    reservation = money.set_staffing_reservation(session, fin, programme, year=2025, fte="1,50",
                                                 amount=D("150000"))
    cost = money.add_staffing_cost(session, fin, reservation, cost_date=date(2025, 3, 31), amount=D("30000"),
                                   description="Q1", reference="PK-1")
    portfolio.create_organisation(session, fin, "Stichting Een", "ngo")
    session.commit()
    return World(boss, fin, leader, programme, project, follow_up, commitment, reservation, cost, source)


# --- one row of the import, the rest of the file as the world already has it ----------------------


def project_row(w: World, **changes) -> list:
    """The Projecten row of P1 as it is, with `changes` (by header)."""
    p: Project = w.project
    row = {"Programma": "TST", "Projectcode": p.code, "Titel": p.title, "Samenvatting": p.summary,
           "Categorie": CATEGORIES[p.category], "Programmalijn": LINES[p.line],
           "Vormen van uitbuiting": "; ".join(EXPLOITATION_FORMS[f] for f in p.form_codes),
           "Organisatie": "", "Instrument": INSTRUMENTS[p.instrument], "Status": STATUSES[p.status],
           "Startdatum": None, "Einddatum": None, "Gevraagd bedrag": None, "Vervolg op": "",
           "Projectleider": w.leader.email, "Contactpersoon": "", "Interne notitie": ""}
    row.update(changes)
    return [row[h] for h in SHEETS["Projecten"]]


def _workbook(sheets: dict[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(SHEETS[name])
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the cases -------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    #: The message as a pattern: the cover test matches it against the rule modules' messages.
    pattern: str
    service: Callable | None = None  # (session, world) -> raises
    web: Callable | None = None  # world -> (role, url, form data, expected status)
    sheets: Callable | None = None  # world -> {sheet: rows}
    #: Why a door (web or import) cannot express this case, when one cannot.
    why_not: str = ""


def _payment(w, amount, kind="betaling"):
    return ("financieel", f"/verplichtingen/{w.commitment.id}/betalingen/nieuw",
            {"payment_date": "2025-03-01", "amount": amount, "kind": kind}, 400)


def _adjust(w, **years):
    return ("financieel", f"/verplichtingen/{w.commitment.id}/bijstelling",
            {"adjustment_date": "2025-06-01", "reason": "Lagere vaststelling",
             **{f"jaar_{y[1:]}": a for y, a in years.items()}}, 400)


def _commit(w, total, role="financieel", override_reason=None, **years):
    data = {"reference": "BS-9", "signed_date": "2025-01-15", "total": total,
            **{f"jaar_{y[1:]}": a for y, a in years.items()}}
    if override_reason is not None:
        data["override_reason"] = override_reason
    return (role, f"/projecten/{w.project.id}/verplichtingen/nieuw", data, 400)


def _project_form(w, **changes):
    data = {"code": "P9", "title": "Nieuw project", "category": "nieuw", "line": "preventie",
            "forms": ["seksuele_uitbuiting"], "instrument": "subsidie", "status": "voorstel",
            "organisation_id": "", "owner_id": "", "predecessor_id": "", "start_date": "", "end_date": "",
            "requested_amount": ""}
    data.update(changes)
    return ("financieel", "/projecten/nieuw", {k: v for k, v in data.items() if v is not None}, 400)


def _new_project(session, w, **changes):
    data = {"code": "P9", "title": "Nieuw project", "category": "nieuw", "line": "preventie",
            "forms": ["seksuele_uitbuiting"], "instrument": "subsidie"}
    data.update(changes)
    portfolio.create_project(session, w.fin, w.programme, data)


def _kasschuif_form(w, **years):
    return ("financieel", "/budget/kasschuif/nieuw",
            {"moment": "najaarsnota", "reason": "Later begonnen", "date": "2025-11-01",
             **{f"jaar_{y[1:]}": a for y, a in years.items()}}, 400)


def _cost_form(w, amount, day="2025-06-30"):
    return ("financieel", f"/budget/personeel/{w.reservation.id}/kosten/nieuw",
            {"cost_date": day, "amount": amount, "description": "Q2"}, 400)


def _remove_with_a_correction(session, w):
    money.add_staffing_cost(session, w.fin, w.reservation, cost_date=date(2025, 6, 30), amount=D("-10000"),
                            description="Correctie")
    money.delete_staffing_cost(session, w.fin, w.cost)


CLOSED = date(2025, 6, 30)


def _close(session, w):
    """Close TST through 30-06-2025 (the service door: inside the case's own transaction)."""
    money.close_period(session, w.fin, w.programme, CLOSED)


def _closed(w):
    """The same, committed, for the doors that run after it (web form, import); once is enough."""
    if money.closed_through(db.session, w.programme.id) is None:
        _close(db.session, w)
        db.session.commit()
    return w


def _closed_today(w):
    """Closed through today: the import dates the status updates of a row's new status today."""
    if money.closed_through(db.session, w.programme.id) != date.today():
        money.close_period(db.session, w.fin, w.programme, date.today())
        db.session.commit()
    return w


def _reopen_form(w, through="", reason="Correctie na de Kamerbrief"):
    return ("beheerder", "/budget/perioden/heropenen", {"reopen_through": through, "reason": reason}, 400)


def _tomorrow() -> date:
    return date.today() + timedelta(days=1)


# The vaststelling: BS-1 settled on 1 March 2025 at € 100.000 with € 150.000 paid, so € 50.000 to reclaim.
SETTLED = date(2025, 3, 1)


def _settle(session, w, **changes):
    params = {"settlement_date": SETTLED, "amount": D("100000"), "reference": "VST-1", **changes}
    return money.settle_commitment(session, w.fin, w.commitment, **params)


def _settled(w):
    """BS-1 settled and committed, for the doors that run after the service's (web form, import); once is enough."""
    if money.settled_on(db.session, w.commitment.id) is None:
        _settle(db.session, w)
        db.session.commit()
    return w


def _settle_row(day: str = "01-03-2025", amount="100.000", commitment: str = "BS-1") -> dict:
    return {"Vaststellingen": [[commitment, day, amount, "VST-1", ""]]}


def _settle_form(w, day: str = "2025-03-01", amount: str = "100.000,00", commitment=None, **more):
    return ("financieel", f"/verplichtingen/{(commitment or w.commitment).id}/vaststelling",
            {"settlement_date": day, "amount": amount, "reference": "VST-1", "note": "", **more}, 400)


def _refunded(session, w):
    """Settled, and the terugvordering of € 50.000 refunded after it: the settlement stays."""
    money.add_payment(session, w.fin, w.commitment, payment_date=date(2025, 4, 1), amount=D("50000"),
                      kind="terugbetaling")


def _after_settling(w, amount: str, kind: str, day: str = "2025-04-01"):
    return ("financieel", f"/verplichtingen/{_settled(w).commitment.id}/betalingen/nieuw",
            {"payment_date": day, "amount": amount, "kind": kind}, 400)


def _refunded_committed(w):
    """The same, committed, for the web door: a refused withdrawal is a notice on the page it returns to."""
    if not money.commitment_totals(db.session, _settled(w).commitment.id)[1] < D("150000"):
        _refunded(db.session, w)
        db.session.commit()
    return w


def _earlier_commitment(session, w):
    """OUD-1: € 1.000 in 2025 of a programme of 2024–2025, so a settlement in 2026 leaves a balance outside it."""
    old = make_programme(session, w.boss, code="OUD", first_year=2024, last_year=2025)
    fund(session, w.fin, old, {2024: D("1000"), 2025: D("1000")})
    return money.add_commitment(session, w.fin, make_project(session, w.fin, old, code="O1"), reference="OUD-1",
                                signed_date=date(2025, 1, 15), total=D("1000"), schedule={2025: D("1000")})


def _earlier_committed(w) -> Commitment:
    commitment = db.session.scalar(select(Commitment).where(Commitment.reference == "OUD-1"))
    if commitment is None:
        commitment = _earlier_commitment(db.session, w)
        db.session.commit()
    return commitment


CASES = [
    # --- commitments ---
    Case("year outside the programme", r".+ valt buiten de programmajaren .+–.+\.",
         service=lambda s, w: money.add_commitment(s, w.fin, w.project, reference="BS-9",
                                                   signed_date=date(2025, 1, 15), total=D("1000"),
                                                   schedule={2027: D("1000")}),
         sheets=lambda w: {"Verplichtingen": [["P1", "BS-9", "15-01-2025", 2027, 1000]]},
         why_not="web: the form has a field for each programme year only"),
    Case("commitment of zero", r"Een verplichting heeft een bedrag groter dan nul\.",
         service=lambda s, w: money.add_commitment(s, w.fin, w.project, reference="BS-9",
                                                   signed_date=date(2025, 1, 15), total=D("0"), schedule={}),
         web=lambda w: _commit(w, "0,00"),
         sheets=lambda w: {"Verplichtingen": [["P1", "BS-9", "15-01-2025", 2025, 0]]}),
    Case("schedule does not add up to the total", r"Het kasritme telt op tot .+, maar de verplichting is .+\.",
         service=lambda s, w: money.add_commitment(s, w.fin, w.project, reference="BS-9",
                                                   signed_date=date(2025, 1, 15), total=D("2000"),
                                                   schedule={2025: D("1000")}),
         web=lambda w: _commit(w, "2.000,00", j2025="1.000,00"),
         why_not="import: the sheet Verplichtingen has no total; the cash schedule is the total"),
    Case("over the budget stop", r"Budgetstop: onvoldoende vrije ruimte in .+\.",
         service=lambda s, w: money.add_commitment(s, w.fin, w.project, reference="BS-9",
                                                   signed_date=date(2025, 1, 15), total=D("650000.01"),
                                                   schedule={2025: D("650000.01")}),
         web=lambda w: _commit(w, "650.000,01", j2025="650.000,01"),
         sheets=lambda w: {"Verplichtingen": [["P1", "BS-9", "15-01-2025", 2025, "650.000,01"]]}),
    # --- adjustments ---
    Case("adjustment without amounts", r"Geef per jaar het bedrag van de bijstelling\.",
         service=lambda s, w: money.adjust_commitment(s, w.fin, w.commitment, adjustment_date=date(2025, 6, 1),
                                                      changes={}, reason="Lagere vaststelling"),
         web=lambda w: _adjust(w),
         sheets=lambda w: {"Bijstellingen": [["BS-1", "01-06-2025", 2025, 0, "Lagere vaststelling", ""]]}),
    Case("adjustment makes a year negative", r"De bijstelling maakt het kasritme in .+ negatief\.",
         service=lambda s, w: money.adjust_commitment(s, w.fin, w.commitment, adjustment_date=date(2025, 6, 1),
                                                      changes={2025: D("-200000.01")}, reason="Lagere vaststelling"),
         web=lambda w: _adjust(w, j2025="-200.000,01"),
         sheets=lambda w: {"Bijstellingen": [["BS-1", "01-06-2025", 2025, "-200.000,01", "Lagere vaststelling",
                                              ""]]}),
    Case("adjustment below what is paid", r"Na deze bijstelling is de verplichting .+, maar er is al .+ betaald\.",
         service=lambda s, w: money.adjust_commitment(s, w.fin, w.commitment, adjustment_date=date(2025, 6, 1),
                                                      changes={2025: D("-100000"), 2026: D("-300000")},
                                                      reason="Lagere vaststelling"),
         web=lambda w: _adjust(w, j2025="-100.000,00", j2026="-300.000,00"),
         sheets=lambda w: {"Bijstellingen": [["BS-1", "01-06-2025", 2025, -100_000, "Lagere vaststelling", ""],
                                             ["BS-1", "01-06-2025", 2026, -300_000, "Lagere vaststelling", ""]]}),
    # --- payments ---
    Case("negative payment that is no refund", r"Een negatief bedrag boekt u als terugbetaling\.",
         service=lambda s, w: money.add_payment(s, w.fin, w.commitment, payment_date=date(2025, 3, 1),
                                                amount=D("-100"), kind="betaling"),
         sheets=lambda w: {"Betalingen": [["", "P1", "BS-1", "01-03-2025", -100, "Betaling"]]},
         why_not="web: the amount field takes no negative amount; a refund is a kind of payment there"),
    Case("payment above the commitment", r"Betaling geweigerd: verplichting .+ is .+; deze betaling gaat daar .+ "
                                         r"overheen\.",
         service=lambda s, w: money.add_payment(s, w.fin, w.commitment, payment_date=date(2025, 3, 1),
                                                amount=D("350000.01"), kind="betaling"),
         web=lambda w: _payment(w, "350.000,01"),
         sheets=lambda w: {"Betalingen": [["", "P1", "BS-1", "01-03-2025", "350.000,01", "Betaling"]]}),
    Case("refund above what is paid", r"De terugbetaling is groter dan wat er op deze verplichting is betaald\.",
         service=lambda s, w: money.add_payment(s, w.fin, w.commitment, payment_date=date(2025, 3, 1),
                                                amount=D("150000.01"), kind="terugbetaling"),
         web=lambda w: _payment(w, "150.000,01", "terugbetaling"),
         sheets=lambda w: {"Betalingen": [["", "P1", "BS-1", "01-03-2025", "150.000,01", "Terugbetaling"]]}),
    Case("payment before the commitment was signed", r"De betaling ligt vóór de ondertekening van verplichting .+ "
                                                     r"\(.+\)\.",
         service=lambda s, w: money.add_payment(s, w.fin, w.commitment, payment_date=date(2025, 1, 14),
                                                amount=D("100"), kind="betaling"),
         web=lambda w: (*_payment(w, "100,00")[:2], {"payment_date": "2025-01-14", "amount": "100,00",
                                                     "kind": "betaling"}, 400),
         sheets=lambda w: {"Betalingen": [["", "P1", "BS-1", "14-01-2025", 100, "Betaling"]]}),
    Case("payment dated after today", r"Een betaling kan niet na vandaag \(.+\) zijn gedateerd\.",
         service=lambda s, w: money.add_payment(s, w.fin, w.commitment, payment_date=_tomorrow(),
                                                amount=D("100"), kind="betaling"),
         web=lambda w: (*_payment(w, "100,00")[:2], {"payment_date": _tomorrow().isoformat(), "amount": "100,00",
                                                     "kind": "betaling"}, 400),
         sheets=lambda w: {"Betalingen": [["", "P1", "BS-1", f"{_tomorrow():%d-%m-%Y}", 100, "Betaling"]]}),
    Case("adjustment before the commitment was signed", r"De bijstelling ligt vóór de ondertekening van "
                                                        r"verplichting .+ \(.+\)\.",
         service=lambda s, w: money.adjust_commitment(s, w.fin, w.commitment, adjustment_date=date(2025, 1, 14),
                                                      changes={2025: D("-1000")}, reason="Lagere vaststelling"),
         web=lambda w: (*_adjust(w, j2025="-1.000,00")[:2], {**_adjust(w, j2025="-1.000,00")[2],
                                                             "adjustment_date": "2025-01-14"}, 400),
         sheets=lambda w: {"Bijstellingen": [["BS-1", "14-01-2025", 2025, -1000, "Lagere vaststelling", ""]]}),
    # --- vaststelling ---
    Case("settlement before the commitment was signed", r"De vaststelling ligt vóór de ondertekening van "
                                                         r"verplichting .+ \(.+\)\.",
         service=lambda s, w: _settle(s, w, settlement_date=date(2025, 1, 14)),
         web=lambda w: _settle_form(w, "2025-01-14"),
         sheets=lambda w: _settle_row("14-01-2025")),
    Case("settlement dated after today", r"Een vaststelling kan niet na vandaag \(.+\) zijn gedateerd\.",
         service=lambda s, w: _settle(s, w, settlement_date=_tomorrow()),
         web=lambda w: _settle_form(w, _tomorrow().isoformat()),
         sheets=lambda w: _settle_row(f"{_tomorrow():%d-%m-%Y}")),
    Case("settled above the commitment", r"Het vastgestelde bedrag \(.+\) is hoger dan verplichting .+ \(.+\); een "
                                         r"vaststelling valt nooit hoger uit dan de verlening\. Stel de verplichting "
                                         r"eerst bij\.",
         service=lambda s, w: _settle(s, w, amount=D("500000.01")),
         web=lambda w: _settle_form(w, amount="500.000,01"),
         sheets=lambda w: _settle_row(amount="500.000,01")),
    Case("settlement before the last payment", r"Na .+ is er nog .+ betaald op verplichting .+; een vaststelling is "
                                               r"gedateerd op of na de laatste betaling\.",
         service=lambda s, w: _settle(s, w, settlement_date=date(2025, 1, 20)),
         web=lambda w: _settle_form(w, "2025-01-20"),
         sheets=lambda w: _settle_row("20-01-2025")),
    Case("settled balance in a year outside the programme", r"Na de vaststelling valt er nog .+ in .+, buiten de "
                                                             r"programmajaren .+–.+\.",
         service=lambda s, w: money.settle_commitment(s, w.fin, _earlier_commitment(s, w),
                                                      settlement_date=date(2026, 1, 15), amount=D("500"),
                                                      reference="VST-1"),
         web=lambda w: _settle_form(w, "2026-01-15", "500,00", _earlier_committed(w)),
         sheets=lambda w: _settle_row("15-01-2026", 500, _earlier_committed(w).reference)),
    Case("terugvordering due before the settlement", r"De terugvordering kan niet vóór de vaststelling vervallen\.",
         service=lambda s, w: _settle(s, w, recovery_due=date(2025, 2, 1)),
         web=lambda w: _settle_form(w, recovery_due="2025-02-01"),
         sheets=lambda w: {"Vaststellingen": [["BS-1", "01-03-2025", "100.000", "VST-1", "", "01-02-2025"]]}),
    Case("second settlement", r"Verplichting .+ is vastgesteld op .+; een .+ kan er niet meer bij\.",
         service=lambda s, w: (_settle(s, w), _settle(s, w, amount=D("90000"), reference="VST-2")),
         web=lambda w: _settle_form(_settled(w), amount="90.000,00"),
         sheets=lambda w: _settle_row(amount="90.000") if _settled(w) else {}),
    Case("adjustment of a settled commitment", r"Verplichting .+ is vastgesteld op .+; een .+ kan er niet meer bij\.",
         service=lambda s, w: (_settle(s, w), money.adjust_commitment(
             s, w.fin, w.commitment, adjustment_date=date(2025, 6, 1), changes={2025: D("-1000")},
             reason="Lagere vaststelling")),
         web=lambda w: _adjust(_settled(w), j2025="-1.000,00"),
         sheets=lambda w: {"Bijstellingen": [["BS-1", "01-06-2025", 2025, -1000, "Lagere vaststelling", ""]]}
         if _settled(w) else {}),
    Case("payment after a settlement that is no refund or final payment",
         r"Verplichting .+ is vastgesteld op .+: er kan alleen nog een terugbetaling \(de terugvordering\) of de "
         r"eindbetaling van het vastgestelde bedrag bij\.",
         service=lambda s, w: (_settle(s, w), money.add_payment(s, w.fin, w.commitment, payment_date=date(2025, 4, 1),
                                                               amount=D("1000"), kind="betaling")),
         web=lambda w: _after_settling(w, "1.000,00", "betaling"),
         sheets=lambda w: {"Betalingen": [["", "P1", "BS-1", "01-04-2025", 1000, "Betaling"]]} if _settled(w) else {}),
    Case("refund dated before the settlement", r"Verplichting .+ is vastgesteld op .+; een betaling of terugbetaling "
                                               r"daarna is op of na die datum gedateerd\.",
         service=lambda s, w: (_settle(s, w), money.add_payment(s, w.fin, w.commitment, payment_date=date(2025, 2, 15),
                                                               amount=D("5000"), kind="terugbetaling")),
         web=lambda w: _after_settling(w, "5.000,00", "terugbetaling", "2025-02-15"),
         sheets=lambda w: {"Betalingen": [["", "P1", "BS-1", "15-02-2025", 5000, "Terugbetaling"]]}
         if _settled(w) else {}),
    Case("refund above the terugvordering", r"De terugbetaling is groter dan de openstaande terugvordering \(.+\)\.",
         service=lambda s, w: (_settle(s, w), money.add_payment(s, w.fin, w.commitment, payment_date=date(2025, 4, 1),
                                                               amount=D("50000.01"), kind="terugbetaling")),
         web=lambda w: _after_settling(w, "50.000,01", "terugbetaling"),
         sheets=lambda w: {"Betalingen": [["", "P1", "BS-1", "01-04-2025", "50.000,01", "Terugbetaling"]]}
         if _settled(w) else {}),
    Case("withdrawing a settlement after a payment", r"Na de vaststelling van verplichting .+ is er al betaald of "
                                                     r"terugbetaald; de vaststelling blijft staan\.",
         service=lambda s, w: (_settle(s, w), _refunded(s, w), money.withdraw_settlement(s, w.fin, w.commitment)),
         web=lambda w: ("financieel", f"/verplichtingen/{_refunded_committed(w).commitment.id}/vaststelling/intrekken",
                        {}, 200),
         why_not="import: never deletes"),
    Case("settlement term out of range", r"De termijn voor de vaststelling is een aantal maanden van 0 tot en met "
                                         r".+\.",
         service=lambda s, w: money.set_settlement_term(s, w.fin, w.programme, 61),
         web=lambda w: ("financieel", "/voorschotten/termijn", {"months": "61"}, 400),
         why_not="import: the term is a programme setting, no row of a sheet"),
    # --- closed periods ---
    Case("booking in a closed period", r"De periode t/m .+ is afgesloten; wat op of vóór die datum is gedateerd, "
                                       r"kan niet meer worden toegevoegd, gewijzigd of verwijderd\. Een beheerder kan "
                                       r"de periode heropenen\.",
         service=lambda s, w: (_close(s, w), money.add_payment(s, w.fin, w.commitment, payment_date=date(2025, 3, 1),
                                                              amount=D("100"), kind="betaling")),
         web=lambda w: _payment(_closed(w), "100,00"),
         sheets=lambda w: {"Betalingen": [["", "P1", "BS-1", "01-03-2025", 100, "Betaling"]]} if _closed(w) else {}),
    Case("status update in a closed period", r"De periode t/m .+ is afgesloten; wat op of vóór die datum is "
                                             r"gedateerd, kan niet meer worden toegevoegd, gewijzigd of verwijderd\. "
                                             r"Een beheerder kan de periode heropenen\.",
         service=lambda s, w: (money.close_period(s, w.fin, w.programme, date.today()), portfolio.add_status_update(
             s, w.fin, w.project, status="in_behandeling", rag="op_koers", update_date=date.today())),
         web=lambda w: ("financieel", f"/projecten/{_closed_today(w).project.id}/status",
                        {"status": "in_behandeling", "rag": "op_koers", "update_date": date.today().isoformat()}, 400),
         sheets=lambda w: {"Projecten": [project_row(_closed_today(w), Status="In behandeling")]}),
    Case("closing after today", r"Een periode sluit u af tot en met vandaag \(.+\) of eerder\.",
         service=lambda s, w: money.close_period(s, w.fin, w.programme, _tomorrow()),
         web=lambda w: ("financieel", "/budget/perioden", {"through": _tomorrow().isoformat()}, 400),
         why_not="import: closing a period is no row of a sheet"),
    Case("closing to the closed date or earlier", r"De periode is al afgesloten t/m .+; een eerdere datum kiezen is "
                                                  r"heropenen, en dat doet een beheerder\.",
         service=lambda s, w: (_close(s, w), money.close_period(s, w.fin, w.programme, date(2025, 3, 31))),
         web=lambda w: ("financieel", "/budget/perioden", {"through": "2025-03-31"} if _closed(w) else {}, 400),
         why_not="import: closing a period is no row of a sheet"),
    Case("reopening by someone who is no beheerder", r"Alleen een beheerder kan een afgesloten periode heropenen\.",
         service=lambda s, w: (_close(s, w), money.reopen_period(s, w.fin, w.programme, None,
                                                                "Correctie na de Kamerbrief")),
         why_not="web: the reopen form is a beheerder's page only (403 for others); import: never reopens"),
    Case("reopening with nothing closed", r"Er is geen afgesloten periode om te heropenen\.",
         service=lambda s, w: money.reopen_period(s, w.boss, w.programme, None, "Correctie na de Kamerbrief"),
         web=lambda w: _reopen_form(w),
         why_not="import: never reopens"),
    Case("reopening to a later date", r"Heropenen gaat naar een datum vóór .+, of laat de datum leeg om de hele "
                                      r"periode te heropenen\.",
         service=lambda s, w: (_close(s, w), money.reopen_period(s, w.boss, w.programme, CLOSED,
                                                                "Correctie na de Kamerbrief")),
         web=lambda w: _reopen_form(_closed(w), "2025-06-30"),
         why_not="import: never reopens"),
    Case("reopening with too short a reason", r"Geef een reden van minstens 10 tekens voor het heropenen\.",
         service=lambda s, w: (_close(s, w), money.reopen_period(s, w.boss, w.programme, None, "Fout")),
         web=lambda w: _reopen_form(_closed(w), reason="Fout"),
         why_not="import: never reopens"),
    # --- mutations and kasschuif ---
    Case("kasschuif as a single mutation", r"Een kasschuif boekt u over meerdere jaren tegelijk, als kasschuif\.",
         service=lambda s, w: money.add_mutation(s, w.fin, w.programme, year=2025, amount=D("1000"),
                                                 kind="kasschuif", moment="najaarsnota", reason="Schuif",
                                                 mutation_date=date(2025, 11, 1)),
         why_not="web: the mutation form does not offer the kind kasschuif; import: rows of one "
                 "Kasschuifgroep are one kasschuif, so a row is never a kasschuif on its own"),
    Case("kasschuif in one year", r"Een kasschuif verschuift geld tussen minstens twee jaren\.",
         service=lambda s, w: money.add_kasschuif(s, w.fin, w.programme, amounts={2025: D("1000")},
                                                  moment="najaarsnota", reason="Later begonnen",
                                                  mutation_date=date(2025, 11, 1)),
         web=lambda w: _kasschuif_form(w, j2025="1.000,00"),
         sheets=lambda w: {"Mutaties": [["TST", 2025, 1000, "Kasschuif", "Najaarsnota", "Later begonnen", "",
                                         "01-11-2025", "A"]]}),
    Case("kasschuif that does not net to zero", r"Een kasschuif moet op nul uitkomen; het saldo is nu .+\.",
         service=lambda s, w: money.add_kasschuif(s, w.fin, w.programme, amounts={2025: D("-100"),
                                                                                  2026: D("100.01")},
                                                  moment="najaarsnota", reason="Later begonnen",
                                                  mutation_date=date(2025, 11, 1)),
         web=lambda w: _kasschuif_form(w, j2025="-100,00", j2026="100,01"),
         sheets=lambda w: {"Mutaties": [["TST", 2025, -100, "Kasschuif", "Najaarsnota", "Later begonnen", "",
                                         "01-11-2025", "A"],
                                        ["TST", 2026, "100,01", "Kasschuif", "Najaarsnota", "Later begonnen", "",
                                         "01-11-2025", "A"]]}),
    # --- funding sources ---
    Case("the kind of a source whose amounts count", r"De soort van financieringsbron '.+' verandert niet meer nu "
                                                     r"haar bedragen in standen meetellen: eerdere standen zouden "
                                                     r"veranderen\. Zet haar bedragen met een datum op nul en voeg "
                                                     r"een bron met de juiste soort toe\.",
         service=lambda s, w: money.update_funding_source(s, w.fin, w.source, name=w.source.name, kind="incidenteel",
                                                          reference=w.source.reference),
         web=lambda w: ("financieel", f"/budget/bronnen/{w.source.id}",
                        {"version": str(w.source.version), "name": w.source.name, "kind": "incidenteel",
                         "reference": w.source.reference, "jaar_2025": "1.000.000", "jaar_2026": "1.000.000"}, 400),
         sheets=lambda w: {"Budget": [["TST", w.source.name, "Incidenteel", w.source.reference, 2025, 1_000_000]]}),
    # --- staffing ---
    Case("negative fte", r"Het aantal fte kan niet negatief zijn\.",
         service=lambda s, w: money.set_staffing_reservation(s, w.fin, w.programme, year=2026, fte="-1,00",
                                                             amount=D("1000")),
         web=lambda w: ("financieel", "/budget/personeel/nieuw", {"year": "2026", "fte": "-1,00",
                                                                  "amount": "1.000,00"}, 400),
         sheets=lambda w: {"Ambtelijke ondersteuning": [["TST", 2026, "-1,00", 1000]]}),
    Case("staffing cost outside its reservation's year", r"Deze reservering is voor .+; de datum valt in .+\.",
         service=lambda s, w: money.add_staffing_cost(s, w.fin, w.reservation, cost_date=date(2026, 1, 1),
                                                      amount=D("1000")),
         web=lambda w: _cost_form(w, "1.000,00", "2026-01-01"),
         why_not="import: a staffing cost finds its reservation by the year of its date"),
    Case("staffing costs above the reservation", r"De personeelskosten komen boven de reservering van .+ voor .+ "
                                                 r"\(tekort .+\)\.",
         service=lambda s, w: money.add_staffing_cost(s, w.fin, w.reservation, cost_date=date(2025, 6, 30),
                                                      amount=D("120000.01")),
         web=lambda w: _cost_form(w, "120.000,01"),
         sheets=lambda w: {"Personeelskosten": [["PK-2", "TST", "30-06-2025", "120.000,01", "Q2"]]}),
    Case("staffing costs below zero", r"Een correctie kan de geboekte personeelskosten niet negatief maken\.",
         service=lambda s, w: money.add_staffing_cost(s, w.fin, w.reservation, cost_date=date(2025, 6, 30),
                                                      amount=D("-30000.01")),
         web=lambda w: _cost_form(w, "-30.000,01"),
         sheets=lambda w: {"Personeelskosten": [["PK-2", "TST", "30-06-2025", "-30.000,01", "Correctie"]]}),
    Case("removing a cost leaves the corrections negative", r"Zonder deze boeking zouden de correcties de "
                                                             r"personeelskosten negatief maken\.",
         service=_remove_with_a_correction,
         why_not="web: refused deletes are shown as a notice, tested in test_web_budget; import: never deletes"),
    # --- the budget stop's override ---
    Case("override by someone who is no beheerder", r"Alleen een beheerder mag een budgetstop doorbreken\.",
         service=lambda s, w: money.add_commitment(s, w.fin, w.project, reference="BS-9",
                                                   signed_date=date(2025, 1, 15), total=D("650000.01"),
                                                   schedule={2025: D("650000.01")},
                                                   override_reason="Besluit van de DG van 1 juli"),
         why_not="web: the override field is not on the form for a financieel; import: no override"),
    Case("override with too short a reason", r"Geef een reden van minstens 10 tekens voor het doorbreken van de "
                                             r"budgetstop\.",
         service=lambda s, w: money.add_commitment(s, w.boss, w.project, reference="BS-9",
                                                   signed_date=date(2025, 1, 15), total=D("650000.01"),
                                                   schedule={2025: D("650000.01")}, override_reason="Kort"),
         web=lambda w: _commit(w, "650.000,01", "beheerder", "Kort", j2025="650.000,01"),
         why_not="import: no override"),
    # --- programmes ---
    Case("programme code", r"Een programmacode bestaat uit hoofdletters, cijfers en streepjes, .+\.",
         service=lambda s, w: portfolio.create_programme(s, w.boss, "Q X", "Naam", "JenV", "33", 2025, 2026),
         sheets=lambda w: {"Programma": [["Q X", "Naam", "JenV", "33", 2025, 2026]]},
         why_not="web: programmes are made on the command line or by import"),
    Case("last year before the first", r"Het laatste jaar ligt voor het eerste jaar\.",
         service=lambda s, w: portfolio.create_programme(s, w.boss, "NEW", "Naam", "JenV", "33", 2026, 2025),
         sheets=lambda w: {"Programma": [["NEW", "Naam", "JenV", "33", 2026, 2025]]},
         why_not="web: programmes are made on the command line or by import"),
    # --- organisations ---
    Case("organisation name taken", r"Organisatie '.+' bestaat al\.",
         service=lambda s, w: portfolio.create_organisation(s, w.fin, "stichting een", "ngo"),
         web=lambda w: ("financieel", "/organisaties/nieuw", {"name": "stichting een", "type": "ngo"}, 400),
         why_not="import: a row with the name of an existing organisation is that organisation"),
    # --- projects ---
    Case("no form of exploitation", r"Kies minstens één vorm van uitbuiting\.",
         service=lambda s, w: _new_project(s, w, forms=[]),
         web=lambda w: _project_form(w, forms=None),
         sheets=lambda w: {"Projecten": [project_row(w, **{"Vormen van uitbuiting": ""})]}),
    Case("unknown organisation", r"Onbekende organisatie\.",
         service=lambda s, w: _new_project(s, w, organisation_id=999_999),
         why_not="web: a drop-down of existing organisations; import: names an organisation, and says so when "
                 "no organisation has that name"),
    Case("unknown or inactive project leader", r"Onbekende of inactieve projectleider\.",
         service=lambda s, w: _new_project(s, w, owner_id=999_999),
         why_not="web: a drop-down of active project leaders; import: names a user by e-mail, and says so "
                 "when there is none"),
    Case("predecessor in another programme", r"Het voorgaande project hoort niet bij dit programma\.",
         service=lambda s, w: _new_project(s, w, category="vervolg", predecessor_id=_other_programme_project(s, w)),
         why_not="web: a drop-down of this programme's projects; import: finds the predecessor by code within "
                 "the project's own programme"),
    Case("follow-up of itself or of its own follow-up", r"Een project kan geen vervolg zijn van zichzelf of van "
                                                        r"een eigen vervolg\.",
         service=lambda s, w: portfolio.update_project(s, w.fin, w.project, {"predecessor_id": w.follow_up.id}),
         web=lambda w: ("financieel", f"/projecten/{w.project.id}/bewerken",
                        {**_project_form(w, code="P1", title=w.project.title, predecessor_id=str(w.follow_up.id),
                                         status=None)[2], "version": str(w.project.version)}, 400),
         sheets=lambda w: {"Projecten": [project_row(w, **{"Vervolg op": "P2"})]}),
    Case("follow-up without predecessor", r"Een vervolgproject noemt het project waarop het volgt: een project "
         r"uit de lijst of een voorganger buiten het systeem\.",
         service=lambda s, w: _new_project(s, w, category="vervolg"),
         web=lambda w: _project_form(w, category="vervolg"),
         sheets=lambda w: {"Projecten": [project_row(w, Categorie=CATEGORIES["vervolg"])]}),
    Case("predecessor in and outside the system", r"Kies een voorgaand project uit de lijst óf noem een voorganger "
         r"buiten het systeem, niet allebei\.",
         service=lambda s, w: _new_project(s, w, category="vervolg", predecessor_id=w.project.id,
                                           predecessor_outside="Oud project uit 2022"),
         web=lambda w: _project_form(w, category="vervolg", predecessor_id=str(w.project.id),
                                     predecessor_outside="Oud project uit 2022"),
         why_not="the sheet has one Vervolg op column: a code of the programme or a name outside it, never both"),
    Case("end before start", r"De einddatum ligt voor de startdatum\.",
         service=lambda s, w: _new_project(s, w, start_date=date(2025, 6, 1), end_date=date(2025, 5, 31)),
         web=lambda w: _project_form(w, start_date="2025-06-01", end_date="2025-05-31"),
         sheets=lambda w: {"Projecten": [project_row(w, Startdatum="01-06-2025", Einddatum="31-05-2025")]}),
    Case("negative requested amount", r"Het gevraagde bedrag kan niet negatief zijn\.",
         service=lambda s, w: _new_project(s, w, requested_amount="-1,00"),
         sheets=lambda w: {"Projecten": [project_row(w, **{"Gevraagd bedrag": -1})]},
         why_not="web: the amount field itself takes no negative amount"),
    Case("project code taken", r"Projectcode .+ bestaat al in dit programma\.",
         service=lambda s, w: _new_project(s, w, code="P1"),
         web=lambda w: _project_form(w, code="P1"),
         why_not="import: a row with an existing project code changes that project"),
    # --- status ---
    Case("status the lifecycle does not allow", r"Van '.+' kan de status niet naar '.+'; toegestaan: .+\.",
         service=lambda s, w: portfolio.add_status_update(s, w.fin, w.project, status="afgerond", rag="op_koers",
                                                          update_date=date(2025, 6, 1)),
         web=lambda w: ("financieel", f"/projecten/{w.project.id}/status",
                        {"status": "afgerond", "rag": "op_koers", "update_date": "2025-06-01"}, 400),
         why_not="import: walks the lifecycle to the status a row gives (projects.rules.status_path)"),
    Case("financial status by a project leader", r"De status '.+' is een financieel besluit; .+\.",
         service=lambda s, w: portfolio.add_status_update(s, w.leader, w.project, status="afgewezen",
                                                          rag="op_koers", update_date=date(2025, 6, 1)),
         web=lambda w: ("projectleider", f"/projecten/{w.project.id}/status",
                        {"status": "afgewezen", "rag": "op_koers", "update_date": "2025-06-01"}, 400),
         why_not="import: only finance roles import"),
]


def _other_programme_project(session, w) -> int:
    other = make_programme(session, w.boss, code="OTH", first_year=2025, last_year=2026)
    return make_project(session, w.fin, other, code="X1").id


# --- the doors ---------------------------------------------------------------------------------------


def _plain(text: str) -> str:
    return html.unescape(text).replace("\xa0", " ")


def _through_service(session, w, case) -> str:
    with pytest.raises(DomainError) as refused:
        case.service(session, w)
    session.rollback()
    return _plain(refused.value.message)


def _through_web(app, w, case) -> str:
    role, url, data, status = case.web(w)
    client = app.test_client()
    login(client, {"financieel": w.fin, "beheerder": w.boss, "projectleider": w.leader}[role])
    # A refusal without a form to show again (a withdrawal) is a notice on the page it returns to.
    response = client.post(url, data=data, follow_redirects=True)
    assert response.status_code == status, (case.id, response.status_code)
    return _plain(response.get_data(as_text=True))


def _through_import(session, w, case) -> list[str]:
    result = run_import(session, IMPORT_ACTOR, _workbook(case.sheets(w)), dry_run=True)
    session.rollback()
    return [_plain(error.message) for error in result.errors]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_door_gives_the_rules_message(app, session, world, case):
    doors = [d for d in ("service", "web", "sheets") if getattr(case, d)]
    assert len(doors) >= 2 or case.why_not, f"{case.id}: one door only, and no reason why"
    assert case.service, f"{case.id}: every rule is reachable through its service"
    message = _through_service(session, world, case)
    assert re.fullmatch(case.pattern, message), (case.id, message)
    if case.web:
        assert message in _through_web(app, world, case), f"{case.id}: the web form does not say {message!r}"
    if case.sheets:
        said = _through_import(session, world, case)
        assert said == [message], f"{case.id}: the import says {said}, the service {message!r}"


def _rule_messages() -> list[tuple[str, int, str]]:
    """(module, line, message as a pattern) of every DomainError the rule modules raise."""
    errors = {"ValidationError", "Conflict", "PermissionDenied", "InvalidTransition", "BudgetStopError", "NotFound"}
    found = []
    for path in RULE_MODULES:
        tree = ast.parse((ROOT / path).read_text())
        constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                     for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                    and getattr(node.exc.func, "id", None) in errors):
                continue
            args = node.exc.args
            text = args[1] if node.exc.func.id == "BudgetStopError" else args[0]
            found.append((path, node.lineno, _as_pattern(text, constants)))
    return found


def _as_pattern(node, constants: dict) -> str:
    if isinstance(node, ast.Constant):
        return re.escape(node.value)
    if isinstance(node, ast.Name):
        return re.escape(constants[node.id])
    if isinstance(node, ast.JoinedStr):
        return "".join(re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in node.values)
    if isinstance(node, ast.Call):  # shortfall_message(...): the budget stop's own message
        return r"Budgetstop: onvoldoende vrije ruimte in .+\."
    raise AssertionError(f"onbekende vorm van melding: {ast.dump(node)}")


def test_every_message_of_the_rule_layer_has_a_case():
    def example(pattern: str) -> str:
        return re.sub(r"\\(.)", r"\1", pattern.replace(".+", "X"))

    missing = [f"{path}:{line}" for path, line, pattern in _rule_messages()
               if not any(re.fullmatch(case.pattern, example(pattern)) for case in CASES)]
    assert not missing, f"meldingen zonder geval in de tabel: {missing}"
    assert len(_rule_messages()) > 30
