"""Command line for accounts: `flask --app app users add EMAIL --name NAME --role ROLE --password-stdin`."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from core.audit import verify_chain
from core.db import db
from core.errors import DomainError
from core.users import ROLES, create_user

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
    try:
        user = create_user(db.session, "cli", email, name, role, password)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"Gebruiker {user.email} aangemaakt met rol {user.role_label}.")


audit_cli = AppGroup("audit", help="De audittrail controleren.")


@audit_cli.command("verify")
def verify_audit() -> None:
    """Controleer de hashketen van de audittrail; noemt de eerste gewijzigde of verwijderde regel."""
    ok, entry_id, message = verify_chain(db.session)
    if not ok:
        raise click.ClickException(message)
    click.echo(message)
