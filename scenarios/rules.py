"""A scenario's figures from the base and its entries' effects: plain values in, plain values out, no database."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from core.money import ZERO

#: Entries that change what is available (the budget); every other kind changes what is committed.
AVAILABLE_KINDS = ("mutation", "kasschuif")
STAFFING = "staffing"


@dataclass(frozen=True)
class Effect:
    """One entry's change in free room per year, and where it counts: its project's category and line."""

    kind: str
    deltas: dict[int, Decimal]
    category: str | None = None
    line: str | None = None

    def available(self, year: int) -> Decimal:
        return self.deltas.get(year, ZERO) if self.kind in AVAILABLE_KINDS else ZERO

    def committed(self, year: int) -> Decimal:
        # Free room falls by what is committed: a commitment's delta is minus its schedule.
        return ZERO if self.kind in AVAILABLE_KINDS else -self.deltas.get(year, ZERO)


@dataclass(frozen=True)
class YearRow:
    """Beschikbaar, verplicht and vrije ruimte of one year, in the base and in the scenario."""

    year: int
    base_available: Decimal
    base_committed: Decimal
    available: Decimal
    committed: Decimal

    @property
    def base_free(self) -> Decimal:
        return self.base_available - self.base_committed

    @property
    def free(self) -> Decimal:
        return self.available - self.committed

    @property
    def change(self) -> Decimal:
        return self.free - self.base_free

    @property
    def negative(self) -> bool:
        """The scenario leaves the year below zero: adopting it would meet the budget stop."""
        return self.free < 0


def year_rows(base: dict[int, tuple[Decimal, Decimal]], effects: list[Effect]) -> list[YearRow]:
    """Per programme year (base: {year: (beschikbaar, verplicht)}) the base and the scenario."""
    return [YearRow(year, available, committed,
                    available + sum((e.available(year) for e in effects), ZERO),
                    committed + sum((e.committed(year) for e in effects), ZERO))
            for year, (available, committed) in sorted(base.items())]


@dataclass
class GroupRow:
    """Verplicht of one category (or programme line) per year: base and scenario."""

    code: str
    base: dict[int, Decimal] = field(default_factory=dict)
    scenario: dict[int, Decimal] = field(default_factory=dict)

    def changed(self, year: int) -> bool:
        return self.base.get(year, ZERO) != self.scenario.get(year, ZERO)


def group_rows(base: dict[int, dict[str, Decimal]], effects: list[Effect], codes, attribute: str) -> list[GroupRow]:
    """Verplicht per `codes` (categories, or lines) per year; `attribute` is the effect's 'category' or 'line'.

    A staffing change counts in the category table's own row (code STAFFING), as in the report.
    """
    rows = {code: GroupRow(code) for code in codes}
    for year, amounts in base.items():
        for code, row in rows.items():
            row.base[year] = row.scenario[year] = amounts.get(code, ZERO)
    for effect in effects:
        code = STAFFING if effect.kind == STAFFING else getattr(effect, attribute)
        if code not in rows:
            continue  # a budget change, or a staffing change in the lines table: no row of its own
        for year in base:
            rows[code].scenario[year] += effect.committed(year)
    return list(rows.values())


def adoption_shortfalls(rows: list[YearRow]) -> dict[int, Decimal]:
    """What each year would be short after adopting: the years the scenario leaves below zero."""
    return {r.year: -r.free for r in rows if r.negative}
