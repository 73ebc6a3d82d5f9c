"""Regenerate the README screenshots from the demo programme: `make screenshots`."""
from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

import flask_migrate
from sqlalchemy import select
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from budget.demo import load_demo  # noqa: E402
from budget.models import Commitment  # noqa: E402
from core.db import db  # noqa: E402
from projects.models import Project  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/demo.db", "SECRET_KEY": "screenshots",
                          "WTF_CSRF_ENABLED": True})
        with app.app_context():
            flask_migrate.upgrade()
            logins = load_demo(db.session, with_users=True)["users"]
            db.session.commit()
            # The project with the most commitments makes the fullest project page.
            project_id = db.session.scalar(select(Project.id).join(Commitment).group_by(Project.id)
                                           .order_by(db.func.count(Commitment.id).desc()).limit(1))
            db.session.remove()
        email, _role, password = next(u for u in logins if u[1] == "financieel")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{base}/login")
                page.fill("#email", email)
                page.fill("#password", password)
                page.get_by_role("button", name="Inloggen").click()
                page.wait_for_url(f"{base}/")
                shots = [
                    ("dashboard.png", "/?jaar=2025&peildatum=2025-12-31", None),
                    ("project.png", f"/projecten/{project_id}", None),
                    ("form-errors.png", f"/projecten/{project_id}/verplichtingen/nieuw", _overrun),
                    ("report-chart.png", "/rapportage?jaar=2025&peildatum=2025-12-31", None),
                ]
                for name, path, action in shots:
                    page.goto(base + path)
                    if action:
                        action(page)
                    page.wait_for_timeout(500)  # let Plotly finish drawing
                    page.screenshot(path=str(OUT / name), full_page=name != "report-chart.png")
                    print(f"{OUT / name}")
                browser.close()
        finally:
            server.shutdown()


def _overrun(page) -> None:
    """A commitment too big for 2027: the budget stop as a finance officer sees it."""
    page.fill("#reference", "BS-2026-0999")
    page.fill("#signed_date", "2026-11-01")
    page.fill("#total", "3.000.000,00")
    page.fill("#jaar_2027", "3.000.000,00")
    page.get_by_role("button", name="Verplichting vastleggen").click()
    page.locator(".error-summary").wait_for()


if __name__ == "__main__":
    main()
