"""`python -m bench.run`: every benchmark on SQLite and PostgreSQL at 100 and 10,000 projects; table + results.json."""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.common import BENCH_PASSWORD, Ctx, app_for, databases, pg_available

#: Benchmark id -> module with run(ctx) -> list[dict] (see bench.common.row).
BENCHMARKS = {
    "B1": "bench.b1_figures",
    "B2": "bench.b2_list",
    "B3": "bench.b3_workbook",
    "B4": "bench.b4_import",
    "B5": "bench.b5_serve",
}
RESULTS = Path(__file__).resolve().parent / "results.json"
JUDGED_FROM = 10_000  # projects: the targets hold from here up


def _populate(url: str, projects: int, seed: int) -> tuple[int, str, str, float]:
    """bench.generate's dataset plus a reader and a finance officer; returns (programme id, emails, seconds)."""
    from bench.generate import generate
    from core.db import db
    from core.users import SystemActor, create_user
    from projects.models import Programme

    app = app_for(url)
    with app.app_context():
        started = time.perf_counter()
        generate(db.session, projects, 1, seed)
        actor = SystemActor(email="bench")
        reader = create_user(db.session, actor, f"lezer-{seed}@bench.example", "Bench Lezer", "lezer", BENCH_PASSWORD)
        finance = create_user(db.session, actor, f"financieel-{seed}@bench.example", "Bench Financieel",
                              "financieel", BENCH_PASSWORD)
        db.session.commit()
        took = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            # Planner statistics, as autovacuum keeps them on a production server: every benchmark
            # then meets the plans a real installation gets, not those of a table it never analysed.
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        programme_id = db.session.query(Programme.id).order_by(Programme.id.desc()).limit(1).scalar()
        emails = reader.email, finance.email
        db.engine.dispose()
    return programme_id, emails[0], emails[1], took


def _verdict(r: dict) -> str:
    # The targets are set for 10,000 projects and more; smaller runs are only reference points.
    if r["projects"] < JUDGED_FROM:
        return "n.v.t."
    return "ja" if r["met"] else "NEE"


def _table(rows: list[dict]) -> str:
    head = f"{'meting':<46} {'db':<10} {'projecten':>9} {'waarde':>12} {'vloer':>12} {'ratio':>7} {'doel':>8}  ok"
    lines = [head, "-" * len(head)]
    for r in rows:
        def num(v):
            if v is None:
                return "–"
            return f"{v:.4f}" if r["unit"] == "s" and isinstance(v, float) else f"{v:g}"
        ratio = "–" if r["ratio"] is None else f"{r['ratio']:.2f}"
        target = "–" if r["target"] is None else f"{r['compare']}{r['target']:g}"
        lines.append(f"{r['name']:<46} {r['database']:<10} {r['projects']:>9} {num(r['value']):>12} "
                     f"{num(r['floor']):>12} {ratio:>7} {target:>8}  {_verdict(r)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks met vloeren uit dezelfde run.")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), action="append",
                        help="alleen deze database(s); standaard beide")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000], help="aantallen projecten")
    parser.add_argument("--large", action="store_true", help="ook 100.000 projecten (duurt lang)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="alleen deze metingen")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    kinds = args.db or ["sqlite", "postgresql"]
    if "postgresql" in kinds and (reason := pg_available()):
        print(f"PostgreSQL is niet bereikbaar ({reason}); zet BENCH_PG_URL of start de server.", file=sys.stderr)
        return 2
    sizes = sorted(set(args.sizes) | ({100_000} if args.large else set()))
    chosen = args.only or sorted(BENCHMARKS)
    modules = {b: importlib.import_module(BENCHMARKS[b]) for b in chosen}

    rows: list[dict] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pm-bench-") as tmp:
        for kind in kinds:
            workdir = Path(tmp) / kind
            workdir.mkdir()
            with databases(kind, workdir) as make_db:
                ctxs: dict[int, Ctx] = {}
                for n in sizes:
                    url = make_db(f"data_{n}")
                    programme_id, reader, finance, took = _populate(url, n, args.seed)
                    print(f"[{kind}] {n} projecten gegenereerd in {took:.1f} s", flush=True)
                    ctxs[n] = Ctx(database=kind, projects=n, url=url, programme_id=programme_id, workdir=workdir,
                                  make_db=make_db, reader_email=reader, finance_email=finance)
                # Benchmarks that compare sizes (B2, B5) see every context of this database.
                for n in sizes:
                    for bench_id in chosen:
                        ctx = ctxs[n]
                        ctx.notes["all"] = ctxs
                        t0 = time.perf_counter()
                        new = modules[bench_id].run(ctx)
                        print(f"[{kind}] {bench_id} bij {n} projecten: {time.perf_counter() - t0:.1f} s", flush=True)
                        rows.extend(new)

    print()
    print(_table(rows))
    judged = [r for r in rows if r["projects"] >= JUDGED_FROM]
    missed = [r for r in judged if not r["met"]]
    doc = {"machine": _machine(), "seconds": round(time.perf_counter() - started, 1), "results": rows}
    args.output.write_text(json.dumps(rows, indent=2) + "\n")
    (args.output.with_name("machine.json")).write_text(json.dumps(doc["machine"] | {"seconds": doc["seconds"]},
                                                                   indent=2) + "\n")
    print(f"\nBij 10.000 projecten of meer: {len(judged) - len(missed)} van {len(judged)} doelen gehaald"
          f" ({len(rows)} metingen in {doc['seconds']:.0f} s); resultaten in {args.output}")
    return 1 if missed else 0


def _machine() -> dict:
    """What the figures were measured on (written beside results.json as machine.json)."""
    import os
    import sqlite3

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else ""
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "0") if Path("/proc/meminfo").exists() else "0"
    info = {"cpu": cpu, "cpus": os.cpu_count() or 0, "memory_gb": round(int(mem) / 1024 / 1024, 1),
            "platform": platform.platform(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    if not pg_available():
        import psycopg

        from bench.common import PG_SERVER_URL, _libpq

        with psycopg.connect(_libpq(PG_SERVER_URL)) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    return info


if __name__ == "__main__":
    sys.exit(main())
