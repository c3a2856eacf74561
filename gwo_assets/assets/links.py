"""Step 3 v-vi: join the study's four tables on genomic file, then with the manifest.

The manifest is joined on Source Read = the source file's external_id, so an
output only ever links to the experiment(s) of the reads it was made from; the
seed's biospecimen join is only a flagged fallback for rows with no Source Read.
"""

from dataclasses import dataclass

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetExecutionContext, MetadataValue, asset

from gwo_assets.partitions import STUDY_PARTITIONS, study_check
from gwo_assets.assets.step_helpers.check_results import issues_check_result
from gwo_assets.assets.manifest import GwoManifest
from gwo_assets.assets.step_helpers.metadata import counts_md, frame_metadata
from gwo_assets.core.joins import join_manifest_to_sources, join_study_sources, logical_issues
from gwo_assets.resources.run_settings import IngestSettings


# The manifest cells the join and the DataService consistency checks read.
JOIN_COLUMNS = ("filepath", "source_read", "biospecimen_id", "participant_id")


@dataclass
class HarmonizedFileSources:
    """Per manifest row, its matched source file(s) and experiment(s), plus logical issues."""

    joined: pd.DataFrame
    issues: pd.DataFrame


@asset(partitions_def=STUDY_PARTITIONS, group_name="links", compute_kind="pandas")
def study_source_files(context: AssetExecutionContext, study_genomic_files: pd.DataFrame,
                       study_sequencing_experiments: pd.DataFrame,
                       study_sequencing_experiment_genomic_files: pd.DataFrame,
                       study_biospecimen_genomic_files: pd.DataFrame) -> pd.DataFrame:
    """Seed 3 v: unharmonized visible files with their biospecimens and experiments."""
    sources = join_study_sources(study_genomic_files, study_sequencing_experiments,
                                 study_sequencing_experiment_genomic_files,
                                 study_biospecimen_genomic_files)
    with_experiment = int(sources["sequencing_experiment_id"].notna().sum())
    context.add_output_metadata({
        **frame_metadata(sources),
        "source_files": MetadataValue.int(int(sources["source_genomic_file_id"].nunique())),
        "matched_rows": MetadataValue.int(with_experiment),
        "unmatched_rows": MetadataValue.int(len(sources) - with_experiment),
    })
    return sources


@asset(partitions_def=STUDY_PARTITIONS, group_name="links", compute_kind="pandas")
def harmonized_file_sources(context: AssetExecutionContext, gwo_manifest: GwoManifest,
                            study_source_files: pd.DataFrame,
                            study_biospecimens: pd.DataFrame) -> HarmonizedFileSources:
    """Seed 3 vi: each harmonized file with its biospecimens and sequencing experiments."""
    # Rows whose ids or paths are malformed are the manifest check's errors (left out here, so
    # a dry run names each problem once); every other row is checked against the study.
    rows = gwo_manifest.readable_rows(*JOIN_COLUMNS)
    joined = join_manifest_to_sources(rows, study_source_files)
    issues = logical_issues(rows, joined, study_biospecimens, study_source_files)
    matches = joined["match"].value_counts().to_dict()
    context.add_output_metadata({
        **frame_metadata(joined, ["row", "filepath", "source_read", "biospecimen_id",
                                  "sequencing_experiment_id", "experiment_strategy", "match"]),
        "matched_rows": MetadataValue.int(int(matches.get("source_read", 0))),
        "fallback_rows": MetadataValue.int(int(matches.get("biospecimen_fallback", 0))),
        "unmatched_rows": MetadataValue.int(int(matches.get("unmatched", 0))),
        "matches": counts_md("Manifest rows by match", {k: int(v) for k, v in matches.items()}),
    })
    return HarmonizedFileSources(joined=joined, issues=issues)


@study_check(asset=harmonized_file_sources, blocking=True,
             description="Manifest references exist in this study: biospecimens (and their "
                         "participants), source reads, one experiment strategy per file.")
def manifest_matches_dataservice(context: AssetCheckExecutionContext, ingest: IngestSettings,
                                 harmonized_file_sources: HarmonizedFileSources):
    return issues_check_result(context, harmonized_file_sources.issues,
                               report_dir=ingest.report_dir,
                               skip_invalid_rows=ingest.skip_invalid_rows,
                               what="Manifest vs DataService", dry_run=ingest.dry_run)
