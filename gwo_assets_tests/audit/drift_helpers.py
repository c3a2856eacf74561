"""Plant drift in a loaded sandbox study, run audits as the schedule would, read the results.

Drift is made the way it happens: S3 changes behind the DataService's back (moto's own API),
and an object made unreadable at the boto3 boundary (moto enforces no bucket policy): every
S3 client the pipeline builds fails a HEAD of that key with 403, as AWS answers a denied
HeadObject (a HEAD error has no body: the code is the status)."""

from pathlib import Path

from botocore.exceptions import ClientError
from dagster import DagsterInstance

from gwo_assets.audit.job import audit_run_config
from gwo_assets.definitions import defs
from gwo_assets.resources.s3 import S3Resource
from gwo_assets.sandbox.generator import GeneratedStudy
from gwo_assets.sandbox.stack import SandboxStack

PLANTED = ("object_gone", "changed", "availability_wrong", "unreadable")


def plant_drift(stack: SandboxStack, study: GeneratedStudy, monkeypatch) -> dict[str, str]:
    """One file of each drift class: class -> its filepath."""
    plain = [h for h in study.harmonized
             if h.storage_class == "STANDARD" and not h.multipart and not h.md5_metadata]
    gone, changed, archived, denied = plain[:4]
    client = stack.s3.client()
    client.delete_object(Bucket=study.bucket, Key=gone.key)
    client.put_object(Bucket=study.bucket, Key=changed.key, Body=b"re-uploaded: new bytes\n")
    client.copy_object(Bucket=study.bucket, Key=archived.key, StorageClass="GLACIER",
                       CopySource={"Bucket": study.bucket, "Key": archived.key})
    deny_head(monkeypatch, study.bucket, denied.key)
    return {"object_gone": gone.filepath, "changed": changed.filepath,
            "availability_wrong": archived.filepath, "unreadable": denied.filepath}


def deny_head(monkeypatch, bucket: str, key: str) -> None:
    """Every client of ``S3Resource`` answers 403 to a HEAD of ``bucket/key``."""
    original = S3Resource.get_client

    def refuse(params, **_):
        if params.get("Bucket") == bucket and params.get("Key") == key:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, "HeadObject")

    def get_client(self):
        client = original(self)
        client.meta.events.register("before-parameter-build.s3.HeadObject", refuse)
        return client

    monkeypatch.setattr(S3Resource, "get_client", get_client)


def sandbox_resources(info: dict) -> dict:
    return {"dataservice": {"config": {"url": info["dataservice_url"]}},
            "s3": {"config": {"endpoint_url": info["s3_endpoint_url"],
                              "region_name": "us-east-1"}}}


def run_audit(info: dict, study_id: str, instance: DagsterInstance, report_dir: Path,
              run_config: dict | None = None, tags: dict | None = None):
    """``audit_gwo`` for one study partition, in process, as the daemon launches a request."""
    config = {**(run_config or audit_run_config(str(report_dir))),
              "resources": sandbox_resources(info)}
    return defs.resolve_job_def("audit_gwo").execute_in_process(
        run_config=config, instance=instance, partition_key=study_id, tags=tags or {},
        raise_on_error=False)


def audit_frame(result):
    return result.output_for_node("drift_audit")


def check_results(result) -> dict[str, tuple[bool, str | None, int]]:
    """check name -> (passed, partition, files) of one audit run."""
    return {e.check_name: (e.passed, e.partition, e.metadata["files"].value)
            for e in result.get_asset_check_evaluations()}
