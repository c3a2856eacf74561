"""The manifest step's log line counts rows as the file numbers them (issue 21 item 8): a
230-line manifest whose cells name several biospecimens is "229 data rows", not the table's
row count; when the table has another count, the line says what its rows are."""

from dagster import DagsterInstance, materialize

from gwo_assets.assets.manifest import describe_rows, gwo_manifest, load_gwo_manifest
from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.resources.run_settings import IngestSettings
from gwo_assets.resources.s3 import S3Resource

HEADER = "Filepath\tSource Read\tKF Biospecimen ID\tKF Participant ID\tData Type\tWorkflow Type\n"
B = "s3://kf-study-us-east-1-prd-sd-0a1b2c3d"


def row(number: int, biospecimens: str = "BS_0A1B2C3D") -> str:
    return (f"{B}/harmonized/s{number}.cram\t{B}/source/s{number}.bam\t{biospecimens}\t"
            "PT_0A1B2C3D\tAligned Reads\tAlignment\n")


def a_230_line_manifest(tmp_path):
    """Header + 229 data rows; 22 of them name two biospecimens (-> 251 table rows)."""
    lines = [HEADER] + [row(n, "BS_0A1B2C3D, BS_0A1B2C3E" if n <= 22 else "BS_0A1B2C3D")
                        for n in range(1, 230)]
    path = tmp_path / "gwo.tsv"
    path.write_text("".join(lines))
    assert len(path.read_text().splitlines()) == 230
    return path


def test_the_log_line_counts_the_files_data_rows_and_says_what_the_table_counts(tmp_path):
    path = a_230_line_manifest(tmp_path)
    manifest = load_gwo_manifest(str(path), S3Resource())
    assert len(manifest.rows) == 251
    described = describe_rows(manifest)
    assert described.startswith("229 data rows (rows 2-230 of the file; "), described
    assert "251 rows, one per Filepath, Source Read and biospecimen" in described

    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(STUDY_PARTITIONS.name, ["SD_0A1B2C3D"])
    result = materialize([gwo_manifest], partition_key="SD_0A1B2C3D", instance=instance, resources={
        "ingest": IngestSettings(manifest=str(path)), "s3": S3Resource()})
    assert result.success
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    (line,) = [message for message in messages if message.startswith(f"Manifest {path}")]
    assert line.startswith(f"Manifest {path}: 229 data rows (rows 2-230 of the file; "), line
    assert "loaded as 251 rows, one per Filepath, Source Read and biospecimen" in line
    metadata = result.asset_materializations_for_node("gwo_manifest")[0].metadata
    assert metadata["manifest_data_rows"].value == 229


def test_blank_lines_repeats_and_multi_line_cells_are_counted_as_stated(tmp_path):
    """Rows as numbered in the file: a blank line keeps its number but is no data row; a quoted
    cell spanning two lines is one row (as in a spreadsheet); a repeated row is a data row of
    the file, loaded once; with one table row per data row, nothing more is said."""
    text = (HEADER + row(1) + "\n" + row(2).replace("Alignment\n", '"Align\nment"\n') + row(3)
            + row(3))
    path = tmp_path / "gwo.tsv"
    path.write_text(text)
    manifest = load_gwo_manifest(str(path), S3Resource())
    assert sorted(manifest.rows["row"]) == [2, 4, 5]  # row 5 once: the repeat (row 6) dropped
    assert describe_rows(manifest).startswith("4 data rows (rows 2-5 of the file; ")
    assert "loaded as 3 rows" in describe_rows(manifest)

    path.write_text(HEADER + row(1) + "\n" + row(2))
    assert describe_rows(load_gwo_manifest(str(path), S3Resource())) == (
        "2 data rows (rows 2-4 of the file; the header and blank rows not counted), "
        "2 harmonized files")
