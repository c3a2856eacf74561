"""Every corpus case through read -> check -> normalize -> validate, stopping where it must."""

from pathlib import Path

import pandas as pd
import pytest

from gwo_assets.core.manifest import check_is_gwo_manifest, normalize_manifest, read_manifest_file
from gwo_assets.core.manifest_rules import summarize_issues, validate_manifest
from gwo_assets.errors import ManifestError
from gwo_assets_tests.manifests.cases import CASES, VALID_VARIANTS, ManifestCase

SANDBOX_LIKE_IDS = {
    "filepath": "s3://sandbox-harmonized/outputs/PT 7/run.g.vcf.gz",
    "source_read": "s3://sandbox-sources/reads/pt7.cram",
    "biospecimen_id": "BS_ZZZZZZZZ",
    "participant_id": "PT_00000000",
    "data_type": "gVCF",
    "workflow_type": "Somatic-Mutation",
}


def run_core(path: Path) -> tuple[str, str, pd.DataFrame | None]:
    """(stage it stopped at, message or summary, issues)."""
    try:
        raw = read_manifest_file(path)
    except ManifestError as error:
        return "read", str(error), None
    try:
        check_is_gwo_manifest(raw.columns, source=path.name)
    except ManifestError as error:
        return "check", str(error), None
    issues = validate_manifest(normalize_manifest(raw))
    stage = "validate" if (issues["severity"] == "error").any() else "valid"
    return stage, summarize_issues(issues), issues


def assert_case(case: ManifestCase, directory: Path, ids: dict | None) -> None:
    stage, message, issues = run_core(case.write(directory, ids))
    assert stage == case.stage, message
    assert "\n" not in message
    for expected in case.expected_messages(ids):
        assert expected in message
    if case.stage == "validate":
        check, column, value = case.expected_issue(ids)
        errors = issues[issues["severity"] == "error"]
        match = errors[(errors["check"] == check) & (errors["column"] == column)]
        assert list(match["value"]) == [value], errors.to_string()
    if case.stage == "valid":
        assert sorted(set(issues["check"])) == sorted(case.warnings), message


def test_corpus_is_big_enough_and_names_are_unique():
    assert len(CASES) >= 25
    names = [case.name for case in CASES + VALID_VARIANTS]
    assert len(names) == len(set(names))
    assert {case.stage for case in CASES} == {"read", "check", "validate"}


@pytest.mark.parametrize("case", CASES + VALID_VARIANTS, ids=lambda case: case.name)
def test_case_with_default_ids(case: ManifestCase, tmp_path: Path):
    assert_case(case, tmp_path, None)


@pytest.mark.parametrize(
    "case", [case for case in CASES + VALID_VARIANTS if case.name != "huge_cell"], ids=lambda case: case.name
)
def test_case_with_other_ids(case: ManifestCase, tmp_path: Path):
    """The job-level test plugs sandbox ids in: every case must keep its meaning."""
    assert_case(case, tmp_path, SANDBOX_LIKE_IDS)


def test_valid_variants_normalize_to_the_same_manifest(tmp_path: Path):
    plain = normalize_manifest(read_manifest_file(VALID_VARIANTS[0].write(tmp_path)))
    for case in VALID_VARIANTS:
        if case.warnings:
            continue
        manifest = normalize_manifest(read_manifest_file(case.write(tmp_path)))
        pd.testing.assert_frame_equal(manifest.drop(columns="row"), plain.drop(columns="row"), obj=case.name)
