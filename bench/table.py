"""Print bench/results.json and machine.json as the Markdown table of docs/performance.md."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.run import JUDGED_FROM, RESULTS


def _num(value, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        return f"{value:.4f}"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def markdown(rows: list[dict], machine: dict) -> str:
    lines = [
        f"Machine: {machine.get('cpu', '?')}, {machine.get('cpus', '?')} cores, {machine.get('memory_gb', '?')} GB; "
        f"{machine.get('platform', '?')}; Python {machine.get('python', '?')}, SQLite {machine.get('sqlite', '?')}, "
        f"PostgreSQL {machine.get('postgresql', '–')} on the same machine (loopback). "
        f"The run took {machine.get('seconds', 0):.0f} s.",
        "",
        "| measurement | database | projects | value | floor | ratio | target | met |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = "–" if r["ratio"] is None else f"{r['ratio']:.2f}"
        target = "–" if r["target"] is None else f"{r['compare']} {r['target']:g}"
        met = "not judged" if r["projects"] < JUDGED_FROM else ("yes" if r["met"] else "**no**")
        name = r["name"] if r["name"].endswith(")") else f"{r['name']} ({r['unit']})"
        lines.append(f"| {name} | {r['database']} | {r['projects']:,} | "
                     f"{_num(r['value'], r['unit'])} | {_num(r['floor'], r['unit'])} | {ratio} | {target} | {met} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="De resultaten van make bench als Markdown-tabel.")
    parser.add_argument("results", type=Path, nargs="?", default=RESULTS)
    args = parser.parse_args(argv)
    rows = json.loads(args.results.read_text())
    machine_file = args.results.with_name("machine.json")
    machine = json.loads(machine_file.read_text()) if machine_file.exists() else {}
    print(markdown(rows, machine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
