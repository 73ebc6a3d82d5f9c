"""Command line: `report xlsx|html|docx|pdf`, `export fdp` and `snapshot create|list|diff` (flask --app app ...)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from budget.services import closed_through
from core import unit
from core.cli import CLI_ACTOR
from core.dates import datum, datum_lang, default_peildatum
from core.db import db
from core.errors import DomainError
from core.money import format_eur
from projects.services import get_programme

# pandas, plotly and xlsxwriter load inside the commands: other CLI commands start without them.
report_cli = AppGroup("report", help="Stand van zaken als werkboek (xlsx), losse HTML, Word-bijlage of PDF.")
snapshot_cli = AppGroup("snapshot", help="Vastgelegde standen maken, tonen en vergelijken.")
export_cli = AppGroup("export", help="Open data: de openbare stand als Fiscal Data Package.")


def _programme(code: str):
    try:
        return get_programme(db.session, code)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


def _frames(programme_code, year, peildatum, internal, thousands, snapshot_id):
    from reports import services
    from reports.queries import live_frames

    try:
        if snapshot_id is not None:
            snap = services.get_snapshot(db.session, snapshot_id)
            if programme_code and snap.programme.code != programme_code.upper():
                raise click.ClickException(
                    f"Vastgelegde stand {snapshot_id} hoort bij programma {snap.programme.code}.")
            if peildatum is not None:
                raise click.ClickException("--peildatum en --snapshot gaan niet samen: de stand ligt vast.")
            return services.snapshot_frames(snap, year, internal, thousands)
        programme = _programme(programme_code or "STM")
        if peildatum:
            day = peildatum.date()
            year = year or day.year
        else:
            # As on the page: 31 December of a past year, today for this year or a later one.
            year = year or date.today().year
            day = default_peildatum(year)
        return live_frames(db.session, programme, year, day, internal, thousands)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


def _report_options(fn, public_only: bool = False):
    options = [
        click.option("--programme", default=None, help="Programmacode (standaard STM, of die van --snapshot)."),
        click.option("--year", type=int, help="Rapportagejaar (standaard het jaar van de peildatum, anders dit jaar)."),
        click.option("--peildatum", type=click.DateTime(["%Y-%m-%d"]),
                     help="Stand t/m deze datum (JJJJ-MM-DD); standaard 31 december van een afgelopen --year, "
                          "anders vandaag (ook voor een jaar dat nog moet beginnen)."),
        click.option("--internal", is_flag=True, help="Interne versie met projectleider, contactpersoon en notities."),
        click.option("--thousands", is_flag=True, help="Kamertabellen in x € 1.000 (afronding alleen bij weergave)."),
        click.option("--snapshot", "snapshot_id", type=int, help="Maak het rapport uit deze vastgelegde stand."),
        click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Uitvoerbestand."),
    ]
    if public_only:
        del options[3]  # the Word annex and the PDF are for the Kamer: no --internal to mistype
    for option in reversed(options):
        fn = option(fn)
    return fn


@report_cli.command("xlsx")
@_report_options
def report_xlsx(programme, year, peildatum, internal, thousands, snapshot_id, out: Path):
    """Schrijf het werkboek Stand van zaken."""
    from reports import excel, services

    rf = _frames(programme, year, peildatum, internal, thousands, snapshot_id)
    unit.in_cli(lambda: services.record_report_head(db.session, rf, "werkboek"))
    out.write_bytes(excel.build_workbook(rf))
    click.echo(f"Werkboek {out} geschreven ({'intern' if internal else 'openbaar'}, {rf.meta['year']}, "
               f"stand t/m {datum_lang(rf.meta['peildatum'])}). {rf.controls_text}")
    _overrun_notes(rf)


def _overrun_notes(rf) -> None:
    if not rf.meta.get("snapshot") and rf.meta["year"] > rf.meta["peildatum"].year:
        click.echo(f"{rf.meta['year']} is nog niet begonnen: de stand is die t/m {datum_lang(rf.meta['peildatum'])}.")
    for _year, note in sorted(rf.overruns.items()):
        click.echo(f"Let op: {note}")


@report_cli.command("html")
@_report_options
def report_html(programme, year, peildatum, internal, thousands, snapshot_id, out: Path):
    """Schrijf de losse HTML met grafieken (plotly.js ingebed, werkt offline)."""
    from reports import charts, services

    rf = _frames(programme, year, peildatum, internal, thousands, snapshot_id)
    unit.in_cli(lambda: services.record_report_head(db.session, rf, "HTML-rapport"))
    out.write_text(charts.standalone_html(rf), encoding="utf-8")
    click.echo(f"HTML {out} geschreven ({'intern' if internal else 'openbaar'}, {rf.meta['year']}, "
               f"stand t/m {datum_lang(rf.meta['peildatum'])}). {rf.controls_text}")
    _overrun_notes(rf)


def _public_options(fn):
    return _report_options(fn, public_only=True)


@report_cli.command("docx")
@_public_options
def report_docx(programme, year, peildatum, thousands, snapshot_id, out: Path):
    """Schrijf de Word-bijlage voor de Kamer (altijd de openbare versie)."""
    from reports import services, word

    rf = _frames(programme, year, peildatum, False, thousands, snapshot_id)
    unit.in_cli(lambda: services.record_report_head(db.session, rf, "Word-bijlage"))
    out.write_bytes(word.build_docx(rf))
    click.echo(f"Word-bijlage {out} geschreven (openbaar, {rf.meta['year']}, "
               f"stand t/m {datum_lang(rf.meta['peildatum'])}). {rf.controls_text}")
    _overrun_notes(rf)


@report_cli.command("pdf")
@_public_options
def report_pdf(programme, year, peildatum, thousands, snapshot_id, out: Path):
    """Schrijf het HTML-rapport als A4-PDF (openbaar; headless Chromium)."""
    from reports import pdf, services

    rf = _frames(programme, year, peildatum, False, thousands, snapshot_id)
    try:
        data = pdf.build_pdf(rf)
    except pdf.PdfUnavailable as exc:
        raise click.ClickException(exc.message) from None
    unit.in_cli(lambda: services.record_report_head(db.session, rf, "PDF-rapport"))
    out.write_bytes(data)
    click.echo(f"PDF {out} geschreven (openbaar, {rf.meta['year']}, "
               f"stand t/m {datum_lang(rf.meta['peildatum'])}). {rf.controls_text}")
    _overrun_notes(rf)


@export_cli.command("fdp")
@click.option("--programme", default=None, help="Programmacode (standaard STM, of die van --snapshot).")
@click.option("--year", type=int, help="Rapportagejaar (standaard het jaar van de peildatum, anders dit jaar).")
@click.option("--peildatum", type=click.DateTime(["%Y-%m-%d"]),
              help="Stand t/m deze datum (JJJJ-MM-DD); standaard als bij `report xlsx`.")
@click.option("--snapshot", "snapshot_id", type=int, help="Maak het pakket uit deze vastgelegde stand.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Map voor datapackage.json en data/*.csv (wordt gemaakt als hij ontbreekt).")
def export_fdp(programme, year, peildatum, snapshot_id, out: Path):
    """Schrijf de openbare stand als Fiscal Data Package (datapackage.json met CSV-bestanden)."""
    from reports import fdp, services

    rf = _frames(programme, year, peildatum, False, False, snapshot_id)
    unit.in_cli(lambda: services.record_report_head(db.session, rf, "open data (FDP)"))
    files = fdp.build(rf)
    fdp.write_dir(files, out)
    click.echo(f"Fiscal Data Package in {out} geschreven ({len(files) - 1} CSV-bestanden, openbaar, {rf.meta['year']}, "
               f"stand t/m {datum_lang(rf.meta['peildatum'])}). {rf.controls_text}")
    _overrun_notes(rf)


@snapshot_cli.command("create")
@click.option("--programme", default="STM", show_default=True, help="Programmacode.")
@click.option("--peildatum", required=True, type=click.DateTime(["%Y-%m-%d"]), help="JJJJ-MM-DD.")
@click.option("--title", required=True, help="Titel, bijv. 'Voortgangsbrief voorjaar 2025'.")
@click.option("--kamerstuk", default="", help="Kamerstukverwijzing, bijv. 'Kamerstuk 28638, nr. 200'.")
@click.option("--close", is_flag=True, help="Sluit ook de periode af t/m de peildatum (voor een Kamerbrief).")
def snapshot_create(programme, peildatum, title, kamerstuk, close):
    """Leg de stand vast; drukt het nummer af."""
    from reports import services

    prog = _programme(programme)
    snap = unit.in_cli(lambda: services.create_snapshot(db.session, CLI_ACTOR, prog, peildatum.date(), title,
                                                        kamerstuk, close))
    click.echo(snap.id)
    if close:
        # On stderr: scripts read the snapshot's number from stdout.
        click.echo(f"Periode van {prog.code} afgesloten t/m "
                   f"{datum_lang(closed_through(db.session, prog.id))}.", err=True)


@snapshot_cli.command("list")
@click.option("--programme", default=None, help="Alleen dit programma.")
def snapshot_list(programme):
    """Toon de vastgelegde standen."""
    from reports import services

    prog = _programme(programme) if programme else None
    snaps = services.list_snapshots(db.session, prog)
    if not snaps:
        click.echo("Nog geen vastgelegde standen.")
    for s in snaps:
        click.echo(f"{s.id:>4}  {s.programme.code:<6} t/m {datum(s.peildatum):<10}  {s.title}"
                   + (f" ({s.kamerstuk})" if s.kamerstuk else "") + f"  sha256 {s.sha256[:12]}…")


@snapshot_cli.command("diff")
@click.argument("id1", type=int)
@click.argument("id2", type=int)
@click.option("--year", type=int, help="Jaar voor categorie, programmalijn en projecten.")
def snapshot_diff(id1, id2, year):
    """Vergelijk twee vastgelegde standen (van ID1 naar ID2)."""
    from reports import services

    try:
        a, b = services.get_snapshot(db.session, id1), services.get_snapshot(db.session, id2)
        d = services.diff_snapshots(a, b, year)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Van stand {a.id} (t/m {datum_lang(a.peildatum)}) naar stand {b.id} (t/m {datum_lang(b.peildatum)}):")
    if d.unchanged:
        click.echo("Geen verschillen.")
        return
    for title, df in (("Totalen per jaar", d.totals), (f"Per categorie {d.year}", d.categories),
                      (f"Per programmalijn {d.year}", d.lines)):
        if not df.empty:
            click.echo(f"\n{title}:")
            for row in df.itertuples(index=False):
                *label, x, y, delta = row
                click.echo(f"  {' / '.join(str(v) for v in label)}: {format_eur(x)} → {format_eur(y)} "
                           f"({'+' if delta > 0 else ''}{format_eur(delta)})")
    if not d.projects.empty:
        click.echo(f"\nProjecten ({d.year}):")
        for row in d.projects.itertuples(index=False):
            click.echo(f"  {row[0]} {row[1]}: {row[2]}; {row[3]}")
