"""The Word annex's tables after the budget documents: Per instrument, Mutatieoverzicht, Verloop verplichtingen."""
from __future__ import annotations

from datetime import date

from core.dates import datum
from reports.budgetdocs import MOMENT_LEAD, MOMENT_TAIL, TOTAL
from reports.budgetdocs_frames import stand_label


def add_tables(doc, rf, first_number: int, money, table, note, width_cm: float) -> int:
    """Tables first_number, ... of the three budget documents; returns the next table number.

    `money`, `table` and `note` are reports.word's own helpers, so these tables look like the others.
    A report from a snapshot frozen before the budget documents has none (its Verantwoording says so).
    """
    docs = rf.budgetdocs
    if docs is None:
        return first_number
    year = rf.meta["year"]

    def amount(value) -> str:
        return "" if value is None or value != value else money(value)  # value != value: NaN, a year untouched

    n = first_number
    df = docs.instruments
    years = list(df.columns)
    doc.add_heading(f"Tabel {n}. Verplicht en gerealiseerd per financieel instrument (naar RBV-model 3.22d)", 2)
    note(doc, rf)
    fixed = [2.6, 5.4]
    rows = [([measure, instrument] + [amount(values[y]) for y in years], instrument == TOTAL, None)
            for (measure, instrument), values in df.iterrows()]
    table(doc, ["Omschrijving", "Instrument"] + [str(y) for y in years], fixed + _spread(width_cm, fixed, years),
          rows, numeric_from=2)

    n += 1
    df = docs.moments
    years = [c for c in df.columns if c not in MOMENT_LEAD + MOMENT_TAIL]
    doc.add_heading(f"Tabel {n}. Mutatieoverzicht: het budget per begrotingsmoment (naar RBV-model 2.28)", 2)
    note(doc, rf)
    fixed = [5.2, 2.3, 2.0, 2.4]  # Omschrijving, Soort ('Beleidsmatig' whole), Datum; Kenmerk
    stands = set(docs.stand_rows)
    rows = []
    for r, row in enumerate(df.itertuples(index=False)):
        values = dict(zip(df.columns, row))
        day = values["Datum"]
        rows.append(([values["Omschrijving"] or "", values["Soort"] or "", datum(day) if isinstance(day, date) else ""]
                     + [amount(values[y]) for y in years] + [values["Kenmerk"] or ""], r in stands, None))
    widths = fixed[:3] + _spread(width_cm, fixed, years) + fixed[3:]
    table(doc, [*MOMENT_LEAD, *(str(y) for y in years), *MOMENT_TAIL], widths, rows, numeric_from=3,
          text_columns=frozenset({3 + len(years)}))

    n += 1
    df = docs.verloop
    doc.add_heading(f"Tabel {n}. Verloop openstaande verplichtingen en voorschotten {year}", 2)
    doc.add_paragraph(f"Stand einde = stand 1 januari + aangegaan − betaald − negatieve + positieve bijstellingen; "
                      f"{stand_label(docs)}. De vrijval na een vaststelling staat bij de negatieve bijstellingen. "
                      "Een betaald voorschot telt als openstaand tot de vaststelling van zijn subsidie: openstaand = "
                      "1 januari + verstrekt − vastgesteld.")
    note(doc, rf)
    fixed = [3.0]
    rows = [([label] + [amount(values[c]) for c in df.columns], label == TOTAL, None) for label, values in df.iterrows()]
    table(doc, ["Categorie"] + list(df.columns), fixed + _spread(width_cm, fixed, list(df.columns)), rows)
    return n + 1


def _spread(width_cm: float, fixed: list[float], columns: list) -> list[float]:
    """The page width left after the fixed columns, shared by the amount columns (at most 2,8 cm each)."""
    each = min(2.8, (width_cm - sum(fixed)) / max(len(columns), 1))
    return [each] * len(columns)
