"""Access control: a harmonized file is never more open than any file it was made from.

The expectations are computed from the source files as the sandbox stores them
(read back with plain HTTP after the test edited them), never from the plan.
"""

import pytest
import csv

import pandas as pd
import requests
from dagster import DagsterInstance

from gwo_assets.assets import plans
from gwo_assets.core.access import more_open_than_sources
from gwo_assets_tests.reliability.conftest import assert_no_duplicates
from gwo_assets_tests.support import run_ingest, stored_files

OPEN = {"controlled_access": False, "authz": ["/open"], "acl": ["*"]}


def stored(url: str, kf_id: str) -> dict:
    response = requests.get(f"{url}/genomic-files/{kf_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def patch(url: str, kf_id: str, **fields) -> None:
    response = requests.patch(f"{url}/genomic-files/{kf_id}", json=fields, timeout=30)
    assert response.status_code == 200, response.text


def sources_of(stack, harmonized) -> list[dict]:
    """The stored records of a harmonized file's source reads."""
    url = stack.info["dataservice_url"]
    return [stored(url, stack.study.source_file(read).kf_id) for read in harmonized.source_reads]


def expected_access(sources: list[dict]) -> tuple[bool, set[str], set[str]]:
    """Controlled if any source is; then every entry of every source except the open markers."""
    controlled = any(s["controlled_access"] is not False for s in sources)
    authz = {a for s in sources for a in s["authz"]}
    acl = {a for s in sources for a in s["acl"]}
    if controlled:
        authz.discard("/open")
        acl.discard("*")
    return controlled, authz, acl


def assert_never_more_open(record: dict, sources: list[dict]) -> None:
    for source in sources:
        if source["controlled_access"] is not False:
            assert record["controlled_access"] is True, (record["external_id"], source["kf_id"])
            assert "/open" not in record["authz"] and "*" not in record["acl"]
            assert set(source["authz"]) - {"/open"} <= set(record["authz"])
            assert set(source["acl"]) - {"*"} <= set(record["acl"])


def assert_access_inherited(stack) -> dict[str, dict]:
    """Every harmonized file stored once, with the access its stored sources give it."""
    url, records = stack.info["dataservice_url"], {}
    for harmonized in stack.study.harmonized:
        files = stored_files(url, harmonized.filepath)
        assert len(files) == 1, harmonized.filepath
        record = records[harmonized.filepath] = files[0]
        sources = sources_of(stack, harmonized)
        controlled, authz, acl = expected_access(sources)
        assert (record["controlled_access"], set(record["authz"]), set(record["acl"])) == \
            (controlled, authz, acl), harmonized.filepath
        assert_never_more_open(record, sources)
    return records


def manifest_filepaths(stack) -> dict[str, str]:
    """Manifest row number (as the pipeline numbers them: header is row 1) -> Filepath."""
    with open(stack.study.manifest, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return {str(number): row["Filepath"] for number, row in enumerate(rows, start=2)}


def source_access(stack, harmonized) -> list[bool]:
    return [stack.study.source_file(read).controlled_access for read in harmonized.source_reads]


def second_consent(entries) -> list[str]:
    """Another consent group of the same accession: '/programs/phs000123.c1' -> '.c2'."""
    return [entry.replace(".c1", ".c2") for entry in entries]


def test_mixed_open_and_controlled_sources_give_a_controlled_file_with_the_union(stack, tmp_path):
    """One output made from an open source, a controlled one and one of another consent
    group; another output from an open source and a source turned controlled."""
    url, study = stack.info["dataservice_url"], stack.study
    somatic = next(h for h in study.harmonized
                   if len(h.source_reads) >= 3 and all(source_access(stack, h)))
    opened, other_consent = (study.source_file(r) for r in somatic.source_reads[:2])
    patch(url, opened.kf_id, **OPEN)
    patch(url, other_consent.kf_id, authz=second_consent(other_consent.authz),
          acl=second_consent(other_consent.acl))
    open_output = next(h for h in study.harmonized
                       if len(h.source_reads) == 2 and not any(source_access(stack, h)))
    closed = study.source_file(open_output.source_reads[1])
    consent = stored(url, study.source_file(somatic.source_reads[2]).kf_id)  # untouched, controlled
    patch(url, closed.kf_id, controlled_access=True, authz=consent["authz"], acl=consent["acl"])

    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False)

    assert result.success
    records = assert_access_inherited(stack)
    assert_no_duplicates(stack)
    mixed = records[somatic.filepath]
    assert mixed["controlled_access"] is True
    assert set(mixed["authz"]) == set(consent["authz"]) | set(second_consent(consent["authz"]))
    assert set(mixed["acl"]) == set(consent["acl"]) | set(second_consent(consent["acl"]))
    turned = records[open_output.filepath]
    assert (turned["controlled_access"], turned["authz"], turned["acl"]) == \
        (True, consent["authz"], consent["acl"])


@pytest.mark.e2e  # slow (several job runs): make test-e2e
def test_a_source_restricted_between_runs_restricts_its_outputs_on_rerun(stack, tmp_path):
    url, study = stack.info["dataservice_url"], stack.study
    assert run_ingest(stack.info, tmp_path / "reports", dry_run=False).success
    before = assert_access_inherited(stack)
    output = next(h for h in study.harmonized if not any(source_access(stack, h)))
    source = study.source_file(output.source_reads[0])
    controlled = next(s for s in study.source_files if s.controlled_access)
    patch(url, source.kf_id, controlled_access=True, authz=list(controlled.authz),
          acl=list(controlled.acl))
    affected = {h.filepath for h in study.harmonized if source.url in h.source_reads}
    assert before[output.filepath]["controlled_access"] is False

    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False)

    assert result.success
    after = assert_access_inherited(stack)
    counts = stack.dataservice.request_counts()
    assert counts.get("PATCH /genomic-files") == len(affected)
    assert not any(key.startswith("POST ") for key in counts)
    for filepath in affected:
        assert after[filepath]["kf_id"] == before[filepath]["kf_id"]
        assert after[filepath]["controlled_access"] is True
        assert set(after[filepath]["authz"]) == set(controlled.authz)
    unaffected = set(before) - affected
    assert all(after[f]["modified_at"] == before[f]["modified_at"] for f in unaffected)


def test_the_check_refuses_a_real_plan_edited_to_be_more_open(stack, tmp_path):
    """The check's core on the plan and join a dry run really produced, one body opened."""
    with DagsterInstance.ephemeral() as instance:
        result = run_ingest(stack.info, tmp_path / "reports", dry_run=True, instance=instance)
        assert result.success
        plan = result.output_for_node("genomic_files_plan")
        joined = result.output_for_node("harmonized_file_sources").joined
    assert more_open_than_sources(plan, joined).empty

    controlled = next(h for h in stack.study.harmonized if all(source_access(stack, h)))
    edited = plan.copy()
    index = edited.index[edited["external_id"] == controlled.filepath][0]
    edited.at[index, "payload"] = {**edited.at[index, "payload"], **OPEN}
    issues = more_open_than_sources(edited, joined)

    assert set(issues["value"].astype(str)) >= {"False", "/open", "*"}
    assert set(issues["column"]) == {"controlled_access", "authz", "acl"}
    assert set(issues["row"].astype(str)) == {str(edited.at[index, "row"])}


def test_a_plan_more_open_than_its_sources_stops_the_run_before_any_write(stack, tmp_path,
                                                                         monkeypatch):
    """A regression in access inheritance (simulated: every file planned open) is caught by
    the blocking check `no_file_more_open_than_sources`, and nothing is written."""

    def inherit_open_access(joined: pd.DataFrame) -> pd.DataFrame:
        files = pd.DataFrame({"filepath": joined["filepath"].drop_duplicates()})
        return files.assign(controlled_access=False, authz=[["/open"]] * len(files),
                            acl=[["*"]] * len(files), access_resolved=True)

    monkeypatch.setattr(plans, "inherit_access", inherit_open_access)
    reports = tmp_path / "reports"
    stack.dataservice.reset_counts()

    result = run_ingest(stack.info, reports, dry_run=False)

    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["no_file_more_open_than_sources"].passed is False
    assert stack.dataservice.write_count() == 0
    assert not any(key.split(" ")[0] in ("POST", "PATCH", "DELETE")
                   for key in stack.dataservice.request_counts())
    url = stack.info["dataservice_url"]
    assert all(stored_files(url, h.filepath) == [] for h in stack.study.harmonized)
    offending = pd.read_csv(next(reports.glob("*/checks/no_file_more_open_than_sources.csv")),
                            dtype=str, keep_default_na=False)
    controlled = {h.filepath for h in stack.study.harmonized if any(source_access(stack, h))}
    rows = manifest_filepaths(stack)
    assert controlled and {rows[row] for row in offending["row"]} == controlled
