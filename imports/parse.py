"""Import step 1: cells to typed values, with a Dutch error per cell (sheet, row, column)."""
from __future__ import annotations

from budget import rules as money
from budget.models import (
    FUNDING_KINDS,
    MUTATION_KINDS,
    MUTATION_MOMENTS,
    PAYMENT_KINDS,
)
from core import validate
from core.errors import DomainError
from imports import cells
from imports.cells import CellError, Codes
from imports.contract import OPTIONAL_COLUMNS
from imports.reader import Sheet
from projects import rules as portfolio
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    ORGANISATION_TYPES,
    STATUSES,
)

#: The coded columns, each with the word its messages use.
_FUNDING_KIND = Codes(FUNDING_KINDS, "soort")
_MUTATION_KIND = Codes(MUTATION_KINDS, "soort mutatie")
_MOMENT = Codes(MUTATION_MOMENTS, "moment")
_ORGANISATION_TYPE = Codes(ORGANISATION_TYPES, "type")
_CATEGORY = Codes(CATEGORIES, "categorie")
_LINE = Codes(LINES, "programmalijn")
_FORM = Codes(EXPLOITATION_FORMS, "vorm van uitbuiting")
_INSTRUMENT = Codes(INSTRUMENTS, "instrument")
_STATUS = Codes(STATUSES, "status")
_PAYMENT_KIND = Codes(PAYMENT_KINDS, "soort betaling")


class Cells:
    """Reads one row's cells by header, collecting a Dutch error per bad cell."""

    def __init__(self, job, sheet: Sheet, number: int, values: tuple):
        self.job, self.sheet, self.number, self.values = job, sheet, number, values
        self.bad = False

    def __call__(self, header: str, convert, *args, **kwargs):
        index = self.sheet.columns.get(header)
        raw = self.values[index] if index is not None and index < len(self.values) else None
        try:
            return convert(raw, *args, **kwargs)
        except CellError as exc:
            self.fail(header, str(exc))
            return None

    def fail(self, header: str, message: str) -> None:
        self.bad = True
        self.job.error(self.sheet.name, self.number, header, message)

    def rule(self, header: str, rule, *args):
        """A rule of budget.rules or projects.rules on read values: its message lands on `header`."""
        try:
            return rule(*args)
        except DomainError as exc:
            self.fail(header, exc.message)
            return None


class ParseSteps:
    """The parse step of an import run (imports.services._Import)."""

    def parse(self) -> None:
        for name, sheet in self.sheets.items():
            missing = [h for h in sheet.missing if (name, h) not in OPTIONAL_COLUMNS]
            for header in missing:
                self.error(name, 1, header, f"De kolom '{header}' ontbreekt in de kopregel.")
            if missing:
                continue
            parse_row = getattr(self, "_parse_" + name.lower().replace(" ", "_"))
            for number, values in sheet.rows:
                cells = Cells(self, sheet, number, values)
                row = parse_row(cells)
                if not cells.bad and row is not None:
                    row["row"] = number
                    self.rows[name].append(row)
                self.result.rows += 1
            sheet.rows = []  # parsed: on a large file the raw cells would double the memory

    def _parse_programma(self, c) -> dict:
        first, last = c("Eerste jaar", cells.year), c("Laatste jaar", cells.year, required=False)
        if first and last:
            c.rule("Laatste jaar", portfolio.check_programme_years, first, last)
        code = c("Code", cells.text, required=True, max_len=20)
        return {"code": code and c.rule("Code", portfolio.programme_code, code),
                "name": c("Naam", cells.text, required=True, max_len=200),
                "ministry": c("Ministerie", cells.text, required=True, max_len=200),
                "budget_article": c("Begrotingsartikel", cells.text, required=True, max_len=50),
                "first_year": first, "last_year": last, "has_last": "Laatste jaar" in c.sheet.columns}

    def _parse_budget(self, c) -> dict:
        amount = c("Bedrag", cells.amount)
        if amount is not None and amount < 0:
            c.fail("Bedrag", "Het bedrag van een financieringsbron kan niet negatief zijn; "
                             "een verlaging boekt u op het blad Mutaties.")
        return {"programme": (c("Programma", cells.text, required=True) or "").upper(),
                "source": c("Bron", cells.text, required=True, max_len=200),
                "kind": c("Soort", cells.coded, _FUNDING_KIND),
                "reference": c("Kenmerk", cells.text, max_len=200),
                "year": c("Jaar", cells.year), "amount": amount, "date": c("Datum", cells.valid_from)}

    def _parse_mutaties(self, c) -> dict:
        amount = c("Bedrag", cells.amount)
        if amount == 0:
            c.fail("Bedrag", "Het bedrag van een mutatie kan niet nul zijn.")
        kind = c("Soort", cells.coded, _MUTATION_KIND)
        group = c("Kasschuifgroep", cells.text, max_len=100)
        if kind == "kasschuif" and not group:
            c.fail("Kasschuifgroep", "Vul de kasschuifgroep in: regels met dezelfde groep vormen één kasschuif.")
        if kind and kind != "kasschuif" and group:
            c.fail("Kasschuifgroep", "Alleen een kasschuif heeft een kasschuifgroep.")
        return {"programme": (c("Programma", cells.text, required=True) or "").upper(), "year": c("Jaar", cells.year),
                "amount": amount, "kind": kind, "moment": c("Moment", cells.coded, _MOMENT),
                "reason": c("Toelichting", cells.text, required=True),
                "reference": c("Kenmerk", cells.text, max_len=200), "date": c("Datum", cells.day),
                "group": group}

    def _parse_ambtelijke_ondersteuning(self, c) -> dict:
        fte, amount = c("FTE", cells.amount), c("Bedrag", cells.amount)
        if fte is not None:
            fte = c.rule("FTE", money.staffing_fte, fte)
        if amount is not None:
            amount = c.rule("Bedrag", validate.amount, amount)
        return {"programme": (c("Programma", cells.text, required=True) or "").upper(), "year": c("Jaar", cells.year),
                "fte": fte, "amount": amount, "date": c("Datum", cells.valid_from)}

    def _parse_personeelskosten(self, c) -> dict:
        amount = c("Bedrag", cells.amount)
        if amount == 0:
            c.fail("Bedrag", "Het bedrag kan niet nul zijn.")
        return {"reference": c("Kenmerk", cells.text, max_len=100),
                "programme": (c("Programma", cells.text, required=True) or "").upper(),
                "date": c("Datum", cells.day), "amount": amount,
                "description": c("Omschrijving", cells.text)}

    def _parse_organisaties(self, c) -> dict:
        return {"name": c("Naam", cells.text, required=True, max_len=200),
                "type": c("Type", cells.coded, _ORGANISATION_TYPE)}

    def _parse_projecten(self, c) -> dict:
        # The project rules (dates in order, requested amount, forms, predecessor) are
        # projects.rules.check_project's, applied when the row is written.
        start, end = c("Startdatum", cells.day, required=False), c("Einddatum", cells.day, required=False)
        requested = c("Gevraagd bedrag", cells.amount, required=False)
        return {"programme": (c("Programma", cells.text, required=True) or "").upper(),
                "code": c("Projectcode", cells.text, required=True, max_len=30),
                "title": c("Titel", cells.text, required=True, max_len=300),
                "summary": c("Samenvatting", cells.text),
                "category": c("Categorie", cells.coded, _CATEGORY),
                "line": c("Programmalijn", cells.coded, _LINE),
                "forms": c("Vormen van uitbuiting", cells.coded_list, _FORM, required=False),
                "organisation": c("Organisatie", cells.text, max_len=200),
                "instrument": c("Instrument", cells.coded, _INSTRUMENT),
                "status": c("Status", cells.coded, _STATUS, required=False) or "voorstel",
                "start_date": start, "end_date": end, "requested_amount": requested,
                "predecessor": c("Vervolg op", cells.text, max_len=200),
                "owner": (c("Projectleider", cells.text, max_len=254) or "").lower(),
                "contact_person": c("Contactpersoon", cells.text, max_len=200),
                "internal_notes": c("Interne notitie", cells.text)}

    def _parse_verplichtingen(self, c) -> dict:
        amount = c("Bedrag", cells.amount)
        if amount is not None and amount < 0:
            c.fail("Bedrag", "Een kasritme kan niet negatief zijn; een verlaging boekt u op het blad Bijstellingen.")
        return {"project": c("Projectcode", cells.text, required=True),
                "reference": c("Kenmerk", cells.text, required=True, max_len=100),
                "date": c("Datum", cells.day), "year": c("Jaar", cells.year), "amount": amount}

    def _parse_betalingen(self, c) -> dict:
        amount, kind = c("Bedrag", cells.amount), c("Soort", cells.coded, _PAYMENT_KIND)
        if amount is not None and kind:
            # Signed as the payment rule signs it (a refund always lowers the paid total): the row
            # is then matched against payments already booked by its signed amount.
            amount = c.rule("Bedrag", money.payment_amount, amount, kind)
        return {"reference": c("Kenmerk", cells.text, max_len=100),
                "project": c("Projectcode", cells.text, required=True),
                "commitment": c("Kenmerk verplichting", cells.text, required=True, max_len=100),
                "date": c("Datum", cells.day), "amount": amount, "kind": kind}

    def _parse_bijstellingen(self, c) -> dict:
        amount = c("Bedrag", cells.amount)  # a zero year is left out; none at all, the rule refuses
        return {"commitment": c("Kenmerk verplichting", cells.text, required=True, max_len=100),
                "date": c("Datum", cells.day), "year": c("Jaar", cells.year), "amount": amount,
                "reason": c("Reden", cells.text, required=True), "reference": c("Kenmerk", cells.text, max_len=100)}

    def _parse_vaststellingen(self, c) -> dict:
        # The kenmerk of the decision is required in the service's own words (its validate.text); the amount's
        # rules (not negative, not above the commitment) are settlement_rules.settle's, applied when it is booked.
        reference = c("Kenmerk", cells.text)
        if reference is not None:
            reference = c.rule("Kenmerk", validate.text, reference, "het kenmerk van de vaststellingsbeschikking",
                               "reference", True, 100)
        return {"commitment": c("Kenmerk verplichting", cells.text, required=True, max_len=100),
                "date": c("Datum", cells.day), "amount": c("Vastgesteld bedrag", cells.amount),
                "reference": reference, "note": c("Toelichting", cells.text, max_len=2000),
                "recovery_due": c("Terugvordering uiterlijk", cells.day, required=False)}
