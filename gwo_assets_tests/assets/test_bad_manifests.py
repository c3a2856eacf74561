"""The bad-manifest corpus through the whole job against a sandbox: each stops with its
specific message (column and value named) and the DataService receives zero writes;
the variants that must succeed (BOM, CRLF, header case, extra columns, CSV, XLSX) do."""

import pandas as pd
import pytest

from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.manifests.cases import CASES, VALID_VARIANTS
from gwo_assets_tests.support import run_ingest

pytestmark = pytest.mark.e2e  # ~50 job runs: part of `make test-e2e`


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with SandboxStack(specimens=4, seed=5, workdir=tmp_path_factory.mktemp("sandbox")) as running:
            yield running


@pytest.fixture(scope="module")
def ids(stack) -> dict[str, str]:
    """A real, simple row of the sandbox study: one biospecimen, one source read."""
    study = stack.study
    experiments_per_specimen = {}
    for experiment in study.plan.experiments:
        key = experiment.biospecimen.kf_id
        experiments_per_specimen[key] = experiments_per_specimen.get(key, 0) + 1
    harmonized = next(h for h in study.harmonized
                      if len(h.biospecimens) == 1 and len(h.source_reads) == 1
                      and experiments_per_specimen[h.biospecimens[0].kf_id] == 1)
    return {"filepath": harmonized.filepath, "source_read": harmonized.source_reads[0],
            "biospecimen_id": harmonized.biospecimens[0].kf_id,
            "participant_id": harmonized.participant.kf_id,
            "data_type": harmonized.data_type, "workflow_type": harmonized.workflow_type}


def failure_messages(result) -> str:
    return "\n".join(
        (e.event_specific_data.user_failure_data.description or "")
        if e.event_specific_data.user_failure_data else e.event_specific_data.error.message
        for e in result.all_events if e.event_type_value == "STEP_FAILURE")


def failed_check_rows(result) -> pd.DataFrame:
    frames = [pd.read_csv(e.metadata["all_rows_csv"].value, dtype=str, keep_default_na=False)
              for e in result.get_asset_check_evaluations()
              if not e.passed and "all_rows_csv" in e.metadata]
    return pd.concat(frames) if frames else pd.DataFrame(columns=["check", "column", "value"])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_manifest_stops_before_any_write(case, stack, ids, tmp_path):
    manifest = case.write(tmp_path, ids)
    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, manifest=str(manifest))
    assert not result.success
    assert stack.dataservice.write_count() == 0
    if case.stage in ("read", "check"):
        messages = failure_messages(result)
        for expected in case.expected_messages(ids):
            assert expected in messages
    else:
        check, column, value = case.expected_issue(ids)
        rows = failed_check_rows(result)
        matching = rows[(rows["check"] == check) & (rows["column"] == column)]
        assert len(matching), rows.to_dict("records")
        if value is not None:
            assert value in set(matching["value"])


@pytest.mark.parametrize("case", VALID_VARIANTS, ids=lambda case: case.name)
def test_valid_variant_runs(case, stack, ids, tmp_path):
    manifest = case.write(tmp_path, ids)
    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=True, manifest=str(manifest))
    assert result.success, failure_messages(result)
    assert stack.dataservice.write_count() == 0
