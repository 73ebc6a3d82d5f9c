"""B4: importing the product's own export of N projects into an empty database vs calamine plus one bulk insert."""
from __future__ import annotations

import io
import json
import statistics
import time

from sqlalchemy import Column, Integer, MetaData, Table, Text, create_engine, func, insert, select

from bench.common import Ctx, app_for, row

#: A fresh database per repetition: at 10,000 projects one import takes tens of seconds.
REPEAT = {100: 3}
DEFAULT_REPEAT = 2

_scratch_meta = MetaData()
SCRATCH = Table("b4_scratch", _scratch_meta, Column("id", Integer, primary_key=True), Column("sheet", Text),
                Column("data", Text))


def _source(ctx: Ctx) -> tuple[bytes, list[str], dict, dict]:
    """The export of ctx's programme, the owners' e-mails, the row counts and the figures per year."""
    from core.db import db
    from imports.writer import export_bytes
    from projects.models import Programme

    app = app_for(ctx.url)
    with app.app_context():
        session = db.session
        programme = session.get(Programme, ctx.programme_id)
        data = export_bytes(session, programme)
        emails, counts, figures = _facts(session, programme.code)
        session.rollback()
        db.engine.dispose()
    return data, emails, counts, figures


def _facts(session, code: str) -> tuple[list[str], dict, dict]:
    from budget.ledger import programme_figures
    from budget.models import Commitment, CommitmentSchedule, Payment
    from core.users import User
    from projects.models import Programme, Project

    programme = session.scalar(select(Programme).where(Programme.code == code))
    emails = sorted(session.scalars(select(User.email).join(Project, Project.owner_id == User.id)
                                    .where(Project.programme_id == programme.id).distinct()))
    counts = {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in
              (Project, Commitment, CommitmentSchedule, Payment)}
    figures = {y: (f.available, f.committed, f.paid, f.free)
               for y, f in programme_figures(session, programme.id, None).items()}
    return emails, counts, figures


def _import(url: str, data: bytes, emails: list[str]) -> tuple[float, object]:
    """Owners first (untimed), then the timed part: run_import as the CLI does it, and commit."""
    from core.db import db
    from core.users import User
    from imports.cli import IMPORT_ACTOR
    from imports.services import run_import

    app = app_for(url)
    with app.app_context():
        session = db.session
        if emails and not session.scalar(select(func.count()).select_from(User)):
            session.execute(insert(User), [{"email": e, "name": e.split("@")[0], "role": "projectleider",
                                            "password_hash": "!", "active": True} for e in emails])
            session.commit()
        started = time.perf_counter()
        result = run_import(session, IMPORT_ACTOR, data, filename="b4.xlsx")
        if result.must_write:
            session.commit()
        else:
            session.rollback()
        took = time.perf_counter() - started
        if not result.ok:
            raise AssertionError(f"B4: de import gaf fouten: {[str(e) for e in result.errors[:5]]}")
        db.engine.dispose()
    return took, result


def _floor(url: str, data: bytes) -> float:
    """python-calamine (the import's own reader) of every sheet, then one executemany insert of all rows as JSON."""
    import python_calamine

    engine = create_engine(url)
    _scratch_meta.create_all(engine)
    try:
        started = time.perf_counter()
        rows = []
        with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            for name in workbook.sheet_names:
                grid = workbook.get_sheet_by_name(name).to_python()
                header = [str(h) for h in grid[0]] if grid else []
                rows.extend({"sheet": name, "data": json.dumps(dict(zip(header, line)), default=str)}
                            for line in grid[1:])
        with engine.begin() as conn:
            conn.execute(insert(SCRATCH), rows)
        took = time.perf_counter() - started
    finally:
        engine.dispose()
    return took


def run(ctx: Ctx) -> list[dict]:
    from core.db import db

    data, emails, counts, figures = _source(ctx)
    repeat = REPEAT.get(ctx.projects, DEFAULT_REPEAT)
    values, floors = [], []
    last_url = None
    for i in range(repeat):
        # Alternately, so machine noise hits both alike; every run gets a new empty database.
        url = ctx.make_db(f"b4_{ctx.projects}_{i}")
        took, _result = _import(url, data, emails)
        values.append(took)
        floors.append(_floor(ctx.make_db(f"b4f_{ctx.projects}_{i}"), data))
        last_url = url
    app = app_for(last_url)
    with app.app_context():
        got = _facts(db.session, _code(data))
        db.session.rollback()
        db.engine.dispose()
    if got[1] != counts or got[2] != figures:
        raise AssertionError(f"B4: de import gaf andere aantallen of cijfers: {got[1]} != {counts}")
    again, result = _import(last_url, data, emails)
    if result.changed:
        raise AssertionError("B4: een tweede import van hetzelfde bestand veranderde iets.")
    value, floor = statistics.median(values), statistics.median(floors)
    return [row("B4 import werkmap", ctx, value, floor, 3.0),
            row("B4 tweede import (niets gewijzigd)", ctx, again, None, None)]


def _code(data: bytes) -> str:
    import python_calamine

    with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
        return str(workbook.get_sheet_by_name("Programma").to_python()[1][0])
