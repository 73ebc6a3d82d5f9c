"""The reporting round end to end: opening, mails through a real SMTP server (once each), the board, closing."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from budget.services import closed_through
from core.db import db
from projects import services as portfolio
from reports.models import ReportSnapshot
from rounds import reminders, rules, services
from rounds.models import ReportingRound, RoundMail
from tests.factories import TEST_ACTOR, make_programme, make_project, make_user
from tests.server import AUDIT_KEY, SECRET
from tests.smtp import MailServer

ROOT = Path(__file__).resolve().parent.parent

DAYS_TO_DEADLINE = timedelta(days=10)


@pytest.fixture
def deadline(today):
    return today + DAYS_TO_DEADLINE


@pytest.fixture
def world(session):
    """A programme with two leaders of running projects, one of only a proposal, and one project without leader."""
    fin = make_user(session, "financieel", "fin@jenv.example")
    anna = make_user(session, "projectleider", "anna@jenv.example")
    bram = make_user(session, "projectleider", "bram@jenv.example")
    cleo = make_user(session, "projectleider", "cleo@jenv.example")
    prog = make_programme(session, TEST_ACTOR)
    p = {
        "A1": make_project(session, fin, prog, code="A1", title="Anna een", owner_id=anna.id, status="in_uitvoering"),
        "A2": make_project(session, fin, prog, code="A2", title="Anna twee", owner_id=anna.id, status="toegekend"),
        "B1": make_project(session, fin, prog, code="B1", title="Bram een", owner_id=bram.id, status="opgeschort"),
        "C1": make_project(session, fin, prog, code="C1", title="Cleo voorstel", owner_id=cleo.id, status="voorstel"),
        "X1": make_project(session, fin, prog, code="X1", title="Zonder leider", status="in_uitvoering"),
    }
    session.commit()
    return {"fin": fin, "anna": anna, "bram": bram, "cleo": cleo, "prog": prog, "p": p}


def _update(session, user, project, day=None):
    portfolio.add_status_update(session, user, project, status=project.status, rag="op_koers",
                                update_date=day or date.today(),
                                progress="Loopt", public_text="Openbaar")
    session.commit()


def _open(runner, *extra):
    today = date.today()
    result = runner.invoke(args=["round", "open", "--programme", "TST", "--title", "Voortgang voorjaar",
                                 "--peildatum", today.isoformat(), "--deadline", (today + DAYS_TO_DEADLINE).isoformat(),
                                 "--kamerstuk", "Kamerstuk 28638, nr. 300", *extra])
    assert result.exit_code == 0, result.output
    return int(result.stdout.splitlines()[0])


# --- the schedule -------------------------------------------------------------------------------

def test_the_schedule_invites_then_reminds_before_on_and_after_the_deadline():
    opened, deadline = date(2026, 7, 1), date(2026, 7, 15)
    plan = rules.schedule(opened, deadline, 3, 2)
    assert plan == [("uitnodiging", opened), ("herinnering", date(2026, 7, 12)), ("deadline", deadline),
                    ("te_laat", date(2026, 7, 17))]
    assert rules.due(plan, date(2026, 6, 30)) is None
    assert rules.due(plan, date(2026, 7, 11)) == ("uitnodiging", opened)
    assert rules.due(plan, date(2026, 7, 16)) == ("deadline", deadline)
    # A timer that did not run for a week sends today's news once, not three stale mails.
    assert rules.due(plan, date(2026, 8, 1)) == ("te_laat", date(2026, 7, 17))


def test_reminders_that_fall_on_the_opening_day_or_are_switched_off_are_left_out():
    opened = date(2026, 7, 1)
    assert rules.schedule(opened, date(2026, 7, 2), 3, 0) == [("uitnodiging", opened), ("deadline", date(2026, 7, 2))]
    assert rules.schedule(opened, opened, 0, 1) == [("uitnodiging", opened), ("te_laat", date(2026, 7, 2))]


# --- the whole round, against a real SMTP server ------------------------------------------------

def test_a_whole_round_mails_each_person_only_their_own_projects_once(app, session, runner, world, smtp, deadline,
                                                                       today):
    anna, bram, cleo, p = world["anna"], world["bram"], world["cleo"], world["p"]
    round_id = _open(runner)
    rnd = session.get(ReportingRound, round_id)
    assert {row.project.code for row in services.board(session, rnd).rows} == {"A1", "A2", "B1", "X1"}

    # Opening: one invitation each to Anna and Bram, nothing to Cleo (her project is only a proposal).
    assert sorted(rcpts[0] for rcpts, _ in smtp.messages) == ["anna@jenv.example", "bram@jenv.example"]
    (invite,) = smtp.to("anna@jenv.example")
    assert smtp.subject(invite) == f"Statusupdate gevraagd voor Voortgang voorjaar: uiterlijk {deadline:%-d-%-m-%Y}"
    assert anna.name in invite["To"] and "," not in invite["To"]
    for body in (smtp.text(invite), smtp.html(invite)):
        assert "A1" in body and "A2" in body
        assert "B1" not in body and "X1" not in body and bram.name not in body and "bram@" not in body
        assert f"https://monitor.jenv.example/projecten/{p['A1'].id}/status" in body
    (bram_invite,) = smtp.to("bram@jenv.example")
    assert "B1" in smtp.text(bram_invite) and "A1" not in smtp.text(bram_invite)
    assert smtp.to(cleo.email) == []

    # The timer on the same day: nothing is sent twice.
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    assert "niets te versturen" in result.output and len(smtp.messages) == 2

    # Anna updates A1; three days before the deadline she is reminded of A2 only, Bram of B1.
    _update(session, anna, p["A1"])
    reminders.send_due(session, services.mail_settings(), today=deadline - timedelta(days=3))
    reminders.send_due(session, services.mail_settings(), today=deadline - timedelta(days=3))
    reminder = smtp.to("anna@jenv.example")[1]
    assert smtp.subject(reminder).startswith("Herinnering: statusupdate voor Voortgang voorjaar")
    assert "A2" in smtp.text(reminder) and "A1" not in smtp.text(reminder)
    assert len(smtp.to("bram@jenv.example")) == 2 and len(smtp.messages) == 4

    # Bram updates; on the deadline only Anna is mailed, and after it again only Anna.
    _update(session, bram, p["B1"])
    reminders.send_due(session, services.mail_settings(), today=deadline)
    reminders.send_due(session, services.mail_settings(), today=deadline + timedelta(days=3))
    assert [smtp.subject(m).split(":")[0] for m in smtp.to("anna@jenv.example")] == [
        "Statusupdate gevraagd voor Voortgang voorjaar", "Herinnering", "Vandaag is de deadline",
        f"De deadline van {deadline:%-d-%-m-%Y} is verstreken"]
    assert len(smtp.to("bram@jenv.example")) == 2

    # The board and `round status` say who is late.
    board = services.board(session, rnd, deadline + timedelta(days=1))
    assert {row.project.code: row.progress for row in board.rows} == {
        "A1": "bijgewerkt", "A2": "te_laat", "B1": "bijgewerkt", "X1": "te_laat"}
    assert [person.user.email for person in board.people] == ["anna@jenv.example", "bram@jenv.example"]
    assert [row.project.code for row in board.unowned] == ["X1"]
    status = runner.invoke(args=["round", "status", str(round_id)])
    assert status.exit_code == 0
    assert "Bijgewerkt 2, nog niet 2, te laat 0 van 4 projecten" in status.output
    assert "geen projectleider" in status.output and "anna@jenv.example" in status.output

    # Closing without every update is refused unless asked for; then the stand is frozen and the books closed.
    refused = runner.invoke(args=["round", "close", str(round_id)])
    assert refused.exit_code == 1 and "A2, X1" in refused.output and "toch afsluiten" in refused.output
    closed = runner.invoke(args=["round", "close", str(round_id), "--allow-missing", "--close-period"])
    assert closed.exit_code == 0, closed.output
    session.expire_all()
    snap = session.get(ReportSnapshot, rnd.snapshot_id)
    assert (snap.title, snap.kamerstuk, snap.peildatum) == ("Voortgang voorjaar", "Kamerstuk 28638, nr. 300", today)
    assert rnd.state == "gesloten" and closed_through(session, world["prog"].id) == today
    # A closed round sends nothing more.
    reminders.send_due(session, services.mail_settings(), today=deadline + timedelta(days=30))
    assert len(smtp.messages) == 6
    # Every mail: one recipient, and only that person's own projects in it (text and HTML part).
    own = {"anna@jenv.example": {"A1", "A2"}, "bram@jenv.example": {"B1"}}
    for recipients, msg in smtp.messages:
        (to,) = recipients
        assert msg["To"].addresses[0].addr_spec == to
        named = {code for code in p if re.search(rf"\b{code}\b", smtp.text(msg) + smtp.html(msg))}
        assert named and named <= own[to], (to, smtp.subject(msg), named)
    assert [smtp.subject(m).split(":")[0] for m in smtp.to("bram@jenv.example")] == [
        "Statusupdate gevraagd voor Voortgang voorjaar", "Herinnering"]


def test_a_mail_server_that_is_down_then_up_gets_each_reminder_exactly_once(app, session, runner, world, caplog):
    server = MailServer()  # not started: the port refuses connections
    app.config.update(server.config())
    with caplog.at_level(logging.WARNING, logger="rounds.reminders"):
        round_id = _open(runner)
        failed = runner.invoke(args=["reminders", "send"])
    assert failed.exit_code == 1 and "wordt opnieuw geprobeerd" in failed.output
    mails = session.scalars(select(RoundMail).order_by(RoundMail.user_id)).all()
    assert [(m.state, m.attempts) for m in mails] == [("mislukt", 2), ("mislukt", 2)]
    assert "127.0.0.1" in mails[0].last_error
    assert any("mislukt" in r.getMessage() and "anna@jenv.example" in r.getMessage() for r in caplog.records)

    server.start()
    try:
        assert runner.invoke(args=["reminders", "send"]).exit_code == 0
        assert runner.invoke(args=["reminders", "send"]).exit_code == 0
        assert sorted(rcpts[0] for rcpts, _ in server.messages) == ["anna@jenv.example", "bram@jenv.example"]
    finally:
        server.stop()
    session.expire_all()
    assert {m.state for m in session.scalars(select(RoundMail))} == {"verzonden"}
    assert session.get(ReportingRound, round_id).is_open


def test_a_mail_another_run_is_sending_is_left_alone_until_its_claim_is_stale(app, session, world, smtp, deadline,
                                                                              today):
    rnd = services.open_round(session, world["fin"], world["prog"], {
        "title": "Ronde", "peildatum": today, "deadline": deadline})
    session.commit()
    # Another run claimed Anna's invitation a moment ago and is still sending it.
    session.add(RoundMail(round_id=rnd.id, user_id=world["anna"].id, kind="uitnodiging", due_on=today,
                          state="bezig", attempts=1, projects="A1, A2"))
    session.commit()
    reminders.send_due(session, services.mail_settings())
    assert [rcpts for rcpts, _ in smtp.messages] == [["bram@jenv.example"]]
    # That run died half an hour ago without a word: this run takes the mail over and sends it.
    session.execute(update(RoundMail).values(claimed_at=datetime.now(UTC) - timedelta(minutes=31))
                    .where(RoundMail.user_id == world["anna"].id))
    session.commit()
    reminders.send_due(session, services.mail_settings())
    reminders.send_due(session, services.mail_settings())
    assert sorted(rcpts[0] for rcpts, _ in smtp.messages) == ["anna@jenv.example", "bram@jenv.example"]


def test_without_a_mail_server_the_round_works_and_says_mail_is_off(app, session, runner, world):
    round_id = _open(runner)
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0 and "E-mail staat uit" in result.output
    assert session.scalar(select(func.count()).select_from(RoundMail)) == 0
    assert "E-mail staat uit" in runner.invoke(args=["round", "status", str(round_id)]).output


def test_reminding_one_person_now_sends_one_mail_a_day(app, session, runner, world, smtp):
    round_id = _open(runner)
    result = runner.invoke(args=["round", "remind", str(round_id), "bram@jenv.example"])
    assert result.exit_code == 0 and "B1" in result.output
    again = runner.invoke(args=["round", "remind", str(round_id), "bram@jenv.example"])
    assert again.exit_code == 1 and "vandaag al met de hand herinnerd" in again.output
    _update(session, world["anna"], world["p"]["A1"])
    _update(session, world["anna"], world["p"]["A2"])
    done = runner.invoke(args=["round", "remind", str(round_id), "anna@jenv.example"])
    assert done.exit_code == 1 and "alle projecten in deze ronde al bijgewerkt" in done.output
    nobody = runner.invoke(args=["round", "remind", str(round_id), "cleo@jenv.example"])
    assert nobody.exit_code == 1 and "geen projecten in deze ronde" in nobody.output
    assert [rcpts[0] for rcpts, _ in smtp.messages].count("bram@jenv.example") == 2


# --- opening and closing: the rules -------------------------------------------------------------

def test_opening_checks_its_fields_and_allows_one_open_round_per_programme(app, session, runner, world, deadline,
                                                                            today):
    prog, fin = world["prog"], world["fin"]
    bad = runner.invoke(args=["round", "open", "--programme", "TST", "--title", " ", "--peildatum",
                              today.isoformat(), "--deadline", (today - timedelta(days=1)).isoformat(),
                              "--project", "A1", "--project", "ZZ9", "--remind-before", "99"])
    assert bad.exit_code == 1
    for words in ("Vul een titel", "De deadline ligt voor", "ZZ9", "Kies 0 tot en met 60 dagen"):
        assert words in bad.output
    assert session.scalar(select(func.count()).select_from(ReportingRound)) == 0
    _open(runner, "--project", "a1", "--project", "B1")
    rnd = session.scalar(select(ReportingRound))
    assert [row.project.code for row in services.board(session, rnd).rows] == ["A1", "B1"]
    second = runner.invoke(args=["round", "open", "--programme", "TST", "--title", "Nog een",
                                 "--peildatum", today.isoformat(), "--deadline", deadline.isoformat()])
    assert second.exit_code == 1 and "loopt al een rapportageronde" in second.output
    with pytest.raises(IntegrityError):  # the database's last word: one open round per programme
        session.add(ReportingRound(programme_id=prog.id, title="X", peildatum=today, opened_on=today,
                                   deadline=today, state="open", opened_by_id=fin.id))
        session.flush()
    session.rollback()


def test_a_round_with_no_running_project_on_the_peildatum_is_refused(app, session, runner, world, deadline):
    result = runner.invoke(args=["round", "open", "--programme", "TST", "--title", "Te vroeg", "--peildatum",
                                 "2024-01-01", "--deadline", deadline.isoformat()])
    assert result.exit_code == 1 and "liep geen enkel project" in result.output


def test_an_update_dated_before_the_round_opened_does_not_count(app, session, world, deadline, today):
    _update(session, world["anna"], world["p"]["A1"], day=today - timedelta(days=1))
    rnd = services.open_round(session, world["fin"], world["prog"], {
        "title": "Ronde", "peildatum": today, "deadline": deadline}, ["A1"])
    session.commit()
    (row,) = services.board(session, rnd).rows
    assert (row.progress, row.last_date) == ("open", today - timedelta(days=1))


def test_closing_writes_the_reports_from_the_frozen_stand_and_names_the_previous_round(app, session, runner,
                                                                                       world, tmp_path):
    first = _open(runner)
    assert runner.invoke(args=["round", "close", str(first), "--allow-missing"]).exit_code == 0
    second = _open(runner)
    result = runner.invoke(args=["round", "close", str(second), "--allow-missing", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    snaps = session.scalars(select(ReportSnapshot.id).order_by(ReportSnapshot.id)).all()
    assert f"snapshot diff {snaps[0]} {snaps[1]}" in result.output
    written = {path.suffix for path in tmp_path.iterdir()}
    assert {".xlsx", ".html", ".docx"} <= written
    assert (".pdf" in written) != ("Geen PDF" in result.output)  # the PDF needs Chromium, and says so
    closed = session.get(ReportingRound, second)
    assert runner.invoke(args=["round", "close", str(second)]).output.count("al afgesloten") == 1
    assert closed.closed_at is not None


def test_only_finance_roles_open_or_close_a_round(app, session, world, deadline, today):
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.open_round(session, world["anna"], world["prog"], {"title": "X", "peildatum": today,
                                                                    "deadline": deadline})
    rnd = services.open_round(session, TEST_ACTOR, world["prog"], {
        "title": "X", "peildatum": today, "deadline": deadline})
    with pytest.raises(PermissionDenied):
        services.close_round(session, world["anna"], rnd, allow_missing=True)


def test_four_timers_at_once_send_each_mail_once(app, session, world, smtp, deadline, today):
    """`reminders send` as cron runs it, four processes at the same moment on one database."""
    services.open_round(session, world["fin"], world["prog"], {"title": "Ronde", "peildatum": today,
                                                               "deadline": deadline})
    session.commit()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": SECRET,
           "AUDIT_KEY": AUDIT_KEY, **smtp.config()}
    db.session.remove()
    runs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "reminders", "send"], env=env,
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(4)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, outputs
    assert sorted(rcpts[0] for rcpts, _ in smtp.messages) == ["anna@jenv.example", "bram@jenv.example"]
    assert sum(out.count("Verzonden:") for out in outputs) == 2
