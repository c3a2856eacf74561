"""IngestSettings: the per-run parameters and their validation messages."""

import pydantic
import pytest

from gwo_assets.resources.run_settings import IngestSettings


def test_defaults_plan_without_writing():
    settings = IngestSettings(study_id="SD_BXR0DYT8", manifest="gwo.tsv")
    assert settings.dry_run is True
    assert (settings.report_dir, settings.skip_invalid_rows) == ("reports", False)


def test_study_id_is_trimmed_and_upper_cased():
    assert IngestSettings(study_id=" sd_bxr0dyt8 ", manifest="gwo.tsv").study_id == "SD_BXR0DYT8"


@pytest.mark.parametrize("study_id", ["SD_123", "PT_BXR0DYT8", "SD_BXR0DYTU", "SD_BXR0DYT8X"])
def test_a_malformed_study_id_is_rejected_with_the_expected_format(study_id):
    with pytest.raises(pydantic.ValidationError, match="expected SD_ followed by 8 characters"):
        IngestSettings(study_id=study_id, manifest="gwo.tsv")


@pytest.mark.parametrize("manifest", ["s3://bucket/gwo.tsv", "data/gwo manifest.xlsx"])
def test_manifest_accepts_a_local_path_or_an_s3_uri(manifest):
    assert IngestSettings(study_id="SD_BXR0DYT8", manifest=manifest).manifest == manifest


@pytest.mark.parametrize("manifest", ["", "  ", "s3://bucket", "s3:/bucket/gwo.tsv"])
def test_manifest_rejects_blank_values_and_broken_s3_uris(manifest):
    with pytest.raises(pydantic.ValidationError, match="manifest|s3://bucket/key"):
        IngestSettings(study_id="SD_BXR0DYT8", manifest=manifest)


def test_every_setting_is_described_for_the_dagster_ui():
    assert all(field.description for field in IngestSettings.model_fields.values())
