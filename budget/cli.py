"""Command line: `demo load [--if-empty] [--with-users]` and `period close|reopen|list` (flask --app app ...)."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from budget.ledger import programme_figures, programme_years
from budget.models import PERIOD_ACTIONS
from budget.services import close_period, period_history, reopen_period
from core import unit
from core.cli import CLI_ACTOR
from core.dates import datum, datum_lang, tijdstip
from core.db import db
from core.errors import DomainError
from core.money import format_eur, format_pct
from projects.models import Programme
from projects.services import get_programme

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
    ("settlements", "vaststellingen"),
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


period_cli = AppGroup("period", help="Afgesloten perioden: afsluiten, heropenen en tonen.")


def _period_programme(code: str):
    try:
        return get_programme(db.session, code)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


@period_cli.command("close")
@click.option("--programme", required=True, help="Programmacode.")
@click.option("--through", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Afsluiten t/m (JJJJ-MM-DD).")
def period_close(programme: str, through) -> None:
    """Sluit de periode t/m een datum af: daarna wijzigt niets wat op of vóór die datum is gedateerd."""
    prog = _period_programme(programme)
    event = unit.in_cli(lambda: close_period(db.session, CLI_ACTOR, prog, through.date()))
    click.echo(f"Programma {prog.code}: periode afgesloten t/m {datum_lang(event.through)}.")


@period_cli.command("reopen")
@click.option("--programme", required=True, help="Programmacode.")
@click.option("--through", type=click.DateTime(["%Y-%m-%d"]),
              help="Afgesloten blijft t/m deze eerdere datum (JJJJ-MM-DD); zonder: de hele periode heropenen.")
@click.option("--reason", required=True, help="Waarom de periode wordt heropend (minstens 10 tekens).")
def period_reopen(programme: str, through, reason: str) -> None:
    """Heropen een afgesloten periode (als beheerder), met een reden; komt in de Verantwoording van latere rapporten."""
    prog = _period_programme(programme)
    event = unit.in_cli(lambda: reopen_period(db.session, CLI_ACTOR, prog, through.date() if through else None,
                                              reason))
    state = f"afgesloten t/m {datum_lang(event.through)}" if event.through else "niets meer afgesloten"
    click.echo(f"Programma {prog.code}: periode heropend; nu {state}.")


@period_cli.command("list")
@click.option("--programme", required=True, help="Programmacode.")
def period_list(programme: str) -> None:
    """Toon de afgesloten datum en de geschiedenis van afsluiten en heropenen."""
    prog = _period_programme(programme)
    history = period_history(db.session, prog.id)
    current = history[0].through if history else None
    click.echo(f"Programma {prog.code}: " + (f"afgesloten t/m {datum_lang(current)}." if current
                                              else "geen afgesloten periode."))
    for e in history:
        through = f"t/m {datum(e.through)}" if e.through else "niets afgesloten"
        click.echo(f"  {tijdstip(e.at):<16}  {PERIOD_ACTIONS[e.action]:<10} {through:<18} {e.actor_label}"
                   + (f"  reden: {e.reason}" if e.reason else ""))
