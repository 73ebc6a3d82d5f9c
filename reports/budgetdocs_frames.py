"""The budget documents' tables as DataFrames, made from a report's state (budgetdocs.collect stores it)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd

from budget.models import FUNDING_KINDS, MUTATION_KINDS
from core.dates import datum_lang
from core.money import ZERO
from projects.models import CATEGORIES
from reports.budgetdocs import (
    INSTRUMENT_MEASURES,
    MOMENT_LEAD,
    MOMENT_STANDS,
    MOMENT_TAIL,
    RBV_INSTRUMENTS,
    STAFFING,
    STAFFING_ROW,
    TOTAL,
    VERLOOP_COLUMNS,
)


@dataclass
class BudgetDocs:
    """The three tables of one report and what their Controles rows compare them with."""

    instruments: pd.DataFrame   # index (Omschrijving, Instrument), columns: programme years
    moments: pd.DataFrame       # MOMENT_LEAD + years + MOMENT_TAIL
    stand_rows: list[int]       # positions of the stand rows in `moments` (bold; the last is Beschikbaar budget)
    verloop: pd.DataFrame       # index: categories + Totaal, columns: VERLOOP_COLUMNS
    start: date
    through: date
    open_end: Decimal           # open commitments at `through`, from the commitments' totals
    #: Open advances at `through`, counted apart (budget.advances); None in a state frozen before the vaststelling.
    open_advances: Decimal | None = None


def _d(text) -> Decimal:
    return Decimal(text) if text is not None else ZERO


def frames(state: dict, year: int) -> BudgetDocs | None:
    """The tables for `year`; None for a state frozen before they existed (never recomputed from live data)."""
    docs, detail = state.get("budgetdocs"), state["detail"][str(year)]
    if docs is None or "verloop" not in detail:
        return None
    years = [int(y) for y in state["years"]]
    moments, stands = _moment_frame(docs["moments"], years)
    verloop = detail["verloop"]
    return BudgetDocs(instruments=_instrument_frame(docs["instruments"], years), moments=moments,
                      stand_rows=stands, verloop=_verloop_frame(verloop["categories"]),
                      start=date.fromisoformat(verloop["from"]), through=date.fromisoformat(verloop["through"]),
                      open_end=_d(verloop["open"]) if "open" in verloop else _open_in_annex(detail["projects"]),
                      open_advances=_d(verloop["open_advances"]) if "open_advances" in verloop else None)


def _open_in_annex(projects: list[dict]) -> Decimal:
    """All commitments minus all payments t/m the peildatum, from the Projecten annex's per-project totals."""
    return sum((_d(p["committed_total"]) - _d(p["paid_total"]) for p in projects), ZERO)


def _instrument_frame(raw: dict, years: list[int]) -> pd.DataFrame:
    keys = list(RBV_INSTRUMENTS) + [STAFFING]
    labels = {**RBV_INSTRUMENTS, STAFFING: STAFFING_ROW}
    index, rows = [], []
    for measure, measure_label in INSTRUMENT_MEASURES.items():
        block = [[_d(raw.get(str(y), {}).get(k, {}).get(measure)) for y in years] for k in keys]
        index += [(measure_label, labels[k]) for k in keys] + [(measure_label, TOTAL)]
        rows += block + [[sum((r[i] for r in block), ZERO) for i in range(len(years))]]
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["Omschrijving", "Instrument"]),
                        columns=years, dtype=object)


def _moment_frame(raw: dict, years: list[int]) -> tuple[pd.DataFrame, list[int]]:
    keys = [str(y) for y in years]
    rows, stands = [], []
    running = dict.fromkeys(keys, ZERO)

    def add(label, kind, day, amounts, reference):
        for k in keys:
            running[k] += _d(amounts.get(k))
        # A mutation row shows only the years it touches; the stand rows show every year.
        rows.append([label, kind, day] + [_d(amounts[k]) if k in amounts else None for k in keys] + [reference])

    for source in raw["sources"]:
        add(f"Financieringsbron: {source['name']}", FUNDING_KINDS.get(source["kind"], source["kind"]), None,
            source["amounts"], source["reference"])
    by_moment: dict = {}
    for m in raw["mutations"]:
        by_moment.setdefault(m["moment"], []).append(m)
    for moment, stand in MOMENT_STANDS:
        for m in by_moment.get(moment, []):
            add(m["reason"], MUTATION_KINDS.get(m["kind"], m["kind"]), date.fromisoformat(m["date"]), m["amounts"],
                m["reference"])
        stands.append(len(rows))
        rows.append([stand, None, None] + [running[k] for k in keys] + [None])
    return pd.DataFrame(rows, columns=MOMENT_LEAD + years + MOMENT_TAIL, dtype=object), stands


#: Verloop columns as the state stores them (the stand einde and open advances are derived). A state frozen
#: before the vaststelling has no "settled": 0 is right, as nothing was settled then.
_VERLOOP_KEYS = ("opening_committed", "opening_paid", "entered", "paid", "negative", "positive",
                 "opening_advances", "advances", "settled")


def _verloop_frame(raw: dict) -> pd.DataFrame:
    rows = []
    for code in CATEGORIES:
        v = {k: _d(raw.get(code, {}).get(k)) for k in _VERLOOP_KEYS}
        opening = v["opening_committed"] - v["opening_paid"]
        negative = -v["negative"]  # shown as a positive amount taken off
        end = opening + v["entered"] - v["paid"] - negative + v["positive"]
        rows.append([opening, v["entered"], v["paid"], negative, v["positive"], end,
                     v["opening_advances"], v["advances"], v["settled"],
                     v["opening_advances"] + v["advances"] - v["settled"]])
    rows.append([sum((r[i] for r in rows), ZERO) for i in range(len(VERLOOP_COLUMNS))])
    return pd.DataFrame(rows, index=pd.Index(list(CATEGORIES.values()) + [TOTAL], name="Categorie"),
                        columns=VERLOOP_COLUMNS, dtype=object)


def stand_label(docs: BudgetDocs) -> str:
    """What 'Stand einde periode' is, in words for the sheet's note."""
    if docs.through < docs.start:
        return (f"het jaar {docs.start.year} was op de peildatum ({datum_lang(docs.through)}) nog niet begonnen: "
                "de stand 1 januari is de stand op de peildatum")
    end = "" if (docs.through.month, docs.through.day) == (12, 31) else " (de peildatum)"
    return f"periode {datum_lang(docs.start)} t/m {datum_lang(docs.through)}{end}"
