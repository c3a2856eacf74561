"""Small builders for the metadata that makes each step readable in the Dagster UI."""

import json
from typing import Any

import pandas as pd
from dagster import MetadataValue

PREVIEW_ROWS = 10


def markdown_table(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """Render the first ``rows`` rows as a markdown table (no extra dependency)."""
    if frame is None or frame.empty:
        return "_(no rows)_"
    head = frame.head(rows)
    columns = [str(c) for c in head.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for record in head.itertuples(index=False):
        lines.append("| " + " | ".join(md_cell(v) for v in record) + " |")
    if len(frame) > rows:
        lines.append(f"\n_first {rows} of {len(frame)} rows_")
    return "\n".join(lines)


def preview(frame: pd.DataFrame, columns: list[str] | None = None,
            rows: int = PREVIEW_ROWS) -> MetadataValue:
    shown = frame if columns is None else frame[[c for c in columns if c in frame.columns]]
    return MetadataValue.md(markdown_table(shown, rows))


def frame_metadata(frame: pd.DataFrame, columns: list[str] | None = None) -> dict[str, Any]:
    """The metadata every table asset carries: row count and a preview."""
    return {"dagster/row_count": MetadataValue.int(len(frame)), "preview": preview(frame, columns)}


def counts_md(title: str, counts: dict[str, Any]) -> MetadataValue:
    lines = [f"**{title}**", "", "| | count |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in counts.items()]
    return MetadataValue.md("\n".join(lines))


def md_cell(value: Any, limit: int | None = 80) -> str:
    """One markdown table cell: JSON for lists/dicts, pipes escaped, cut at ``limit``."""
    if isinstance(value, (list, dict)):
        text = json.dumps(value, sort_keys=True)
    elif value is None or (isinstance(value, float) and pd.isna(value)):
        text = ""
    else:
        text = str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if limit is None or len(text) <= limit else text[:limit - 3] + "..."
