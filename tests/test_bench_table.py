"""bench.table: the Markdown table docs/performance.md records a run with."""
from __future__ import annotations

import json

from bench.table import main, markdown


def _row(name, projects, value, floor, target, met, unit="s", compare="<="):
    return {"name": name, "database": "sqlite", "projects": projects, "value": value, "floor": floor,
            "ratio": None if floor is None else value / floor, "target": target, "met": met,
            "unit": unit, "compare": compare}


def test_only_runs_at_10000_projects_or_more_are_judged_and_a_miss_stands_out():
    rows = [_row("B3 werkmap", 100, 0.2, 0.05, 2, False), _row("B3 werkmap", 10_000, 4.4, 2.0, 2, False),
            _row("B3 piekgeheugen werkmap", 10_000, 152.5, None, 400, True, unit="MB"),
            _row("B5 p50-latentie (ms)", 10_000, 36.4, 33.9, None, True, unit="ms")]
    lines = markdown(rows, {"cpu": "AMD EPYC", "cpus": 2, "seconds": 1160.4}).splitlines()
    assert "AMD EPYC, 2 cores" in lines[0] and "1160 s" in lines[0]
    assert lines[4] == "| B3 werkmap (s) | sqlite | 100 | 0.2000 | 0.0500 | 4.00 | <= 2 | not judged |"
    assert lines[5] == "| B3 werkmap (s) | sqlite | 10,000 | 4.4000 | 2.0000 | 2.20 | <= 2 | **no** |"
    assert lines[6] == "| B3 piekgeheugen werkmap (MB) | sqlite | 10,000 | 152.5 | – | – | <= 400 | yes |"
    assert lines[7].startswith("| B5 p50-latentie (ms) | sqlite | 10,000 | 36.4 | 33.9 | 1.07 | – | yes |")


def test_reads_results_and_machine_files(tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps([_row("B1 cijfers", 10_000, 0.09, 0.06, 2, True)]))
    (tmp_path / "machine.json").write_text(json.dumps({"cpu": "Testmachine", "seconds": 5}))
    assert main([str(tmp_path / "results.json")]) == 0
    out = capsys.readouterr().out
    assert "Testmachine" in out and "| B1 cijfers (s) | sqlite | 10,000 | 0.0900 | 0.0600 | 1.50 | <= 2 | yes |" in out
