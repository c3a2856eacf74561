"""What creating a DataService record means, in one place: identity, send, resolve, verify.

A POST's answer can be lost (timeout, dropped connection, a gateway's 502/503/504)
while the DataService still commits it seconds later, and nothing in the service
keeps genomic-file ``external_id`` unique (contract 112-113). So:

- **Genomic files** are created under a kf_id chosen before the first POST
  (``core.kf_ids.chosen_kf_id`` of the external_id: the same for every run that
  creates that object). It is proven free with one primary-key read, because a
  POST of an existing kf_id silently overwrites that record (contract 121-123).
  Every re-send carries the same kf_id, so however late an earlier attempt
  commits, it lands on the same record: there is never a second one. An
  uncertain answer is resolved by ``GET /genomic-files/<kf_id>``, never a scan.
- **Links** need no chosen id: the DataService keeps each (genomic file,
  biospecimen | experiment) pair unique, so a late commit of a re-sent link is
  refused there. An uncertain or "already exists" answer is resolved by looking
  the pair up.

Cost of a new genomic file: 1 GET (the id is free) + 1 POST; each uncertain
answer adds 1 GET, and a re-POST while the record is still missing.
"""

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gwo_assets.core.kf_ids import chosen_kf_id
from gwo_assets.core.plan import record_matches_body
from gwo_assets.errors import DataServiceError, DataServiceUnavailable
from gwo_assets.resources.dataservice_client import DataServiceClient

logger = logging.getLogger(__name__)

GENOMIC_FILES = "/genomic-files"
BIOSPECIMEN_LINKS = "/biospecimen-genomic-files"
MAX_ID_ATTEMPTS = 5  # derived ids held by records of other external_ids before giving up


@dataclass(frozen=True)
class Created:
    """The record after a create. ``uncertain``: answers that were lost or unclear on the way
    (the read-back looks such a file up by external_id too); ``existed``: the record was
    there before this create's first POST (another writer's: never claimed as created)."""

    record: dict[str, Any]
    uncertain: int = 0
    existed: bool = False


class CreateConflict(DataServiceError):
    """The record to create appeared after planning, from another writer: nothing sent."""


def create_genomic_file(client: DataServiceClient, body: Mapping[str, Any]) -> Created:
    """POST one genomic file under its chosen kf_id; at most one record ever results."""
    for attempt in range(MAX_ID_ATTEMPTS):
        kf_id = chosen_kf_id("GF", body["external_id"], attempt)
        held = client.get(GENOMIC_FILES, kf_id)
        if held is None:
            try:
                return _post_until_known(client, GENOMIC_FILES, {**body, "kf_id": kf_id},
                                         lambda: client.get(GENOMIC_FILES, kf_id), kf_id)
            except DataServiceError as error:  # another writer took the id after our GET
                held = client.get(GENOMIC_FILES, kf_id) if _already_exists(error) else None
                if held is None:
                    raise
        if held.get("external_id") == body["external_id"]:
            _appeared_since_planning(client, held, body)
    raise DataServiceError(
        f"The {MAX_ID_ATTEMPTS} kf_ids gwo_assets derives for {body['external_id']} are all "
        "held by genomic files of other external_ids; nothing was sent: report this to the "
        "gwo_assets maintainers", method="POST", path=GENOMIC_FILES)


def recreate(client: DataServiceClient, endpoint: str, body: Mapping[str, Any]) -> Created:
    """POST a record back under its own ``body["kf_id"]``, which the caller saw answer 404
    (undo restoring an experiment the DataService swept): re-sends are safe, they carry it."""
    kf_id = body["kf_id"]
    return _post_until_known(client, endpoint, body, lambda: client.get(endpoint, kf_id), kf_id)


def create_link(client: DataServiceClient, endpoint: str, body: Mapping[str, Any],
                target: str) -> Created:
    """POST one link; the pair's uniqueness in the DataService makes re-sends safe."""
    pair = {"genomic_file_id": body["genomic_file_id"], target: body[target]}

    def find() -> dict | None:
        found = client.list_all(endpoint, pair)
        return found[0] if found else None

    try:
        return _post_until_known(client, endpoint, body, find, None)
    except DataServiceError as error:
        existing = find() if _already_exists(error) else None
        if existing is None:
            raise
        return Created(existing, existed=True)


def _post_until_known(client: DataServiceClient, endpoint: str, body: Mapping[str, Any],
                      find: Callable[[], dict | None], kf_id: str | None) -> Created:
    """POST; after an uncertain answer, look the record up (waiting longer each time) and
    re-POST only while it is missing. Safe only for bodies a late commit cannot duplicate."""
    uncertain, why = 0, ""
    for attempt in range(client.max_retries + 1):
        try:
            record, why = client.post_once(endpoint, body)
        except DataServiceError as error:
            if not (uncertain and _already_exists(error)):
                raise
            record, why = None, "already exists: an earlier attempt committed"
        if record is not None:
            _check_identity(record, kf_id, endpoint)
            return Created(record, uncertain=uncertain)
        uncertain += 1
        logger.warning("POST %s: outcome unknown (%s); looking it up", endpoint, why)
        time.sleep(_backoff(client, attempt))
        found = find()
        if found is not None:
            _check_recovered(found, body, endpoint)
            return Created(found, uncertain=uncertain)
    where = f" under kf_id {kf_id}" if kf_id else ""
    raise DataServiceUnavailable(
        f"POST {endpoint}{where}: the DataService at {client.public_url} left the outcome "
        f"unknown {uncertain} times ({why}); it may still commit it, and a rerun finds it "
        "(never a second record): check the service, then rerun", method="POST", path=endpoint)


def _appeared_since_planning(client: DataServiceClient, held: dict,
                             body: Mapping[str, Any]) -> None:
    """A record of this external_id holds the chosen id before the first POST: another run
    made it after this one planned (most likely one still between its POST and its links).
    It is never taken over here, linked or not: nothing is sent, and the rerun classifies it
    (another study's stops the run; one left link-less by a dead run is reused)."""
    links = client.list_all(BIOSPECIMEN_LINKS, {"genomic_file_id": held["kf_id"]})
    owners = sorted({link.get("biospecimen_id") or "?" for link in links})
    state = f"linked to biospecimen(s) {', '.join(owners)}" if links else "not linked yet"
    raise CreateConflict(
        f"Genomic file {held['kf_id']} for {body['external_id']} was registered after this "
        f"run planned (created_at {held.get('created_at')}, {state}); nothing was written for "
        "it: rerun, the new plan takes it into account", status=409, method="POST",
        path=GENOMIC_FILES)


def _check_identity(record: Mapping[str, Any], kf_id: str | None, endpoint: str) -> None:
    """A DataService that ignored the chosen kf_id would break the no-second-record rule."""
    if kf_id is not None and record.get("kf_id") != kf_id:
        raise DataServiceError(
            f"POST {endpoint} with kf_id {kf_id} created {record.get('kf_id')}: this "
            "DataService does not honour client-chosen kf_ids, which gwo_assets needs to never "
            "create a file twice; stop and report it", method="POST", path=endpoint)


def _check_recovered(found: Mapping[str, Any], body: Mapping[str, Any], endpoint: str) -> None:
    if endpoint == GENOMIC_FILES and not record_matches_body(found, body):
        raise CreateConflict(
            f"Genomic file {found.get('kf_id')} ({body.get('external_id')}) holds other values "
            "than the POST whose answer was lost: another writer changed it meanwhile; rerun",
            status=409, method="POST", path=endpoint)


def _already_exists(error: DataServiceError) -> bool:
    return error.status == 400 and "already exists" in str(error)


def _backoff(client: DataServiceClient, attempt: int) -> float:
    """0 s, then backoff_factor * 2^n with jitter, capped: a late commit gets time to land."""
    if attempt == 0:
        return 0.0
    delay = client.backoff_factor * 2 ** attempt + random.random() * client.backoff_factor
    return min(delay, client.retry_max_seconds)
