"""Open data: the public stand van zaken as a Fiscal Data Package (datapackage.json and CSV files)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from core.dates import datum_lang
from projects.models import CATEGORIES, INSTRUMENTS, LINES
from reports import APP_VERSION
from reports.queries import (
    AMOUNT_PROJECT_COLUMNS,
    PUBLIC_PROJECT_COLUMNS,
    STAFFING_LABEL,
    SUMMARY_ROWS,
    ReportFrames,
)
from reports.terms import TERMS

#: The registry name of the profile (Data Package v1); validators map it to the FDP JSON schema.
PROFILE = "fiscal-data-package"
CURRENCY = "EUR"
#: Dutch central government publishes open data under CC0 (public domain).
LICENCE = {"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/",
           "title": "Creative Commons Zero v1.0 Universal"}
STAFFING_CODE = "ambtelijke_ondersteuning"
_TERM = dict(TERMS)

#: The FDP phase of each kind of amount. FDP knows four: proposed, approved, adjusted, executed.
#: The allocations are the approved budget; the available budget adds the mutations of the Voorjaars- and
#: Najaarsnota (the suppletoire begrotingen): adjusted. Paid is executed. A commitment is neither a plan
#: nor money spent, so it gets no phase (the spec makes phase optional); nor do derived amounts
#: (mutaties, vrije ruimte) or the pipeline, which is what projects ask, not a stage of the budget.
PHASES = {"structural": "approved", "incidental": "approved", "available": "adjusted", "paid": "executed",
          "Gerealiseerd": "executed"}

#: Samenvatting: key of reports.queries.SUMMARY_ROWS -> (CSV column, description).
SUMMARY_FIELDS = {
    "structural": ("structureel_budget", "Toekenningen van de structurele financieringsbronnen."),
    "incidental": ("incidenteel_budget", "Toekenningen van de incidentele financieringsbronnen."),
    "mutations": ("mutaties", "Budgetmutaties t/m de peildatum (plus en min, kasschuiven samen nul)."),
    "available": ("beschikbaar_budget", _TERM["Beschikbaar budget"]),
    "staffing": ("ambtelijke_ondersteuning", "Reservering voor ambtelijke ondersteuning bij JenV (telt als "
                                             "verplicht)."),
    "committed_projects": ("verplicht_projecten", "Kasritme van de verplichtingen van projecten voor het jaar."),
    "released": ("vrijval_na_vaststelling", _TERM["Vrijval na vaststelling"]),
    "committed": ("verplicht_totaal", _TERM["Verplicht"]),
    "paid": ("gerealiseerd", _TERM["Gerealiseerd"]),
    "free": ("vrije_ruimte", _TERM["Vrije ruimte"]),
    "pct_committed": ("pct_verplicht", "Verplicht totaal als deel van het beschikbaar budget (0.691 = 69,1%)."),
    "pct_paid": ("pct_gerealiseerd", "Gerealiseerd als deel van het beschikbaar budget (0.564 = 56,4%)."),
}
#: Per categorie and per programmalijn: column of the report's table -> (CSV column, description).
GROUP_FIELDS = {
    "Verplicht": ("verplicht", _TERM["Verplicht"]),
    "Gerealiseerd": ("gerealiseerd", _TERM["Gerealiseerd"]),
    "In voorbereiding": ("in_voorbereiding", _TERM["In voorbereiding"]),
}
#: The public project columns (the allow-list) -> CSV column; a coded column also gets its code.
PROJECT_FIELDS = {
    "Projectcode": "projectcode", "Project": "project", "Categorie": "categorie", "Programmalijn": "programmalijn",
    "Vormen van uitbuiting": "vormen_van_uitbuiting", "Uitvoerende organisatie": "uitvoerende_organisatie",
    "Instrument": "instrument", "Looptijd": "looptijd", "Status": "status", "Verplicht": "verplicht",
    "Gerealiseerd": "gerealiseerd", "Verplicht totaal": "verplicht_totaal", "Toelichting": "toelichting",
}
CODED = {"Categorie": CATEGORIES, "Programmalijn": LINES, "Instrument": INSTRUMENTS}


def _cell(value) -> str:
    # Machine-readable (Table Schema defaults): a point for decimals, no grouping, empty for none. Text
    # goes out as it is: an apostrophe against spreadsheet formulas would change the published data.
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _csv(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _field(name: str, kind: str, title: str, description: str | None = None) -> dict:
    field = {"name": name, "type": kind, "title": title}
    if description:
        field["description"] = description
    return field


def _year_field() -> dict:
    return _field("jaar", "integer", "Jaar", "Begrotingsjaar (kalenderjaar).")


class _Builder:
    """Collects resources (CSV bytes and descriptor) and the model's measures and dimensions."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.resources: list[dict] = []
        self.measures: dict[str, dict] = {}
        self.dimensions: dict[str, dict] = {}

    def resource(self, name: str, title: str, description: str, fields: list[dict], rows: list[list],
                 key: list[str]) -> None:
        data = _csv([f["name"] for f in fields], rows)
        path = f"data/{name}.csv"
        self.files[path] = data
        self.resources.append({
            "profile": "tabular-data-resource", "name": name, "path": path, "title": title,
            "description": description, "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "bytes": len(data), "hash": f"sha256:{hashlib.sha256(data).hexdigest()}",
            "schema": {"fields": fields, "primaryKey": key},
        })
        self.dimension(f"{name}_jaar", name, "datetime", {"jaar": "jaar"}, "jaar")

    def measure(self, resource: str, field: dict, phase: str | None) -> None:
        measure = {"source": field["name"], "resource": resource, "currency": CURRENCY, "factor": 1,
                   "direction": "expenditure", "title": field["title"]}
        if phase:
            measure["phase"] = phase
        self.measures[f"{resource}_{field['name']}"] = measure

    def dimension(self, key: str, resource: str, kind: str, attributes: dict[str, str], primary: str,
                  label: str | None = None, **extra) -> None:
        attrs = {name: {"source": source, "resource": resource} for name, source in attributes.items()}
        if label:
            attrs[label]["labelfor"] = primary
        self.dimensions[key] = {"dimensionType": kind, "attributes": attrs, "primaryKey": primary, **extra}


def _summary(b: _Builder, rf: ReportFrames) -> None:
    rows = [(label, key) for label, key, _kind in SUMMARY_ROWS if label in rf.summary.index]
    fields = [_year_field()]
    for label, key in rows:
        name, description = SUMMARY_FIELDS[key]
        fields.append(_field(name, "number", label, description))
        if not key.startswith("pct_"):
            b.measure("samenvatting", fields[-1], PHASES.get(key))
    data = [[int(year)] + [rf.summary.at[label, year] for label, _key in rows] for year in rf.summary.columns]
    b.resource("samenvatting", "Samenvatting per jaar",
               "De Samenvatting van het werkboek: elk programmajaar, bedragen in euro, stand t/m de peildatum.",
               fields, data, ["jaar"])


def _group(b: _Builder, rf: ReportFrames, name: str, what: str, frame, labels: dict[str, str],
           extra: dict) -> None:
    codes = {label: code for code, label in labels.items()} | {STAFFING_LABEL: STAFFING_CODE}
    year = rf.meta["year"]
    fields = [_year_field(), _field(f"{what}_code", "string", f"{what.capitalize()} (code)"),
              _field(what, "string", what.capitalize()),
              _field("aantal_projecten", "integer", "Aantal projecten",
                     "Leeg voor de ambtelijke ondersteuning." if STAFFING_LABEL in frame.index else None)]
    for column, (field_name, description) in GROUP_FIELDS.items():
        fields.append(_field(field_name, "number", column, description))
        b.measure(name, fields[-1], PHASES.get(column))
    data = [[year, codes[label], label, *(frame.at[label, c] for c in ["Aantal projecten", *GROUP_FIELDS])]
            for label in frame.index[:-1]]  # the last row is the table's total: open data has no totals
    b.resource(name, f"Per {what} {year}", f"Verplicht, gerealiseerd en in voorbereiding per {what} in {year}, "
               "stand t/m de peildatum, zonder totaalregel.", fields, data, ["jaar", f"{what}_code"])
    b.dimension(what, name, "classification", {"code": f"{what}_code", "naam": what}, "code", "naam", **extra)


def _projects(b: _Builder, rf: ReportFrames) -> None:
    frame = rf.projects
    if frame is None or list(frame.columns) != PUBLIC_PROJECT_COLUMNS:
        raise ValueError("Open data bevat alleen de openbare projectkolommen.")
    year = rf.meta["year"]
    fields, columns = [_year_field()], []
    for column in PUBLIC_PROJECT_COLUMNS:
        name = PROJECT_FIELDS[column]
        if column in CODED:
            fields.append(_field(f"{name}_code", "string", f"{column} (code)"))
            columns.append((column, {label: code for code, label in CODED[column].items()}))
        kind = "number" if column in AMOUNT_PROJECT_COLUMNS else "string"
        fields.append(_field(name, kind, column, "Alle jaren samen." if column == "Verplicht totaal" else None))
        columns.append((column, None))
        if kind == "number":
            b.measure("projecten", fields[-1], PHASES.get(column))
    values = {column: frame[column].tolist() for column in PUBLIC_PROJECT_COLUMNS}
    data = [[year] + [codes[values[c][i]] if codes else values[c][i] for c, codes in columns]
            for i in range(len(frame))]
    b.resource("projecten", f"Projecten {year}", f"De bijlage projectenoverzicht: verplicht en gerealiseerd in {year}, "
               "verplicht totaal over alle jaren; alleen openbare kolommen.", fields, data, ["jaar", "projectcode"])
    b.dimension("project", "projecten", "activity", {"code": "projectcode", "title": "project"}, "code", "title")
    b.dimension("project_categorie", "projecten", "classification",
                {"code": "categorie_code", "naam": "categorie"}, "code", "naam")
    b.dimension("project_programmalijn", "projecten", "classification",
                {"code": "programmalijn_code", "naam": "programmalijn"}, "code", "naam",
                classificationType="functional")
    b.dimension("instrument", "projecten", "classification", {"code": "instrument_code", "naam": "instrument"},
                "code", "naam", classificationType="economic")
    b.dimension("uitvoerende_organisatie", "projecten", "entity", {"title": "uitvoerende_organisatie"}, "title")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "programma"


def build(rf: ReportFrames) -> dict[str, bytes]:
    """{path in the package: bytes}, datapackage.json first. Public by construction: refuses an internal report."""
    m = rf.meta
    if m["internal"]:
        raise ValueError("Open data is altijd de openbare versie.")
    b = _Builder()
    _summary(b, rf)
    _group(b, rf, "categorieen", "categorie", rf.categories, CATEGORIES, {})
    _group(b, rf, "programmalijnen", "programmalijn", rf.lines, LINES, {"classificationType": "functional"})
    _projects(b, rf)
    peildatum: date = m["peildatum"]
    years = [int(y) for y in m["years"]]
    descriptor = {
        "profile": PROFILE,
        "name": f"{_slug(m['programme_code'])}-stand-van-zaken-{m['year']}-{peildatum:%Y%m%d}",
        "title": f"Stand van zaken {m['year']}, stand t/m {datum_lang(peildatum)} – {m['programme_name']} "
                 f"({m['programme_code']})",
        "description": ("Openbare cijfers van de stand van zaken voor de Tweede Kamer, zoals in het werkboek: de "
                        f"Samenvatting voor elk programmajaar, en voor {m['year']} per categorie, per programmalijn "
                        "en per project. Bedragen in euro, exact op de cent; zonder persoonsgegevens."),
        "countryCode": "NL",
        "granularity": "aggregated",
        "fiscalPeriod": {"start": f"{min(years)}-01-01", "end": f"{max(years)}-12-31"},
        "created": m["made_at"].isoformat(),
        "licenses": [LICENCE],
        # The ministry, never a person.
        "contributors": [{"title": m["ministry"] or "Programmamonitor", "role": "publisher"}],
        "keywords": ["begroting", "mensenhandel", "stand van zaken", "fiscal data package"],
        "peildatum": peildatum.isoformat(),
        "rapportagejaar": m["year"],
        "programma": {"code": m["programme_code"], "naam": m["programme_name"], "ministerie": m["ministry"],
                      "begrotingsartikel": m["budget_article"]},
        "gemaaktMet": f"Programmamonitor {APP_VERSION}",
        "resources": b.resources,
        "model": {"measures": b.measures, "dimensions": b.dimensions},
    }
    if m.get("snapshot"):
        s = m["snapshot"]
        descriptor["vastgelegdeStand"] = {"nummer": s["id"], "titel": s["title"], "kamerstuk": s["kamerstuk"],
                                          "sha256": s["sha256"]}
    if m.get("audit_head"):
        descriptor["audittrailKop"] = m["audit_head"]
    text = json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n"
    return {"datapackage.json": text.encode("utf-8"), **b.files}


def write_dir(files: dict[str, bytes], out: Path) -> None:
    """Write the package into `out` (made when missing); other files there stay as they are."""
    for path, data in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def zip_bytes(files: dict[str, bytes], made_at) -> bytes:
    """The package as one zip, datapackage.json at its root; the entries carry the report's moment, so the
    same snapshot gives the same bytes."""
    buffer = io.BytesIO()
    stamp = made_at.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
