"""Regenerate the screenshots of the README and docs/handleiding.md, and pages of the downloads: `make screenshots`."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

import flask_migrate
import pyotp
from sqlalchemy import select
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from budget.demo import load_demo  # noqa: E402
from budget.models import Commitment, CommitmentSettlement  # noqa: E402
from core.db import db  # noqa: E402
from projects.models import Programme, Project  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
#: Shots of what the browser window shows, not the whole page: a chart, a commitment in a long project page.
VIEWPORT_ONLY = {"report-chart.png", "vaststelling.png", "api-docs.png"}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--lang=nl-NL"]
PHONE, DESKTOP = 375, 1280
# The demo project whose leader's status form is shown: running, with earlier updates.
STATUS_PROJECT = "STM-005"


def shots(ids: dict) -> list[tuple[str, str, int, str, object]]:
    """Every screenshot as (role, file name, viewport width, path, action before the shot).

    tests/test_scripts.py checks that every image the README and the handleiding show is made here.
    """
    return [
        (None, "handleiding-inloggen.png", DESKTOP, "/login", None),
        ("financieel", "dashboard.png", DESKTOP, "/?jaar=2026&peildatum=2026-11-30", None),
        ("financieel", "project.png", DESKTOP, f"/projecten/{ids['fullest']}", None),
        ("financieel", "form-errors.png", DESKTOP, f"/projecten/{ids['fullest']}/verplichtingen/nieuw", _overrun),
        ("financieel", "report-chart.png", DESKTOP, "/rapportage?jaar=2026&peildatum=2026-11-30", _first_chart),
        ("financieel", "handleiding-projecten.png", DESKTOP, "/projecten", None),
        ("financieel", "handleiding-budget.png", DESKTOP, "/budget", None),
        ("projectleider", "handleiding-mijn-projecten.png", DESKTOP, "/projecten/mijn", None),
        ("projectleider", "handleiding-statusupdate.png", DESKTOP, f"/projecten/{ids['status']}/status", None),
        ("projectleider", "handleiding-telefoon.png", PHONE, "/projecten/mijn", None),
        ("financieel", "handleiding-rapportageronde.png", DESKTOP, f"/rondes/{ids['round']}", None),
        ("financieel", "vaststelling.png", DESKTOP, f"/projecten/{ids['settled'][0]}#verplichting-{ids['settled'][1]}",
         None),
        ("financieel", "handleiding-voorschotten.png", DESKTOP, "/voorschotten", None),
        ("beheerder", "handleiding-goedkeuring.png", DESKTOP, "/goedkeuring", None),
        ("beheerder", "handleiding-gebruikers.png", DESKTOP, "/gebruikers/", None),
        ("beheerder", "handleiding-audittrail.png", DESKTOP, "/audit/", None),
        ("financieel", "scenario.png", DESKTOP, f"/scenarios/{ids['scenario']}", None),
        ("financieel", "handleiding-onderuitputting.png", DESKTOP, "/onderuitputting?jaar=2026", None),
        ("financieel", "api-tokens.png", DESKTOP, "/account/api-tokens", _new_token),
        ("financieel", "api-docs.png", DESKTOP, "/api/v1/docs", _api_docs),
    ]


def documents() -> list[tuple[str, str, str, int]]:
    """Pages of the downloads as a reader opens them: (file name, download path, page number, resolution).

    The workbook and the Word annex are printed to PDF by LibreOffice, every PDF page drawn by pdftoppm.
    """
    stand = "jaar=2025&peildatum=2025-12-31"
    return [
        ("werkboek-afdruk.png", f"/rapportage/werkboek.xlsx?{stand}", 1, 70),
        ("werkboek-bijlage-afdruk.png", f"/rapportage/werkboek.xlsx?{stand}", _ANNEX_PAGE, 70),
        ("word-bijlage.png", f"/rapportage/bijlage.docx?{stand}", 2, 70),
        ("pdf-stand.png", f"/rapportage/stand.pdf?{stand}", 1, 70),
    ]


#: The workbook's first Projecten page when printed (Samenvatting, Per categorie, Per programmalijn and the
#: matrix come first, one page each).
_ANNEX_PAGE = 5


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/demo.db", "SECRET_KEY": "screenshots",
                          "WTF_CSRF_ENABLED": True})
        with app.app_context():
            flask_migrate.upgrade()
            logins: dict = {}
            for email, role, password in load_demo(db.session, with_users=True)["users"]:
                logins.setdefault(role, (email, password))  # the first projectleider owns STATUS_PROJECT
            db.session.commit()
            ids = {
                # The project with the most commitments makes the fullest project page.
                "fullest": db.session.scalar(select(Project.id).join(Commitment).group_by(Project.id)
                                             .order_by(db.func.count(Commitment.id).desc()).limit(1)),
                "status": db.session.scalar(select(Project.id).where(Project.code == STATUS_PROJECT)),
                "round": _open_round(logins["financieel"][0]),
                # A settled grant: its vaststelling, vrijval and payments on the project page.
                "settled": tuple(db.session.execute(select(Commitment.project_id, Commitment.id)
                                                    .join(CommitmentSettlement).limit(1)).one()),
            }
            _waiting_commitment(logins["financieel"][0])
            ids["scenario"] = _scenario(logins["financieel"][0])
            db.session.commit()
            db.session.remove()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per image, not per request
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as p:
                # A Dutch browser, as the users have: chromium takes the date fields' format from LANG.
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS,
                                            env={**os.environ, "LANG": "nl_NL.UTF-8", "LANGUAGE": "nl"})
                contexts: dict = {}
                for role, name, width, path, action in shots(ids):
                    # One signed-in browser context per role, so each role logs in (and enrols) once.
                    if role not in contexts:
                        contexts[role] = browser.new_context(viewport={"width": DESKTOP, "height": 900}, locale="nl-NL")
                        if role:
                            _log_in(contexts[role].new_page(), base, *logins[role])
                    page = contexts[role].new_page()
                    page.set_viewport_size({"width": width, "height": 900 if width == DESKTOP else 800})
                    page.goto(base + path)
                    if action:
                        action(page)
                    page.wait_for_timeout(500)  # let Plotly finish drawing
                    page.screenshot(path=str(OUT / name), full_page=name not in VIEWPORT_ONLY)
                    page.close()
                    print(f"{OUT / name}")
                _document_pages(contexts["financieel"], base)
                browser.close()
        finally:
            server.shutdown()


def _document_pages(context, base: str) -> None:
    """Draw the pages of documents(), downloaded as a finance officer (the public versions)."""
    missing = [tool for tool in ("soffice", "pdftoppm") if shutil.which(tool) is None]
    if missing:
        print(f"Overgeslagen (ontbreekt: {', '.join(missing)}): " + ", ".join(d[0] for d in documents()),
              file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, path, page_number, dpi in documents():
            response = context.request.get(base + path)
            if not response.ok:
                raise SystemExit(f"{path}: {response.status}")
            source = work / Path(path.split("?")[0]).name
            source.write_bytes(response.body())
            pdf = source
            if source.suffix != ".pdf":
                # In a Dutch LibreOffice, as the readers have: amounts then read € 2.000.000,00.
                subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(source)],
                               check=True, capture_output=True, timeout=180,
                               env={**os.environ, "LANG": "nl_NL.UTF-8", "LC_ALL": "nl_NL.UTF-8"})
                pdf = source.with_suffix(".pdf")
            subprocess.run(["pdftoppm", "-f", str(page_number), "-l", str(page_number), "-r", str(dpi), "-png",
                            "-singlefile", str(pdf), str(OUT / Path(name).stem)], check=True, timeout=60)
            print(f"{OUT / name}")


def _scenario(finance_email: str) -> int:
    """A beslisnota scenario: two shelved proposals funded from 2027, and a kasschuif to make room."""
    from core.users import by_email
    from scenarios.services import add_entry, create_scenario

    officer = by_email(db.session, finance_email)
    programme = db.session.scalar(select(Programme).where(Programme.code == "STM"))
    scenario = create_scenario(db.session, officer, programme, "Beslisnota 2027: plankvoorstellen",
                               "STM-010 en STM-024 van de plank, met een kasschuif uit 2026.")
    for code, years in (("STM-010", {2027: "120.000", 2028: "120.000"}), ("STM-024", {2027: "60.000",
                                                                                   2028: "60.000"})):
        project = db.session.scalar(select(Project).where(Project.code == code))
        add_entry(db.session, officer, scenario, "commitment", project=project, reference=f"JenV-{code}-2027",
                  signed_date=date(2026, 11, 30), total=sum(int(v.replace(".", "")) for v in years.values()),
                  schedule=years)
    add_entry(db.session, officer, scenario, "kasschuif", amounts={2026: "-100.000", 2027: "100.000"},
              moment="najaarsnota", reason="Onderuitputting 2026 naar 2027", mutation_date=date(2026, 11, 30))
    return scenario.id


def _open_round(finance_email: str) -> int:
    """A reporting round running today, with some updates in, so its board shows who is done and who is not."""
    from core.users import by_email
    from projects.services import add_status_update
    from rounds.services import board, open_round

    officer = by_email(db.session, finance_email)
    programme = db.session.scalar(select(Project.programme_id).where(Project.code == STATUS_PROJECT))
    today = date.today()
    rnd = open_round(db.session, officer, db.session.get(Programme, programme), {
        "title": f"Voortgangsrapportage najaar {today.year}", "peildatum": today,
        "deadline": today + timedelta(days=10), "kamerstuk": "Kamerstuk 28638"})
    for row in board(db.session, rnd).rows[::3]:
        if row.owner is not None and row.project.code != STATUS_PROJECT:
            add_status_update(db.session, row.owner, row.project, status=row.project.status, rag="op_koers",
                              update_date=today, progress="Loopt volgens plan.")
    return rnd.id


def _waiting_commitment(finance_email: str) -> None:
    """Four eyes on for the demo programme, and a commitment by the finance officer that waits for approval."""
    from approvals.services import set_four_eyes
    from budget.services import add_commitment
    from core.users import SystemActor, by_email

    project = db.session.scalar(select(Project).where(Project.code == STATUS_PROJECT))
    set_four_eyes(db.session, SystemActor("systeem (screenshots)"), project.programme, True, "50.000")
    year = date.today().year
    add_commitment(db.session, by_email(db.session, finance_email), project, reference=f"BS-{year}-090",
                   signed_date=date.today(), total="80.000", schedule={year: "30.000", year + 1: "50.000"},
                   description="Vervolgsubsidie")


def _log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()
    if page.url.endswith("/login/koppelen"):
        # The demo beheerder links an authenticator app at the first login: type the key's code.
        page.fill("#code", pyotp.TOTP(page.locator("code.secret").inner_text()).now())
        page.get_by_role("button", name="Koppelen en inloggen").click()
        page.wait_for_load_state()
    if "/login" in page.url:
        raise SystemExit(f"Inloggen als {email} is mislukt ({page.url}).")
    page.close()


def _first_chart(page) -> None:
    """The report's first chart at the top of the window, its data table below it."""
    page.locator("figure.chart").first.wait_for()
    page.evaluate("document.querySelector('figure.chart').scrollIntoView({block: 'start'})")


def _overrun(page) -> None:
    """A commitment too big for 2027: the budget stop as a finance officer sees it."""
    page.fill("#reference", "BS-2026-0999")
    page.fill("#signed_date", "2026-11-01")
    page.fill("#total", "3.000.000,00")
    page.fill("#jaar_2027", "3.000.000,00")
    page.get_by_role("button", name="Verplichting vastleggen").click()
    page.locator(".error-summary").wait_for()


def _new_token(page) -> None:
    """A read token for the ministry's dashboard, just made: shown this once."""
    page.fill("#name", "Dashboard Nationaal Rapporteur")
    page.get_by_role("button", name="Token maken").click()
    page.locator("#new-token").wait_for()


def _api_docs(page) -> None:
    """Swagger UI from the app's own files (no CDN), with the figures operation opened."""
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.locator(".opblock-summary-path", has_text="/cijfers/").first.click()
    page.locator(".opblock-body").first.wait_for()
    if errors:
        raise SystemExit(f"De API-documentatie geeft fouten in de browser: {errors}")


if __name__ == "__main__":
    main()
