"""Undo test helpers: run undo_gwo in process, snapshot the sandbox's stored state.

The state is read with plain ``requests`` (gwo_assets_tests.support.list_all), never
with the client under test.
"""

import json
from pathlib import Path

from dagster import DagsterInstance, ExecuteInProcessResult

from gwo_assets.resources.dataservice import DataServiceResource
from gwo_assets.undo import undo_gwo
from gwo_assets_tests.support import list_all

COLLECTIONS = ("/genomic-files", "/biospecimen-genomic-files",
               "/sequencing-experiment-genomic-files", "/sequencing-experiments", "/biospecimens")
STUDY_FILTERED = ("/genomic-files", "/biospecimen-genomic-files",
                  "/sequencing-experiment-genomic-files", "/sequencing-experiments")


def run_undo(dataservice_url: str, report: Path, *, dry_run: bool,
             instance: DagsterInstance | None = None,
             **dataservice_options) -> ExecuteInProcessResult:
    return undo_gwo.execute_in_process(
        run_config={"ops": {"undo_ingest": {"config": {"report": str(report), "dry_run": dry_run}}}},
        resources={"dataservice": DataServiceResource(url=dataservice_url, **dataservice_options)},
        instance=instance or DagsterInstance.ephemeral(), raise_on_error=False)


def undo_json(report: Path, undo_run_id: str) -> dict:
    return json.loads((report.parent / f"undo-{undo_run_id}.json").read_text())


def stored_state(stack) -> dict[str, dict[str, dict]]:
    """Every record (all fields and _links) of the whole sandbox, of the study's views, and of
    each manifest filepath, keyed by query then kf_id."""
    url, study_id = stack.info["dataservice_url"], stack.info["study_id"]
    queries = {endpoint: {} for endpoint in COLLECTIONS}
    queries |= {f"{endpoint}?study_id": {"study_id": study_id} for endpoint in STUDY_FILTERED}
    queries |= {f"/genomic-files?external_id={h.filepath}": {"external_id": h.filepath}
                for h in stack.study.harmonized}
    state = {}
    for name, params in queries.items():
        endpoint = name.split("?", 1)[0]
        state[name] = {item["kf_id"]: item for item in list_all(url, endpoint, **params)}
    return state


def without_fields(state: dict, fields: tuple[str, ...], kf_ids: set[str] | None = None) -> dict:
    """``state`` with ``fields`` dropped from the records of ``kf_ids`` (all when None)."""
    def strip(kf_id: str, item: dict) -> dict:
        if kf_ids is not None and kf_id not in kf_ids:
            return item
        return {f: v for f, v in item.items() if f not in fields}
    return {name: {k: strip(k, item) for k, item in records.items()}
            for name, records in state.items()}
