"""Writing the import template and a programme's data in the same format (the round trip)."""
from __future__ import annotations

import io
from collections import defaultdict
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from budget.models import (
    FUNDING_KINDS,
    MUTATION_KINDS,
    MUTATION_MOMENTS,
    PAYMENT_KINDS,
    BudgetMutation,
    Commitment,
    FundingSource,
    StaffingReservation,
)
from imports.services import CODED_COLUMNS, OPTIONAL_COLUMNS, SHEETS
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    ORGANISATION_TYPES,
    STATUSES,
    Organisation,
    Programme,
    Project,
)

DATE_FORMAT = "dd-mm-yyyy"
MONEY_FORMAT = "#,##0.00"
_MAX_ROW = 10_000  # drop-down validation reaches this far down

_NOTES = [
    "Zo vult u deze werkmap in",
    "Elk blad heeft de kolomkoppen in regel 1; zet vanaf regel 2 één gegeven per regel. Bladen die u niet nodig "
    "heeft mag u weglaten of leeg laten.",
    "Bedragen: een getal of Nederlandse notatie (1.234,56). Datums: een Excel-datum of dd-mm-jjjj.",
    "Gecodeerde kolommen nemen de Nederlandse namen uit de lijsten hieronder (hoofdletters maken niet uit). "
    "Vormen van uitbuiting: meerdere gescheiden door ;.",
    "Sleutels: programma = Code; bron = Programma + Bron (+ Jaar per bedrag); ambtelijke ondersteuning = "
    "Programma + Jaar; organisatie = Naam; project = Programma + Projectcode; verplichting = Kenmerk; "
    "betaling = Kenmerk; personeelskosten = Programma + Kenmerk. Een regel met een bestaande sleutel werkt "
    "dat gegeven bij; dezelfde werkmap twee keer importeren verandert niets.",
    "Mutaties en bijstellingen zijn boekingen: een regel die al precies zo bestaat, wordt overgeslagen. "
    "Regels met dezelfde Kasschuifgroep vormen samen één kasschuif en tellen op tot nul.",
    "Verplichtingen: één regel per jaar van het kasritme; regels met hetzelfde Kenmerk vormen één verplichting. "
    "Een bestaande verplichting wijzigt u niet: boek een bijstelling (blad Bijstellingen, met een reden).",
    "Betalingen: een Terugbetaling mag positief of negatief staan; hij verlaagt altijd het betaalde bedrag.",
    "Projectleider: het e-mailadres van een bestaande gebruiker (of leeg).",
    "De import controleert eerst alles; bij één fout wordt niets opgeslagen en ziet u per fout blad, regel en kolom.",
    "De budgetregels (budgetstop, kasschuif op nul, kasritme = totaal, betalingen binnen de verplichting) gelden "
    "voor de stand na de hele werkmap: de volgorde van de regels maakt niet uit.",
]


def _label_lists() -> list[tuple[str, dict]]:
    seen, lists = set(), []
    for title, labels in CODED_COLUMNS.values():
        if title not in seen:
            seen.add(title)
            lists.append((title, labels))
    return lists


def _new_workbook() -> tuple[Workbook, dict]:
    wb = Workbook()
    wb.remove(wb.active)
    sheets = {}
    for name, headers in SHEETS.items():
        ws = wb.create_sheet(name)
        ws.append(headers)
        for index, header in enumerate(headers, start=1):
            cell = ws.cell(row=1, column=index)
            cell.font = Font(bold=True, italic=(name, header) in OPTIONAL_COLUMNS)
            ws.column_dimensions[get_column_letter(index)].width = max(14, len(header) + 4)
        ws.freeze_panes = "A2"
        sheets[name] = ws
    notes = wb.create_sheet("Toelichting")
    ranges = {}
    for col, (title, labels) in enumerate(_label_lists(), start=1):
        letter = get_column_letter(col)
        notes.cell(row=1, column=col, value=title).font = Font(bold=True)
        for row, label in enumerate(labels.values(), start=2):
            notes.cell(row=row, column=col, value=label)
        notes.column_dimensions[letter].width = 28
        ranges[title] = f"Toelichting!${letter}$2:${letter}${len(labels) + 1}"
    start = max(len(labels) for _t, labels in _label_lists()) + 3
    for offset, text in enumerate(_NOTES):
        cell = notes.cell(row=start + offset, column=1, value=text)
        if offset == 0:
            cell.font = Font(bold=True)
    notes.cell(row=start + len(_NOTES) + 1, column=1,
               value="Kolomkoppen in cursief zijn optioneel. Het blad Bijstellingen is een aanvulling op het "
                     "sjabloon: bijstellingen van verplichtingen (datum, jaar, bedrag +/−, reden).")
    for (sheet, header), (title, _labels) in CODED_COLUMNS.items():
        if (sheet, header) == ("Projecten", "Vormen van uitbuiting"):
            continue  # several values per cell: a list drop-down would refuse "a; b"
        letter = get_column_letter(SHEETS[sheet].index(header) + 1)
        dv = DataValidation(type="list", formula1=ranges[title], allow_blank=True, showErrorMessage=False)
        dv.add(f"{letter}2:{letter}{_MAX_ROW}")
        sheets[sheet].add_data_validation(dv)
    return wb, sheets


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_bytes() -> bytes:
    """The empty template: every sheet with its headers, the Toelichting and drop-downs."""
    wb, _sheets = _new_workbook()
    return _save(wb)


def _put(ws, values: list) -> None:
    ws.append(values)
    # The row just appended (ws.max_row scans every cell: quadratic on a large export).
    row = ws._current_row
    for index, value in enumerate(values, start=1):
        if isinstance(value, date):
            ws.cell(row=row, column=index).number_format = DATE_FORMAT


def export_bytes(session, programme: Programme) -> bytes:
    """One programme's data in the template format; importing it into an empty database gives the same figures."""
    wb, ws = _new_workbook()
    code = programme.code
    _put(ws["Programma"], [code, programme.name, programme.ministry, programme.budget_article,
                           programme.first_year, programme.last_year])
    for source in session.scalars(select(FundingSource).where(FundingSource.programme_id == programme.id)
                                  .order_by(FundingSource.id)):
        for alloc in source.allocations:
            _put(ws["Budget"], [code, source.name, FUNDING_KINDS[source.kind], source.reference, alloc.year,
                                alloc.amount])
    groups: dict[str, str] = {}
    for m in session.scalars(select(BudgetMutation).where(BudgetMutation.programme_id == programme.id)
                             .order_by(BudgetMutation.id)):
        group = ""
        if m.kasschuif_group:
            group = groups.setdefault(m.kasschuif_group, f"KS{len(groups) + 1}")
        _put(ws["Mutaties"], [code, m.year, m.amount, MUTATION_KINDS[m.kind], MUTATION_MOMENTS[m.moment], m.reason,
                              m.reference, m.date, group])
    reservations = session.scalars(select(StaffingReservation).where(
        StaffingReservation.programme_id == programme.id).order_by(StaffingReservation.year)).all()
    for res in reservations:
        _put(ws["Ambtelijke ondersteuning"], [code, res.year, res.fte, res.amount])
    for res in reservations:
        for cost in res.costs:
            _put(ws["Personeelskosten"], [cost.reference, code, cost.date, cost.amount, cost.description])
    # Eager loads: a programme of thousands of projects must not cost a query per project or commitment.
    projects = session.scalars(select(Project).where(Project.programme_id == programme.id)
                               .options(selectinload(Project.forms), selectinload(Project.organisation),
                                        selectinload(Project.owner), selectinload(Project.predecessor))
                               .order_by(Project.code)).all()
    # Organisations are shared by all programmes; the export carries those its projects name.
    org_ids = {p.organisation_id for p in projects if p.organisation_id}
    for org in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)).order_by(Organisation.name)):
        _put(ws["Organisaties"], [org.name, ORGANISATION_TYPES[org.type]])
    for p in projects:
        _put(ws["Projecten"], [
            code, p.code, p.title, p.summary, CATEGORIES[p.category], LINES[p.line],
            "; ".join(EXPLOITATION_FORMS[f] for f in p.form_codes),
            p.organisation.name if p.organisation else "", INSTRUMENTS[p.instrument], STATUSES[p.status],
            p.start_date, p.end_date, p.requested_amount, p.predecessor.code if p.predecessor else "",
            p.owner.email if p.owner else "", p.contact_person, p.internal_notes])
    commitments = session.scalars(select(Commitment).join(Project).where(Project.programme_id == programme.id)
                                  .options(selectinload(Commitment.schedule), selectinload(Commitment.adjustments),
                                           selectinload(Commitment.payments), selectinload(Commitment.project))
                                  .order_by(Commitment.signed_date, Commitment.id)).all()
    payments = defaultdict(list)
    for c in commitments:
        for s in c.schedule:
            _put(ws["Verplichtingen"], [c.project.code, c.reference, c.signed_date, s.year, s.amount])
        for a in c.adjustments:
            _put(ws["Bijstellingen"], [c.reference, a.date, a.year, a.amount, a.reason, a.reference])
        for p in c.payments:
            payments[p.date].append((p, c))
    for day in sorted(payments):
        for p, c in payments[day]:
            _put(ws["Betalingen"], [p.reference or "", c.project.code, c.reference, p.date, p.amount,
                                    PAYMENT_KINDS[p.kind]])
    for name in ("Budget", "Mutaties", "Ambtelijke ondersteuning", "Personeelskosten", "Projecten",
                 "Verplichtingen", "Betalingen", "Bijstellingen"):
        for header in ("Bedrag", "Gevraagd bedrag"):
            if header in SHEETS[name]:
                letter = get_column_letter(SHEETS[name].index(header) + 1)
                for cell in ws[name][letter][1:]:
                    cell.number_format = MONEY_FORMAT
    return _save(wb)
