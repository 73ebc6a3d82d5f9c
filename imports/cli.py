"""Command line: `flask --app app import template FILE`, `import run FILE [--dry-run]`, `import export`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from core.db import db
from core.errors import DomainError
from core.users import SystemActor
from imports import reader

import_cli = AppGroup("import", help="Excel-import en -export in het sjabloonformaat.")

#: Errors shown on the terminal; the rest is counted (a broken column can give thousands).
MAX_SHOWN_ERRORS = 200


#: A command-line import acts as this beheerder without a user row.
IMPORT_ACTOR = SystemActor("systeem (import)")


@import_cli.command("template")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def template(file: Path) -> None:
    """Schrijf het lege importsjabloon naar FILE (.xlsx)."""
    from imports.writer import template_bytes

    file.write_bytes(template_bytes())
    click.echo(f"Sjabloon geschreven naar {file}.")


@import_cli.command("export")
@click.option("--programme", "code", required=True, help="Programmacode, bijvoorbeeld STM.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Doelbestand (.xlsx).")
def export(code: str, out: Path) -> None:
    """Schrijf de gegevens van een programma in het sjabloonformaat."""
    from imports.writer import export_bytes
    from projects.services import get_programme

    try:
        programme = get_programme(db.session, code)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    out.write_bytes(export_bytes(db.session, programme))
    click.echo(f"Programma {programme.code} geëxporteerd naar {out}.")


@import_cli.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Alleen controleren en tellen; er wordt niets opgeslagen.")
def run(file: Path, dry_run: bool) -> None:
    """Importeer FILE (.xlsx): alles of niets, met een overzicht per blad."""
    from imports.services import run_import

    if file.stat().st_size > reader.MAX_UPLOAD_BYTES:
        raise click.ClickException(f"Het bestand is groter dan {reader.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    data = file.read_bytes()
    session = db.session
    tty = sys.stdout.isatty()
    with _Progress(tty) as progress:
        try:
            result = run_import(session, IMPORT_ACTOR, data, dry_run=dry_run, progress=progress,
                                filename=file.name)
        except reader.UnsafeFile as exc:
            session.rollback()
            raise click.ClickException(exc.message) from None
        except BaseException:
            session.rollback()
            raise
        if result.must_write:
            session.commit()
        else:
            session.rollback()

    click.echo("")
    click.echo(f"{'Blad':<26} {'nieuw':>8} {'gewijzigd':>10} {'ongewijzigd':>12}")
    for sheet, new, changed, unchanged in result.table():
        click.echo(f"{sheet:<26} {new:>8} {changed:>10} {unchanged:>12}")
    if result.errors:
        click.echo("")
        click.echo(f"{len(result.errors)} fout(en) gevonden; er is niets opgeslagen:", err=True)
        for error in result.errors[:MAX_SHOWN_ERRORS]:
            click.echo(f"  - {error}", err=True)
        if len(result.errors) > MAX_SHOWN_ERRORS:
            click.echo(f"  … en nog {len(result.errors) - MAX_SHOWN_ERRORS} fout(en).", err=True)
        sys.exit(1)
    if dry_run:
        click.echo("Proefimport: alles is in orde; er is niets opgeslagen.")
    elif result.pending_id is not None:
        click.echo(f"Vier ogen: de import wacht als geheel op goedkeuring (nummer {result.pending_id}); hij telt pas "
                   "mee als een ander hem goedkeurt op de pagina Ter goedkeuring.")
    elif result.changed:
        click.echo("Import opgeslagen.")
    else:
        click.echo("Niets gewijzigd: de database bevat deze gegevens al.")


class _Progress:
    """click.progressbar on a terminal; otherwise a line per 10 % (logs and tests can follow it)."""

    def __init__(self, tty: bool):
        self.tty, self.total, self.done, self.shown = tty, None, 0, 0
        self.bar = None

    def __enter__(self):
        return self

    def __call__(self, n: int, total: int) -> None:
        if self.total is None:
            self.start(total)
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.total:
            step = self.done * 10 // self.total
            if step > self.shown:
                self.shown = step
                click.echo(f"bezig: {min(step * 10, 100)}%")

    def start(self, total: int) -> None:
        self.total = total
        click.echo("Bestand gecontroleerd; bezig met importeren …")
        if self.tty and self.total:
            self.bar = click.progressbar(length=self.total, label="Importeren")
            self.bar.__enter__()

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False
