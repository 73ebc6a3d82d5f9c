"""The round's pages: open, board, remind now, change, close; the projectleider's deadline on Mijn projecten."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from core.audit import AuditEntry
from projects import services as portfolio
from rounds.models import ReportingRound, RoundMail
from tests.factories import TEST_ACTOR, commit_money, fund, login, make_programme, make_project, make_user

DAYS_TO_DEADLINE = timedelta(days=14)


@pytest.fixture
def deadline(today):
    return today + DAYS_TO_DEADLINE


@pytest.fixture
def world(session):
    fin = make_user(session, "financieel", "fin@jenv.example")
    anna = make_user(session, "projectleider", "anna@jenv.example")
    bram = make_user(session, "projectleider", "bram@jenv.example")
    prog = make_programme(session, TEST_ACTOR)
    p = {
        "A1": make_project(session, fin, prog, code="A1", title="Anna een", owner_id=anna.id, status="in_uitvoering"),
        "B1": make_project(session, fin, prog, code="B1", title="Bram een", owner_id=bram.id, status="toegekend"),
    }
    session.commit()
    return {"fin": fin, "anna": anna, "bram": bram, "prog": prog, "p": p}


def _form(**overrides):
    today = date.today()
    data = {"title": "Voortgangsrapportage voorjaar 2026", "peildatum": today.isoformat(),
            "deadline": (today + DAYS_TO_DEADLINE).isoformat(), "kamerstuk": "", "projects": "",
            "remind_days_before": "3", "remind_days_after": "3"}
    data.update(overrides)
    return data


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_a_finance_officer_opens_a_round_and_the_leaders_are_invited(client, session, world, smtp):
    login(client, world["fin"])
    page = client.get("/rondes")
    assert page.status_code == 200 and "Nieuwe ronde openen" in page.get_data(as_text=True)
    response = client.post("/rondes", data=_form(form_token="t" * 24))
    assert response.status_code == 302
    rnd = session.scalar(select(ReportingRound))
    assert response.headers["Location"].endswith(f"/rondes/{rnd.id}")
    board = client.get(response.headers["Location"])
    text = _text(board)
    assert "2 uitnodigingen verstuurd" in text
    assert "0 van 2 projecten bijgewerkt" in text and "Anna een" in text and "Bram een" in text
    assert "Uitnodiging:" in text  # when each person's invitation was sent
    assert sorted(rcpts[0] for rcpts, _ in smtp.messages) == ["anna@jenv.example", "bram@jenv.example"]
    # The same form posted again (a double click) opens nothing and mails nobody again.
    again = client.post("/rondes", data=_form(form_token="t" * 24))
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/rondes/{rnd.id}")
    other = client.post("/rondes", data=_form(title="Nog een"))
    assert other.status_code == 400 and "loopt al een rapportageronde" in _text(other)
    assert session.scalar(select(func.count()).select_from(ReportingRound)) == 1 and len(smtp.messages) == 2
    # While it runs, the page offers no second round.
    assert "Nieuwe ronde openen" not in client.get("/rondes").get_data(as_text=True)


def test_bad_input_is_refused_in_dutch_and_opens_nothing(client, session, world, today):
    login(client, world["fin"])
    response = client.post("/rondes", data=_form(title="", deadline=(today - timedelta(days=2)).isoformat(),
                                                 projects="A1 QQ7", remind_days_after="-1"))
    assert response.status_code == 400
    text = _text(response)
    assert "Geef de ronde een titel" in text and "De deadline ligt voor" in text
    assert "Onbekende projectcode(s)" in text and "QQ7" in text and "Kies 0 tot en met 60 dagen" in text
    assert session.scalar(select(func.count()).select_from(ReportingRound)) == 0


def test_without_mail_the_pages_say_so_and_the_round_still_runs(client, session, world):
    login(client, world["fin"])
    assert "E-mail staat uit" in _text(client.get("/rondes"))
    response = client.post("/rondes", data=_form(), follow_redirects=True)
    assert response.status_code == 200 and "krijgen geen uitnodiging" in _text(response)
    assert "Herinner nu" not in _text(response)


def test_the_board_and_remind_now(client, session, world, smtp, today):
    login(client, world["fin"])
    client.post("/rondes", data=_form())
    rnd = session.scalar(select(ReportingRound))
    portfolio.add_status_update(session, world["anna"], world["p"]["A1"], status="in_uitvoering", rag="risico",
                                update_date=today)
    session.commit()
    text = _text(client.get(f"/rondes/{rnd.id}"))
    assert "1 van 2 projecten bijgewerkt" in text and "Bijgewerkt" in text and "Risico" in text
    # Anna is done: only Bram can be reminded.
    assert text.count("Herinner nu") == 1
    response = client.post(f"/rondes/{rnd.id}/herinneren", data={"user_id": world["bram"].id},
                           follow_redirects=True)
    assert "Herinnering verstuurd aan" in _text(response)
    again = client.post(f"/rondes/{rnd.id}/herinneren", data={"user_id": world["bram"].id}, follow_redirects=True)
    assert "vandaag al met de hand herinnerd" in _text(again)
    assert [rcpts[0] for rcpts, _ in smtp.messages].count("bram@jenv.example") == 2
    done = client.post(f"/rondes/{rnd.id}/herinneren", data={"user_id": world["anna"].id}, follow_redirects=True)
    assert "al bijgewerkt" in _text(done)
    assert client.post(f"/rondes/{rnd.id}/herinneren", data={"user_id": "x"}).status_code == 400


def test_a_projectleider_sees_the_deadline_and_what_is_asked_but_not_the_board(client, session, world, deadline, today):
    login(client, world["fin"])
    client.post("/rondes", data=_form())
    rnd = session.scalar(select(ReportingRound))
    client.post("/logout")
    login(client, world["anna"])
    text = _text(client.get("/projecten/mijn"))
    assert "Voortgangsrapportage voorjaar 2026" in text and deadline.strftime("%Y") in text
    assert "1 project" in text and "gevraagd" in text
    assert client.get(f"/rondes/{rnd.id}").status_code == 403
    assert client.get("/rondes").status_code == 403
    portfolio.add_status_update(session, world["anna"], world["p"]["A1"], status="in_uitvoering", rag="op_koers",
                                update_date=today)
    session.commit()
    text = _text(client.get("/projecten/mijn"))
    assert "al uw projecten in deze ronde zijn bijgewerkt" in text and "gevraagd" not in text


def test_changing_the_deadline_is_audited_and_a_stale_form_is_refused(client, session, world, deadline):
    login(client, world["fin"])
    client.post("/rondes", data=_form())
    rnd = session.scalar(select(ReportingRound))
    later = deadline + timedelta(days=7)
    data = {**_form(deadline=later.isoformat()), "version": str(rnd.version)}
    assert client.post(f"/rondes/{rnd.id}/wijzigen", data=data).status_code == 302
    session.expire_all()
    assert session.get(ReportingRound, rnd.id).deadline == later
    assert client.post(f"/rondes/{rnd.id}/wijzigen", data=data).status_code == 409
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "ReportingRound", AuditEntry.action == "update"))
    assert entry.changes_dict["before"]["deadline"] == deadline.isoformat()
    assert entry.changes_dict["after"]["deadline"] == later.isoformat()


def test_closing_from_the_page_freezes_the_stand_and_links_the_reports(client, session, world, today):
    login(client, world["fin"])
    client.post("/rondes", data=_form(kamerstuk="Kamerstuk 28638, nr. 301"))
    rnd = session.scalar(select(ReportingRound))
    refused = client.post(f"/rondes/{rnd.id}/afsluiten", data={"close_period": "y"})
    assert refused.status_code == 400 and "nog geen update in deze ronde" in _text(refused)
    assert session.get(ReportingRound, rnd.id).is_open
    response = client.post(f"/rondes/{rnd.id}/afsluiten", data={"allow_missing": "y"}, follow_redirects=True)
    text = _text(response)
    assert "De ronde is afgesloten en de stand is vastgelegd" in text
    session.expire_all()
    closed = session.get(ReportingRound, rnd.id)
    assert closed.state == "gesloten" and closed.snapshot.kamerstuk == "Kamerstuk 28638, nr. 301"
    html = response.get_data(as_text=True).replace("&amp;", "&")
    for link in ("werkboek.xlsx", "stand.html", "bijlage.docx", "stand.pdf"):
        assert re.search(rf"/rapportage/{re.escape(link)}\?[^\"]*\bstand={closed.snapshot_id}\b", html), link
    workbook = client.get(f"/rapportage/werkboek.xlsx?stand={closed.snapshot_id}")
    assert workbook.status_code == 200 and workbook.data[:2] == b"PK"
    # A second round, once closed, shows what changed since the first: here a new commitment.
    fund(session, TEST_ACTOR, world["prog"], {today.year: "100.000"})
    commit_money(session, world["fin"], world["p"]["A1"], {today.year: D("2500")}, signed=today)
    session.commit()
    client.post("/rondes", data=_form(title="Najaar"))
    second = session.scalar(select(ReportingRound).where(ReportingRound.title == "Najaar"))
    html = client.post(f"/rondes/{second.id}/afsluiten", data={"allow_missing": "y"},
                       follow_redirects=True).get_data(as_text=True).replace("&amp;", "&")
    session.expire_all()
    assert f"a={closed.snapshot_id}" in html and f"b={session.get(ReportingRound, second.id).snapshot_id}" in html
    assert "Wat is veranderd sinds Voortgangsrapportage voorjaar 2026" in html
    changes = _text(client.get(f"/rondes/{second.id}"))
    assert "Verplicht projecten € 0,00 € 2.500,00 € 2.500,00" in changes
    assert "2 wijzigingen per project in" in changes  # A1's verplicht totaal and verplicht this year
    assert session.scalar(select(func.count()).select_from(RoundMail)) == 0  # mail is off in this test
