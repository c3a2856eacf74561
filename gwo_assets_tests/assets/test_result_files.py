"""The load steps' ``<step>.jsonl`` results, as the report and undo read them back."""

import json
from pathlib import Path

import pytest

from gwo_assets.assets.report import _load_results, step_counts, written_ids
from gwo_assets.assets.step_helpers.artifacts import read_jsonl
from gwo_assets.undo.files import read_results
from gwo_assets.undo.plan import UndoRefused

PAYLOAD = {"external_id": "s3://bucket/a.cram", "hashes": {"md5": "0" * 32}, "urls": ["x" * 500]}
ROWS = [
    {"action": "create", "status": "done", "kf_id": "GF_AAAAAAAA", "payload": PAYLOAD},
    {"action": "update", "status": "done", "kf_id": "GF_BBBBBBBB", "payload": PAYLOAD,
     "previous": {"size": 1}},
    {"action": "unchanged", "status": "unchanged", "kf_id": "GF_CCCCCCCC", "payload": PAYLOAD},
    {"action": "create", "status": "failed", "kf_id": None, "error": "500"},
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows) + "\n")
    return path


def test_the_report_keeps_only_the_fields_it_uses_and_counts_them(tmp_path: Path) -> None:
    _write(tmp_path / "genomic_files.jsonl", ROWS)
    results = _load_results(tmp_path, "genomic_files")
    assert list(results.columns) == ["status", "action", "kf_id", "previous"]
    assert step_counts(results, dry_run=False) == {"create": 1, "update": 1, "unchanged": 1,
                                                   "failed": 1}
    assert written_ids(results) == {"created": ["GF_AAAAAAAA"],
                                    "updated": [{"kf_id": "GF_BBBBBBBB", "previous": {"size": 1}}]}
    assert _load_results(tmp_path, "biospecimen_genomic_files") is None  # no file: no step


def test_rows_are_read_whole_or_by_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "rows.jsonl", ROWS)
    assert read_jsonl(path) == ROWS
    assert read_jsonl(path, ("kf_id", "previous"))[:2] == [
        {"kf_id": "GF_AAAAAAAA", "previous": None},
        {"kf_id": "GF_BBBBBBBB", "previous": {"size": 1}}]
    assert read_jsonl(tmp_path / "absent.jsonl") is None
    assert read_jsonl(_write(tmp_path / "empty.jsonl", [])) == []


def test_undo_refuses_a_results_file_it_cannot_parse(tmp_path: Path) -> None:
    _write(tmp_path / "genomic_files.jsonl", ROWS)
    (tmp_path / "sequencing_experiment_genomic_files.jsonl").write_text('{"kf_id": "SG_\n')
    with pytest.raises(UndoRefused, match="Cannot read .*sequencing_experiment_genomic_files.jsonl"):
        read_results(tmp_path)
    (tmp_path / "sequencing_experiment_genomic_files.jsonl").unlink()
    results = read_results(tmp_path)
    assert results["genomic_files"] == ROWS and results["sequencing_experiment_genomic_files"] is None
