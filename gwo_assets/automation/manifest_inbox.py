"""``gwo_manifest_inbox``: every new manifest in ``$GWO_MANIFEST_INBOX`` gets a dry run of its study.

Per tick: list the inbox (``.tsv``/``.csv``/``.xlsx``, any depth), hash each new or changed
file, and for bytes never seen before work out the study (``core/manifest_study.py``; the
biospecimens looked up in the DataService; a first folder named ``SD_XXXXXXXX`` must agree),
register the study's partition and request a **dry run** of ``ingest_gwo`` for it (run key =
the hash, tags ``gwo/manifest`` and ``gwo/manifest_sha256``). A manifest that cannot be
attributed is skipped with the reason as a warning in the sensor's log; its bytes are not
looked at again (a corrected upload has other bytes). A file that cannot be read (archived,
access denied, deleted since the listing) is skipped the same way, with what to do, and the
rest of the inbox is processed; a read that may succeed later (throttling, a 5xx, the
network) and a DataService that cannot be reached are retried on the next tick. The sensor never requests a real run: the analyst reads the
dry run and launches the real one (``gwo ingest SD_... <manifest> --write``).

Running by default only where ``GWO_MANIFEST_INBOX`` is set when the definitions load;
otherwise stopped (turn it on in the UI under Automation once the variable is set).
"""

import hashlib
import os
from typing import Any

from dagster import (DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult,
                     SkipReason, sensor)

from gwo_assets.automation.inbox import (INBOX_ENV, Inbox, InboxCursor, InboxFile,
                                        UnreadableManifest, open_inbox)
from gwo_assets.resources.biospecimen_studies import studies_of_biospecimens
from gwo_assets.core.manifest_study import Attribution, attribute_manifest
from gwo_assets.errors import GwoError
from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.resources.dataservice import DataServiceResource
from gwo_assets.resources.s3 import S3Resource

REPORT_DIR_ENV = "GWO_INBOX_REPORT_DIR"  # optional: where the inbox's dry runs write reports
MANIFEST_TAG = "gwo/manifest"
SHA256_TAG = "gwo/manifest_sha256"
_S3_DEFAULTS = S3Resource()


def dry_run_config(manifest: str, study_id: str, s3: S3Resource,
                   report_dir: str | None = None) -> dict[str, Any]:
    """The run config of an inbox dry run: the manifest, dry_run true, and the sensor's S3
    settings where they differ from the defaults (so the run reads the S3 the sensor read).
    The DataService comes from the deployment, as for any run: the URL could carry
    credentials, which must not land in a run's config."""
    ingest = {"study_id": study_id, "manifest": manifest, "dry_run": True}
    if report_dir:
        ingest["report_dir"] = report_dir
    resources: dict[str, Any] = {"ingest": {"config": ingest}}
    s3_config = {name: getattr(s3, name) for name in ("endpoint_url", "region_name", "profile_name")
                 if getattr(s3, name) != getattr(_S3_DEFAULTS, name)}
    if s3_config:
        resources["s3"] = {"config": s3_config}
    return {"resources": resources}


def dry_run_request(file: InboxFile, sha256: str, study_id: str, s3: S3Resource) -> RunRequest:
    return RunRequest(
        run_key=sha256, partition_key=study_id,
        run_config=dry_run_config(file.location, study_id, s3, os.environ.get(REPORT_DIR_ENV)),
        tags={MANIFEST_TAG: file.location, SHA256_TAG: sha256})


def evaluate_inbox(context: SensorEvaluationContext, inbox: Inbox,
                   dataservice: DataServiceResource, s3: S3Resource) -> SensorResult:
    """One tick over ``inbox``; the cursor carries the hashes handled so far."""
    cursor = InboxCursor.from_json(context.cursor)
    listed = inbox.files()
    requests: list[RunRequest] = []
    skipped = 0
    unreadable: list[str] = []
    with dataservice.get_client() as client:
        for file in listed:
            if cursor.is_known_unreadable(file):  # handled for these bytes; told once
                continue
            try:
                sha256 = cursor.known_hash(file)
                data = None
                if sha256 is None:
                    data = inbox.read(file)
                    sha256 = hashlib.sha256(data).hexdigest()
                cursor.files[file.location] = [file.signature, sha256]
                cursor.unreadable.pop(file.location, None)
                if sha256 in cursor.seen:
                    continue
                if data is None:
                    data = inbox.read(file)
            except UnreadableManifest as error:  # this file's problem: the others go on
                if error.lasting:
                    cursor.unreadable[file.location] = file.signature
                    cursor.files.pop(file.location, None)
                    unreadable.append(file.location)
                    context.log.warning(f"Skipped manifest {file.location}: cannot read it: "
                                        f"{error}. Nothing launched for it.")
                else:
                    context.log.warning(f"Manifest {file.location} not read yet: {error}; "
                                        "trying again on the next tick")
                continue
            try:
                attribution = attribute_manifest(
                    data, file.relative.rsplit("/")[-1], file.relative,
                    lambda ids: studies_of_biospecimens(client, ids))
            except GwoError as error:  # the DataService, not the manifest: try again next tick
                context.log.warning(f"Manifest {file.location} not attributed yet: {error}")
                continue
            cursor.seen[sha256] = file.location
            if attribution.ok:
                requests.append(dry_run_request(file, sha256, attribution.study_id, s3))
                context.log.info(f"Manifest {file.location} (sha256 {sha256[:12]}) is "
                                 f"{attribution.study_id}'s: requesting a dry run")
            else:
                skipped += 1
                context.log.warning(_skip_message(file, sha256, attribution))
    present = {file.location for file in listed}
    cursor.files = {location: entry for location, entry in cursor.files.items()
                    if location in present}
    cursor.unreadable = {location: signature for location, signature in cursor.unreadable.items()
                         if location in present}
    studies = sorted({request.partition_key for request in requests})
    return SensorResult(
        run_requests=requests, cursor=cursor.to_json(),
        dynamic_partitions_requests=[STUDY_PARTITIONS.build_add_request(studies)] if studies else [],
        skip_reason=None if requests else
        f"No new manifest in {inbox.location}" + _skipped_note(skipped, unreadable))


def _skipped_note(skipped: int, unreadable: list[str]) -> str:
    notes = [f"{skipped} skipped"] if skipped else []
    if unreadable:
        shown = ", ".join(unreadable[:3]) + (f" and {len(unreadable) - 3} more"
                                             if len(unreadable) > 3 else "")
        notes.append(f"{len(unreadable)} unreadable: {shown}")
    return f" ({'; '.join(notes)}; see the log for why and what to do)" if notes else ""


def _skip_message(file: InboxFile, sha256: str, attribution: Attribution) -> str:
    return (f"Skipped manifest {file.location} (sha256 {sha256[:12]}): cannot attribute it to "
            f"one study: {attribution.reason}. Nothing launched; upload a corrected file.")


@sensor(name="gwo_manifest_inbox", job_name="ingest_gwo", minimum_interval_seconds=60,
        default_status=(DefaultSensorStatus.RUNNING if os.environ.get(INBOX_ENV)
                        else DefaultSensorStatus.STOPPED),
        description=f"New manifest in ${INBOX_ENV} (s3://bucket/prefix/ or a folder) -> a dry "
                    "run of ingest_gwo for its study. Never a real run.")
def gwo_manifest_inbox(context: SensorEvaluationContext, dataservice: DataServiceResource,
                       s3: S3Resource) -> SensorResult | SkipReason:
    location = os.environ.get(INBOX_ENV, "").strip()
    if not location:
        return SkipReason(f"{INBOX_ENV} is not set: set it to an s3://bucket/prefix/ or a folder")
    return evaluate_inbox(context, open_inbox(location, s3.get_client), dataservice, s3)
