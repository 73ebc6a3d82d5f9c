"""The import template's contract: sheets, headers, coded columns, counts and errors (what users build on).

Natural keys (how a row finds the record it describes; documented in README "Import"):
programme `Code`; organisation `Naam` (any case); funding source `Programma`+`Bron`, its
allocation + `Jaar` (+ `Datum`: one row per day its amount changed); staffing `Programma`+`Jaar`
(+ `Datum`); project `Programma`+`Projectcode`;
commitment `Kenmerk`; payment `Kenmerk` (without one: commitment, date, amount, kind);
staffing cost `Programma`+`Kenmerk` (without one: date, amount, description); settlement
(vaststelling) `Kenmerk verplichting`, one per commitment; a mutation and a commitment
adjustment are entries, not editable records: their key is the whole row; a kasschuif is
keyed by its date, moment, reference and amount and reason per year (each row may carry its
own Toelichting).

The import never deletes. Entries the domain keeps immutable (commitments, payments,
staffing costs, settlements) are refused when a row with the same key differs: a changed
commitment is booked as a row on the sheet Bijstellingen instead; a settled commitment is final.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from budget.models import (
    FUNDING_KINDS,
    MUTATION_KINDS,
    MUTATION_MOMENTS,
    PAYMENT_KINDS,
)
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    ORGANISATION_TYPES,
    STATUSES,
)

#: The template contract: sheet -> headers, in the order the template writes them.
SHEETS: dict[str, list[str]] = {
    "Programma": ["Code", "Naam", "Ministerie", "Begrotingsartikel", "Eerste jaar", "Laatste jaar"],
    "Budget": ["Programma", "Bron", "Soort", "Kenmerk", "Jaar", "Bedrag", "Datum"],
    "Mutaties": ["Programma", "Jaar", "Bedrag", "Soort", "Moment", "Toelichting", "Kenmerk", "Datum",
                 "Kasschuifgroep"],
    "Ambtelijke ondersteuning": ["Programma", "Jaar", "FTE", "Bedrag", "Datum"],
    "Personeelskosten": ["Kenmerk", "Programma", "Datum", "Bedrag", "Omschrijving"],
    "Organisaties": ["Naam", "Type"],
    "Projecten": ["Programma", "Projectcode", "Titel", "Samenvatting", "Categorie", "Programmalijn",
                  "Vormen van uitbuiting", "Organisatie", "Instrument", "Status", "Startdatum", "Einddatum",
                  "Gevraagd bedrag", "Vervolg op", "Projectleider", "Contactpersoon", "Interne notitie"],
    "Verplichtingen": ["Projectcode", "Kenmerk", "Datum", "Jaar", "Bedrag"],
    "Betalingen": ["Kenmerk", "Projectcode", "Kenmerk verplichting", "Datum", "Bedrag", "Soort"],
    "Bijstellingen": ["Kenmerk verplichting", "Datum", "Jaar", "Bedrag", "Reden", "Kenmerk"],
    "Vaststellingen": ["Kenmerk verplichting", "Datum", "Vastgesteld bedrag", "Kenmerk", "Toelichting",
                       "Terugvordering uiterlijk"],
}
#: Columns a sheet may lack (their cells are optional); every other header must be there.
OPTIONAL_COLUMNS = {
    ("Programma", "Laatste jaar"), ("Mutaties", "Kenmerk"), ("Mutaties", "Kasschuifgroep"),
    ("Budget", "Kenmerk"), ("Budget", "Datum"), ("Ambtelijke ondersteuning", "Datum"),
    ("Personeelskosten", "Kenmerk"), ("Personeelskosten", "Omschrijving"),
    ("Projecten", "Samenvatting"), ("Projecten", "Organisatie"), ("Projecten", "Status"),
    ("Projecten", "Startdatum"), ("Projecten", "Einddatum"), ("Projecten", "Gevraagd bedrag"),
    ("Projecten", "Vervolg op"), ("Projecten", "Projectleider"), ("Projecten", "Contactpersoon"),
    ("Projecten", "Interne notitie"), ("Betalingen", "Kenmerk"), ("Bijstellingen", "Kenmerk"),
    ("Vaststellingen", "Toelichting"), ("Vaststellingen", "Terugvordering uiterlijk"),
}
#: Coded columns and the label dictionaries they take (for the Toelichting and the drop-downs).
CODED_COLUMNS = {
    ("Budget", "Soort"): ("Soort financieringsbron", FUNDING_KINDS),
    ("Mutaties", "Soort"): ("Soort mutatie", MUTATION_KINDS),
    ("Mutaties", "Moment"): ("Moment", MUTATION_MOMENTS),
    ("Organisaties", "Type"): ("Type organisatie", ORGANISATION_TYPES),
    ("Projecten", "Categorie"): ("Categorie", CATEGORIES),
    ("Projecten", "Programmalijn"): ("Programmalijn", LINES),
    ("Projecten", "Vormen van uitbuiting"): ("Vorm van uitbuiting", EXPLOITATION_FORMS),
    ("Projecten", "Instrument"): ("Instrument", INSTRUMENTS),
    ("Projecten", "Status"): ("Status", STATUSES),
    ("Betalingen", "Soort"): ("Soort betaling", PAYMENT_KINDS),
}
NEW, CHANGED, UNCHANGED = "nieuw", "gewijzigd", "ongewijzigd"


@dataclass(frozen=True)
class RowError:
    """One refused cell or row: sheet, Excel row number (0: the file as a whole), column, Dutch message."""

    sheet: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = [f"blad {self.sheet}"] if self.sheet else []
        if self.row:
            where.append(f"regel {self.row}")
        if self.column:
            where.append(f"kolom {self.column}")
        return (", ".join(where) + ": " if where else "") + self.message


@dataclass
class ImportResult:
    """What an import did (or would do): counts per sheet and every error found."""

    counts: dict[str, Counter] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    rows: int = 0
    #: Four eyes: the batch waits for approval as this PendingEntry (nothing else of the file is written).
    pending_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def must_write(self) -> bool:
        """True only when the caller should commit: no errors, not a dry run, something changed."""
        return self.ok and not self.dry_run and self.changed

    @property
    def changed(self) -> bool:
        return any(c[NEW] or c[CHANGED] for c in self.counts.values())

    def table(self) -> list[tuple[str, int, int, int]]:
        """(sheet, new, changed, unchanged) in template order, for sheets the file had."""
        return [(s, c[NEW], c[CHANGED], c[UNCHANGED]) for s, c in
                ((s, self.counts[s]) for s in SHEETS if s in self.counts)]
