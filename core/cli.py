"""Command line: users, audit verification, backup and restore (`flask --app app ...`)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from core import unit
from core.audit import verify_chain
from core.auditcheck import seal
from core.auditkey import audit_keys
from core.backup import create_backup, restore_backup
from core.db import db
from core.errors import DomainError
from core.users import (
    ROLES,
    SystemActor,
    by_email,
    create_user,
    link_sso,
    reset_password,
)

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
    password = _read_password(password_stdin)
    user = unit.in_cli(lambda: create_user(db.session, CLI_ACTOR, email, name, role, password))
    click.echo(f"Gebruiker {user.email} aangemaakt met rol {user.role_label}.")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Lees het nieuwe wachtwoord (één regel) van standaardinvoer.")
def set_password(email: str, password_stdin: bool) -> None:
    """Stel een nieuw wachtwoord in, bijv. voor een kwijtgeraakt demowachtwoord; beëindigt de sessies van de
    gebruiker."""
    password = _read_password(password_stdin, prompt="Nieuw wachtwoord")
    # The same service as the beheerder's page: same password rules, audited, every session ended.
    user = unit.in_cli(lambda: reset_password(db.session, CLI_ACTOR, by_email(db.session, email), password))
    click.echo(f"Nieuw wachtwoord ingesteld voor {user.email}; de gebruiker is overal uitgelogd.")
    if not user.active:
        click.echo(f"Let op: {user.email} is gedeactiveerd en kan pas inloggen als een beheerder het account "
                   "weer activeert.")


@users_cli.command("link-sso")
@click.argument("email")
@click.argument("subject")
def link_sso_command(email: str, subject: str) -> None:
    """Koppel een gebruiker aan zijn account bij de identiteitsprovider (het `sub`-kenmerk; leeg ontkoppelt)."""
    user = unit.in_cli(lambda: link_sso(db.session, CLI_ACTOR, by_email(db.session, email), subject))
    click.echo(f"{user.email} logt via de identiteitsprovider in als {user.sso_subject}." if user.sso_subject
               else f"{user.email} is niet meer aan de identiteitsprovider gekoppeld.")


def _read_password(from_stdin: bool, prompt: str = "Wachtwoord") -> str:
    # One line from stdin keeps the password out of `ps` and the shell history (never an argument).
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


audit_cli = AppGroup("audit", help="De audittrail controleren.")


def _head_option(value: str) -> tuple[int, str]:
    entry_id, _sep, entry_hash = value.partition(":")
    if not entry_id.isdigit() or len(entry_hash) != 64:
        raise click.BadParameter("Geef de kop als REGEL:HASH, zoals in de Verantwoording van een rapport.")
    return int(entry_id), entry_hash.lower()


@audit_cli.command("verify")
@click.option("--kop", "heads", multiple=True, metavar="REGEL:HASH",
              help="Controleer ook deze kop, bijv. uit de Verantwoording van een verzonden rapport.")
def verify_audit(heads: tuple[str, ...]) -> None:
    """Controleer de gesleutelde keten en elke vastgelegde kop; noemt de eerste gewijzigde of ontbrekende regel."""
    ok, _entry, message = verify_chain(db.session, heads=tuple(_head_option(h) for h in heads))
    db.session.rollback()
    if not ok:
        raise click.ClickException(message)
    click.echo(message)


@audit_cli.command("seal")
def seal_audit() -> None:
    """Onderteken de audittrail zoals hij is met AUDIT_KEY (na controle): na de invoering van de sleutel
    en na elke sleutelwissel."""
    click.echo(unit.in_cli(lambda: seal(db.session, CLI_ACTOR)))


backup_cli = AppGroup("backup", help="Back-up maken en terugzetten.")


def _passphrase() -> str | None:
    # From the environment only: never an argument, which `ps` and the shell history would show.
    return os.environ.get("BACKUP_PASSPHRASE") or None


@backup_cli.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_create(file: Path) -> None:
    """Schrijf alle gegevens naar FILE: één consistente stand, alleen leesbaar voor de eigenaar (0600),
    ondertekend met AUDIT_KEY en versleuteld als BACKUP_PASSPHRASE is gezet."""
    passphrase = _passphrase()
    try:
        counts = create_backup(db.session, file, passphrase)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.session.rollback()
    how = "versleuteld" if passphrase else "NIET versleuteld (zet BACKUP_PASSPHRASE om te versleutelen)"
    click.echo(f"Back-up geschreven naar {file}: {sum(counts.values())} regels in {len(counts)} tabellen; "
               f"ondertekend met sleutel {audit_keys().current_id}, {how}.")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_restore(file: Path) -> None:
    """Zet FILE terug in een lege, gemigreerde database: alles of niets. Handtekening, audittrail en de
    cijfers van het grootboek worden gecontroleerd voordat er iets wordt vastgelegd."""
    try:
        counts, message = restore_backup(db.session, file, _passphrase())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    except BaseException:
        db.session.rollback()
        raise
    click.echo(f"Teruggezet: {sum(counts.values())} regels in {len(counts)} tabellen. Handtekening en "
               f"grootboek gecontroleerd. {message} Gebruikers moeten opnieuw inloggen.")
