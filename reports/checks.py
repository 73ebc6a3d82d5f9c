"""The Controles of a report: reconciliations between separate queries and the budget rules at the peildatum."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd

from core.money import ZERO
from reports.budgetdocs import NEGATIVE
from reports.queries import CONTROL_COLUMNS, STAFFING_LABEL, ReportFrames

OK, DEVIATION = "OK", "AFWIJKING"


def controls(rf: ReportFrames) -> pd.DataFrame:
    """Every check as a row: Controle, Uitkomst (OK/AFWIJKING), Waarde 1, Waarde 2.

    First the reconciliations (two amounts from separate SQL queries must be equal), then the
    rules the stand must meet: no year's free room below zero (a beheerder's override shows here
    too) and no commitment paid beyond its total, judged per commitment: a sum per project would
    hide one overpaid commitment behind the project's others.
    """
    year = rf.meta["year"]
    s = rf.summary[year] if year in rf.summary.columns else None
    rows = []

    def check(label, a, b, ok=None):
        rows.append([label, OK if (a == b if ok is None else ok) else DEVIATION, a, b])

    if s is not None:
        check("Categorieën tellen op tot Verplicht totaal (Samenvatting)",
              rf.categories.loc["Totaal", "Verplicht"], s["Verplicht totaal"])
        check("Gerealiseerd per categorie telt op tot Gerealiseerd t/m peildatum (Samenvatting)",
              rf.categories.loc["Totaal", "Gerealiseerd"], s["Gerealiseerd t/m peildatum"])
    check("Programmalijnen tellen op tot het totaal van de projecten (Per categorie zonder ambtelijke ondersteuning)",
          rf.lines.loc["Totaal projecten", "Verplicht"],
          rf.categories.loc["Totaal", "Verplicht"] - rf.categories.loc[STAFFING_LABEL, "Verplicht"])
    check("Matrix telt op tot het totaal van de programmalijnen",
          rf.matrix.loc["Totaal", "Totaal"], rf.lines.loc["Totaal projecten", "Verplicht"])
    if s is not None:
        check("Verplicht projecten (Samenvatting) gelijk aan de matrix",
              s["Verplicht projecten"], rf.matrix.loc["Totaal", "Totaal"])
        check("Beschikbaar budget min Verplicht totaal is Vrije ruimte (Samenvatting)",
              s["Beschikbaar budget"] - s["Verplicht totaal"], s["Vrije ruimte"])
        check("Structureel, incidenteel en mutaties tellen op tot Beschikbaar budget (Samenvatting)",
              s["Structureel budget"] + s["Incidenteel budget"] + s["Mutaties"], s["Beschikbaar budget"])
        check("Mutaties (blad Mutaties) gelijk aan Mutaties (Samenvatting)",
              sum(rf.mutations["Bedrag"], ZERO), s["Mutaties"])
    if rf.projects is not None:
        check("Projecten: Verplicht telt op tot de matrix",
              sum(rf.projects["Verplicht"], ZERO), rf.matrix.loc["Totaal", "Totaal"])
        check("Projecten: Gerealiseerd telt op tot het totaal van de programmalijnen",
              sum(rf.projects["Gerealiseerd"], ZERO), rf.lines.loc["Totaal projecten", "Gerealiseerd"])
    if rf.budgetdocs is not None:
        _budget_documents(rf, check)
    for y in rf.summary.columns:
        free = rf.summary.loc["Vrije ruimte", y]
        check(f"Vrije ruimte niet negatief ({y})", free, ZERO, ok=free >= 0)
    if rf.commitments is not None:
        # One row for all commitments, and one more per commitment that deviates: at 10,000 projects
        # a row per commitment would be ~28,000 rows of OK around the one that matters.
        overpaid = rf.commitments["overpaid"]
        check(f"Betaald ≤ verplicht (alle {rf.commitments['count']} verplichtingen): aantal met meer betaald",
              len(overpaid), 0)
        for reference, code, paid, committed in overpaid:
            check(f"Betaald ≤ verplicht: verplichting {reference} (project {code}): betaald, verplicht",
                  Decimal(paid), Decimal(committed), ok=False)
    elif rf.projects is not None:
        # A snapshot made before the per-commitment check kept only the projects' totals.
        check("Aantal projecten met meer betaald dan verplicht", len(rf.overpaid or []), 0)
    return pd.DataFrame(rows, columns=CONTROL_COLUMNS)


def _budget_documents(rf: ReportFrames, check) -> None:
    """The budget documents' sheets tied to the Samenvatting, and the verloop to the commitments' own totals."""
    docs, summary = rf.budgetdocs, rf.summary
    for y in summary.columns:
        check(f"Per instrument: Verplicht telt op tot Verplicht totaal (Samenvatting, {y})",
              docs.instruments.loc[("Verplicht", "Totaal"), y], summary.loc["Verplicht totaal", y])
        check(f"Per instrument: Gerealiseerd telt op tot Gerealiseerd t/m peildatum (Samenvatting, {y})",
              docs.instruments.loc[("Gerealiseerd", "Totaal"), y], summary.loc["Gerealiseerd t/m peildatum", y])
    last = docs.moments.iloc[docs.stand_rows[-1]]
    for y in summary.columns:
        check(f"Mutatieoverzicht: laatste stand gelijk aan Beschikbaar budget (Samenvatting, {y})",
              last[y], summary.loc["Beschikbaar budget", y])
    t = docs.verloop.loc["Totaal"]
    check("Verloop verplichtingen: stand 1 januari + aangegaan − betaald − negatieve + positieve bijstellingen "
          "is de stand einde periode",
          t["Stand 1 januari"] + t["Aangegaan"] - t["Betaald"] - t[NEGATIVE]
          + t["Positieve bijstellingen"], t["Stand einde periode"])
    check("Verloop verplichtingen: stand einde periode gelijk aan alle verplichtingen min alle betalingen "
          "(afzonderlijk berekend)", t["Stand einde periode"], docs.open_end)
    check("Verloop verplichtingen: Betaald gelijk aan Gerealiseerd per categorie zonder ambtelijke ondersteuning",
          t["Betaald"], rf.categories.loc["Totaal", "Gerealiseerd"] - rf.categories.loc[STAFFING_LABEL, "Gerealiseerd"])
    if docs.open_advances is not None:  # a state frozen before the vaststelling did not count them apart
        check("Verloop verplichtingen: Openstaande voorschotten gelijk aan de betaalde voorschotten zonder "
              "vaststelling aan het eind van de periode (afzonderlijk berekend)",
              t["Openstaande voorschotten"], docs.open_advances)


def failed(rf: ReportFrames) -> pd.DataFrame:
    """The rows that deviate."""
    return rf.controls[rf.controls["Uitkomst"] != OK]


def summary_text(rf: ReportFrames) -> str:
    """One Dutch sentence for the page and the CLI: never "alle OK" when one deviates."""
    n, bad = len(rf.controls), len(failed(rf))
    if not bad:
        return f"Alle {n} controles zijn OK."
    return f"{bad} van de {n} controles {'wijkt' if bad == 1 else 'wijken'} af (AFWIJKING)."
