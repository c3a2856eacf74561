"""The one Definitions object: assets, checks, jobs and resources of gwo_assets."""

import os

from dagster import (AssetSelection, Definitions, EnvVar, define_asset_job, in_process_executor,
                     mem_io_manager)

from gwo_assets.assets import (approval, expectations, links, load, manifest, plans, reconcile, report,
                               s3_metadata, study_tables)
from gwo_assets.audit.assets import drift_audit
from gwo_assets.audit.job import AUDIT_SELECTION, audit_gwo, gwo_drift_audit
from gwo_assets.automation.manifest_inbox import gwo_manifest_inbox
from gwo_assets.resources.dataservice import DataServiceResource
from gwo_assets.resources.indexd import URL_ENV_VAR as INDEXD_URL_ENV_VAR, IndexdResource
from gwo_assets.resources.run_settings import IngestSettings
from gwo_assets.resources.s3 import S3Resource
from gwo_assets.undo import undo_gwo

ASSETS = [
    manifest.gwo_manifest,
    s3_metadata.harmonized_file_s3_metadata,
    *study_tables.STUDY_TABLE_ASSETS,
    links.study_source_files,
    links.harmonized_file_sources,
    plans.existing_harmonized_files,
    plans.genomic_files_plan,
    plans.biospecimen_links_plan,
    plans.experiment_links_plan,
    approval.ingest_plan,
    load.genomic_files,
    load.biospecimen_genomic_files,
    load.sequencing_experiment_genomic_files,
    report.ingest_report,
    drift_audit,  # audit_gwo's (with its checks), not ingest_gwo's
]

CHECKS = [
    manifest.manifest_is_well_formed,
    s3_metadata.harmonized_files_exist_in_s3,
    links.manifest_matches_dataservice,
    plans.existing_files_are_reusable,
    plans.no_file_more_open_than_sources,
    plans.no_planned_file_is_hidden,
    approval.plan_is_approved,
    reconcile.load_matches_plan,
    approval.plan_applied,
    *expectations.EXPECTATION_CHECKS,
]

ingest_gwo = define_asset_job(
    "ingest_gwo",
    selection=AssetSelection.all() - AUDIT_SELECTION,
    description="Ingest a GWO manifest into the DataService: scrape S3, read the study, plan, "
                "then (unless dry_run) write genomic files, biospecimen links, experiment links.",
    executor_def=in_process_executor,
    hooks={report.report_on_failure},
)


def _dataservice() -> DataServiceResource:
    """URL from KF_DATASERVICE_URL (no default: nothing points at a real service unless
    configured); the bearer token only ever from KF_DATASERVICE_TOKEN."""
    token = EnvVar("KF_DATASERVICE_TOKEN") if os.environ.get("KF_DATASERVICE_TOKEN") else None
    return DataServiceResource(url=EnvVar("KF_DATASERVICE_URL"), token=token)


defs = Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[ingest_gwo, undo_gwo, audit_gwo],
    # Every registered study's drift audit, weekly by default ($GWO_AUDIT_CRON).
    schedules=[gwo_drift_audit],
    # A new manifest in $GWO_MANIFEST_INBOX -> a dry run of its study (never a real run).
    sensors=[gwo_manifest_inbox],
    resources={
        # Each run's intermediate tables stay in its own process: two runs at once (of any
        # studies) can never read each other's outputs, and a re-execution replans against
        # the DataService as it is now instead of reusing an old run's plan.
        "io_manager": mem_io_manager,
        "ingest": IngestSettings.configure_at_launch(),
        "dataservice": _dataservice(),
        # Optional: the DataService's indexd proves new files unregistered without a scan.
        "indexd": IndexdResource(url=os.environ.get(INDEXD_URL_ENV_VAR) or None),
        "s3": S3Resource(),
    },
)
