"""Files a run leaves behind under ``report_dir/<run_id>/`` (tables as CSV, report, plans)."""

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def run_dir(report_dir: str, run_id: str) -> Path:
    path = Path(report_dir).expanduser().resolve() / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def neutralize_cell(value: Any) -> Any:
    """Prefix a quote to cells a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as CSV with formula-looking cells neutralized; lists/dicts as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = frame.copy()
    for column in safe.columns:
        safe[column] = safe[column].map(_cell_text).map(neutralize_cell)
    safe.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return path


def write_json(path: Path, payload: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
    return path


def read_jsonl(path: Path, fields: Sequence[str] | None = None) -> list[dict] | None:
    """The rows of a JSON-lines file (a load step's results), None when it is absent. Read a
    line at a time; ``fields`` keeps only those keys of each row (missing ones as None), so a
    reader that needs a few columns never holds every payload (~2 KB per file) at once.
    A malformed line raises ``ValueError``."""
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as lines:
        rows = map(json.loads, filter(str.strip, lines))
        if fields is None:
            return list(rows)
        return [{field: row.get(field) for field in fields} for row in rows]


def _cell_text(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return value
