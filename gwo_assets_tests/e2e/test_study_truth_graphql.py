"""What the UI shows per study, read over GraphQL as the UI reads it (issue 22 items 1-2).

One dry run and one real run of study A (the real run held to the dry run's plan id, so the
id is also shown stable across two run processes), then one failing dry run of study B:
A's check executions carry A's partition and pass, B's carry B's and fail, B's failure
leaves A's latest results green, ``genomic_files`` is materialized for A by the real run
only (the dry run left an observation), and each run's ``gwo/dry_run`` tag says what it was.

Then the same answers as the UI draws them, in headless Chromium (``browser.py``): the Checks
tab of ``sequencing_experiment_genomic_files`` and of ``harmonized_file_s3_metadata`` (A's
check passed, B's failed) and the Partitions tab of ``genomic_files`` with A's partition
selected, saved as PNGs under ``test-artifacts/ui/``. Those pages are only checked to show
their check names and partition keys; what they mean is asserted on GraphQL above them.
"""

import pytest

from gwo_assets_tests.e2e.browser import browser_page, chromium, screenshot  # noqa: F401
from gwo_assets_tests.e2e.test_webserver_graphql import (graphql, launch_and_wait,  # noqa: F401
                                                         webserver)
from gwo_assets_tests.support import run_config

pytestmark = pytest.mark.e2e

RUN = """
query Run($runId: ID!) { runOrError(runId: $runId) { ... on Run { status tags { key value } } } }"""
CHECK_EXECUTIONS = """
query Executions($key: AssetKeyInput!, $name: String!, $partition: String) {
  assetCheckExecutions(assetKey: $key, checkName: $name, partition: $partition, limit: 20) {
    runId partition status evaluation { success severity } }
}"""
LOAD_ASSET = """
query Load($key: AssetKeyInput!, $study: String!) {
  assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations(partitions: [$study], limit: 10) { runId partition }
    assetObservations(partitions: [$study], limit: 10) { runId partition } } }
  assetNodeOrError(assetKey: $key) { ... on AssetNode { assetPartitionStatuses {
    ... on DefaultPartitionStatuses { materializedPartitions failedPartitions } } } }
}"""
CHECKS = {  # asset -> its checks (every check of the job)
    "gwo_manifest": ["manifest_is_well_formed", "manifest_expectation_suite"],
    "harmonized_file_s3_metadata": ["harmonized_files_exist_in_s3"],
    "harmonized_file_sources": ["manifest_matches_dataservice"],
    "existing_harmonized_files": ["existing_files_are_reusable"],
    "genomic_files_plan": ["no_file_more_open_than_sources", "no_planned_file_is_hidden",
                           "genomic_file_payload_suite"],
    "biospecimen_links_plan": ["biospecimen_link_payload_suite"],
    "experiment_links_plan": ["experiment_link_payload_suite", "plan_is_approved"],
    "ingest_plan": ["plan_applied"],
    "sequencing_experiment_genomic_files": ["load_matches_plan"],
}


def tags(url: str, run_id: str) -> dict[str, str]:
    run = graphql(url, RUN, runId=run_id)["runOrError"]
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def executions(url: str, study: str) -> list[dict]:
    found = []
    for asset, names in CHECKS.items():
        for name in names:
            for execution in graphql(url, CHECK_EXECUTIONS, key={"path": [asset]}, name=name,
                                     partition=study)["assetCheckExecutions"]:
                found.append({**execution, "check": name})
    return found


def test_checks_per_study_and_a_dry_run_never_looks_like_a_load(chromium, stack, webserver,
                                                                tmp_path):
    from gwo_assets.sandbox.generator import generate_study

    study_a = stack.info["study_id"]
    second = generate_study(stack.info["dataservice_url"], stack.s3.client(), stack.bucket,
                            specimens=4, seed=53, workdir=tmp_path / "second")
    study_b = second.study_id
    stack.s3.client().delete_object(Bucket=stack.bucket, Key=second.harmonized[0].key)
    reports = tmp_path / "reports"

    dry_a = launch_and_wait(webserver, run_config(stack.info, dry_run=True, report_dir=reports), "SUCCESS")
    plan = tags(webserver, dry_a)["gwo/plan"]
    real_config = run_config(stack.info, dry_run=False, report_dir=reports)
    real_config["resources"]["ingest"]["config"]["approved_plan"] = plan
    real_a = launch_and_wait(webserver, real_config, "SUCCESS")
    dry_b = launch_and_wait(webserver, run_config({**stack.info, "study_id": study_b,
                                          "manifest": str(second.manifest)},
                                         dry_run=True, report_dir=reports), "FAILURE")

    assert tags(webserver, dry_a)["gwo/dry_run"] == "true"
    assert tags(webserver, real_a)["gwo/dry_run"] == "false"
    assert tags(webserver, real_a)["gwo/plan"] == plan  # same plan id in another process
    assert tags(webserver, dry_b)["gwo/dry_run"] == "true"

    of_a, of_b = executions(webserver, study_a), executions(webserver, study_b)
    print("A:", of_a, "\nB:", of_b)
    assert {e["runId"] for e in of_a} == {dry_a, real_a}
    assert all(e["partition"] == study_a for e in of_a)
    assert all(e["evaluation"]["success"] for e in of_a if e["evaluation"])
    ran_in_real_run = {e["check"] for e in of_a if e["runId"] == real_a and e["evaluation"]}
    assert ran_in_real_run == {name for names in CHECKS.values() for name in names}
    assert {e["runId"] for e in of_b} == {dry_b}
    assert all(e["partition"] == study_b for e in of_b)
    failed_b = {e["check"] for e in of_b if e["evaluation"] and not e["evaluation"]["success"]}
    assert "harmonized_files_exist_in_s3" in failed_b

    for asset in ("genomic_files", "biospecimen_genomic_files",
                  "sequencing_experiment_genomic_files"):
        answer = graphql(webserver, LOAD_ASSET, key={"path": [asset]}, study=study_a)
        events = answer["assetOrError"]
        assert [(e["runId"], e["partition"]) for e in events["assetMaterializations"]] == \
            [(real_a, study_a)], asset
        assert (dry_a, study_a) in {(e["runId"], e["partition"])
                                    for e in events["assetObservations"]}, asset
        statuses = answer["assetNodeOrError"]["assetPartitionStatuses"]
        assert statuses["materializedPartitions"] == [study_a], asset

    shots = ui_screenshots(chromium, webserver, study_a, study_b, real_a)
    print("UI screenshots:", *shots, sep="\n  ")


def ui_screenshots(executable: str, url: str, study_a: str, study_b: str, real_a: str) -> list:
    """The Checks and Partitions tabs in headless Chromium with A's partition selected, each
    taken once it shows its content: the asset's tab, the check, both studies' partition
    keys, A's detail with the real run's id (the UI shows its first 8 characters)."""
    shots = []
    with browser_page(executable) as page:
        for asset, check, counts in (
                ("sequencing_experiment_genomic_files", "load_matches_plan",
                 ["Passed (1)", "Missing (1)"]),  # B's dry run stopped before the load
                ("harmonized_file_s3_metadata", "harmonized_files_exist_in_s3",
                 ["Passed (1)", "Failed (1)"])):
            page.goto(f"{url}/assets/{asset}?view=checks&checkDetail={check}")
            assert_asset_tab(page, "Checks")
            shown(page, check)
            page.locator("button[role=tab]", has_text="Partitions").click()  # the check's
            for text in (study_b, *counts):
                shown(page, text)
            visible(page, study_a).last.click()  # A in the check's partition list
            shown(page, real_a[:8])
            shots.append(screenshot(page, f"{asset}-checks"))

        page.goto(f"{url}/assets/genomic_files?view=partitions&partition={study_a}")
        assert_asset_tab(page, "Partitions")
        for text in (study_a, study_b, "Materialized", real_a[:8]):
            shown(page, text)
        shots.append(screenshot(page, "genomic_files-partitions"))
    return shots


def visible(page, text: str):
    return page.get_by_text(text, exact=True).filter(visible=True)


def shown(page, text: str) -> None:
    """Waits until ``text`` is on the page, visible (the UI keeps hidden copies of labels)."""
    visible(page, text).first.wait_for()


def assert_asset_tab(page, title: str) -> None:
    """The asset page shows its ``title`` tab (its tabs are links; a check's are buttons)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    selected = page.locator("a[role=tab][aria-selected=true]")
    try:
        selected.filter(has_text=title).wait_for()
    except PlaywrightTimeout:
        pytest.fail(f"{page.url} does not show the asset's {title} tab (selected tabs: "
                    f"{selected.all_inner_texts()})", pytrace=False)
