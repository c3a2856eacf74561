"""Write a plan's GWO manifest as TSV, CSV or XLSX, byte-for-byte reproducible."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

from gwo_assets.sandbox.generator.model import StudyPlan

MANIFEST_COLUMNS = (
    "Cavatica ID",
    "Cavatica Task ID",
    "KF Biospecimen ID",
    "KF Participant ID",
    "KF Family ID",
    "Filepath",
    "Data Type",
    "Workflow Type",
    "Source Read",
)
MANIFEST_FORMATS = ("tsv", "csv", "xlsx")
# XLSX is a zip of XML files that carry timestamps: pin them for reproducibility.
_FIXED_TIME = datetime(2020, 1, 1)
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def manifest_rows(plan: StudyPlan) -> list[tuple[str, ...]]:
    """One row per (harmonized file, source read), in plan order."""
    rows = []
    for output in plan.harmonized:
        participant = output.participant
        for read in output.source_reads:
            rows.append((
                output.cavatica_id,
                output.task_id,
                ",".join(b.kf_id for b in output.biospecimens),
                participant.kf_id,
                participant.family_id or "",
                output.filepath,
                output.data_type,
                output.workflow_type,
                read,
            ))
    return rows


def write_manifest(plan: StudyPlan, path: Path, manifest_format: str = "tsv") -> int:
    """Write the manifest to ``path``; returns the number of data rows."""
    rows = manifest_rows(plan)
    if manifest_format == "xlsx":
        path.write_bytes(_xlsx_bytes(rows))
    elif manifest_format in ("tsv", "csv"):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t" if manifest_format == "tsv" else ",",
                                lineterminator="\n")
            writer.writerow(MANIFEST_COLUMNS)
            writer.writerows(rows)
    else:
        raise ValueError(f"manifest_format must be one of {MANIFEST_FORMATS}, got {manifest_format!r}")
    return len(rows)


def _xlsx_bytes(rows: list[tuple[str, ...]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("GWO manifest")
    sheet.append(MANIFEST_COLUMNS)
    for row in rows:
        sheet.append(row)
    workbook.properties.creator = "gwo_assets sandbox"
    workbook.properties.created = workbook.properties.modified = _FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _with_fixed_zip_times(buffer.getvalue())


def _with_fixed_zip_times(archive: bytes) -> bytes:
    """Fixed zip entry times, and the fixed time in ``dcterms:modified`` too: openpyxl's save
    overwrites ``properties.modified`` with the current time (two writes in different seconds
    differed)."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(
                    rb"\g<1>" + _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>",
                    content)
            target.writestr(fixed, content)
    return target_buffer.getvalue()
