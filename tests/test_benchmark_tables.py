"""The README's defaults table is what the benchmark's recorded run prints, row for row."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_defaults_table_is_the_recorded_runs_summary():
    results = ROOT / "benchmarks" / "results"
    printed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "defaults_table.py"), "--summarize",
         str(results / "defaults_table.jsonl"), str(results / "defaults_table_0.3.0.jsonl")],
        capture_output=True, text=True, check=True, cwd=ROOT).stdout
    rows = [line for line in printed.splitlines()[:25] if line.startswith("| ")]
    assert len(rows) >= 20, printed[:2000]  # the header and a row per task
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [row for row in rows if row not in readme]
    assert not missing, missing
    counts = [line for line in printed.splitlines() if line.startswith("defaults: ahead")]
    assert counts and "behind (✗) on 0." in counts[0], counts  # README: "behind on none"
