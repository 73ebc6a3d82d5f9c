"""A real multi-worker gunicorn on a test's database, and a plain HTTP client that logs in like a browser."""
from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "concurrency-test-secret-key-0123456789abcdef"
#: The tests' audit key (tests/conftest.py): a server on a test's database must sign as the test verifies.
AUDIT_KEY = "test-audit-key-0123456789abcdef-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, workers: int = 3, log: Path | None = None, env: dict | None = None):
    """gunicorn.conf.py's server on `database_url` with several sync workers; yields the base URL."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET, "AUDIT_KEY": AUDIT_KEY,
           "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": str(workers), "ACCESS_LOG": "/dev/null", **(env or {})}
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "app:create_app()"],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn stopte met code {proc.returncode}")
            try:
                with urllib.request.urlopen(base + "/login", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn kwam niet op tijd op") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, CSRF and form tokens as a browser sends them; redirects are returned, not followed."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """(status, body, Location) of a GET, or of a POST when `data` is given."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=120) as r:
                return r.status, r.read().decode(), r.headers.get("Location", "")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), exc.headers.get("Location", "")

    def hidden(self, path: str) -> dict:
        """The hidden fields (csrf_token, form_token, version) of the form on `path`."""
        status, page, _ = self.request(path)
        assert status == 200, (path, status)
        fields = {}
        for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", page):
            name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = value.group(1) if value else ""
        return fields

    def log_in(self, email: str, password: str) -> None:
        fields = self.hidden("/login")
        status, _, location = self.request("/login", {**fields, "email": email, "password": password})
        assert status == 302 and "/login" not in location, (status, location)
