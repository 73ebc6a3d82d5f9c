"""Command line for demo data: `flask --app app demo load [--if-empty] [--with-users]`."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from budget.ledger import programme_figures, programme_years
from core import unit
from core.db import db
from core.money import format_eur, format_pct
from projects.models import Programme

demo_cli = AppGroup("demo", help="Demodata.")

_COUNT_LABELS = (
    ("organisations", "organisaties"),
    ("projects", "projecten"),
    ("status_updates", "statusupdates"),
    ("funding_sources", "financieringsbronnen"),
    ("mutations", "begrotingsmutaties"),
    ("staffing_reservations", "jaarreserveringen ambtelijke ondersteuning"),
    ("staffing_costs", "geboekte personeelskosten"),
    ("commitments", "verplichtingen"),
    ("adjustments", "bijstellingen"),
    ("payments", "betalingen"),
)


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Laad alleen als de database nog geen programma heeft.")
@click.option("--with-users", is_flag=True,
              help="Maak ook demogebruikers (één per rol) met een willekeurig wachtwoord.")
def load(if_empty: bool, with_users: bool) -> None:
    """Laad het demoprogramma STM 'Samen tegen mensenhandel' via de gewone regels."""
    from budget.demo import DEMO_CODE, load_demo

    session = db.session
    if if_empty and session.scalar(select(Programme.id).limit(1)) is not None:
        click.echo("Database is niet leeg; demo niet geladen.")
        return
    result = unit.in_cli(lambda: load_demo(session, with_users=with_users))
    if not result.get("loaded"):
        click.echo(f"Demoprogramma {DEMO_CODE} is al geladen; er is niets gewijzigd.")
        return

    counts = result.get("counts", {})
    programme = session.scalar(select(Programme).where(Programme.code == DEMO_CODE))
    click.echo(f"Demoprogramma {programme.code} '{programme.name}' geladen "
               f"({programme.first_year}–{programme.last_year}):")
    for key, label in _COUNT_LABELS:
        if key in counts:
            click.echo(f"  {counts[key]:>4} {label}")
    click.echo("Stand per jaar (alle boekingen):")
    years = programme_years(session, programme)
    for year, fig in programme_figures(session, programme.id, None, years).items():
        click.echo(f"  {year}: beschikbaar {format_eur(fig.available)}, verplicht {format_eur(fig.committed)} "
                   f"({format_pct(fig.pct_committed)}), vrij {format_eur(fig.free)}")

    users = result.get("users", [])
    if users:
        click.echo("")
        click.echo("Demo-inlogs (deze wachtwoorden worden alleen nu getoond; bewaar ze zelf):")
        width = max(len(email) for email, _role, _pw in users)
        for email, role, password in users:
            click.echo(f"  {email:<{width}}  rol: {role:<13}  wachtwoord: {password}")
    elif with_users:
        click.echo("De demogebruikers bestonden al; hun wachtwoorden zijn niet gewijzigd.")
