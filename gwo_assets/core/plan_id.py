"""The plan a dry run shows and a real run can be held to (plan and apply, as Terraform's).

A plan is the manifest's bytes (sha256) and the exact list of writes a run would make:
every genomic-file create (its whole body) and update (kf_id + the changed fields), every
link create. Its id is a hash of its canonical JSON, so a real run given an approved id
recomputes its own plan and compares ids: nothing stored is needed to decide. To *explain*
a difference it compares the two plans write by write (the approved one as recorded on
the Dagster instance, when it is there).
"""

import base64
import hashlib
import json
import math
import zlib
from typing import Any

import pandas as pd

PLAN_VERSION = 1
ID_LENGTH = 12
ENDPOINTS = ("genomic_files", "biospecimen_genomic_files", "sequencing_experiment_genomic_files")
LINK_TARGETS = {"biospecimen_genomic_files": "biospecimen_id",
                "sequencing_experiment_genomic_files": "sequencing_experiment_id"}
S3_FIELDS = {"size", "hashes", "availability"}  # what a replaced S3 object changes in a body
WRITE_ACTIONS = ("create", "update")


def _plain(value: Any) -> Any:
    """JSON-ready: numpy/pandas scalars to Python, NaN/NA to None, recursively."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def canonical_plan(study_id: str, manifest_sha256: str, genomic_files_plan: pd.DataFrame,
                   biospecimen_links_plan: pd.DataFrame,
                   experiment_links_plan: pd.DataFrame) -> dict[str, Any]:
    """The writes of the three plans, each with what it sends, in one canonical order."""
    writes = []
    for row in genomic_files_plan.to_dict("records"):
        if row["action"] in WRITE_ACTIONS:
            writes.append({"endpoint": "genomic_files", "action": row["action"],
                           "external_id": row["external_id"],
                           "kf_id": _plain(row.get("kf_id")) if row["action"] == "update" else None,
                           "body": _plain(row.get("payload") or {})})
    for endpoint, plan in (("biospecimen_genomic_files", biospecimen_links_plan),
                           ("sequencing_experiment_genomic_files", experiment_links_plan)):
        target = LINK_TARGETS[endpoint]
        for row in plan.to_dict("records"):
            if row["action"] == "create":
                # genomic_file_id None: the file is created earlier in the same run
                writes.append({"endpoint": endpoint, "action": "create",
                               "external_id": row["external_id"],
                               "genomic_file_id": _plain(row.get("genomic_file_id")),
                               target: _plain(row[target])})
    writes.sort(key=write_key)
    return {"version": PLAN_VERSION, "study_id": study_id, "manifest_sha256": manifest_sha256,
            "writes": writes}


def write_key(write: dict[str, Any]) -> tuple[int, str, str]:
    endpoint = write["endpoint"]
    return (ENDPOINTS.index(endpoint), str(write["external_id"]),
            str(write.get(LINK_TARGETS.get(endpoint, ""), "") or ""))


def canonical_json(plan: dict[str, Any]) -> str:
    return json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def plan_id(plan: dict[str, Any]) -> str:
    """A short id of the plan: the first 12 hex digits of its canonical JSON's sha256."""
    return hashlib.sha256(canonical_json(plan).encode()).hexdigest()[:ID_LENGTH]


def normalize_plan_id(text: str) -> str:
    text = (text or "").strip().lower()
    if text and (len(text) != ID_LENGTH or any(c not in "0123456789abcdef" for c in text)):
        raise ValueError(f"{text!r} is not a plan id: a dry run prints it (12 hex digits, e.g. "
                         "'3f9a0c1b2d4e')")
    return text


def plan_counts(plan: dict[str, Any]) -> dict[str, dict[str, int]]:
    counts = {endpoint: {"create": 0, "update": 0} for endpoint in ENDPOINTS}
    for write in plan["writes"]:
        counts[write["endpoint"]][write["action"]] += 1
    return counts


def pack(plan: dict[str, Any]) -> str:
    return base64.b64encode(zlib.compress(canonical_json(plan).encode(), 9)).decode()


def unpack(text: str) -> dict[str, Any]:
    return json.loads(zlib.decompress(base64.b64decode(text)))


# ------------------------------------------------------------------ differences


def _label(write: dict[str, Any]) -> str:
    endpoint = write["endpoint"]
    if endpoint == "genomic_files":
        return f"genomic file {write['external_id']}"
    kind = "biospecimen" if endpoint == "biospecimen_genomic_files" else "experiment"
    return f"{kind} link {write['external_id']} -> {write[LINK_TARGETS[endpoint]]}"


def _describe(write: dict[str, Any] | None) -> str:
    if write is None:
        return "nothing to write"
    if write["action"] == "update":
        return f"an update of {write['kf_id']} ({', '.join(sorted(write['body'])) or 'no field'})"
    if write["endpoint"] != "genomic_files":
        return f"a create for {write.get('genomic_file_id') or 'the file this run creates'}"
    return "a create"


def plan_differences(approved: dict[str, Any], current: dict[str, Any]) -> list[dict[str, str]]:
    """What changed between the approved plan and this run's, each with its likely source:
    ``manifest`` (its bytes), ``dataservice`` (a record appeared, changed or went), ``s3`` (an
    object's size, hashes or storage class), ``other``."""
    found: list[dict[str, str]] = []
    if approved.get("study_id") != current.get("study_id"):
        found.append({"source": "other", "message": f"the approved plan is study "
                      f"{approved.get('study_id')}'s, this run is {current.get('study_id')}'s"})
    if approved.get("manifest_sha256") != current.get("manifest_sha256"):
        found.append({"source": "manifest", "message": (
            f"the manifest changed since the dry run: sha256 {str(approved.get('manifest_sha256'))[:12]}"
            f"... then, {str(current.get('manifest_sha256'))[:12]}... now")})
    old = {write_key(w): w for w in approved.get("writes", [])}
    new = {write_key(w): w for w in current.get("writes", [])}
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        label = _label(before or after)
        if before and after and before["action"] == after["action"] \
                and before.get("kf_id") == after.get("kf_id") \
                and before.get("genomic_file_id") == after.get("genomic_file_id"):
            fields = sorted(f for f in set(before.get("body", {})) | set(after.get("body", {}))
                            if before.get("body", {}).get(f) != after.get("body", {}).get(f))
            source = "s3" if fields and set(fields) <= S3_FIELDS else (
                "s3" if set(fields) & S3_FIELDS else "other")
            why = ("the S3 object changed" if source == "s3"
                   else "the manifest or the DataService changed")
            found.append({"source": source, "message": (
                f"{label}: {', '.join(fields)} differ from the dry run's ({why})")})
            continue
        found.append({"source": "dataservice", "message": (
            f"{label}: the dry run planned {_describe(before)}, now {_describe(after)} (a record "
            "appeared, changed or went in the DataService)")})
    return found


def summarize_differences(differences: list[dict[str, str]], limit: int = 3) -> list[str]:
    """One line per source: how many differences and the first few."""
    names = {"manifest": "manifest", "dataservice": "DataService", "s3": "S3", "other": "other"}
    lines = []
    for source, name in names.items():
        of_source = [d["message"] for d in differences if d["source"] == source]
        if of_source:
            more = f" (+{len(of_source) - limit} more)" if len(of_source) > limit else ""
            lines.append(f"{name}: {len(of_source)} difference(s): "
                         + "; ".join(of_source[:limit]) + more)
    return lines
