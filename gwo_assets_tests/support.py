"""Test helpers: run ingest_gwo in process against a sandbox, read the sandbox's stored state.

Stored state is read with plain ``requests`` (not the pipeline's client), so the
assertions never rest on the code under test.
"""

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from dagster import DagsterInstance, ExecuteInProcessResult

from gwo_assets.definitions import defs
from gwo_assets.partitions import register_study


def run_config(info: dict, *, dry_run: bool, report_dir: Path, manifest: str | None = None,
               study_id: str | None = None, skip_invalid_rows: bool = False,
               dataservice: dict | None = None,
               unsafe_skip_external_id_lookups: bool = False, with_indexd: bool = False) -> dict:
    """Run config for a sandbox (``with_indexd``: the sandbox's indexd answers ``?url=``
    look-ups, as the DataService's indexd would). The study lock is the instance's: runs
    meant to exclude each other share an instance (one ``$DAGSTER_HOME``), and an ephemeral
    instance's lock is its own (a temp root per instance), so concurrent test processes
    never share one."""
    return {"resources": {
        "ingest": {"config": {"study_id": study_id or info["study_id"],
                              "manifest": str(manifest or info["manifest"]),
                              "dry_run": dry_run, "report_dir": str(report_dir),
                              "skip_invalid_rows": skip_invalid_rows,
                              "unsafe_skip_external_id_lookups": unsafe_skip_external_id_lookups}},
        "dataservice": {"config": {"url": info["dataservice_url"], **(dataservice or {})}},
        "indexd": {"config": {"url": info["dataservice_url"] if with_indexd else None}},
        "s3": {"config": {"endpoint_url": info["s3_endpoint_url"], "region_name": "us-east-1"}},
    }}


def execute_ingest(job: Any, config: dict, instance: DagsterInstance) -> ExecuteInProcessResult:
    """``job`` in process for the study of ``config``'s partition, registered first (as the
    run coordinator, the sensor and ``gwo ingest`` do on a real instance)."""
    study = config["resources"]["ingest"]["config"]["study_id"]
    register_study(instance, study)
    return job.execute_in_process(run_config=config, instance=instance, partition_key=study,
                                  raise_on_error=False)


def run_ingest(info: dict, report_dir: Path, *, dry_run: bool,
               instance: DagsterInstance | None = None, **options: Any) -> ExecuteInProcessResult:
    return execute_ingest(defs.resolve_job_def("ingest_gwo"),
                          run_config(info, dry_run=dry_run, report_dir=report_dir, **options),
                          instance or DagsterInstance.ephemeral())


def list_all(base_url: str, endpoint: str, **params: str) -> list[dict]:
    """Every item of a list endpoint, following the cursor and re-sending the filters."""
    items: list[dict] = []
    cursor: dict[str, str] = {}
    while True:
        body = requests.get(base_url + endpoint, params={**params, "limit": 1000, **cursor},
                            timeout=30).json()
        items += body["results"]
        next_link = body["_links"].get("next")
        if not next_link:
            return items
        query = parse_qs(urlparse(next_link).query)
        cursor = {"after": query["after"][0], "after_uuid": query["after_uuid"][0]}


def link_id(item: dict, relation: str) -> str | None:
    path = item["_links"].get(relation)
    return path.rsplit("/", 1)[-1] if path else None


def stored_files(base_url: str, external_id: str) -> list[dict]:
    return list_all(base_url, "/genomic-files", external_id=external_id)


def stored_link_pairs(base_url: str, endpoint: str, relation: str,
                      genomic_file_id: str) -> list[str]:
    """Target kf_ids linked to one genomic file (duplicates kept, so counts can be checked)."""
    return [link_id(item, relation)
            for item in list_all(base_url, endpoint, genomic_file_id=genomic_file_id)]


def report_json(report_dir: Path, run_id: str) -> dict:
    import json
    return json.loads((report_dir / run_id / "report.json").read_text())


def post_orphan(base_url: str, filepath: str) -> str:
    """A genomic file with no biospecimen link, as another tool would leave it: invisible to
    ``GET ?study_id=``."""
    orphan = requests.post(f"{base_url}/genomic-files", json={
        "external_id": filepath, "urls": [filepath],
        "hashes": {"md5": "0" * 32}, "size": 1, "is_harmonized": True}, timeout=10).json()
    return orphan["results"]["kf_id"]


def post_record(base_url: str, endpoint: str, body: dict) -> str:
    """POST one record as another loader would; its kf_id (the POST must succeed)."""
    answer = requests.post(f"{base_url}{endpoint}", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["results"]["kf_id"]


def register_in_other_study(base_url: str, filepath: str) -> dict:
    """Another study (study, participant, biospecimen) holding a genomic file with this
    external_id, linked to its biospecimen, as another loader would leave it. Returns the
    kf_ids (``study_id``, ``biospecimen_id``, ``genomic_file_id``)."""

    def post(endpoint: str, body: dict) -> str:
        return post_record(base_url, endpoint, body)

    study = post("/studies", {"external_id": "other-study"})
    center = post("/sequencing-centers", {"name": f"other-center-{study}"})
    participant = post("/participants", {"study_id": study, "external_id": "other-pt"})
    biospecimen = post("/biospecimens", {"participant_id": participant, "analyte_type": "DNA",
                                         "sequencing_center_id": center,
                                         "external_sample_id": "other-bs"})
    genomic_file = post("/genomic-files", {
        "external_id": filepath, "urls": [filepath], "hashes": {"md5": "1" * 32}, "size": 7,
        "is_harmonized": True, "controlled_access": True, "authz": [f"/programs/{study}"]})
    post("/biospecimen-genomic-files", {"biospecimen_id": biospecimen,
                                        "genomic_file_id": genomic_file})
    return {"study_id": study, "biospecimen_id": biospecimen, "genomic_file_id": genomic_file}


def stored_record(base_url: str, endpoint: str, kf_id: str) -> dict:
    """One record as the DataService answers it (to compare before/after byte for byte)."""
    return requests.get(f"{base_url}{endpoint}/{kf_id}", timeout=10).json()["results"]


def execute_command(config_path: Path, study_id: str, job: str = "ingest_gwo") -> list[str]:
    """`dagster job execute` as documented: the study's partition named by its tag."""
    import json
    import sys

    return [sys.executable, "-m", "dagster", "job", "execute", "-m", "gwo_assets", "-j", job,
            "-c", str(config_path), "--tags", json.dumps({"dagster/partition": study_id})]
