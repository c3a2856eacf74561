"""The study-attribution rule: one study for every row's biospecimen, agreeing with the path."""

import pytest

from gwo_assets.core.manifest_study import (ManifestBiospecimens, attribute_manifest,
                                            attribute_study, manifest_biospecimens, study_in_path)

HEADER = "Filepath\tSource Read\tKF Biospecimen ID\tKF Participant ID\tData Type\tWorkflow Type\n"
BS_A, BS_B, BS_C = "BS_AAAAAAAA", "BS_BBBBBBBB", "BS_CCCCCCCC"
SD_1, SD_2 = "SD_11111111", "SD_22222222"


def manifest(*biospecimens: str) -> bytes:
    rows = "".join(f"s3://b/h/{i}.cram\ts3://b/s/{i}.bam\t{bs}\tPT_0A1B2C3D\tAligned Reads\t"
                   f"Alignment\n" for i, bs in enumerate(biospecimens))
    return (HEADER + rows).encode()


def test_reads_distinct_biospecimens_in_file_order_lists_and_case_included():
    found = manifest_biospecimens(manifest(BS_B, f"{BS_A.lower()}, {BS_B}", "", BS_C), "m.tsv")
    assert found.ids == (BS_B, BS_A, BS_C)
    assert found.rows_without == (4,)


def test_one_study_is_attributed():
    assert attribute_study(ManifestBiospecimens((BS_A, BS_B)), {BS_A: SD_1, BS_B: SD_1}).study_id \
        == SD_1


def test_path_study_that_agrees_is_accepted():
    result = attribute_study(ManifestBiospecimens((BS_A,)), {BS_A: SD_1}, path_study=SD_1)
    assert result.ok and result.study_id == SD_1 and result.reason is None


def test_path_study_that_disagrees_is_refused_naming_both():
    result = attribute_study(ManifestBiospecimens((BS_A,)), {BS_A: SD_1}, path_study=SD_2)
    assert not result.ok
    assert f"its path names {SD_2} but its biospecimens are {SD_1}'s (e.g. {BS_A})" in result.reason


def test_unknown_biospecimens_are_refused_and_listed():
    result = attribute_study(ManifestBiospecimens((BS_A, BS_B, "not-an-id")), {BS_A: SD_1,
                                                                              BS_B: None})
    assert not result.ok
    assert "2 biospecimen(s) not found in the DataService: BS_BBBBBBBB, not-an-id" in result.reason


def test_unknown_biospecimens_refuse_even_when_the_path_names_a_study():
    result = attribute_study(ManifestBiospecimens((BS_A, BS_B)), {BS_A: SD_1}, path_study=SD_1)
    assert not result.ok and "not found in the DataService: BS_BBBBBBBB" in result.reason


def test_several_studies_are_refused_with_counts():
    result = attribute_study(ManifestBiospecimens((BS_A, BS_B, BS_C)),
                             {BS_A: SD_1, BS_B: SD_2, BS_C: SD_2})
    assert not result.ok
    assert (f"belong to 2 studies: {SD_1} (1, e.g. {BS_A}), {SD_2} (2, e.g. {BS_B}); "
            "split it into one manifest per study") in result.reason


def test_rows_without_a_biospecimen_are_refused():
    result = attribute_study(ManifestBiospecimens((BS_A,), rows_without=(3, 7)), {BS_A: SD_1})
    assert not result.ok and result.reason == "rows 3, 7 have no KF Biospecimen ID"


def test_no_rows_is_refused():
    assert attribute_study(ManifestBiospecimens(()), {}).reason == "the manifest has no data rows"


def test_long_lists_are_cut():
    ids = tuple(f"BS_{i:08d}" for i in range(8))
    assert "and 3 more" in attribute_study(ManifestBiospecimens(ids), {}).reason


@pytest.mark.parametrize("path, study", [
    (f"{SD_1}/gwo.tsv", SD_1), (f"{SD_1.lower()}/run-2/gwo.tsv", SD_1), ("gwo.tsv", None),
    ("batch/SD_11111111/gwo.tsv", None), ("SD_1/gwo.tsv", None), (f"{SD_1}", None)])
def test_study_in_path_is_the_first_folder(path, study):
    assert study_in_path(path) == study


def test_attribute_manifest_reads_looks_up_only_valid_ids_and_decides():
    asked = []

    def lookup(ids):
        asked.append(ids)
        return {BS_A: SD_1}

    result = attribute_manifest(manifest(BS_A, BS_A), "m.tsv", f"{SD_1}/m.tsv", lookup)
    assert result.study_id == SD_1 and asked == [[BS_A]]
    assert attribute_manifest(manifest("bogus"), "m.tsv", "m.tsv", lookup).reason.startswith(
        "1 biospecimen(s) not found")
    assert asked[-1] == [BS_A]  # "bogus" was never sent


def test_an_unreadable_manifest_is_a_reason():
    result = attribute_manifest(b"Key\tSize\tETag\nk\t1\te\n", "listing.tsv", "listing.tsv", dict)
    assert not result.ok and "S3 object listing" in result.reason
