"""Reading bytes into the raw frame: formats, row numbers, and one-line errors."""

import io
import re
from pathlib import Path

import pytest
from openpyxl import Workbook

from gwo_assets.core.manifest import (
    MAX_CELL_CHARS,
    canonical_name,
    check_is_gwo_manifest,
    header_key,
    read_manifest_bytes,
    read_manifest_file,
)
from gwo_assets.errors import ManifestError
from gwo_assets_tests.manifests.cases import HEADER, xlsx_bytes

ROW = ["s3://bkt/h/a.cram", "s3://bkt/s/a.bam", "BS_0A1B2C3D", "PT_0A1B2C3D", "Aligned Reads", "Alignment"]


def tsv(*rows: list[str], sep: str = "\t") -> bytes:
    return "".join(sep.join(row) + "\n" for row in [HEADER, *rows]).encode()


# ---------------------------------------------------------------- files on disk


def test_missing_file_names_the_path_and_the_setting(tmp_path: Path):
    with pytest.raises(ManifestError, match=r"Manifest file not found: .*nope\.tsv .*manifest path setting"):
        read_manifest_file(tmp_path / "nope.tsv")


def test_directory_is_refused(tmp_path: Path):
    with pytest.raises(ManifestError, match="is a directory"):
        read_manifest_file(tmp_path)


def test_file_is_read_by_its_name_which_later_messages_use(tmp_path: Path):
    path = tmp_path / "gwo.csv"
    path.write_bytes(tsv(ROW, sep=","))
    raw = read_manifest_file(path)
    assert raw.loc[2, "Filepath"] == ROW[0]
    assert raw.attrs["source"] == "gwo.csv"


# ---------------------------------------------------------------- text


def test_cells_are_strings_or_none_and_na_stays_text():
    raw = read_manifest_bytes(tsv(["NA", "", "null", "N/A", "0012", " "]), "m.tsv")
    assert raw.loc[2].tolist() == ["NA", None, "null", "N/A", "0012", " "]
    assert list(raw.columns) == HEADER


def test_row_numbers_are_file_rows_despite_blank_lines():
    data = b"\r\n \t\n" + tsv(ROW).replace(b"\n", b"\r\n", 1) + b"\n\n" + "\t".join(ROW).encode() + b"\n"
    raw = read_manifest_bytes(data, "m.tsv")
    assert raw.index.tolist() == [4, 7]
    assert raw.index.name == "row"


def test_quoted_cells_may_hold_delimiters_quotes_and_newlines():
    data = tsv(['"s3://bkt/a,b.cram"', '"say ""hi"""', '"BS_0A1B2C3D,\nBS_0A1B2C3E"', "PT", "x", "y"], sep=",")
    raw = read_manifest_bytes(data, "m.csv")
    assert raw.loc[2].tolist()[:3] == ["s3://bkt/a,b.cram", 'say "hi"', "BS_0A1B2C3D,\nBS_0A1B2C3E"]


def test_short_rows_are_padded_with_none():
    raw = read_manifest_bytes(tsv(ROW[:4], sep=","), "m.csv")
    assert raw.loc[2].tolist() == [*ROW[:4], None, None]


@pytest.mark.parametrize(("name", "sep"), [("m.tsv", ","), ("m.csv", "\t"), ("m.txt", ";"), ("manifest", "|")])
def test_delimiter_is_sniffed_when_the_extension_is_wrong_or_unknown(name: str, sep: str):
    raw = read_manifest_bytes(tsv(ROW, sep=sep), name)
    assert list(raw.columns) == HEADER


def test_a_cell_up_to_the_limit_is_accepted():
    raw = read_manifest_bytes(tsv([*ROW[:5], "x" * MAX_CELL_CHARS]), "m.tsv")
    assert len(raw.loc[2, "Workflow Type"]) == MAX_CELL_CHARS


def test_blank_header_columns_without_data_are_dropped_and_with_data_kept():
    data = "".join(line + "\n" for line in ["\t".join([*HEADER, "", ""]), "\t".join([*ROW, "", "note"])]).encode()
    raw = read_manifest_bytes(data, "m.tsv")
    assert list(raw.columns) == [*HEADER, "(blank header, column 7)"]


def test_repeated_unknown_columns_are_not_an_error():
    data = "".join(line + "\n" for line in ["\t".join([*HEADER, "Notes", "Notes"]), "\t".join([*ROW, "a", "b"])])
    assert list(read_manifest_bytes(data.encode(), "m.tsv").columns)[-2:] == ["Notes", "Notes"]


def test_duplicated_headers_after_normalization_are_named():
    data = "\t".join([*HEADER, "kf_biospecimen_id"]) + "\n" + "\t".join([*ROW, "BS_0A1B2C3D"]) + "\n"
    with pytest.raises(ManifestError, match=r"KF Biospecimen ID as 'KF Biospecimen ID', 'kf_biospecimen_id'"):
        read_manifest_bytes(data.encode(), "m.tsv")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "m.tsv is empty"),
        (b" \r\n\t\n", "m.tsv is empty"),
        (b"Filepath\tSource Read\n\n\n", r"header row \(row 1\) but no data rows"),
        (b"\xff\xfeF\x00", "UTF-16"),
        (b"Filepath\n\xe9\n", r"not UTF-8 text: byte 0xE9 at offset 9 \(line 2\)"),
        (b"Filepath\x00\x01", "binary file, not a text manifest \\(NUL byte at offset 8\\)"),
        (b"\x1f\x8b\x08\x00", "gzip-compressed"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "old Excel .xls workbook"),
        (b"PK\x03\x04rest", "zip/XLSX file"),
        (b"a\tb\n1\t2\t3\n", r"row 2 has 3 cells but the header has 2: .*unquoted tab"),
    ],
)
def test_unreadable_text_gives_one_line_naming_the_file(data: bytes, message: str):
    with pytest.raises(ManifestError, match=message) as raised:
        read_manifest_bytes(data, "m.tsv")
    assert str(raised.value).startswith("m.tsv") and "\n" not in str(raised.value)


# ---------------------------------------------------------------- xlsx


def test_xlsx_reads_values_as_text_with_sheet_row_numbers():
    raw = read_manifest_bytes(xlsx_bytes([[None], HEADER, ROW[:4] + [12.0, 3.5], [None], ROW]), "m.xlsx")
    assert raw.index.tolist() == [3, 5]
    assert raw.loc[3, "Data Type"] == "12" and raw.loc[3, "Workflow Type"] == "3.5"


def test_xlsx_formula_reads_excels_cached_value_and_is_never_evaluated():
    def cache_value(part: str, xml: str) -> str:
        if part != "xl/worksheets/sheet1.xml":
            return xml
        return re.sub(r'<c r="E2"><f>(.*?)</f><v\s*/>', r'<c r="E2" t="str"><f>\1</f><v>Cached Type</v>', xml)

    rows = [HEADER, [*ROW[:4], '=UPPER("gvcf")', ROW[5]]]
    assert read_manifest_bytes(xlsx_bytes(rows, cache_value), "m.xlsx").loc[2, "Data Type"] == "Cached Type"
    assert read_manifest_bytes(xlsx_bytes(rows), "m.xlsx").loc[2, "Data Type"] is None


def test_xlsx_picks_the_sheet_with_the_filepath_header():
    workbook = Workbook()
    workbook.active.append(["Instructions"])
    workbook.create_sheet("manifest").append(HEADER)
    workbook["manifest"].append(ROW)
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read_manifest_bytes(buffer.getvalue(), "m.xlsx").loc[2].tolist() == ROW


# ---------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "header", ["KF Biospecimen ID", "kf_biospecimen_id", "  KF  biospecimen   ID ", "\ufeffKF-Biospecimen-ID"]
)
def test_header_spellings_map_to_the_canonical_column(header: str):
    assert canonical_name(header) == "biospecimen_id"
    assert header_key(header) == "kfbiospecimenid"


def test_unknown_header_has_no_column():
    assert canonical_name("Biospecimen ID") is None


def test_gwo_columns_in_any_order_and_spelling_pass_the_check():
    check_is_gwo_manifest(["workflow_type", "DATA TYPE", "Kf Participant Id", "kf biospecimen id", "source_read",
                           "FilePath", "Notes"])


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["Bucket", "Key", "Size", "ETag"], "This looks like an S3 object listing, not a GWO manifest"),
        (["Key", "LastModified", "StorageClass"], "S3 object listing"),
        (["participant_id", "gender", "ethnicity", "race", "is_proband"], "looks like a participant manifest"),
        (["Sample ID", "Participant ID", "Analyte Type", "Tissue Type"], "looks like a biospecimen manifest"),
        (["a", "b"], r"The manifest is not a GWO manifest: it is missing the required columns Filepath, Source Read, "
                     r"KF Biospecimen ID, KF Participant ID, Data Type, Workflow Type \(found columns 'a', 'b'\)\."),
        ([*HEADER[:5], "Workflow"], "missing the required columns Workflow Type .*rename 'Workflow' to 'Workflow Type'"),
    ],
)
def test_wrong_files_are_recognized(columns: list[str], message: str):
    with pytest.raises(ManifestError, match=message):
        check_is_gwo_manifest(columns)


def test_other_kinds_of_files_get_no_rename_hints():
    with pytest.raises(ManifestError) as raised:
        check_is_gwo_manifest(["Sample ID", "Participant ID", "Analyte Type"])
    assert "rename" not in str(raised.value)


def test_long_column_lists_are_cut():
    with pytest.raises(ManifestError, match=r"'c19' and 5 more\)"):
        check_is_gwo_manifest([f"c{number}" for number in range(25)])
