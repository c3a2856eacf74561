"""Raw frame -> manifest DataFrame: canonical columns, trimming, kf_id case, one row per biospecimen."""

import pandas as pd
import pytest

from gwo_assets.core.manifest import OUTPUT_COLUMNS, drop_duplicate_rows, normalize_manifest
from gwo_assets.errors import ManifestError

HEADER = ["Filepath", "Source Read", "KF Biospecimen ID", "KF Participant ID", "Data Type", "Workflow Type"]
ROW = ["s3://bkt/h/a.cram", "s3://bkt/s/a.bam", "BS_0A1B2C3D", "PT_0A1B2C3D", "Aligned Reads", "Alignment"]


def raw(*rows: list, columns: list[str] = HEADER, first_row: int = 2) -> pd.DataFrame:
    """A raw frame as ``read_manifest_bytes`` returns it (index = file rows)."""
    index = pd.Index(range(first_row, first_row + len(rows)), name="row")
    return pd.DataFrame(list(rows), columns=columns, index=index, dtype=object)


def with_biospecimens(cell: str | None) -> list:
    return [*ROW[:2], cell, *ROW[3:]]


def test_output_has_the_documented_columns_and_types():
    manifest = normalize_manifest(raw(ROW, columns=[" filepath", "SOURCE_READ", "kf-biospecimen-id",
                                                    "KF Participant ID", "data type", "Workflow  Type"]))
    assert list(manifest.columns) == OUTPUT_COLUMNS
    assert manifest["row"].dtype == "int64"
    assert all(manifest[column].dtype == object for column in OUTPUT_COLUMNS[1:])
    assert manifest.iloc[0].tolist() == [2, *ROW, None, None, None]


def test_optional_columns_are_read_and_unknown_columns_set_aside():
    manifest = normalize_manifest(raw(
        [*ROW, "fm_0a1b2c3d", "file-1", "task-1", "keep me"],
        columns=[*HEADER, "KF Family ID", "Cavatica ID", "Cavatica Task ID", "Notes"],
    ))
    assert manifest.loc[0, ["family_id", "cavatica_id", "cavatica_task_id"]].tolist() == [
        "FM_0A1B2C3D", "file-1", "task-1"]
    assert manifest.attrs == {"source": "The manifest", "unknown_columns": ["Notes"]}
    assert "Notes" not in manifest.columns


def test_cells_are_trimmed_of_every_kind_of_space_and_blank_becomes_none():
    manifest = normalize_manifest(raw([f"\u00a0{ROW[0]}\u200b ", "  ", f" {ROW[2]}\t", ROW[3], " Aligned Reads ",
                                       "\ufeffAlignment"]))
    row = manifest.iloc[0]
    assert row["filepath"] == ROW[0]
    assert row["source_read"] is None
    assert row["biospecimen_id"] == ROW[2]
    assert (row["data_type"], row["workflow_type"]) == ("Aligned Reads", "Alignment")


def test_inner_spaces_of_values_are_kept():
    manifest = normalize_manifest(raw(["s3://bkt/my file.cram", *ROW[1:4], "Aligned  Reads", ROW[5]]))
    assert manifest.loc[0, "filepath"] == "s3://bkt/my file.cram"
    assert manifest.loc[0, "data_type"] == "Aligned  Reads"


def test_kf_ids_are_upper_cased_only_when_that_makes_them_valid():
    manifest = normalize_manifest(raw([*ROW[:2], "bs_0a1b2c3d", "pt_0a1b2cid", *ROW[4:]]))
    assert manifest.loc[0, "biospecimen_id"] == "BS_0A1B2C3D"
    assert manifest.loc[0, "participant_id"] == "pt_0a1b2cid"  # reported as typed


@pytest.mark.parametrize(
    "cell",
    ["BS_0A1B2C3D,BS_0A1B2C3E,BS_0A1B2C3F", "BS_0A1B2C3D; BS_0A1B2C3E ;BS_0A1B2C3F",
     "BS_0A1B2C3D BS_0A1B2C3E\nBS_0A1B2C3F", " ,bs_0a1b2c3d,, BS_0A1B2C3E;BS_0A1B2C3F, "],
)
def test_biospecimen_lists_explode_into_one_row_each(cell: str):
    manifest = normalize_manifest(raw(ROW, with_biospecimens(cell), first_row=7))
    assert manifest["row"].tolist() == [7, 8, 8, 8]
    assert manifest["biospecimen_id"].tolist() == ["BS_0A1B2C3D", "BS_0A1B2C3D", "BS_0A1B2C3E", "BS_0A1B2C3F"]
    assert manifest.loc[1:, "participant_id"].tolist() == [ROW[3]] * 3
    assert manifest.index.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("cell", [None, "", " , ;"])
def test_a_blank_biospecimen_cell_stays_one_row_with_none(cell: str | None):
    manifest = normalize_manifest(raw(with_biospecimens(cell)))
    assert manifest["biospecimen_id"].tolist() == [None]


def test_rows_blank_in_every_gwo_column_are_dropped():
    manifest = normalize_manifest(raw([*ROW, None], [" ", None, "", "\u00a0", None, None, "note"], [*ROW, None],
                                      columns=[*HEADER, "Notes"]))
    assert manifest["row"].tolist() == [2, 4]


def test_nothing_left_after_trimming_is_an_error_naming_the_file():
    spaces = raw([" "] * 6)
    spaces.attrs["source"] = "gwo.tsv"
    with pytest.raises(ManifestError, match="^gwo.tsv has no data rows"):
        normalize_manifest(spaces)


def test_a_frame_without_the_gwo_columns_is_refused():
    with pytest.raises(ManifestError, match="missing the required columns Workflow Type"):
        normalize_manifest(raw(ROW[:5], columns=HEADER[:5]))


def test_duplicates_are_kept_for_validation_and_dropped_on_request():
    manifest = normalize_manifest(raw(ROW, ROW, with_biospecimens(f"{ROW[2]},{ROW[2]}")))
    assert len(manifest) == 4
    deduplicated = drop_duplicate_rows(manifest)
    assert deduplicated["row"].tolist() == [2]
    assert deduplicated.index.tolist() == [0]
