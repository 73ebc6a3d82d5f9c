"""Command line: `round open|list|status|remind|close` and `reminders send` (for cron or a systemd timer)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from core import unit
from core.cli import CLI_ACTOR
from core.dates import datum, datum_lang, tijdstip
from core.db import db
from core.errors import DomainError
from core.users import by_email
from projects.models import RAG
from projects.services import get_programme
from rounds import reminders, rules, services
from rounds.models import MAIL_KINDS, MAIL_STATES

round_cli = AppGroup("round", help="Rapportagerondes: updates vragen, voortgang volgen, de stand vastleggen.")
reminders_cli = AppGroup("reminders", help="Uitnodigingen en herinneringen van rapportagerondes versturen.")


def _domain(action):
    try:
        return action()
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


def _round(round_id: int):
    return _domain(lambda: services.get_round(db.session, round_id))


@round_cli.command("open")
@click.option("--programme", default="STM", show_default=True, help="Programmacode.")
@click.option("--title", required=True, help="Titel, bijv. 'Voortgangsrapportage voorjaar 2026'.")
@click.option("--peildatum", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Stand per deze datum (JJJJ-MM-DD).")
@click.option("--deadline", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Updates uiterlijk (JJJJ-MM-DD).")
@click.option("--kamerstuk", default="", help="Het Kamerstuk waarvoor de ronde is (optioneel).")
@click.option("--project", "codes", multiple=True,
              help="Alleen deze projecten (herhaal de optie); standaard elk project dat op de peildatum liep.")
@click.option("--remind-before", default=3, show_default=True, type=int, help="Herinnering zoveel dagen voor de deadline (0: geen).")
@click.option("--remind-after", default=3, show_default=True, type=int, help="Herinnering zoveel dagen na de deadline (0: geen).")
def round_open(programme, title, peildatum, deadline, kamerstuk, codes, remind_before, remind_after):
    """Open een rapportageronde en verstuur de uitnodigingen (als e-mail aan staat); drukt het nummer af."""
    prog = _domain(lambda: get_programme(db.session, programme))
    values = {"title": title, "peildatum": peildatum.date(), "deadline": deadline.date(), "kamerstuk": kamerstuk,
              "remind_days_before": remind_before, "remind_days_after": remind_after}
    rnd = unit.in_cli(lambda: services.open_round(db.session, CLI_ACTOR, prog, values, list(codes)))
    click.echo(rnd.id)
    count = len(services.board(db.session, rnd).rows)
    click.echo(f"Ronde {rnd.id} '{rnd.title}' geopend: {count} projecten, deadline {datum_lang(rnd.deadline)}.", err=True)
    _send(rnd.id)


def _send(round_id: int | None) -> bool:
    """Send what is due (one round or all); False when a mail failed (it is tried again on the next run)."""
    settings = services.mail_settings()
    if settings is None:
        click.echo("E-mail staat uit (MAIL_SERVER is niet ingesteld): er is niets verstuurd.", err=True)
        return True
    done = reminders.send_due(db.session, settings, round_id=round_id)
    for mail in done.sent:
        click.echo(f"Verzonden: {MAIL_KINDS[mail.kind].lower()} aan {mail.user.email} ({mail.projects}).", err=True)
    for mail in done.failed:
        click.echo(f"Mislukt: {MAIL_KINDS[mail.kind].lower()} aan {mail.user.email}, wordt opnieuw geprobeerd: "
                   f"{mail.last_error}", err=True)
    if not done.sent and not done.failed:
        click.echo("Er was niets te versturen.", err=True)
    return not done.failed


@round_cli.command("list")
@click.option("--programme", default="STM", show_default=True, help="Programmacode.")
def round_list(programme):
    """Toon de rapportagerondes van een programma, nieuwste eerst."""
    prog = _domain(lambda: get_programme(db.session, programme))
    rounds = services.list_rounds(db.session, prog)
    if not rounds:
        click.echo("Nog geen rapportagerondes.")
    for r in rounds:
        state = "open" if r.is_open else f"gesloten, stand {r.snapshot_id}"
        click.echo(f"{r.id:>4}  {r.title}  peildatum {datum(r.peildatum)}  deadline {datum(r.deadline)}  ({state})")


@round_cli.command("status")
@click.argument("round_id", type=int)
def round_status(round_id):
    """Toon per project of de update binnen is, wie te laat is en welke mails verstuurd zijn."""
    rnd = _round(round_id)
    b = services.board(db.session, rnd)
    click.echo(f"{rnd.title} ({'open' if rnd.is_open else 'gesloten'}): peildatum {datum(rnd.peildatum)}, "
               f"deadline {datum(rnd.deadline)}, updates vanaf {datum(rnd.opened_on)}.")
    click.echo(f"Bijgewerkt {b.count('bijgewerkt')}, nog niet {b.count('open')}, te laat {b.count('te_laat')} "
               f"van {len(b.rows)} projecten.")
    for row in b.rows:
        owner = row.owner.name if row.owner else "geen projectleider"
        last = f"{datum(row.last_date)} {RAG[row.last_rag].lower()}" if row.last_date else "nog geen update"
        click.echo(f"  {row.project.code:<10} {rules.PROGRESS[row.progress]:<20} {owner:<30} laatste: {last}")
    if b.mails:
        click.echo("Mails:")
    for mail in b.mails:
        when = tijdstip(mail.sent_at) if mail.sent_at else MAIL_STATES[mail.state].lower()
        click.echo(f"  {MAIL_KINDS[mail.kind]:<30} {mail.user.email:<30} {when}")
    if services.mail_settings() is None:
        click.echo("E-mail staat uit (MAIL_SERVER is niet ingesteld).")


@round_cli.command("remind")
@click.argument("round_id", type=int)
@click.argument("email")
def round_remind(round_id, email):
    """Herinner één projectleider nu (hoogstens één keer per dag)."""
    rnd = _round(round_id)
    user = _domain(lambda: by_email(db.session, email))
    mail = _domain(lambda: reminders.remind_now(db.session, services.mail_settings(), CLI_ACTOR, rnd, user.id))
    if mail.state != "verzonden":
        raise click.ClickException(f"Versturen mislukt, wordt opnieuw geprobeerd: {mail.last_error}")
    click.echo(f"Herinnering verzonden aan {user.email} ({mail.projects}).")


@round_cli.command("close")
@click.argument("round_id", type=int)
@click.option("--close-period", is_flag=True, help="Sluit ook de boeken af t/m de peildatum.")
@click.option("--allow-missing", is_flag=True, help="Sluit af ook als er nog updates ontbreken.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Schrijf ook het werkboek, de HTML, de Word-bijlage en de PDF (openbaar) uit de vastgelegde stand.")
def round_close(round_id, close_period, allow_missing, out_dir):
    """Sluit de ronde: leg de stand vast op de peildatum (vastgelegde stand met titel en Kamerstuk)."""
    rnd = _round(round_id)
    rnd = unit.in_cli(lambda: services.close_round(db.session, CLI_ACTOR, rnd, close_period, allow_missing))
    click.echo(f"Ronde {rnd.id} gesloten; stand vastgelegd als nummer {rnd.snapshot_id}.")
    previous = services.previous_closed(db.session, rnd)
    if previous is not None:
        click.echo(f"Verschil met de vorige ronde: flask --app app snapshot diff {previous.snapshot_id} {rnd.snapshot_id}")
    if out_dir is not None:
        _write_reports(rnd, out_dir)


def _write_reports(rnd, out_dir: Path) -> None:
    from reports import charts, excel, pdf, word
    from reports.services import snapshot_frames

    out_dir.mkdir(parents=True, exist_ok=True)
    rf = snapshot_frames(rnd.snapshot)
    stem = f"stand-{rnd.programme.code}-{rnd.peildatum.isoformat()}"
    (out_dir / f"{stem}.xlsx").write_bytes(excel.build_workbook(rf))
    (out_dir / f"{stem}.html").write_text(charts.standalone_html(rf), encoding="utf-8")
    (out_dir / f"{stem}.docx").write_bytes(word.build_docx(rf))
    written = ["xlsx", "html", "docx"]
    try:
        (out_dir / f"{stem}.pdf").write_bytes(pdf.build_pdf(rf))
        written.append("pdf")
    except pdf.PdfUnavailable as exc:
        click.echo(f"Geen PDF: {exc.message}", err=True)
    click.echo(f"Rapporten geschreven in {out_dir}: {', '.join(f'{stem}.{ext}' for ext in written)}.")


@reminders_cli.command("send")
def reminders_send():
    """Verstuur de uitnodigingen en herinneringen die vandaag aan de beurt zijn, elk hoogstens één keer.

    Voor cron of een systemd-timer (bijv. elk uur). Stopt met code 1 als een mail mislukte; die wordt
    bij de volgende keer opnieuw geprobeerd.
    """
    if not _send(None):
        sys.exit(1)
