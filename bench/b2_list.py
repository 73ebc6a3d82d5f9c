"""B2: the project list page with a filter (test client) at N projects vs the same request at 100 projects."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from bench.common import BENCH_PASSWORD, Ctx, app_for, compare, row

FLOOR_SIZE = 100
#: Besides the measured request: what else a user does on the list, each checked for a full page.
ALSO = ("/projecten", "/projecten?sorteer=organisatie&richting=af", "/projecten?status=in_uitvoering&sorteer=status",
        "/projecten?zoek=uitbuiting&sorteer=lijn", "/projecten?vorm=arbeidsuitbuiting&sorteer=categorie")
ROW = '<td class="nowrap">'


def _signed_in(url: str, email: str):
    """(app, test client) logged in through the real login form, CSRF token included."""
    app = app_for(url)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if token is None:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    response = client.post("/login", data={"csrf_token": token.group(1), "email": email, "password": BENCH_PASSWORD})
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise RuntimeError(f"B2: inloggen als {email} mislukt ({response.status_code})")
    return app, client


def _filter(url: str, programme_id: int) -> str:
    """The most common category and line of the small dataset: a filter that matches rows at every size."""
    from core.db import db
    from projects.models import Project

    app = app_for(url)
    with app.app_context():
        category, line = db.session.execute(
            select(Project.category, Project.line).where(Project.programme_id == programme_id)
            .group_by(Project.category, Project.line).order_by(func.count().desc(), Project.category, Project.line)
            .limit(1)).one()
        db.engine.dispose()
    return f"/projecten?categorie={category}&lijn={line}&sorteer=titel"


def _getter(client, path: str):
    def get():
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"B2: {path} gaf {response.status_code}")
        body = response.get_data(as_text=True)
        if ROW not in body:
            raise RuntimeError(f"B2: {path} toont geen projecten")
        return body
    return get


def run(ctx: Ctx) -> list[dict]:
    small = ctx.notes["all"][FLOOR_SIZE]
    path = _filter(small.url, small.programme_id)
    _app, client = _signed_in(ctx.url, ctx.finance_email)
    _floor_app, floor_client = _signed_in(small.url, small.finance_email)
    value_fn, floor_fn = _getter(client, path), _getter(floor_client, path)
    for other in ALSO:
        _getter(client, other)()
    value, floor = compare(value_fn, floor_fn, repeat=15, warmup=3)
    return [row("B2 projectenlijst met filter", ctx, value, floor, 1.5)]
