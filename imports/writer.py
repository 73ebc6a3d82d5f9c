"""Writing the import template and a programme's data in the same format (the round trip)."""
from __future__ import annotations

import io
from collections import defaultdict
from datetime import date

import xlsxwriter
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from budget.models import (
    FUNDING_KINDS,
    MUTATION_KINDS,
    MUTATION_MOMENTS,
    PAYMENT_KINDS,
    UNDATED_FROM,
    AllocationChange,
    BudgetAllocation,
    BudgetMutation,
    Commitment,
    CommitmentAdjustment,
    CommitmentSchedule,
    CommitmentSettlement,
    FundingSource,
    Payment,
    StaffingChange,
    StaffingCost,
    StaffingReservation,
)
from budget.settlement_rules import RECOVERY_TERM_DAYS
from core.users import User
from imports.cells import BEFORE_DATING
from imports.contract import CODED_COLUMNS, OPTIONAL_COLUMNS, SHEETS
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
    ProjectExploitation,
)

DATE_FORMAT = "dd-mm-yyyy"
MONEY_FORMAT = "#,##0.00"
_MAX_ROW = 10_000  # drop-down validation reaches this far down
_STREAM = 2_000  # rows fetched at a time from the big export queries

_NOTES = [
    "Zo vult u deze werkmap in",
    "Elk blad heeft de kolomkoppen in regel 1; zet vanaf regel 2 één gegeven per regel. Bladen die u niet nodig "
    "heeft mag u weglaten of leeg laten.",
    "Bedragen: een getal of Nederlandse notatie (1.234,56). Datums: een Excel-datum of dd-mm-jjjj.",
    "Gecodeerde kolommen nemen de Nederlandse namen uit de lijsten hieronder (hoofdletters maken niet uit). "
    "Vormen van uitbuiting: meerdere gescheiden door ;.",
    "Sleutels: programma = Code; bron = Programma + Bron (+ Jaar en Datum per bedrag); ambtelijke ondersteuning = "
    "Programma + Jaar (+ Datum); organisatie = Naam; project = Programma + Projectcode; verplichting = Kenmerk; "
    "betaling = Kenmerk; personeelskosten = Programma + Kenmerk. Een regel met een bestaande sleutel werkt "
    "dat gegeven bij; dezelfde werkmap twee keer importeren verandert niets.",
    "Datum bij Budget en Ambtelijke ondersteuning (optioneel): de dag vanaf welke het bedrag geldt in de stand; "
    "leeg is vandaag, 'vóór datering' is een bedrag van vóór de datering (telt op elke peildatum). Een regel die "
    "het bedrag noemt dat op die datum al geldt, verandert niets. Meerdere regels voor één jaar, elk met een eigen "
    "Datum, vormen de geschiedenis van het bedrag. Een nieuw bedrag met een Datum vóór de laatste wijziging wordt "
    "geweigerd: voeg een regel met een latere Datum toe.",
    "Mutaties en bijstellingen zijn boekingen: een regel die al precies zo bestaat, wordt overgeslagen. "
    "Regels met dezelfde Kasschuifgroep vormen samen één kasschuif en tellen op tot nul; ze hebben dezelfde "
    "datum, hetzelfde moment en kenmerk, en elk een eigen Toelichting mag (\"Kasschuif naar 2025\").",
    "Verplichtingen: één regel per jaar van het kasritme; regels met hetzelfde Kenmerk vormen één verplichting. "
    "Een bestaande verplichting wijzigt u niet: boek een bijstelling (blad Bijstellingen, met een reden).",
    "Betalingen: een Terugbetaling mag positief of negatief staan; hij verlaagt altijd het betaalde bedrag. "
    "Een betaling ligt niet vóór de ondertekening van haar verplichting en niet na vandaag.",
    "Een bijstelling ligt niet vóór de ondertekening van haar verplichting.",
    "Vaststellingen: één regel per verplichting, met de datum, het vastgestelde bedrag en het kenmerk van de "
    "vaststellingsbeschikking. Het kasritme wordt: elk jaar vóór het jaar van de vaststelling wat er in dat jaar is "
    "betaald, het jaar van de vaststelling de rest; wat vrijvalt, komt terug in de vrije ruimte. Wat er meer is "
    "betaald dan het vastgestelde bedrag, wordt teruggevorderd, uiterlijk op de datum onder Terugvordering uiterlijk "
    f"(leeg: {RECOVERY_TERM_DAYS} dagen na de vaststelling). Een vaststelling volgt op de verplichting, "
    "bijstellingen en betalingen die de werkmap op "
    "dezelfde verplichting boekt; daarna kan er alleen nog een terugbetaling of de eindbetaling bij, gedateerd na "
    "de vaststelling. Een vastgestelde verplichting krijgt geen bijstelling of tweede vaststelling meer.",
    "Datums liggen tussen 01-01-2000 en 31-12-2100. Is de periode van een programma afgesloten, dan kan niets "
    "wat op of vóór die datum is gedateerd worden toegevoegd (mutaties, verplichtingen, bijstellingen, "
    "betalingen, personeelskosten).",
    "Projectleider: het e-mailadres van een bestaande gebruiker (of leeg).",
    "Vervolg op: de projectcode van een project in dit programma, of de naam van een voorganger die niet in het "
    "systeem staat (bijvoorbeeld uit het vorige programma); die wordt bewaard als voorganger buiten het systeem.",
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


class _Book:
    """An xlsxwriter workbook in constant-memory mode: each sheet's rows go to disk as they are written.

    Rows are only ever appended, so an export of thousands of projects stays fast and lean.
    """

    def __init__(self):
        self.out = io.BytesIO()
        self.wb = xlsxwriter.Workbook(self.out, {"constant_memory": True})
        self.formats = {"date": self.wb.add_format({"num_format": DATE_FORMAT}),
                        "money": self.wb.add_format({"num_format": MONEY_FORMAT}),
                        "bold": self.wb.add_format({"bold": True}),
                        "optional": self.wb.add_format({"bold": True, "italic": True})}
        self.sheets, self.rows, self.money = {}, {}, {}

    def sheet(self, name: str):
        self.sheets[name], self.rows[name] = self.wb.add_worksheet(name), 0
        self.money[name] = {i for i, header in enumerate(SHEETS.get(name, ()))
                            if header in ("Bedrag", "Gevraagd bedrag", "Vastgesteld bedrag")}
        return self.sheets[name]

    def put(self, name: str, values, cell_format: str | None = None) -> None:
        ws, row, money = self.sheets[name], self.rows[name], self.money[name]
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                ws.write_string(row, col, value, self.formats.get(cell_format))
            elif isinstance(value, date):
                ws.write_datetime(row, col, value, self.formats["date"])
            else:
                ws.write_number(row, col, value, self.formats["money"] if col in money else None)
        self.rows[name] = row + 1

    def save(self) -> bytes:
        self.wb.close()
        return self.out.getvalue()


def _new_workbook() -> _Book:
    """Every sheet with its headers, then the Toelichting with the lists the drop-downs point at."""
    book = _Book()
    ranges = {}
    for col, (title, labels) in enumerate(_label_lists(), start=1):
        letter = get_column_letter(col)
        ranges[title] = f"=Toelichting!${letter}$2:${letter}${len(labels) + 1}"
    for name, headers in SHEETS.items():
        ws = book.sheet(name)
        for index, header in enumerate(headers):
            ws.set_column(index, index, max(14, len(header) + 4))
            ws.write_string(0, index, header,
                            book.formats["optional" if (name, header) in OPTIONAL_COLUMNS else "bold"])
        book.rows[name] = 1
        ws.freeze_panes(1, 0)
    for (sheet, header), (title, _labels) in CODED_COLUMNS.items():
        if (sheet, header) == ("Projecten", "Vormen van uitbuiting"):
            continue  # several values per cell: a list drop-down would refuse "a; b"
        col = SHEETS[sheet].index(header)
        book.sheets[sheet].data_validation(1, col, _MAX_ROW - 1, col, {
            "validate": "list", "source": ranges[title], "ignore_blank": True, "show_error": False})
    _write_notes(book)
    return book


def _write_notes(book: _Book) -> None:
    lists = _label_lists()
    notes = book.sheet("Toelichting")
    notes.set_column(0, len(lists) - 1, 28)
    book.put("Toelichting", [title for title, _labels in lists], "bold")
    columns = [list(labels.values()) for _title, labels in lists]
    for row in range(max(len(labels) for labels in columns)):
        book.put("Toelichting", [labels[row] if row < len(labels) else None for labels in columns])
    book.put("Toelichting", [])
    for offset, text in enumerate(_NOTES):
        book.put("Toelichting", [text], "bold" if offset == 0 else None)
    book.put("Toelichting", [])
    book.put("Toelichting", ["Kolomkoppen in cursief zijn optioneel. Het blad Bijstellingen is een aanvulling op "
                             "het sjabloon: bijstellingen van verplichtingen (datum, jaar, bedrag +/−, reden). "
                             "Het blad Vaststellingen ook: de vaststelling van een subsidie (datum, vastgesteld "
                             "bedrag, kenmerk)."])


def _versions(rows, keys: int):
    """Dated changes (key columns, day, deltas; in key and date order) as the values held from each day on.

    One row per key and day, the values after that day's last change: the import reads each row as
    "from Datum on, the amount is this", so importing the export again changes nothing.
    """
    key, day, held = None, None, None
    for row in rows:
        row_key, row_day, deltas = tuple(row[:keys]), row[keys], tuple(row[keys + 1:])
        if row_key != key:
            if key is not None:
                yield key, day, held
            key, day, held = row_key, row_day, deltas
            continue
        if row_day != day:
            yield key, day, held
            day = row_day
        held = tuple(h + d for h, d in zip(held, deltas))
    if key is not None:
        yield key, day, held


def _day(day: date):
    # An amount carried over from before facts were dated (migration 0011) counts at every peildatum.
    return BEFORE_DATING if day == UNDATED_FROM else day


def template_bytes() -> bytes:
    """The empty template: every sheet with its headers, the Toelichting and drop-downs."""
    return _new_workbook().save()


def export_bytes(session, programme: Programme) -> bytes:
    """One programme's data in the template format; importing it into an empty database gives the same figures.

    A fixed number of queries whatever the size (one per sheet, rows as plain tuples, the big
    ones streamed), each row written as it arrives.
    """
    out = _new_workbook()
    code, pid = programme.code, programme.id
    out.put("Programma", [code, programme.name, programme.ministry, programme.budget_article,
                          programme.first_year, programme.last_year])
    for (name, kind, reference, year), day, (amount,) in _versions(session.execute(
            select(FundingSource.name, FundingSource.kind, FundingSource.reference, BudgetAllocation.year,
                   AllocationChange.valid_from, AllocationChange.amount)
            .join(BudgetAllocation, BudgetAllocation.source_id == FundingSource.id)
            .join(AllocationChange, AllocationChange.allocation_id == BudgetAllocation.id)
            .where(FundingSource.programme_id == pid)
            .order_by(FundingSource.id, BudgetAllocation.year, AllocationChange.valid_from, AllocationChange.id)), 4):
        out.put("Budget", [code, name, FUNDING_KINDS[kind], reference, year, amount, _day(day)])
    groups: dict[str, str] = {}
    for m in session.execute(select(BudgetMutation.year, BudgetMutation.amount, BudgetMutation.kind,
                                    BudgetMutation.moment, BudgetMutation.reason, BudgetMutation.reference,
                                    BudgetMutation.date, BudgetMutation.kasschuif_group)
                             .where(BudgetMutation.programme_id == pid).order_by(BudgetMutation.id)):
        group = groups.setdefault(m.kasschuif_group, f"KS{len(groups) + 1}") if m.kasschuif_group else ""
        out.put("Mutaties", [code, m.year, m.amount, MUTATION_KINDS[m.kind], MUTATION_MOMENTS[m.moment], m.reason,
                             m.reference, m.date, group])
    for (year,), day, (fte, amount) in _versions(session.execute(
            select(StaffingReservation.year, StaffingChange.valid_from, StaffingChange.fte, StaffingChange.amount)
            .join(StaffingChange, StaffingChange.reservation_id == StaffingReservation.id)
            .where(StaffingReservation.programme_id == pid)
            .order_by(StaffingReservation.year, StaffingChange.valid_from, StaffingChange.id)), 1):
        out.put("Ambtelijke ondersteuning", [code, year, fte, amount, _day(day)])
    for reference, day, amount, description in session.execute(
            select(StaffingCost.reference, StaffingCost.date, StaffingCost.amount, StaffingCost.description)
            .join(StaffingReservation, StaffingCost.reservation_id == StaffingReservation.id)
            .where(StaffingReservation.programme_id == pid)
            .order_by(StaffingReservation.year, StaffingCost.date, StaffingCost.id)):
        out.put("Personeelskosten", [reference, code, day, amount, description])
    # Organisations are shared by all programmes; the export carries those its projects name.
    for name, kind in session.execute(
            select(Organisation.name, Organisation.type)
            .where(Organisation.id.in_(select(Project.organisation_id).where(Project.programme_id == pid)))
            .order_by(Organisation.name)):
        out.put("Organisaties", [name, ORGANISATION_TYPES[kind]])
    forms = defaultdict(list)
    for project_id, form in session.execute(
            select(ProjectExploitation.project_id, ProjectExploitation.form).join(Project)
            .where(Project.programme_id == pid).order_by(ProjectExploitation.project_id, ProjectExploitation.form)):
        forms[project_id].append(EXPLOITATION_FORMS[form])
    predecessor = aliased(Project)
    for p in session.execute(
            select(Project.id, Project.code, Project.title, Project.summary, Project.category, Project.line,
                   Organisation.name.label("organisation"), Project.instrument, Project.status,
                   Project.start_date, Project.end_date, Project.requested_amount,
                   func.coalesce(predecessor.code, Project.predecessor_outside).label("predecessor"),
                   User.email.label("owner"), Project.contact_person, Project.internal_notes)
            .outerjoin(Organisation, Project.organisation_id == Organisation.id)
            .outerjoin(predecessor, Project.predecessor_id == predecessor.id)
            .outerjoin(User, Project.owner_id == User.id)
            .where(Project.programme_id == pid).order_by(Project.code)
            .execution_options(yield_per=_STREAM)):
        out.put("Projecten", [
            code, p.code, p.title, p.summary, CATEGORIES[p.category], LINES[p.line], "; ".join(forms.pop(p.id, [])),
            p.organisation or "", INSTRUMENTS[p.instrument], STATUSES[p.status], p.start_date, p.end_date,
            p.requested_amount, p.predecessor or "", p.owner or "", p.contact_person, p.internal_notes])
    in_programme = Project.programme_id == pid
    for row in session.execute(
            select(Project.code, Commitment.reference, Commitment.signed_date, CommitmentSchedule.year,
                   CommitmentSchedule.amount)
            .join(Commitment, CommitmentSchedule.commitment_id == Commitment.id)
            .join(Project, Commitment.project_id == Project.id).where(in_programme)
            .order_by(Commitment.signed_date, Commitment.id, CommitmentSchedule.year)
            .execution_options(yield_per=_STREAM)):
        out.put("Verplichtingen", list(row))
    for row in session.execute(
            select(Commitment.reference, CommitmentAdjustment.date, CommitmentAdjustment.year,
                   CommitmentAdjustment.amount, CommitmentAdjustment.reason, CommitmentAdjustment.reference)
            .join(Commitment, CommitmentAdjustment.commitment_id == Commitment.id)
            .join(Project, Commitment.project_id == Project.id)
            # A settlement's adjustments follow from its row on Vaststellingen: importing them too would double them.
            .where(in_programme, CommitmentAdjustment.settlement_id.is_(None))
            .order_by(Commitment.signed_date, Commitment.id, CommitmentAdjustment.id)
            .execution_options(yield_per=_STREAM)):
        out.put("Bijstellingen", list(row))
    for row in session.execute(
            select(Commitment.reference, CommitmentSettlement.date, CommitmentSettlement.amount,
                   CommitmentSettlement.reference, CommitmentSettlement.note, CommitmentSettlement.recovery_due)
            .join(Commitment, CommitmentSettlement.commitment_id == Commitment.id)
            .join(Project, Commitment.project_id == Project.id).where(in_programme)
            .order_by(CommitmentSettlement.date, Commitment.id)):
        out.put("Vaststellingen", list(row))
    for reference, project_code, commitment, day, amount, kind in session.execute(
            select(Payment.reference, Project.code, Commitment.reference, Payment.date, Payment.amount, Payment.kind)
            .join(Commitment, Payment.commitment_id == Commitment.id)
            .join(Project, Commitment.project_id == Project.id).where(in_programme)
            .order_by(Payment.date, Commitment.signed_date, Commitment.id, Payment.id)
            .execution_options(yield_per=_STREAM)):
        out.put("Betalingen", [reference or "", project_code, commitment, day, amount, PAYMENT_KINDS[kind]])
    return out.save()
