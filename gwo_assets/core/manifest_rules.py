"""Row-level checks of the manifest DataFrame -> the issues DataFrame of docs/architecture.md.

Every check is a mask over the whole frame (a regex runs once per distinct
value, never per row); explanations (what is wrong with *this* value, what
was probably meant) are computed once per distinct bad value, which stay few
even in a 100k-row manifest.
"""

import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd

from gwo_assets.core.enums import DATA_TYPES, WORKFLOW_TYPES
from gwo_assets.core.kf_ids import CROCKFORD, KF_ID_PATTERN
from gwo_assets.core.s3_uris import is_s3_uri
from gwo_assets.core.manifest import DUPLICATE_KEY, HEADERS
from gwo_assets.core.suggest import did_you_mean

ISSUE_COLUMNS = ["check", "severity", "row", "column", "value", "expected", "suggestion"]

BLANK_REQUIRED = "blank_required"
SOURCE_READ_BLANK = "source_read_blank"
KF_ID_FORMAT = "kf_id_format"
S3_URI_FORMAT = "s3_uri_format"
ENUM_VALUE = "enum_value"
FILEPATH_CONFLICT = "filepath_conflict"
FILEPATH_IS_SOURCE_READ = "filepath_is_source_read"
DUPLICATE_ROW = "duplicate_row"

KF_ID_PREFIXES = {"biospecimen_id": "BS", "participant_id": "PT", "family_id": "FM"}
PREFIX_NAMES = {
    "SD": "study", "PT": "participant", "BS": "biospecimen", "SC": "sequencing center",
    "SE": "sequencing experiment", "GF": "genomic file", "BG": "biospecimen-genomic-file link",
    "SG": "sequencing-experiment-genomic-file link", "FM": "family", "FR": "family relationship",
}
ENUMS = {"data_type": DATA_TYPES, "workflow_type": WORKFLOW_TYPES}
# Joint genotyping writes one VCF for a whole family, so its rows name several participants.
MULTI_PARTICIPANT_WORKFLOWS = frozenset({"Family-Joint-Genotyping"})
# Every column but the file's key and what may differ between its rows (reads, biospecimens)
# describes the genomic file itself.
PER_FILE_COLUMNS = tuple(column for column in HEADERS
                         if column not in ("filepath", "source_read", "biospecimen_id"))

_MAX_VALUE_CHARS = 200
_REQUIRED_CELLS = ("filepath", "biospecimen_id", "participant_id", "data_type", "workflow_type")
_CROCKFORD_LOOKALIKES = {"I": "1", "L": "1", "O": "0"}
_S3_HOST = re.compile(r"^(?:(?P<bucket>.+)\.)?s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com$")


def validate_manifest(manifest: pd.DataFrame) -> pd.DataFrame:
    """All issues of the manifest DataFrame, sorted by file row.

    Columns: ``check, severity ('error'|'warning'), row, column (the file
    header), value, expected, suggestion``. A manifest is loadable when no
    issue has severity 'error'.
    """
    found = [
        *_blank_cells(manifest),
        *_kf_id_formats(manifest),
        *_s3_uris(manifest),
        *_enum_values(manifest),
        *_filepath_conflicts(manifest),
        _filepath_is_source_read(manifest),
        _duplicate_rows(manifest),
    ]
    issues = pd.concat([_empty_issues(), *found], ignore_index=True)
    issues = issues.drop_duplicates(["check", "row", "column", "value"])
    issues["row"] = issues["row"].astype("Int64")
    return issues.sort_values(["row", "severity"], kind="stable", ignore_index=True)[ISSUE_COLUMNS]


def summarize_issues(issues: pd.DataFrame, examples: int = 5) -> str:
    """One paragraph for a person: counts by check, then one example of each check first."""
    if issues.empty:
        return "The manifest passed every check."
    errors = int((issues["severity"] == "error").sum())
    warnings = len(issues) - errors
    counts = sorted(issues.groupby(["severity", "check"]).size().items(), key=lambda item: (item[0][0], -item[1]))
    by_check = ", ".join(
        f"{count} {check}" + (" (warning)" if severity == "warning" else "") for (severity, check), count in counts
    )
    ordered = issues.sort_values(["severity", "row"], kind="stable")  # 'error' < 'warning'
    firsts = ordered.drop_duplicates("check")
    shown = pd.concat([firsts, ordered.drop(firsts.index)]).head(examples)
    described = "; ".join(_describe(issue) for issue in shown.itertuples())
    more = f"; and {len(issues) - len(shown)} more" if len(issues) > len(shown) else ""
    return (
        f"The manifest has {_plural(errors, 'error')} and {_plural(warnings, 'warning')} "
        f"({by_check}). {described}{more}."
    )


def _describe(issue) -> str:
    where = f"Row {issue.row}" if pd.notna(issue.row) else "File"
    value = "blank" if issue.value is None else repr(issue.value)
    text = f"{where}, {issue.column} {value}: expected {issue.expected}"
    return f"{text} ({issue.suggestion})" if issue.suggestion else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# ---------------------------------------------------------------- issue frames


def _empty_issues() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in ISSUE_COLUMNS})


def _issues(rows: pd.DataFrame, check: str, column: str, expected: str | pd.Series,
            suggestion: str | pd.Series, severity: str = "error") -> pd.DataFrame:
    """One issue per row of ``rows`` (a slice of the manifest) about ``column``."""
    values = rows[column]
    return pd.DataFrame({
        "check": check,
        "severity": severity,
        "row": rows["row"],
        "column": HEADERS[column],
        "value": values.map(_shortened, na_action="ignore").astype(object).where(values.notna(), None),
        "expected": expected,
        "suggestion": suggestion,
    })


def _shortened(value: str) -> str:
    if len(value) <= _MAX_VALUE_CHARS:
        return value
    return f"{value[:_MAX_VALUE_CHARS]}... ({len(value)} characters)"


def _failing(values: pd.Series, is_valid: Callable[[str], bool]) -> pd.Series:
    """Mask of the non-blank values failing ``is_valid``, which runs once per distinct value."""
    return values.isin([value for value in values.dropna().unique() if not is_valid(value)])


def _explained(values: pd.Series, explain: Callable[[str], str]) -> pd.Series:
    """``explain`` applied once per distinct value."""
    return values.map({value: explain(value) for value in values.dropna().unique()})


# ---------------------------------------------------------------- blank cells


def _blank_cells(manifest: pd.DataFrame) -> list[pd.DataFrame]:
    found = [
        _issues(manifest[manifest[column].isna()], BLANK_REQUIRED, column, "a value",
                f"fill in {HEADERS[column]}; it is required on every row")
        for column in _REQUIRED_CELLS
    ]
    found.append(_issues(
        manifest[manifest["source_read"].isna()], SOURCE_READ_BLANK, "source_read",
        "the s3:// path of the unharmonized file the workflow read",
        "without it the sequencing experiment is found through the biospecimen alone, "
        "which is ambiguous when a biospecimen was sequenced more than once",
        severity="warning",
    ))
    return found


# ---------------------------------------------------------------- kf_ids


def _kf_id_formats(manifest: pd.DataFrame) -> list[pd.DataFrame]:
    found = []
    for column, prefix in KF_ID_PREFIXES.items():
        pattern = _kf_id_pattern(prefix)
        bad = manifest[_failing(manifest[column], lambda value, pattern=pattern: bool(pattern.match(value)))]
        found.append(_issues(
            bad, KF_ID_FORMAT, column, f"{prefix}_ followed by 8 characters of {CROCKFORD}",
            _explained(bad[column], lambda value, prefix=prefix: explain_kf_id(value, prefix)),
        ))
    return found


def _kf_id_pattern(prefix: str) -> re.Pattern:
    return re.compile(rf"^{prefix}_[{CROCKFORD}]{{8}}$")


def explain_kf_id(value: str, prefix: str) -> str:
    """Why ``value`` is not a ``prefix`` kf_id, and the likely intended id."""
    upper = value.strip().upper()
    if KF_ID_PATTERN.match(upper):
        given = upper[:2]
        return f"{upper} is a {PREFIX_NAMES[given]} id; this column needs a {PREFIX_NAMES[prefix]} id ({prefix}_...)"
    parts = re.match(r"^([A-Z]{2})[\s_\-.]*(.*)$", upper)
    if not parts:
        return f"a {PREFIX_NAMES[prefix]} kf_id looks like {prefix}_0A1B2C3D"
    given, body = parts.groups()
    reasons = []
    if given != prefix:
        reasons.append(f"prefix {given}_ is not {prefix}_")
    lookalikes = sorted({char for char in body if char in _CROCKFORD_LOOKALIKES})
    if lookalikes:
        reasons.append(f"contains {', '.join(lookalikes)}, which kf_ids never use")
    if "U" in body:
        reasons.append("contains U, which kf_ids never use")
    others = sorted({char for char in body if char not in CROCKFORD and char not in "ILOU"})
    if others:
        reasons.append(f"contains {''.join(others)!r}, which kf_ids never use")
    if len(body) != 8:
        reasons.append(f"has {len(body)} characters after {given}_, expected 8")
    guess = prefix + "_" + "".join(_CROCKFORD_LOOKALIKES.get(char, char) for char in body)
    if KF_ID_PATTERN.match(guess):
        reasons.append(f"did you mean {guess}?")
    return "; ".join(reasons) or f"a {PREFIX_NAMES[prefix]} kf_id looks like {prefix}_0A1B2C3D"


# ---------------------------------------------------------------- s3 uris


def _s3_uris(manifest: pd.DataFrame) -> list[pd.DataFrame]:
    found = []
    for column in ("filepath", "source_read"):
        bad = manifest[_failing(manifest[column], is_s3_uri)]
        found.append(_issues(bad, S3_URI_FORMAT, column, "s3://bucket/key", _explained(bad[column], explain_s3_uri)))
    return found


def explain_s3_uri(value: str) -> str:
    """Why ``value`` is not an ``s3://bucket/key`` URI, with the likely intended URI."""
    for reason, candidate in _s3_repairs(value):
        if is_s3_uri(candidate):
            return f"{reason}: did you mean {candidate}?"
    if value.lower().startswith(("http://", "https://")):
        return "an http(s) URL, not an S3 location; give the file's s3://bucket/key"
    if re.match(r"^(/|~|[A-Za-z]:\\|\.)", value):
        return "a local path; give the s3://bucket/key the file was uploaded to"
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*)://", value)
    if scheme and scheme.group(1).lower() != "s3":
        return f"a {scheme.group(1)}:// location; only s3:// files can be loaded"
    location = re.match(r"^s3://([^/]*)/?(.*)$", value)
    if location and not location.group(2):
        return "names a bucket or folder, not a file; add the object key"
    if location and not re.match(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$", location.group(1)):
        return f"{location.group(1)!r} is not an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)"
    return "expected s3://bucket/key"


def _s3_repairs(value: str) -> list[tuple[str, str]]:
    """(reason, candidate) pairs for the usual ways an S3 URI gets mangled."""
    repairs = []
    scheme = re.match(r"^s3\s*:?[/\\]*\s*(.*)$", value, re.IGNORECASE)
    if scheme and not value.startswith("s3://"):
        repairs.append(("write the scheme as s3:// (lower case, two slashes)", "s3://" + scheme.group(1)))
    if re.search(r"\s", value):
        repairs.append(("remove the spaces", re.sub(r"\s+", "", value)))
    url = urlsplit(value) if value.lower().startswith(("http://", "https://")) else None
    if url and url.hostname:
        host = _S3_HOST.match(url.hostname)
        path = unquote(url.path.lstrip("/"))
        if host and host.group("bucket"):
            repairs.append(("an https URL; give the s3:// URI", f"s3://{host.group('bucket')}/{path}"))
        elif host:
            repairs.append(("an https URL; give the s3:// URI", f"s3://{path}"))
    if not scheme and "://" not in value and not value.startswith(("/", "~", ".")):
        repairs.append(("add the s3:// prefix", "s3://" + value))
    return repairs


# ---------------------------------------------------------------- enums


def _enum_values(manifest: pd.DataFrame) -> list[pd.DataFrame]:
    found = []
    for column, allowed in ENUMS.items():
        values = manifest[column]
        bad = manifest[values.notna() & ~values.isin(allowed)]
        found.append(_issues(
            bad, ENUM_VALUE, column, f"one of the {len(allowed)} DataService {HEADERS[column]} values",
            _explained(bad[column], lambda value, allowed=allowed: explain_enum(value, allowed)),
        ))
    return found


def explain_enum(value: str, allowed: frozenset[str]) -> str:
    """The value probably meant; short lists are spelled out, long ones would drown the message."""
    near = did_you_mean(value, allowed)
    if near:
        return near
    if len(allowed) <= 20:
        return "valid values: " + ", ".join(sorted(allowed, key=str.casefold))
    return "not a DataService value; matching is exact and case-sensitive"


# ---------------------------------------------------------------- rows of one file


def _filepath_conflicts(manifest: pd.DataFrame) -> list[pd.DataFrame]:
    """One Filepath is one genomic file: its rows must agree on every per-file column.

    Otherwise its one payload would mix values taken from different rows. A blank
    cell is "not given", not a disagreement, and a malformed one (a Data Type typo, a bad
    kf_id) is its own check's error, never a vote: otherwise a typo could outvote (or tie
    with, and precede) the valid rows and have them told to change into the typo.
    """
    found = []
    for column in PER_FILE_COLUMNS:
        rows = manifest[manifest["filepath"].notna() & _well_formed(manifest[column])]
        if column == "participant_id":
            rows = rows[~rows["workflow_type"].isin(MULTI_PARTICIPANT_WORKFLOWS)]
        found.append(_minority_rows(rows, "filepath", column))
    return found


def _well_formed(values: pd.Series) -> pd.Series:
    """Mask of the non-blank values that pass their own format check (enum, kf_id), if any."""
    column = values.name
    if column in ENUMS:
        return values.notna() & values.isin(ENUMS[column])
    if column in KF_ID_PREFIXES:
        pattern = _kf_id_pattern(KF_ID_PREFIXES[column])
        return values.notna() & ~_failing(values, lambda value: bool(pattern.match(value)))
    return values.notna()


def _minority_rows(rows: pd.DataFrame, key: str, column: str) -> pd.DataFrame:
    """Rows whose ``column`` differs from the most common value among rows sharing ``key``.

    Counted once per file row (not per exploded biospecimen); ties go to the
    value of the earliest row.
    """
    distinct = rows[_has_several_values(rows[key], rows[column])].drop_duplicates(["row", key, column])
    if distinct.empty:
        return _issues(distinct, FILEPATH_CONFLICT, column, "", "")
    tallies = (
        distinct.groupby([key, column], sort=False)
        .agg(count=("row", "size"), first_row=("row", "min"))
        .reset_index()
        .sort_values([key, "count", "first_row"], ascending=[True, False, True])
    )
    majority = tallies.drop_duplicates(key).set_index(key)[column]
    expected = distinct[key].map(majority)
    conflicting = distinct[distinct[column] != expected]
    majority_rows = distinct[distinct[column] == expected].groupby(key)["row"].agg(
        lambda numbers: ", ".join(str(number) for number in sorted(numbers)[:5])
    )
    note = {
        value: f"the same {HEADERS[key]} has {HEADERS[column]} {majority[value]!r} on row(s) {majority_rows[value]}; "
        f"one {HEADERS[key]} is one genomic file, so every row of it must agree"
        for value in conflicting[key].unique()
    }
    return _issues(conflicting, FILEPATH_CONFLICT, column, expected[conflicting.index], conflicting[key].map(note))


def _has_several_values(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """Mask of the rows whose key has more than one distinct value (on integer codes: fast)."""
    codes = pd.DataFrame({"key": pd.factorize(keys)[0], "value": pd.factorize(values)[0]})
    pairs = codes.drop_duplicates()
    disputed = pairs.loc[pairs["key"].duplicated(keep=False), "key"]
    return codes["key"].isin(disputed).to_numpy()


def _filepath_is_source_read(manifest: pd.DataFrame) -> pd.DataFrame:
    same = manifest[manifest["filepath"].notna() & (manifest["filepath"] == manifest["source_read"])]
    return _issues(
        same, FILEPATH_IS_SOURCE_READ, "source_read", "the unharmonized input file, not the Filepath",
        "Source Read is the file the workflow read (e.g. the FASTQ, BAM or CRAM it started from); "
        "Filepath is the harmonized file it produced",
    )


def _duplicate_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    keyed = manifest[manifest["filepath"].notna() & manifest["biospecimen_id"].notna()]
    involved = keyed[keyed.duplicated(DUPLICATE_KEY, keep=False)]
    first_row = involved.groupby(DUPLICATE_KEY, dropna=False)["row"].transform("min")
    repeats = involved[involved.duplicated(DUPLICATE_KEY, keep="first")]
    return _issues(
        repeats, DUPLICATE_ROW, "biospecimen_id",
        "each (Filepath, Source Read, KF Biospecimen ID) once",
        "repeats row " + first_row[repeats.index].astype(str) + "; it is loaded once",
        severity="warning",
    )
