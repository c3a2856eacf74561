"""``skip_invalid_rows``: the same manifest with two invalid files writes nothing by default,
and with ``skip_invalid_rows: true`` loads exactly the valid files and lists the skipped rows.

Files: the RNA-Seq outputs of the multi-omic biospecimen (other modules load other files).
The Gene Fusions file has a bad Data Type on its second row only (a file is skipped whole),
and one Filepath has no S3 object.
"""

import pandas as pd

from gwo_assets_tests.errors import (check_evaluations, failure_messages, file_rows, has_issue,
                                     offending_rows, read_report, write_manifest)
from gwo_assets_tests.errors.conftest import BUCKET
from gwo_assets_tests.support import run_ingest, stored_files, stored_link_pairs

# The GX manifest suite only sees rows the rules accepted (a second opinion), so it
# passes here: the rules already flagged the bad row.
SKIPPING_CHECKS = {"manifest_is_well_formed", "harmonized_files_exist_in_s3"}


def test_invalid_files_stop_the_run_by_default_and_are_skipped_on_request(stack, facts, tmp_path):
    outputs = {h.filepath.rsplit(".", 2)[-2]: h for h in facts.outputs(strategy="RNA-Seq")}
    valid = [outputs["sorted"], outputs["results"]]  # STAR bam, RSEM gene expression
    fusions = outputs["fusions"]
    missing_path = f"s3://{BUCKET}/harmonized/rnaseq/{facts.multi.kf_id}.kallisto.abundance.tsv"
    bad_type = file_rows(fusions)
    bad_type[1]["data_type"] = "Gene Fusionz"
    rows = [r for h in valid for r in file_rows(h)] + bad_type + file_rows(
        valid[1], filepath=missing_path)
    row_of_bad_type = 2 + rows.index(bad_type[1])
    row_of_missing = 2 + next(i for i, r in enumerate(rows) if r["filepath"] == missing_path)
    manifest = write_manifest(tmp_path / "some-invalid.tsv", rows)
    url, reports = stack.info["dataservice_url"], tmp_path / "reports"
    every_path = [h.filepath for h in valid] + [fusions.filepath, missing_path]

    # Default: any invalid row stops the run before the first write.
    stack.dataservice.reset_counts()
    stopped = run_ingest(stack.info, reports, dry_run=False, manifest=str(manifest))
    assert not stopped.success
    assert stack.dataservice.write_count() == 0
    assert all(stored_files(url, path) == [] for path in every_path)
    evaluations = check_evaluations(stopped)
    # The manifest checks block the S3 scrape, so the missing object is not reported yet.
    assert {name for name, e in evaluations.items() if not e.passed} == {"manifest_is_well_formed"}
    assert all(e.severity.value == "ERROR" for e in evaluations.values())
    assert set(failure_messages(stopped)) == {"gwo_manifest_manifest_is_well_formed"}
    assert has_issue(offending_rows(stopped), dagster_check="manifest_is_well_formed",
                     check="enum_value", row=row_of_bad_type, column="Data Type",
                     value="Gene Fusionz")

    # skip_invalid_rows: the two valid files are loaded, the two invalid ones are not.
    skipped = run_ingest(stack.info, reports, dry_run=False, manifest=str(manifest),
                         skip_invalid_rows=True)
    assert skipped.success, failure_messages(skipped)
    for harmonized in valid:
        [record] = stored_files(url, harmonized.filepath)
        assert record["data_type"] == harmonized.data_type
        assert stored_link_pairs(url, "/biospecimen-genomic-files", "biospecimen",
                                 record["kf_id"]) == [facts.multi.kf_id]
        assert stored_link_pairs(url, "/sequencing-experiment-genomic-files",
                                 "sequencing_experiment", record["kf_id"]) == [facts.rna.kf_id]
    assert stored_files(url, fusions.filepath) == []
    assert stored_files(url, missing_path) == []

    # ... and the skipped rows are listed: failed WARN checks with their rows, and the report.
    evaluations = check_evaluations(skipped)
    for name in SKIPPING_CHECKS:
        assert not evaluations[name].passed and evaluations[name].severity.value == "WARN", name
        assert evaluations[name].description.endswith(
            "skip_invalid_rows is on, so the affected files are skipped"), name
    offending = offending_rows(skipped)
    assert has_issue(offending, dagster_check="manifest_is_well_formed", check="enum_value",
                     row=row_of_bad_type, column="Data Type", value="Gene Fusionz")
    assert has_issue(offending, dagster_check="harmonized_files_exist_in_s3",
                     check="s3_object_missing", row=row_of_missing, column="Filepath",
                     value=missing_path)
    assert set(offending["row"]) == {str(row_of_bad_type), str(row_of_missing)}
    plan = next(m for m in skipped.get_asset_materialization_events()
                if m.asset_key.to_user_string() == "genomic_files_plan")
    assert plan.materialization.metadata["skipped_files"].value == 2

    report = read_report(reports, skipped.run_id)
    assert report["status"] == "success" and report["inputs"]["skip_invalid_rows"] is True
    assert report["steps"]["genomic_files"] == {"create": 2, "update": 0, "unchanged": 0,
                                                "failed": 0}
    listed = {c["name"]: c for c in report["checks"] if not c["passed"]}
    assert set(listed) == SKIPPING_CHECKS
    csv_rows = pd.concat(pd.read_csv(c["offending_rows_csv"], dtype=str) for c in listed.values())
    assert set(csv_rows["row"]) == {str(row_of_bad_type), str(row_of_missing)}
    markdown = (reports / skipped.run_id / "report.md").read_text()
    assert "Gene Fusionz" in markdown and missing_path in markdown
