"""B3: the internal stand-van-zaken workbook vs a bare xlsxwriter constant_memory loop over the same cells."""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
from datetime import date

from bench.common import ROOT, Ctx, app_for, compare, row

YEAR, PEILDATUM = 2025, date(2025, 12, 31)
MEMORY_TARGET_MB = 400


def build(session, programme_id: int) -> bytes:
    """What GET /rapportage/werkboek.xlsx?jaar=2025&peildatum=2025-12-31&versie=intern does, minus HTTP."""
    from budget.ledger import programme_years
    from projects.models import Programme
    from reports import excel
    from reports.queries import live_frames

    programme = session.get(Programme, programme_id)
    years = programme_years(session, programme)
    assert YEAR in years, years
    rf = live_frames(session, programme, YEAR, PEILDATUM, internal=True, thousands=False)
    return excel.build_workbook(rf)


def read_cells(data: bytes) -> list[tuple[str, list[list]]]:
    """Every sheet's rows as values (openpyxl read-only), for the floor to write again.

    An empty text cell (a formatted blank) reads as '' or None; both count as no value.
    """
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return [(ws.title, [[None if v == "" else v for v in r] for r in ws.iter_rows(values_only=True)])
                for ws in wb.worksheets]
    finally:
        wb.close()


def count_cells(sheets) -> int:
    return sum(v is not None for _name, rows in sheets for r in rows for v in r)


def bare_write(sheets) -> tuple[bytes, int]:
    """The floor: one write_row per row in constant_memory mode, no formats beyond the date default."""
    import xlsxwriter

    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                      "strings_to_urls": False, "default_date_format": "dd-mm-yyyy"})
    written = 0
    for name, rows in sheets:
        ws = wb.add_worksheet(name)
        for r, values in enumerate(rows):
            ws.write_row(r, 0, values)
            written += len(values) - values.count(None)
    wb.close()
    return buffer.getvalue(), written


# Runs the measured child and prints its peak RSS. A forked child starts with its parent's
# high-water mark (Linux keeps ru_maxrss across fork and exec), so the child is started from
# this small launcher rather than from the bench process, which holds the data of earlier runs.
_LAUNCHER = """
import resource, subprocess, sys
subprocess.run([sys.executable, "-m", "bench.b3_workbook", *sys.argv[1:]], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _child(args: list[str]) -> float:
    """Peak RSS in MB of `python -m bench.b3_workbook args` (ru_maxrss is in KB on Linux)."""
    out = subprocess.run([sys.executable, "-c", _LAUNCHER, *args], cwd=ROOT, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return int(out.split()[-1]) / 1024


def run(ctx: Ctx) -> list[dict]:
    from sqlalchemy import text

    from core.db import db

    app = app_for(ctx.url)
    with app.app_context():
        session = db.session
        if ctx.database == "postgresql":
            # Planner statistics, as autovacuum keeps them on a production server (it may be off here).
            session.execute(text("ANALYZE"))
            session.commit()

        def value():
            # Fresh identity map each time: a download request starts without loaded objects.
            session.expire_all()
            out = build(session, ctx.programme_id)
            session.rollback()
            return out

        sheets = read_cells(value())
        expected = count_cells(sheets)
        data, written = bare_write(sheets)
        if written != expected or count_cells(read_cells(data)) != expected:
            raise AssertionError(f"B3: de vloer schreef {written} cellen, de werkmap heeft er {expected}")

        value_s, floor_s = compare(value, lambda: bare_write(sheets), repeat=5, warmup=1)
        db.engine.dispose()
    peak = _child(["--url", ctx.url, "--programme", str(ctx.programme_id)])
    baseline = _child(["--url", ctx.url, "--baseline"])
    ctx.notes["B3 basisgeheugen MB"] = baseline
    ctx.notes["B3 cellen"] = expected
    print(f"[{ctx.database}] B3 bij {ctx.projects} projecten: {expected} cellen, piekgeheugen {peak:.0f} MB "
          f"(alleen imports en app: {baseline:.0f} MB)", flush=True)
    return [row("B3 werkmap stand van zaken", ctx, value_s, floor_s, 2.0),
            row("B3 piekgeheugen werkmap", ctx, peak, None, MEMORY_TARGET_MB, unit="MB")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="B3 in een eigen proces, voor het piekgeheugen.")
    parser.add_argument("--url", required=True)
    parser.add_argument("--programme", type=int)
    parser.add_argument("--baseline", action="store_true", help="alleen imports en de app maken")
    args = parser.parse_args(argv)
    app = app_for(args.url)
    if args.baseline:
        return 0
    from core.db import db

    with app.app_context():
        data = build(db.session, args.programme)
        db.session.rollback()
        db.engine.dispose()
    print(f"werkmap: {len(data)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
