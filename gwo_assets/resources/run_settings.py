"""Per-run parameters (resource key ``ingest``).

Dagster replaces, not merges, a resource's bound config with run config, so the
run-wide parameters live apart from the DataService/S3 connection settings.
"""

import os

import dagster as dg
from pydantic import Field, field_validator

from gwo_assets.core.kf_ids import normalize_kf_id, validate_kf_id
from gwo_assets.core.plan_id import normalize_plan_id
from gwo_assets.core.s3_uris import is_s3_uri
from gwo_assets.partitions import (PARTITION_TAG, STUDY_PARTITIONS, StudyRefused,
                                   StudyUncheckable, check_study, dataservice_of, register_study)


DRY_RUN_TAG = "gwo/dry_run"
APPROVED_PLAN_TAG = "gwo/approved_plan"


def register_checked_study(instance: dg.DagsterInstance, study: str,
                           run: dg.DagsterRun | None) -> None:
    """Register the study's partition key, once the DataService has it. ``gwo ingest``, the
    run coordinator and the sensor register only checked studies; this is the path of a run
    started otherwise (``dagster job execute --tags``) with a key nobody registered yet: one
    ``GET /studies/<kf_id>`` first, and nothing registered for a study that is not there."""
    if instance.has_dynamic_partition(STUDY_PARTITIONS.name, study):
        return
    url, token = dataservice_of((run.run_config if run is not None else None) or {}, os.environ)
    try:
        check_study(study, url, token)
    except (StudyRefused, StudyUncheckable) as refusal:
        raise dg.Failure(description=f"{refusal}; nothing was registered or run",
                         allow_retries=False) from None
    register_study(instance, study)


def run_mode_tags(settings: "IngestSettings") -> dict[str, str]:
    """``gwo/dry_run`` on every ingest run (and the approved plan a real run is held to)."""
    tags = {DRY_RUN_TAG: "true" if settings.dry_run else "false"}
    if settings.approved_plan:
        tags[APPROVED_PLAN_TAG] = settings.approved_plan
    return tags


def resolve_study(partition: str, configured: str) -> str:
    """The run's study: its partition key (``study_id`` from config, when also set, must
    agree). A run without a partition is refused before any step: every ingest asset is
    partitioned by study."""
    partition = normalize_kf_id(partition) if partition else ""
    if not partition:
        named = configured or "SD_..."
        raise dg.Failure(
            f"ingest_gwo runs one study's partition, and this run has none: run `gwo ingest "
            f"{named} MANIFEST`, `dg launch --job ingest_gwo --partition {named} ...`, "
            f"`dagster job execute ... --tags '{{\"dagster/partition\": \"{named}\"}}'`, or "
            "pick the partition in the Launchpad", allow_retries=False)
    validate_kf_id(partition, "SD")
    if configured and configured != partition:
        raise dg.Failure(
            f"The run's partition is {partition} but ingest.study_id is {configured}: they must "
            "name the same study (drop study_id from the run config, or pick its partition)",
            allow_retries=False)
    return partition


class IngestSettings(dg.ConfigurableResource):
    """What to ingest for which study, and whether to write at all."""

    study_id: str = Field(
        default="",
        description="Kids First study kf_id, e.g. SD_0A1B2C3D. Optional: the run's partition "
                    "(the study) names it; when both are given they must agree.")
    manifest: str = Field(description="GWO manifest: a local path or an s3://bucket/key URI.")
    dry_run: bool = Field(
        default=True,
        description="Plan and report without writing; set false explicitly to write.")
    report_dir: str = Field(default="reports", description="Directory for the run report files.")
    skip_invalid_rows: bool = Field(
        default=False,
        description="Load the valid rows and list the skipped invalid ones, instead of stopping.")
    unsafe_skip_external_id_lookups: bool = Field(
        default=False,
        description="UNSAFE, for speed only: don't look up by external_id the manifest files the "
                    "study read did not return. A file already registered without a biospecimen "
                    "link (by another tool, or a run killed before linking) is then registered a "
                    "second time, and a file of another study goes unnoticed.")
    approved_plan: str = Field(
        default="",
        description="The plan id a reviewed dry run printed (its report shows it): the run "
                    "re-plans and writes only if its plan is exactly that one; otherwise it "
                    "writes nothing and names the difference. Empty: write the plan as computed.")
    lookup_all_unseen_files: bool = Field(
        default=True,
        description="Deprecated and ignored: every file the study read did not return is now "
                    "looked up by external_id (see unsafe_skip_external_id_lookups).")

    @field_validator("study_id")
    @classmethod
    def _study_id_is_a_kf_id(cls, value: str) -> str:
        value = normalize_kf_id(value)
        return validate_kf_id(value, "SD") if value else value

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """The study is the run's partition: check it against ``study_id`` if that is set too,
        register the partition key (so no user ever adds one), and make ``study_id`` the
        study for every step."""
        run = context.dagster_run
        partition = (run.tags.get(PARTITION_TAG) if run is not None else None) or ""
        study = resolve_study(partition, self.study_id)
        if context.instance is not None:
            register_checked_study(context.instance, study, run)
        object.__setattr__(self, "study_id", study)  # a frozen model: resolved once, per run
        if context.instance is not None and run is not None:  # the run list shows what it is
            context.instance.add_run_tags(run.run_id, run_mode_tags(self))

    @field_validator("approved_plan")
    @classmethod
    def _approved_plan_is_a_plan_id(cls, value: str) -> str:
        return normalize_plan_id(value)

    @field_validator("manifest")
    @classmethod
    def _manifest_is_a_path_or_s3_uri(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("manifest is empty: give a local path or an s3://bucket/key URI")
        if value.lower().startswith("s3:") and not is_s3_uri(value):
            raise ValueError(f"{value!r} is not an s3://bucket/key URI")
        return value
