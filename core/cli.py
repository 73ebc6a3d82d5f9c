"""Command line: users, audit verification, backup and restore (`flask --app app ...`)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from core import unit
from core.audit import verify_chain
from core.backup import create_backup, restore_backup
from core.db import db
from core.errors import DomainError
from core.users import ROLES, SystemActor, create_user

#: Who acts for a command typed on the server: whoever has that shell is trusted as a beheerder.
CLI_ACTOR = SystemActor("systeem (cli)")

users_cli = AppGroup("users", help="Gebruikers beheren.")


@users_cli.command("add")
@click.argument("email")
@click.option("--name", required=True, help="Volledige naam.")
@click.option("--role", required=True, type=click.Choice(list(ROLES)), help="Rol van de gebruiker.")
@click.option("--password-stdin", is_flag=True, help="Lees het wachtwoord van standaardinvoer.")
def add_user(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Maak een gebruiker aan (wachtwoord van standaardinvoer of interactief gevraagd)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Wachtwoord", hide_input=True, confirmation_prompt=True)
    user = unit.in_cli(lambda: create_user(db.session, CLI_ACTOR, email, name, role, password))
    click.echo(f"Gebruiker {user.email} aangemaakt met rol {user.role_label}.")


audit_cli = AppGroup("audit", help="De audittrail controleren.")


@audit_cli.command("verify")
def verify_audit() -> None:
    """Controleer de hashketen van de audittrail; noemt de eerste gewijzigde of verwijderde regel."""
    ok, entry_id, message = verify_chain(db.session)
    if not ok:
        raise click.ClickException(message)
    click.echo(message)


backup_cli = AppGroup("backup", help="Back-up maken en terugzetten.")


@backup_cli.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_create(file: Path) -> None:
    """Schrijf alle gegevens naar FILE (gzip-JSON, werkt tussen SQLite en PostgreSQL)."""
    counts = create_backup(db.session, file)
    db.session.rollback()
    click.echo(f"Back-up geschreven naar {file}: {sum(counts.values())} regels in {len(counts)} tabellen.")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_restore(file: Path) -> None:
    """Zet FILE terug in een lege, gemigreerde database (alles of niets)."""
    try:
        counts = restore_backup(db.session, file)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    ok, _entry, message = verify_chain(db.session)
    click.echo(f"Teruggezet: {sum(counts.values())} regels in {len(counts)} tabellen. {message}")
    if not ok:
        raise click.ClickException("De audittrail in de back-up klopt niet: " + message)
