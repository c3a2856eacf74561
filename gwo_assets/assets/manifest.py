"""Step 0: read the GWO manifest (local path or s3://), normalize it and validate it.

A file that is not a readable GWO manifest fails this asset with one sentence;
row-level problems are reported by the blocking check beside it, so nothing
downstream (and no write) runs until the manifest is clean.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import (AssetCheckExecutionContext, AssetExecutionContext, AssetKey, Failure,
                     MetadataValue, asset)

from gwo_assets.partitions import STUDY_PARTITIONS, study_check
from gwo_assets.assets.step_helpers.check_results import issues_check_result
from gwo_assets.assets.step_helpers.metadata import frame_metadata
from gwo_assets.core.s3_uris import is_s3_uri
from gwo_assets.core.manifest import (HEADERS, check_is_gwo_manifest, drop_duplicate_rows,
                                      normalize_manifest, read_manifest_bytes)
from gwo_assets.core.manifest_rules import validate_manifest
from gwo_assets.errors import GwoError, ManifestError
from gwo_assets.resources.run_settings import IngestSettings
from gwo_assets.resources.s3 import S3Resource, read_object_bytes


@dataclass
class GwoManifest:
    """The normalized manifest (one row per file, source read, biospecimen) and its issues."""

    source: str
    sha256: str
    rows: pd.DataFrame
    issues: pd.DataFrame
    data_rows: int | None = None  # the file's data rows (before splitting cells, dropping repeats)

    @property
    def filepaths(self) -> list[str]:
        return sorted(self.rows["filepath"].dropna().unique().tolist())

    def readable_rows(self, *columns: str) -> pd.DataFrame:
        """The rows with no format error in any of ``columns`` (canonical names): what a
        check that reads those cells can evaluate even when other cells of the manifest are
        wrong (the S3 check needs a well-formed Filepath, the DataService checks well-formed
        ids and paths), so a dry run reports each problem once, by the check that owns it."""
        headers = {HEADERS[column] for column in columns}
        issues = self.issues
        bad = issues[(issues["severity"] == "error") & issues["column"].isin(headers)]
        bad_rows = set(bad["row"].dropna().astype(int))
        return self.rows[~self.rows["row"].astype(int).isin(bad_rows)]

    @property
    def objects_to_scrape(self) -> list[str]:
        """The S3 objects the scrape HEADs: every well-formed Filepath, once, sorted (a
        Filepath that is not an s3:// URI is the manifest check's error, not a missing object)."""
        return sorted(self.readable_rows("filepath")["filepath"].dropna().unique())


def read_manifest_source(location: str, s3: S3Resource) -> tuple[bytes, str]:
    """Return the manifest's bytes and file name, from a local path or an s3:// URI."""
    if is_s3_uri(location):
        return read_object_bytes(s3.get_client(), location), location.rsplit("/", 1)[-1]
    path = Path(location).expanduser()
    if not path.is_file():
        raise ManifestError(
            f"Manifest not found: {location!r} is not a file (set ingest.manifest to a local "
            "path or an s3://bucket/key URI)"
        )
    return path.read_bytes(), path.name


def load_gwo_manifest(location: str, s3: S3Resource) -> GwoManifest:
    data, name = read_manifest_source(location, s3)
    raw = read_manifest_bytes(data, name)
    check_is_gwo_manifest(list(raw.columns), source=name)
    rows = normalize_manifest(raw)
    issues = validate_manifest(rows)
    return GwoManifest(source=location, sha256=hashlib.sha256(data).hexdigest(),
                       rows=drop_duplicate_rows(rows), issues=issues,
                       data_rows=int(rows["row"].nunique()))


def describe_rows(manifest: GwoManifest) -> str:
    """What the manifest holds, counting rows as the file numbers them (what every issue's row
    refers to) and saying what the table's rows are when that count differs.

    A data row is a row of the file with any GWO value: the header, blank rows and rows with
    only unknown columns are not counted; a quoted cell spanning lines is one row, as in a
    spreadsheet. The table has one row per (Filepath, Source Read, biospecimen): a cell naming
    several biospecimens adds rows, a repeated row is dropped.
    """
    rows = manifest.rows
    data_rows = manifest.data_rows if manifest.data_rows is not None else int(rows["row"].nunique())
    numbers = rows["row"].astype(int)
    text = (f"{_count(data_rows, 'data row')} (rows {numbers.min()}-{numbers.max()} of the file; "
            "the header and blank rows not counted)" if len(rows) else "no data rows")
    text += f", {_count(int(rows['filepath'].nunique()), 'harmonized file')}"
    if len(rows) != data_rows:
        text += (f"; loaded as {_count(len(rows), 'row')}, one per Filepath, Source Read and "
                 "biospecimen (a cell naming several biospecimens gives one each, repeated rows "
                 "once)")
    return text


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def will_scrape(context: AssetExecutionContext) -> bool:
    """Whether this run also materializes the S3 metadata (the whole job, or a selection
    with it); a run of the manifest alone starts no HEAD."""
    selection = context.run.asset_selection  # empty (or None) for the whole job
    return not selection or AssetKey("harmonized_file_s3_metadata") in selection


@asset(partitions_def=STUDY_PARTITIONS, group_name="manifest", compute_kind="pandas")
def gwo_manifest(context: AssetExecutionContext, ingest: IngestSettings, s3: S3Resource) -> GwoManifest:
    """The GWO manifest, normalized: headers, kf_id case, one row per biospecimen."""
    try:
        manifest = load_gwo_manifest(ingest.manifest, s3)
    except GwoError as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None
    rows = manifest.rows
    errors = int((manifest.issues["severity"] == "error").sum()) if len(manifest.issues) else 0
    context.log.info(f"Manifest {manifest.source}: {describe_rows(manifest)}; {errors} row error(s)")
    if will_scrape(context) and (errors == 0 or ingest.skip_invalid_rows or ingest.dry_run):
        # HEAD the objects beside the next steps' DataService reads (resources/s3_prefetch.py)
        s3.prefetch_metadata(manifest.objects_to_scrape)
    context.add_output_metadata({
        **frame_metadata(rows),
        "source": MetadataValue.text(manifest.source),
        "sha256": MetadataValue.text(manifest.sha256),
        "harmonized_files": MetadataValue.int(int(rows["filepath"].nunique())),
        "biospecimens": MetadataValue.int(int(rows["biospecimen_id"].nunique())),
        "manifest_data_rows": MetadataValue.int(int(manifest.data_rows or 0)),
        "row_errors": MetadataValue.int(errors),
    })
    return manifest


@study_check(asset=gwo_manifest, blocking=True,
             description="Every required cell is filled and well formed: kf_id formats, s3:// "
                         "URIs, DataService enums, rows of one file agree.")
def manifest_is_well_formed(context: AssetCheckExecutionContext, ingest: IngestSettings,
                            gwo_manifest: GwoManifest):
    return issues_check_result(context, gwo_manifest.issues, report_dir=ingest.report_dir,
                               skip_invalid_rows=ingest.skip_invalid_rows, what="Manifest rows",
                               dry_run=ingest.dry_run)
