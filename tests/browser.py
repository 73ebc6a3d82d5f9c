"""Browser test helpers: serve the app on a free local port, drive Debian chromium, log in."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pyotp
from werkzeug.serving import make_server

from core.auth import LANDING
from tests.factories import PASSWORD

# STACK.md: Debian chromium, flags that keep it from calling outside hosts.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: The path of each landing endpoint (core.auth.LANDING): a role whose landing page is missing here fails loudly.
LANDING_PATHS = {"reports.dashboard": "/", "projects.mine": "/projecten/mijn"}


def landing_path(role: str) -> str:
    """Where `role` lands after logging in without asking for a page."""
    return LANDING_PATHS[LANDING.get(role, "reports.dashboard")]


@contextmanager
def serve(wsgi_app):
    """Serve a WSGI app on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def browser_on(app):
    """Serve `app` on a free local port and yield (base URL, a fresh chromium page)."""
    from playwright.sync_api import sync_playwright

    with serve(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            yield base, browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def log_in(page, base: str, user) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()
    if page.url.endswith("/login/koppelen"):
        # A beheerder links an authenticator app first: read the key as a person would type it.
        secret = page.locator("code.secret").inner_text()
        page.fill("#code", pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Koppelen en inloggen").click()
    page.wait_for_url(f"{base}{landing_path(user.role)}")
