"""Read a GWO manifest (TSV/CSV/XLSX bytes) into the manifest DataFrame of docs/architecture.md.

Reading is strict about what it cannot interpret (every failure is one
``ManifestError`` sentence naming the file and the fix) and lenient about
cosmetics (BOM, CRLF, header case and spacing, extra columns). Row-level
content checks live in ``manifest_rules``.
"""

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath

import pandas as pd
from openpyxl import load_workbook

from gwo_assets.core.kf_ids import KF_ID_PATTERN
from gwo_assets.core.suggest import closest_choice
from gwo_assets.errors import ManifestError


@dataclass(frozen=True)
class ManifestColumn:
    header: str
    name: str
    required: bool


COLUMNS: tuple[ManifestColumn, ...] = (
    ManifestColumn("Filepath", "filepath", True),
    ManifestColumn("Source Read", "source_read", True),
    ManifestColumn("KF Biospecimen ID", "biospecimen_id", True),
    ManifestColumn("KF Participant ID", "participant_id", True),
    ManifestColumn("Data Type", "data_type", True),
    ManifestColumn("Workflow Type", "workflow_type", True),
    ManifestColumn("KF Family ID", "family_id", False),
    ManifestColumn("Cavatica ID", "cavatica_id", False),
    ManifestColumn("Cavatica Task ID", "cavatica_task_id", False),
)
HEADERS: dict[str, str] = {column.name: column.header for column in COLUMNS}
OUTPUT_COLUMNS: list[str] = ["row", *HEADERS]
DUPLICATE_KEY: list[str] = ["filepath", "source_read", "biospecimen_id"]
KF_ID_COLUMNS: tuple[str, ...] = ("biospecimen_id", "participant_id", "family_id")

# No GWO cell is anywhere near this long; a bigger one is almost always a quote
# that was never closed and swallowed the rest of the file.
MAX_CELL_CHARS = 65_536

_DELIMITER_BY_SUFFIX = {".tsv": "\t", ".txt": "\t", ".csv": ","}
_SNIFFED_DELIMITERS = ("\t", ",", ";", "|")
_DELIMITER_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_HEADER_NOISE = re.compile(r"[\s_\-\ufeff]+")
# Every Unicode space plus the invisible ones spreadsheets leave behind (zero-width space, BOM).
_BLANKS = "".join(char for char in map(chr, range(0x3001)) if char.isspace()) + "\u200b\ufeff"
_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_LEADING_BLANK_LINES = re.compile(r"(?:[ \t]*\r?\n)*")


def header_key(header: str) -> str:
    """Compare headers ignoring case, BOM, spaces, '_' and '-' ('kf_biospecimen_id' == 'KF Biospecimen ID')."""
    return _HEADER_NOISE.sub("", header).casefold()


_NAME_BY_KEY = {header_key(column.header): column.name for column in COLUMNS}


def canonical_name(header: str) -> str | None:
    """The manifest DataFrame column for a file header, None for an unknown column."""
    return _NAME_BY_KEY.get(header_key(header))


def unknown_columns(columns: list[str] | pd.Index) -> list[str]:
    """Headers that are not GWO columns: kept aside, never an error."""
    return [header for header in columns if canonical_name(header) is None]


# ---------------------------------------------------------------- reading


def read_manifest_file(path: str | Path) -> pd.DataFrame:
    """Read a manifest from disk; see ``read_manifest_bytes``."""
    path = Path(path)
    if not path.exists():
        raise ManifestError(
            f"Manifest file not found: {path} (resolved from {Path.cwd()}); check the manifest path setting."
        )
    if path.is_dir():
        raise ManifestError(f"Manifest path {path} is a directory; give the manifest file itself.")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ManifestError(f"Cannot read manifest {path}: {error.strerror}; check its permissions.") from error
    return read_manifest_bytes(data, path.name)


def read_manifest_bytes(data: bytes, name: str) -> pd.DataFrame:
    """Parse manifest bytes into the *raw* frame: one column per file header.

    The index holds the file row numbers (header = row 1 for text; the sheet
    row for XLSX), cells are ``str`` (untrimmed) or None, fully blank rows and
    blank-headed empty columns are dropped, ``attrs["source"]`` is ``name``. The format comes from ``name``'s
    extension (.tsv/.txt tab, .csv comma, .xlsx values only); the delimiter is
    sniffed from the header line when the extension is unknown or wrong.
    """
    if not data.strip():
        raise ManifestError(f"{name} is empty; export the GWO manifest again with its header row and data rows.")
    if PurePath(name).suffix.lower() in _XLSX_SUFFIXES:
        grid = _xlsx_grid(data, name)
    else:
        grid = _text_grid(data, name)
    frame = _frame_from_grid(grid, name)
    frame.attrs["source"] = name
    return frame


def _text_grid(data: bytes, name: str) -> pd.DataFrame:
    """Every cell as a string, indexed by file line number (records, when a quoted cell spans lines)."""
    text = _decode(data, name)
    leading_blank_lines = _LEADING_BLANK_LINES.match(text).group(0)
    body = text[len(leading_blank_lines):]
    first_row = leading_blank_lines.count("\n") + 1
    header_line = body.split("\n", 1)[0]
    delimiter = _pick_delimiter(header_line, PurePath(name).suffix.lower())
    try:
        grid = pd.read_csv(
            io.StringIO(body), sep=delimiter, header=None, dtype=str, keep_default_na=False,
            skip_blank_lines=False, engine="c",
        )
    except pd.errors.ParserError as error:
        raise ManifestError(_parser_error_message(error, name, delimiter, first_row)) from error
    grid.index = grid.index + first_row
    return grid


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise ManifestError(f"{name} is a zip/XLSX file, not text; if it is an Excel workbook, name it .xlsx.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ManifestError(f"{name} is an old Excel .xls workbook; save it as .xlsx or as UTF-8 CSV.")
    if data.startswith(b"\x1f\x8b"):
        raise ManifestError(f"{name} is gzip-compressed; decompress it and give the .tsv/.csv inside.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ManifestError(f"{name} is UTF-16 text; save it as UTF-8 (Excel: 'CSV UTF-8').")
    nul = data.find(b"\x00", 0, 8192)
    if nul >= 0:
        raise ManifestError(
            f"{name} is a binary file, not a text manifest (NUL byte at offset {nul}); "
            "give the TSV, CSV or XLSX export of the GWO manifest."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ManifestError(
            f"{name} is not UTF-8 text: byte 0x{data[error.start]:02X} at offset {error.start} (line {line}) "
            "cannot be decoded; save the file as UTF-8 (Excel: 'CSV UTF-8')."
        ) from error


def _pick_delimiter(header_line: str, suffix: str) -> str:
    """The extension's delimiter, unless the header line clearly uses another one."""
    expected = _DELIMITER_BY_SUFFIX.get(suffix)
    if expected is not None and expected in header_line:
        return expected
    counts = {delimiter: header_line.count(delimiter) for delimiter in _SNIFFED_DELIMITERS}
    sniffed = max(counts, key=counts.__getitem__)
    return sniffed if counts[sniffed] else (expected or "\t")


def _parser_error_message(error: Exception, name: str, delimiter: str, first_row: int) -> str:
    detail = str(error).strip().splitlines()[-1]
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
    if match:
        expected, line, seen = (int(group) for group in match.groups())
        return (
            f"{name} row {line + first_row - 1} has {seen} cells but the header has {expected}: "
            f"a cell probably contains an unquoted {_DELIMITER_NAMES[delimiter]}; quote that cell or remove the extra cell."
        )
    match = re.search(r"EOF inside string starting at row (\d+)", detail)
    if match:
        row = int(match.group(1)) + first_row
        return f"{name} row {row} opens a quote (\") that is never closed; close it or remove it."
    return f"{name} could not be parsed as {_DELIMITER_NAMES[delimiter]}-separated text: {detail}."


def _xlsx_grid(data: bytes, name: str) -> pd.DataFrame:
    """Cell values of the manifest sheet, indexed by sheet row; formulas are never evaluated.

    ``data_only=True`` returns the value Excel cached when it last saved the
    file; a formula that was never calculated (e.g. written by a script) reads
    as blank.
    """
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = _manifest_sheet(workbook.worksheets)
            rows = list(sheet.iter_rows(values_only=True)) if sheet is not None else None
        finally:
            workbook.close()
    except zipfile.BadZipFile as error:
        raise ManifestError(
            f"{name} is not a valid XLSX workbook (not a zip file); re-save it from Excel, or name a text export .tsv/.csv."
        ) from error
    except Exception as error:  # openpyxl reports damaged parts with many exception types
        raise ManifestError(
            f"{name} is a damaged XLSX workbook ({type(error).__name__}: {error}); re-save it from Excel."
        ) from error
    if rows is None:
        raise ManifestError(f"{name} has no worksheet; put the GWO manifest on the first sheet.")
    grid = pd.DataFrame([[_cell_text(value) for value in row] for row in rows], dtype=object)
    grid.index = grid.index + 1
    return grid


def _manifest_sheet(sheets: list) -> object | None:
    """The first sheet whose header row has a Filepath column, else the first sheet."""
    for sheet in sheets:
        header = next((row for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)), ())
        if any(isinstance(value, str) and canonical_name(value) == "filepath" for value in header):
            return sheet
    return sheets[0] if sheets else None


def _cell_text(value: object) -> str | None:
    """Excel values as the text a user sees: 12.0 -> '12', dates in ISO format."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _frame_from_grid(grid: pd.DataFrame, name: str) -> pd.DataFrame:
    """Header row -> column names; blank -> None; refuse what would mislead later steps."""
    grid = grid.astype(object)
    grid = grid.where(grid.notna() & grid.ne(""), None)
    grid = grid[grid.notna().any(axis=1)]
    if grid.empty:
        raise ManifestError(f"{name} has no rows, only blank lines; export the GWO manifest again.")
    header_row = grid.index[0]
    headers = [_header_text(value) for value in grid.iloc[0]]
    frame = grid.iloc[1:].set_axis(headers, axis=1)
    frame = frame.loc[:, [bool(header) or frame.iloc[:, i].notna().any() for i, header in enumerate(headers)]]
    frame.columns = [header or f"(blank header, column {i + 1})" for i, header in enumerate(frame.columns)]
    frame.index.name = "row"
    _refuse_duplicate_headers(list(frame.columns), name)
    if frame.empty:
        raise ManifestError(
            f"{name} has a header row (row {header_row}) but no data rows; add one row per harmonized file and biospecimen."
        )
    _refuse_huge_cells(frame, name)
    return frame


def _header_text(value: object) -> str:
    return "" if value is None else re.sub(r"\s+", " ", str(value).replace("\ufeff", "")).strip()


def _refuse_duplicate_headers(headers: list[str], name: str) -> None:
    by_column: dict[str, list[str]] = {}
    for header in headers:
        column = canonical_name(header)
        if column is not None:
            by_column.setdefault(column, []).append(header)
    repeated = {column: found for column, found in by_column.items() if len(found) > 1}
    if repeated:
        described = "; ".join(
            f"{HEADERS[column]} as {', '.join(repr(header) for header in found)}" for column, found in repeated.items()
        )
        raise ManifestError(f"{name} has duplicated columns ({described}); keep one of each and delete the others.")


def _refuse_huge_cells(frame: pd.DataFrame, name: str) -> None:
    for position, header in enumerate(frame.columns):
        lengths = frame.iloc[:, position].str.len()
        if lengths.max() > MAX_CELL_CHARS:
            row = lengths.idxmax()
            raise ManifestError(
                f"{name} row {row}, column {header!r} holds {int(lengths[row])} characters (limit {MAX_CELL_CHARS}): "
                "a quote is probably never closed, or this is not the GWO manifest."
            )


# ---------------------------------------------------------------- is it a GWO manifest?

_S3_LISTING_KEYS = {"bucket", "key", "size", "etag", "lastmodified", "storageclass"}
_PARTICIPANT_WORDS = ("gender", "sex", "ethnicity", "race", "proband", "vitalstatus", "affectedstatus", "diagnosis")
_BIOSPECIMEN_WORDS = ("biospecimen", "specimen", "sample", "aliquot", "analyte", "tissue", "composition")
_MAX_LISTED_COLUMNS = 20


def check_is_gwo_manifest(columns: list[str] | pd.Index, *, source: str = "The manifest") -> None:
    """Raise ``ManifestError`` unless every required GWO column is present.

    The message lists the missing and the found columns, names the kind of
    file it looks like instead (S3 listing, participant or biospecimen
    manifest) and suggests near-miss headers.
    """
    columns = [str(column) for column in columns]
    found = {canonical_name(column) for column in columns}
    missing = [column.header for column in COLUMNS if column.required and column.name not in found]
    if not missing:
        return
    listed = ", ".join(repr(column) for column in columns[:_MAX_LISTED_COLUMNS])
    if len(columns) > _MAX_LISTED_COLUMNS:
        listed += f" and {len(columns) - _MAX_LISTED_COLUMNS} more"
    problem = f"missing the required columns {', '.join(missing)} (found columns {listed or 'none'})"
    kind = _looks_like([header_key(column) for column in columns])
    if kind:  # renaming columns would not turn another kind of file into a GWO manifest
        raise ManifestError(f"This looks like {kind}, not a GWO manifest: {source} is {problem}.")
    hints = _header_hints(missing, unknown_columns(columns))
    raise ManifestError(f"{source} is not a GWO manifest: it is {problem}{hints}.")


def _header_hints(missing: list[str], unknown: list[str]) -> str:
    hints = []
    for header in missing:
        near = closest_choice(header, unknown, cutoff=0.6)
        if near:
            hints.append(f"rename {near!r} to {header!r}")
    return f"; {', '.join(hints)}" if hints else ""


def _looks_like(keys: list[str]) -> str | None:
    if "key" in keys and len(_S3_LISTING_KEYS.intersection(keys)) >= 2:
        return "an S3 object listing"
    if "filepath" in keys:
        return None
    participant = sum(any(word in key for word in _PARTICIPANT_WORDS) for key in keys)
    biospecimen = sum(any(word in key for word in _BIOSPECIMEN_WORDS) for key in keys)
    if participant and participant >= biospecimen:
        return "a participant manifest"
    if biospecimen:
        return "a biospecimen manifest"
    return None


# ---------------------------------------------------------------- normalizing


def normalize_manifest(raw: pd.DataFrame) -> pd.DataFrame:
    """The manifest DataFrame: canonical columns, trimmed cells, one row per biospecimen.

    ``raw`` is ``read_manifest_bytes`` output (index = file row numbers).
    kf_ids are upper-cased only when that makes them valid, so an invalid
    value is reported as typed. Rows blank in every GWO column are dropped;
    duplicates are kept so validation can warn about them
    (``drop_duplicate_rows`` removes them afterwards). Unknown columns are
    listed in ``attrs["unknown_columns"]``; ``attrs["source"]`` names the file.
    """
    source = raw.attrs.get("source", "The manifest")
    check_is_gwo_manifest(raw.columns, source=source)
    source_of = {canonical_name(header): header for header in raw.columns}
    frame = pd.DataFrame(index=raw.index)
    for column in HEADERS:
        frame[column] = _trimmed(raw[source_of[column]]) if column in source_of else None
    frame = frame[frame.notna().any(axis=1)]
    if frame.empty:
        raise ManifestError(f"{source} has no data rows with any GWO value; fill in its rows.")
    frame = frame.rename_axis("row").reset_index()
    frame["row"] = frame["row"].astype("int64")
    frame = _explode_biospecimens(frame)
    for column in KF_ID_COLUMNS:
        frame[column] = _upper_when_valid(frame[column])
    frame.attrs = {"source": source, "unknown_columns": unknown_columns(raw.columns)}
    return frame[OUTPUT_COLUMNS]


def drop_duplicate_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    """Keep the first row of each (filepath, source_read, biospecimen_id): each is loaded once."""
    return manifest.drop_duplicates(DUPLICATE_KEY, keep="first").reset_index(drop=True)


def _blank_to_none(series: pd.Series) -> pd.Series:
    series = series.astype(object)
    return series.where(series.notna() & series.ne(""), None)


def _trimmed(series: pd.Series) -> pd.Series:
    return _blank_to_none(series.astype(object).str.strip(_BLANKS))


def _upper_when_valid(series: pd.Series) -> pd.Series:
    """Upper-case the values that upper-casing turns into valid kf_ids (tested once per distinct value)."""
    fixes = {
        value: value.upper()
        for value in series.dropna().unique()
        if not value.isupper() and KF_ID_PATTERN.match(value.upper())
    }
    if not fixes:
        return series
    return series.astype(object).mask(series.isin(list(fixes)), series.map(fixes).astype(object))


def _explode_biospecimens(frame: pd.DataFrame) -> pd.DataFrame:
    """'BS_A, BS_B;BS_C' -> three rows sharing the rest of the row."""
    ids = frame["biospecimen_id"]
    lists = [value for value in ids.dropna().unique() if _LIST_SEPARATORS.search(value)]
    if not lists:
        return frame
    in_list = ids.isin(lists)
    frame = frame.copy()
    frame.loc[in_list, "biospecimen_id"] = ids[in_list].str.strip(_BLANKS + ",;").str.split(_LIST_SEPARATORS)
    exploded = frame.explode("biospecimen_id", ignore_index=True)
    exploded["biospecimen_id"] = _blank_to_none(exploded["biospecimen_id"])
    return exploded
