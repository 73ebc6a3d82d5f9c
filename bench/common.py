"""Bench plumbing shared by every benchmark: databases, apps, interleaved median timing, result rows."""
from __future__ import annotations

import os
import re
import secrets
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
#: A server where the bench may create and drop its own databases (trust auth on this machine).
PG_SERVER_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BENCH_SECRET = "bench-" + secrets.token_hex(16)
#: One audit key for the run: the in-process apps and B5's gunicorn sign the same trail.
BENCH_AUDIT_KEY = "bench-audit-" + secrets.token_hex(16)
BENCH_PASSWORD = "bench-wachtwoord-2026"


@dataclass
class Ctx:
    """One measurement setting: a database kind and a dataset size, already generated.

    `url` holds bench.generate's dataset: one programme (`programme_id`) with `projects`
    projects, plus a 'lezer' and a 'financieel' user that log in with BENCH_PASSWORD
    (`reader_email`, `finance_email`). `make_db(tag)` gives a new, empty, migrated database.
    """

    database: str
    projects: int
    url: str
    programme_id: int
    workdir: Path
    make_db: Callable[[str], str]
    reader_email: str = ""
    finance_email: str = ""
    notes: dict = field(default_factory=dict)


def app_for(url: str):
    """A production-like app (no TESTING, CSRF on) on `url`."""
    from app import create_app

    config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": BENCH_SECRET, "AUDIT_KEY": BENCH_AUDIT_KEY,
              "RATELIMIT_ENABLED": False,
              "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}}
    return create_app(config)


def migrate(url: str) -> None:
    """Bring a database to the newest schema with the project's own migrations."""
    import logging

    from flask_migrate import upgrade

    app = app_for(url)
    # Alembic's env.py switches INFO logging on per run; the bench prints its own lines.
    logging.disable(logging.INFO)
    try:
        with app.app_context():
            upgrade()
    finally:
        logging.disable(logging.NOTSET)


def _libpq(url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


@contextmanager
def databases(kind: str, workdir: Path) -> Iterator[Callable[[str], str]]:
    """Yields make_db(tag) -> URL of a new migrated database; every one is removed afterwards."""
    made: list[str] = []

    def make_db(tag: str) -> str:
        if kind == "sqlite":
            path = workdir / f"{tag}.db"
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        else:
            import psycopg

            name = f"pm_bench_{tag}_{os.getpid()}"
            with psycopg.connect(_libpq(PG_SERVER_URL), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
            made.append(name)
            url = PG_SERVER_URL.rsplit("/", 1)[0] + "/" + name
        migrate(url)
        return url

    try:
        yield make_db
    finally:
        if kind == "postgresql" and made:
            import psycopg

            with psycopg.connect(_libpq(PG_SERVER_URL), autocommit=True) as conn:
                for name in made:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_available() -> str | None:
    """None when the PostgreSQL server answers, else the reason it does not."""
    try:
        import psycopg

        psycopg.connect(_libpq(PG_SERVER_URL), connect_timeout=3).close()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL for this run
        return str(exc).strip() or exc.__class__.__name__


def compare(value_fn: Callable[[], object], floor_fn: Callable[[], object], repeat: int = 5,
            warmup: int = 1) -> tuple[float, float]:
    """Median seconds of value_fn and floor_fn, run alternately so machine noise hits both alike."""
    for _ in range(warmup):
        value_fn()
        floor_fn()
    values, floors = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        value_fn()
        values.append(time.perf_counter() - started)
        started = time.perf_counter()
        floor_fn()
        floors.append(time.perf_counter() - started)
    return statistics.median(values), statistics.median(floors)


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def row(name: str, ctx: Ctx, value: float, floor: float | None, target: float | None, *,
        higher_is_better: bool = False, unit: str = "s", met: bool | None = None) -> dict:
    """One results.json entry. ratio = value / floor; met compares it (or, without a floor, value) to target.

    target None: reported for information (latencies), always met.
    """
    ratio = value / floor if floor else None
    judged = ratio if ratio is not None else value
    if met is None:
        met = True if target is None else (judged >= target if higher_is_better else judged <= target)
    return {"name": name, "database": ctx.database, "projects": ctx.projects,
            "value": round(value, 6), "floor": None if floor is None else round(floor, 6),
            "ratio": None if ratio is None else round(ratio, 3), "target": target, "met": bool(met),
            "unit": unit, "compare": ">=" if higher_is_better else "<="}
