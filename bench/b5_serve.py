"""B5: the dashboard and the API's figures under gunicorn (gunicorn.conf.py, 2 workers), loaded with wrk."""
from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import statistics
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from bench.common import BENCH_AUDIT_KEY, BENCH_PASSWORD, BENCH_SECRET, ROOT, Ctx, row

DURATION_S = int(os.environ.get("BENCH_WRK_SECONDS", "5"))
ROUNDS = 3
CONNECTIONS, THREADS = 8, 1
PATH = "/?jaar=2025"
#: The same figures through the API (issue 17): a token instead of the session, JSON instead of the page.
API_PATH = "/api/v1/programmas/{code}/cijfers/2025"
# Counts every answer that is not a 200: wrk itself would count a redirect to /login as a success.
LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not_ok = 0 end
function response(status, headers, body) if status ~= 200 then not_ok = not_ok + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("not_ok") end
  io.write(string.format("NOT_OK %d\\n", total))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(base: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn stopte met code {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/login", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn kwam niet op tijd op")


def _log_in(base: str, email: str) -> tuple[str, urllib.request.OpenerDirector]:
    """Log in like a browser (CSRF token from the form); returns the Cookie header and the opener."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": BENCH_PASSWORD}).encode()
    opener.open(base + "/login", data=data).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, opener


def _check_page(base: str, opener) -> None:
    with opener.open(base + PATH) as r:
        body = r.read().decode()
        if r.status != 200 or r.geturl().rstrip("/").endswith("/login") or "Benchmarkprogramma" not in body:
            raise RuntimeError("B5: het dashboard kwam niet (ingelogd) terug")


def _api_token(ctx: Ctx) -> tuple[str, str]:
    """(a read token of the benchmark's lezer, the programme's code), made through the service."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from api import tokens
    from bench.common import app_for
    from core.db import db
    from core.users import User
    from projects.models import Programme

    app = app_for(ctx.url)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == ctx.reader_email))
        _token, secret = tokens.create_token(db.session, user, name="bench", scope="read",
                                             expires_on=date.today() + timedelta(days=1))
        code = db.session.get(Programme, ctx.programme_id).code
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return secret, code


def _check_api(base: str, secret: str, path: str) -> None:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(request) as r:
        if r.status != 200 or b'"samenvatting"' not in r.read():
            raise RuntimeError("B5: de cijfers kwamen niet uit de API terug")


def _wrk(base: str, cookie: str, workdir: Path, path: str = PATH, header: str = "") -> dict:
    script = workdir / "b5.lua"
    script.write_text(LUA)
    out = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "--timeout", "10s",
         "-s", str(script), "-H", header or f"Cookie: {cookie}", base + path],
        capture_output=True, text=True, check=True).stdout
    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": latency("50"), "p99": latency("99"),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "errors": int(re.search(r"NOT_OK (\d+)", out).group(1)) + socket_errors, "raw": out}


@contextmanager
def serving(ctx: Ctx):
    """gunicorn with gunicorn.conf.py (2 workers) on ctx's database; yields (base URL, Cookie header, opener)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk ontbreekt: installeer het (apt-get install wrk); make bench doet dat zelf")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": ctx.url, "SECRET_KEY": BENCH_SECRET, "AUDIT_KEY": BENCH_AUDIT_KEY,
           "BIND": f"127.0.0.1:{port}",
           # wrk is one client asking thousands of times a minute: the per-token limit would answer 429.
           "API_RATE_LIMIT": "10000000 per minute",
           "ACCESS_LOG": str(ctx.workdir / f"access-{ctx.projects}.log"), "WEB_CONCURRENCY": "2"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(ctx.workdir / f"gunicorn-{ctx.projects}.err", "w") as err:
        proc = subprocess.Popen([str(gunicorn), "--config", "gunicorn.conf.py", "app:create_app()"], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            _wait_ready(base, proc)
            cookie, opener = _log_in(base, ctx.reader_email)
            for _ in range(4):  # both workers warm, the figures built once
                _check_page(base, opener)
            yield base, cookie, opener
            _check_page(base, opener)  # still logged in afterwards: the load was the real dashboard
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def _median(results: list[dict]) -> dict:
    keys = ("rps", "p50", "p99")
    out = {k: statistics.median(r[k] for r in results) for k in keys}
    out["errors"] = sum(r["errors"] for r in results)
    out["requests"] = sum(r["requests"] for r in results)
    return out


def run(ctx: Ctx) -> list[dict]:
    """At the smallest size: its own figures. Larger: both servers up, loaded in turns (ROUNDS each), so
    the ratio compares rounds that shared the machine's mood."""
    smallest = ctx.notes["all"][min(ctx.notes["all"])]
    if ctx is smallest:
        with serving(ctx) as (base, cookie, _):
            result = _median([_wrk(base, cookie, ctx.workdir) for _ in range(ROUNDS)])
        ref = result
    else:
        with serving(smallest) as (small_base, small_cookie, _), serving(ctx) as (base, cookie, _):
            mine, theirs = [], []
            for _ in range(ROUNDS):
                theirs.append(_wrk(small_base, small_cookie, ctx.workdir))
                mine.append(_wrk(base, cookie, ctx.workdir))
        result, ref = _median(mine), _median(theirs)
    api, page = _api_against_dashboard(ctx)
    return [
        row("B5 dashboard onder gunicorn (verzoeken/s)", ctx, result["rps"], ref["rps"], 0.8,
            higher_is_better=True, unit="req/s"),
        row("B5 p50-latentie (ms)", ctx, result["p50"], ref["p50"], None, unit="ms"),
        row("B5 p99-latentie (ms)", ctx, result["p99"], ref["p99"], None, unit="ms"),
        row("B5 fouten (niet-200 en socketfouten)", ctx, result["errors"], None, 0, unit="aantal"),
        row("B5 API-cijfers onder gunicorn (verzoeken/s, t.o.v. dashboard)", ctx, api["rps"], page["rps"], 0.8,
            higher_is_better=True, unit="req/s"),
        row("B5 API-cijfers p50-latentie (ms)", ctx, api["p50"], page["p50"], None, unit="ms"),
        row("B5 API-cijfers fouten (niet-200 en socketfouten)", ctx, api["errors"], None, 0, unit="aantal"),
    ]


def _api_against_dashboard(ctx: Ctx) -> tuple[dict, dict]:
    """The API's figures and the dashboard on one server, loaded in turns: (API, dashboard) medians."""
    secret, code = _api_token(ctx)
    path = API_PATH.format(code=code)
    with serving(ctx) as (base, cookie, _):
        for _ in range(4):  # both workers warm, the figures built once
            _check_api(base, secret, path)
        api, page = [], []
        for _ in range(ROUNDS):
            page.append(_wrk(base, cookie, ctx.workdir))
            api.append(_wrk(base, "", ctx.workdir, path, f"Authorization: Bearer {secret}"))
        _check_api(base, secret, path)
    return _median(api), _median(page)
