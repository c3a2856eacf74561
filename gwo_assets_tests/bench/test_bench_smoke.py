"""Smoke test of ``python -m gwo_assets_tests.bench --quick`` (marked bench: not in ``make test``).

Run it with ``.venv/bin/pytest -m bench gwo_assets_tests/bench``. It checks
that the benchmark runs end to end, on an empty DataService and on one holding
a few filler files, and that its figures are consistent, never a timing (the
machine decides those).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

QUICK_RUN_TIMEOUT = 1200
FILLER = 300  # the DataService size axis, tiny: another study's files beside the quick study


@pytest.mark.bench
@pytest.mark.timeout(QUICK_RUN_TIMEOUT + 60)
def test_quick_benchmark_runs_end_to_end_with_consistent_figures(tmp_path: Path) -> None:
    raw = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "gwo_assets_tests.bench", "--quick", "--json", str(raw),
         "--dataservice-files", f"0,{FILLER}", "--filler-cache", str(tmp_path / "filler")],
        capture_output=True, text=True, timeout=QUICK_RUN_TIMEOUT, check=False)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    assert "== Summary" in completed.stdout
    assert "pipeline ÷ floor" in completed.stdout and f"DS +{FILLER:,}" in completed.stdout
    result = json.loads(raw.read_text())
    empty, filled = result["sizes"]
    assert (empty["study"]["dataservice_files"], filled["study"]["dataservice_files"]) == (0, FILLER)
    for size in (empty, filled):
        assert size["fresh"]["success"] and size["rerun"]["success"]
        assert 0 < sum(size["fresh"]["step_requests"].values()) <= size["fresh"]["writes"] * 2
        # the filler is other studies': the study's tables and its load are the same
        assert size["study"]["table_rows"] == empty["study"]["table_rows"]
        assert size["fresh"]["writes"] == empty["fresh"]["writes"]
    size = empty
    fresh, rerun, naive = size["fresh"], size["rerun"], size["naive"]
    assert fresh["success"] and rerun["success"]
    assert fresh["writes"] == sum(fresh["planned_writes"].values()) > 0
    assert rerun["writes"] == 0 and rerun["external_id_lookups"] == 0
    assert naive["measured"]["writes"] == fresh["writes"]  # both loaded the same study fresh
    assert all(rate["writes"] > 0 for rate in size["floor"]["rates"])
    assert result["manifest"]["row_issues"] == 0 and result["manifest"]["gx_issues"] == 0
