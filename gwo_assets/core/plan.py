"""Desired vs existing DataService state -> what each write step must do.

The DataService does not make genomic-file external_ids unique, so a rerun is
only idempotent because we look first: a file that exists is updated in place
(only the fields that differ) or left alone, and a link that exists is not
posted again.
"""

import numpy as np
import pandas as pd

from gwo_assets.core.joins import with_columns
from gwo_assets.core.payloads import BODY_FIELDS

ACTIONS = ["create", "update", "unchanged"]
# Set when a file is created, never changed by an ingest: a curator may have hidden the file.
NEVER_UPDATED = {"visible"}
# The fields our bodies set that an update may change; only these are compared with the stored record.
COMPARED_FIELDS = [field for field in BODY_FIELDS if field not in {"external_id", *NEVER_UPDATED}]
UNORDERED_FIELDS = {"authz", "acl"}
PLAN_COLUMNS = ["external_id", "action", "kf_id", "payload", "previous", "duplicates", "changed_fields", "row",
                "expected"]


def plan_genomic_files(desired: pd.DataFrame, existing: pd.DataFrame) -> pd.DataFrame:
    """Per desired file: create, update (changed fields only) or unchanged.

    ``desired`` is the payload table (``external_id, payload[, row]``);
    ``existing`` the DataService records with those external_ids. When several
    records share an external_id the oldest is reused and the others are listed
    in ``duplicates``, never touched. ``expected`` is what the file holds after
    the write (for the read-back): the body less ``NEVER_UPDATED``, with the
    hashes of ``planned_hashes``.
    """
    existing = with_columns(existing, ["kf_id", "external_id", "created_at", *COMPARED_FIELDS])
    ordered = existing.assign(
        created=pd.to_datetime(existing["created_at"], utc=True, format="ISO8601", errors="coerce")
    ).sort_values(["external_id", "created", "kf_id"], na_position="last", kind="stable")
    duplicates = ordered[ordered.duplicated("external_id")].groupby("external_id")["kf_id"].agg(list)
    reused = ordered.drop_duplicates("external_id")[["external_id", "kf_id", *COMPARED_FIELDS]]

    plan = with_columns(desired, ["external_id", "payload", "row"]).merge(reused, how="left", on="external_id")
    is_new = plan["kf_id"].isna()
    stored = [None if new else record for new, record in zip(is_new, plan[COMPARED_FIELDS].to_dict("records"))]
    decisions = pd.DataFrame(
        [_decide(body, record) for body, record in zip(plan["payload"], stored)],
        columns=["action", "payload", "previous", "changed_fields", "expected"],
        index=plan.index,
    )
    plan[decisions.columns] = decisions
    plan["kf_id"] = plan["kf_id"].astype(object).where(~is_new, None)
    plan["duplicates"] = [found if isinstance(found, list) else [] for found in plan["external_id"].map(duplicates)]
    return plan[PLAN_COLUMNS]


def plan_links(
    desired: pd.DataFrame, existing_links: pd.DataFrame, gf_ids: pd.DataFrame, target: str
) -> pd.DataFrame:
    """Per desired (filepath, ``target``) link: create, or unchanged when it already exists.

    ``gf_ids`` maps ``external_id`` to the ``kf_id`` of files that already exist
    (one per external_id: the one the genomic-file plan reuses). A link of a
    file still to be created has ``genomic_file_id`` None.
    """
    wanted = _wanted_links(desired, target).merge(_file_ids(gf_ids), how="left", on="external_id")
    links = _existing_links(existing_links, target)
    plan = wanted.merge(links, how="left", on=["genomic_file_id", target])
    plan["action"] = plan["kf_id"].notna().map({True: "unchanged", False: "create"})
    plan["genomic_file_id"] = plan["genomic_file_id"].astype(object).where(plan["genomic_file_id"].notna(), None)
    plan["kf_id"] = plan["kf_id"].astype(object).where(plan["kf_id"].notna(), None)
    return plan[["external_id", "genomic_file_id", target, "action", "kf_id"]]


def extra_links(
    desired: pd.DataFrame, existing_links: pd.DataFrame, gf_ids: pd.DataFrame, target: str
) -> pd.DataFrame:
    """Existing links of our files that the manifest does not ask for: reported, never deleted."""
    links = _existing_links(existing_links, target).merge(_file_ids(gf_ids), on="genomic_file_id")
    found = links.merge(_wanted_links(desired, target), how="left", on=["external_id", target], indicator=True)
    extra = found[found["_merge"] == "left_only"]
    return extra[["external_id", "genomic_file_id", target, "kf_id"]].reset_index(drop=True)


def record_matches_body(record: dict, body: dict) -> bool:
    """True when a stored record holds every field of a POST body (compared as plans do)."""
    return all(_comparable(field, value) == _comparable(field, record.get(field))
               for field, value in body.items() if field in BODY_FIELDS)


def summarize_plan(plan: pd.DataFrame) -> dict[str, int]:
    """Count of rows per action; the three standard actions are always present."""
    counts = plan.reindex(columns=["action"])["action"].value_counts()
    return {**dict.fromkeys(ACTIONS, 0), **{str(action): int(n) for action, n in counts.items()}}


def hidden_files(plan: pd.DataFrame, existing: pd.DataFrame) -> pd.DataFrame:
    """Issues (warnings) for manifest files whose reused record is hidden (``visible`` false).

    The ingest never shows a hidden file again; whoever hid it must decide.
    """
    existing = with_columns(existing, ["kf_id", "visible"])
    hidden = set(existing.loc[existing["visible"].astype("boolean").eq(False).fillna(False), "kf_id"])
    rows = with_columns(plan, ["row", "external_id", "kf_id"])
    rows = rows[rows["kf_id"].isin(hidden)]
    return pd.DataFrame({
        "check": "file_is_hidden",
        "row": rows["row"],
        "column": "Filepath",
        "value": rows["external_id"],
        "expected": "a visible genomic file",
        "suggestion": "genomic file " + rows["kf_id"].astype(str) + " is hidden in the DataService "
        "(visible: false); the ingest updates it but leaves it hidden: unhide it there if it "
        "should be shown, or take it out of the manifest",
        "severity": "warning",
    }, columns=["check", "row", "column", "value", "expected", "suggestion", "severity"])


def _decide(body: dict, stored: dict | None) -> tuple[str, dict, dict, list[str], dict]:
    """(action, payload, previous, changed_fields, expected) of one file; ``stored`` None means new."""
    if stored is None:
        return "create", body, {}, [], body
    changed = _changes(body, stored)
    previous = {field: typed(field, _stored(stored[field])) for field in changed}
    expected = {field: value for field, value in body.items() if field not in NEVER_UPDATED}
    if "hashes" in body:
        expected["hashes"] = changed.get("hashes", _stored(stored["hashes"]))
    return ("update" if changed else "unchanged"), changed, previous, list(changed), expected


def _changes(body: dict, stored: dict) -> dict:
    """Fields of ``body`` whose value differs from the stored one (hashes: see ``planned_hashes``)."""
    changes = {
        field: body[field]
        for field in COMPARED_FIELDS
        if field in body and field != "hashes"
        and _comparable(field, body[field]) != _comparable(field, stored[field])
    }
    if "hashes" not in body:
        return changes
    same = same_object(body["hashes"], body.get("size"), stored["hashes"], stored["size"])
    hashes = planned_hashes(body["hashes"], stored["hashes"], same)
    return changes if hashes is None else {**changes, "hashes": hashes}


def same_object(known: dict, size: object, stored_hashes: object, stored_size: object) -> bool:
    """True when the stored record is proven to describe the object the scrape read.

    Proof: the same size, no hash the scrape knows differing from the stored one,
    and at least one of them stored equal. A stored record sharing no known type
    with the scrape (say another tool's md5 beside a multipart ETag, of which the
    scrape knows no md5) is not proven the same, so it counts as changed: its
    hashes may be the old content's, and a stale hash is worse than a dropped one.
    """
    stored = dict(_stored(stored_hashes) or {})
    shared = known.keys() & stored.keys()
    return (size is not None and _comparable("size", size) == _comparable("size", stored_size)
            and bool(shared) and all(stored[hash_type] == known[hash_type] for hash_type in shared))


def planned_hashes(known: dict, stored: object, same: bool) -> dict | None:
    """The ``hashes`` to PATCH, or None when the stored dict is already right.

    The DataService replaces ``hashes`` wholesale (contract 063). For the same
    object the body is the stored dict with the known values over it, so a
    stored type the scrape cannot see (a curated sha512, say) is kept; for a
    changed (replaced) object it is exactly the known hashes of the new content.
    """
    stored = dict(_stored(stored) or {})
    wanted = {**stored, **known} if same else dict(known)
    return None if wanted == stored else wanted


def _comparable(field: str, value: object) -> object:
    """A value normalised for comparison: order-free authz/acl, int size."""
    value = _stored(value)
    if value is None:
        return None
    if field in UNORDERED_FIELDS:
        return sorted(value)
    if field == "urls":
        return list(value)
    if field == "size":
        return int(value)
    return value


def typed(field: str, value: object) -> object:
    """``value`` with its field's type: a size read from a float column (1.0) is an int again."""
    if field == "size" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _stored(value: object) -> object:
    """None for a missing cell (NaN/NA/None), the value otherwise."""
    if isinstance(value, (list, dict, tuple, np.ndarray)):
        return value
    return None if pd.isna(value) else value


def _wanted_links(desired: pd.DataFrame, target: str) -> pd.DataFrame:
    wanted = desired.loc[desired[target].notna(), ["filepath", target]].drop_duplicates()
    return wanted.rename(columns={"filepath": "external_id"})


def _file_ids(gf_ids: pd.DataFrame) -> pd.DataFrame:
    return with_columns(gf_ids, ["external_id", "kf_id"]).rename(columns={"kf_id": "genomic_file_id"})


def _existing_links(existing_links: pd.DataFrame, target: str) -> pd.DataFrame:
    """Existing links keyed by (genomic_file_id, target); rows without a file cannot match anything."""
    links = with_columns(existing_links, ["kf_id", "genomic_file_id", target])
    return links[links["genomic_file_id"].notna()].drop_duplicates(["genomic_file_id", target])

