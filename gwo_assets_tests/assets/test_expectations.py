"""The great-expectations suites catch what they are meant to, row by row."""

import pandas as pd

from gwo_assets.assets.expectations import (genomic_file_expectations, link_expectations,
                                            manifest_expectations, payload_table, run_suite)

GOOD = {"row": 2, "filepath": "s3://bucket/h/a.cram", "source_read": "s3://bucket/s/a.bam",
        "biospecimen_id": "BS_0A1B2C3D", "participant_id": "PT_0A1B2C3D",
        "data_type": "Aligned Reads", "workflow_type": "Alignment"}


def body(**changes) -> dict:
    desired = {"external_id": "s3://bucket/h/a.cram", "urls": ["s3://bucket/h/a.cram"],
               "size": 10, "hashes": {"md5": "0" * 32, "etag": "0" * 32},
               "data_type": "Aligned Reads", "workflow_type": "Alignment",
               "availability": "Immediate Download", "is_harmonized": True,
               "controlled_access": True, "file_format": "cram"}
    return {**desired, **changes}


def test_manifest_suite_passes_a_good_row_and_names_bad_ones():
    good = run_suite("m", pd.DataFrame([GOOD]), manifest_expectations, "row")
    assert good.empty
    bad = pd.DataFrame([GOOD, {**GOOD, "row": 3, "data_type": "gvcf", "filepath": "http://x/y"}])
    issues = run_suite("m", bad, manifest_expectations, "row")
    found = set(zip(issues["row"], issues["column"], issues["value"]))
    assert (3, "data_type", "gvcf") in found
    assert (3, "filepath", "http://x/y") in found
    assert 2 not in set(issues["row"])


def test_payload_suite_rejects_upper_case_md5_negative_size_and_url_mismatch():
    plan = pd.DataFrame({
        "row": [2, 3, 4],
        "external_id": ["s3://bucket/h/a.cram", "s3://bucket/h/b.cram", "s3://bucket/h/c.cram"],
        "desired": [body(), body(external_id="s3://bucket/h/b.cram", urls=["s3://bucket/h/b.cram"],
                                 hashes={"md5": "A" * 32}),
                    body(external_id="s3://bucket/h/c.cram", size=-1)],
    })
    issues = run_suite("p", payload_table(plan), genomic_file_expectations, "row")
    by_row = issues.groupby("row")["column"].agg(set).to_dict()
    assert 2 not in by_row
    assert "md5" in by_row[3]
    assert "size" in by_row[4]


def test_link_suite_rejects_duplicate_pairs_and_malformed_ids():
    table = pd.DataFrame({"row": [0, 1, 2],
                          "external_id": ["s3://b/h/a", "s3://b/h/a", "s3://b/h/c"],
                          "genomic_file_id": ["GF_0A1B2C3D", "GF_0A1B2C3D", "GF_bad"],
                          "biospecimen_id": ["BS_0A1B2C3D", "BS_0A1B2C3D", "BS_0A1B2C3E"]})
    issues = run_suite("l", table, link_expectations("biospecimen_id", "BS"), "row")
    assert {"gx:expect_compound_columns_to_be_unique", "gx:expect_column_values_to_match_regex"} \
        <= set(issues["check"])
    assert "GF_bad" in set(issues["value"])
