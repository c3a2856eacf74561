"""Access control of harmonized files, inherited from their source files.

A harmonized file holds the same sequence data as its sources, so it must never
be more open than any of them: controlled wins over open, an unknown source
counts as controlled, and the open markers ('/open' authz, '*' acl) are dropped
as soon as one source is controlled.
"""

import pandas as pd

from gwo_assets.core.joins import ISSUE_COLUMNS, issue_rows, with_columns

OPEN_MARKERS = {"authz": "/open", "acl": "*"}


def inherit_access(joined: pd.DataFrame) -> pd.DataFrame:
    """Per filepath: ``controlled_access, authz, acl, access_resolved``.

    ``joined`` is the manifest-to-sources join. A manifest row without a matched
    source is an unknown source: the file becomes controlled and
    ``access_resolved`` is False (its authz/acl then only hold what the known
    sources grant, possibly nothing).
    """
    resolved = joined["source_genomic_file_id"].notna().groupby(joined["filepath"], sort=False).all()
    files = resolved.rename("access_resolved").to_frame()
    sources = _sources(joined)
    files["controlled_access"] = sources.groupby("filepath")["controlled"].any().reindex(files.index)
    files["controlled_access"] = files["controlled_access"].astype("boolean").fillna(True).astype(bool)
    for field in OPEN_MARKERS:
        files[field] = _inherited_entries(sources, files["controlled_access"], field).reindex(files.index)
        files[field] = [entries if isinstance(entries, list) else [] for entries in files[field]]
    return files.reset_index()[["filepath", "controlled_access", "authz", "acl", "access_resolved"]]


def more_open_than_sources(planned: pd.DataFrame, joined: pd.DataFrame) -> pd.DataFrame:
    """Issues for planned bodies that would open data its sources restrict.

    Reads the ``payload`` dicts themselves (not the columns they were built
    from) so that a body edited by hand is caught too. A field missing from a
    create body is what the DataService stores by default (not controlled, no
    entries); for an ``update`` or ``unchanged`` row (when ``planned`` has an
    ``action`` column) a missing field is left as stored and not checked.
    """
    bodies = with_columns(planned, ["external_id", "payload", "row", "action"])
    full_body = bodies["action"].isna() | (bodies["action"] == "create")
    sources = _sources(joined).rename(columns={"filepath": "external_id"})
    controlled_files = sources.loc[sources["controlled"], "external_id"].unique()
    must_control = bodies["external_id"].isin(controlled_files)

    controlled = pd.Series([body.get("controlled_access") for body in bodies["payload"]], index=bodies.index)
    checked = _sets_field(bodies, full_body, "controlled_access")
    opened = bodies[must_control & checked & controlled.ne(True)]  # None is as open as False
    issues = [
        _issues(
            opened,
            column="controlled_access",
            value=controlled[opened.index].map(str),
            expected="True (a source file is controlled or unknown)",
        )
    ]
    for field, marker in OPEN_MARKERS.items():
        issues.append(_missing_entries(bodies, full_body, sources, field))
        issues.append(_open_markers(bodies[must_control], field, marker))
    issues = [frame for frame in issues if not frame.empty]
    if not issues:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return pd.concat(issues, ignore_index=True)


def _sources(joined: pd.DataFrame) -> pd.DataFrame:
    """One row per (filepath, source file); an unmatched row is an unknown, controlled source."""
    sources = joined.drop_duplicates(["filepath", "source_genomic_file_id"])[
        ["filepath", "source_genomic_file_id", "controlled_access", "authz", "acl"]
    ].copy()
    sources["controlled"] = sources["controlled_access"].astype("boolean").fillna(True).astype(bool)
    return sources


def _inherited_entries(sources: pd.DataFrame, controlled: pd.Series, field: str) -> pd.Series:
    """Sorted union of the sources' ``field`` entries, without the open marker for controlled files."""
    entries = sources[["filepath", field]].explode(field).dropna().drop_duplicates()
    entries = entries[~(entries["filepath"].map(controlled) & (entries[field] == OPEN_MARKERS[field]))]
    return entries.sort_values(["filepath", field]).groupby("filepath")[field].agg(list)


def _missing_entries(
    bodies: pd.DataFrame, full_body: pd.Series, sources: pd.DataFrame, field: str
) -> pd.DataFrame:
    """(file, entry) pairs a controlled source grants and the planned body lacks."""
    has_field = _sets_field(bodies, full_body, field)
    planned = pd.DataFrame(
        {
            "external_id": bodies["external_id"],
            field: [body.get(field) or [] for body in bodies["payload"]],
        }
    )[has_field].explode(field)
    required = sources.loc[sources["controlled"], ["external_id", field]].explode(field).dropna()
    required = required[required[field] != OPEN_MARKERS[field]].drop_duplicates()
    required = required[required["external_id"].isin(planned["external_id"])]
    # object keys: an empty explode yields float columns, which pandas will not merge with strings
    missing = required.astype(object).merge(planned.astype(object), how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"].merge(
        bodies[["external_id", "row"]].drop_duplicates("external_id"), on="external_id"
    )
    return _issues(
        missing,
        column=field,
        value=pd.Series("missing " + missing[field].astype(str), index=missing.index),
        expected=f"every {field} entry of its controlled source files",
    )


def _open_markers(bodies: pd.DataFrame, field: str, marker: str) -> pd.DataFrame:
    """Bodies of files with a controlled source that still grant open access."""
    opens = pd.Series([marker in (body.get(field) or []) for body in bodies["payload"]], index=bodies.index,
                      dtype=bool)
    flagged = bodies[opens]
    return _issues(
        flagged,
        column=field,
        value=pd.Series(marker, index=flagged.index),
        expected=f"no {marker!r} entry (a source file is controlled)",
    )


def _sets_field(bodies: pd.DataFrame, full_body: pd.Series, field: str) -> pd.Series:
    """Rows whose body decides ``field``: every full body, and partial ones that carry it."""
    return full_body | pd.Series([field in body for body in bodies["payload"]], index=bodies.index, dtype=bool)


def _issues(rows: pd.DataFrame, *, column: str, value: pd.Series, expected: str) -> pd.DataFrame:
    return issue_rows(
        rows,
        check="more_open_than_source",
        column=column,
        value=value,
        expected=expected,
        suggestion=f"Restore {column} of " + rows["external_id"].astype(str) + " from its source "
        "files: a harmonized file may not be more open than the data it was made from.",
    )
