"""Two studies whose manifests name the same S3 object, loaded at the same moment (issue 19).

Two `dagster job execute` processes, one instance: one `$DAGSTER_HOME` (SQLite), and two
hosts' `$DAGSTER_HOME`s on the Postgres instance of `deploy/dagster.yaml`. The race is made
deterministic with the sandbox: study A's run is held inside its write phase (every genomic
file POSTed, none linked yet: its records look like nobody's) while study B's run starts,
plans and writes. Every assertion reads the sandbox's stored state: the shared object is one
genomic file linked to study A only; B wrote nothing for it, named A's study, run and kf_id,
and loaded every other file of its manifest.
"""

import dataclasses
from pathlib import Path

import pytest

from gwo_assets.sandbox.generator import generate_study, share_object
from gwo_assets_tests.assets.test_ingest_job import assert_study_loaded
from gwo_assets_tests.e2e.test_concurrent_runs import finish, initialized, real_config, start
from gwo_assets_tests.e2e.test_postgres_instance import hosts  # noqa: F401  (fixture)
from gwo_assets_tests.reliability.conftest import assert_no_duplicates
from gwo_assets_tests.reliability.test_interrupted_run import wait_until
from gwo_assets_tests.support import link_id, list_all, report_json, stored_files

pytestmark = pytest.mark.e2e


def two_studies_sharing_one_object(stack, tmp_path: Path):
    """Study B (its own, generated beside the stack's A) whose manifest names one of A's
    objects; returns (B, the shared Filepath)."""
    second = generate_study(stack.info["dataservice_url"], stack.s3.client(), stack.bucket,
                            specimens=8, seed=97, workdir=tmp_path / "second")
    return share_object(second, stack.study)


def configs(stack, second, reports: Path) -> tuple[dict, dict]:
    first = real_config(stack.info, reports)
    # one request at a time, so exactly one of A's requests waits at the gate
    first["resources"]["dataservice"]["config"]["max_concurrency"] = 1
    other = real_config({**stack.info, "study_id": second.study_id,
                         "manifest": str(second.manifest)}, reports, skip_invalid_rows=True)
    return first, other


def the_one_file(stack, shared: str) -> tuple[str, set[str]]:
    """The object's only genomic file (asserted) and the biospecimens it is linked to."""
    url = stack.info["dataservice_url"]
    records = stored_files(url, shared)
    assert len(records) == 1, [r["kf_id"] for r in records]  # one genomic file for the object
    [record] = records
    return record["kf_id"], {link_id(item, "biospecimen") for item in list_all(
        url, "/biospecimen-genomic-files", genomic_file_id=record["kf_id"])}


def assert_one_file_linked_to_one_study(stack, shared: str, owner_biospecimens: set[str]) -> str:
    kf_id, linked = the_one_file(stack, shared)
    assert linked == owner_biospecimens, linked
    return kf_id


def without(study, filepath: str):
    return dataclasses.replace(study, harmonized=tuple(
        output for output in study.harmonized if output.filepath != filepath))


def race(stack, env_a: dict, env_b: dict, tmp_path: Path) -> None:
    second, shared = two_studies_sharing_one_object(stack, tmp_path)
    reports = tmp_path / "reports"
    config_a, config_b = configs(stack, second, reports)
    gate = stack.dataservice.hold("POST", "/biospecimen-genomic-files")
    run_a = start(config_a, env_a, tmp_path, "study-a")
    try:
        # A has POSTed all its genomic files, the shared object's included, and links none yet
        wait_until(lambda: gate.arrived >= 1 or run_a.poll() is not None, "A's first link",
                   limit=300)
        assert run_a.poll() is None, finish(run_a)[1][-3000:]
        run_b = start(config_b, env_b, tmp_path, "study-b")
        # B ends (it wrote nothing) or reaches its own links: either way A may go on now
        wait_until(lambda: run_b.poll() is not None or gate.arrived >= 2, "B's writes",
                   limit=300)
    finally:
        gate.release()
    (code_a, err_a), (code_b, err_b) = finish(run_a), finish(run_b)

    owner = stack.study
    shared_output = next(o for o in owner.harmonized if o.filepath == shared)
    kf_id = assert_one_file_linked_to_one_study(  # the stored state first: what the issue is about
        stack, shared, {b.kf_id for b in shared_output.biospecimens})
    assert (code_a, code_b) == (0, 0), (err_a[-3000:], err_b[-3000:])
    assert_study_loaded(stack)  # A: every file, the shared one included
    assert_study_loaded(stack, without(second, shared))  # B: every other file
    assert_no_duplicates(stack)

    [report_b] = [report for report in (report_json(reports, folder.name)
                                        for folder in reports.iterdir())
                  if report["study_id"] == second.study_id]
    [run_id_a] = [folder.name for folder in reports.iterdir()
                  if report_json(reports, folder.name)["study_id"] == owner.study_id]
    claimed = [problem for group in report_b["problems"] for problem in group["problems"]
               if problem.get("value") == shared]
    assert claimed, report_b["problems"]
    text = str(claimed)
    assert owner.study_id in text and run_id_a in text and kf_id in text, text


def test_two_studies_sharing_one_object_on_one_dagster_home(stack, process_env, tmp_path):
    env = initialized(process_env)
    race(stack, env, env, tmp_path)


def test_two_studies_sharing_one_object_on_the_postgres_instance(stack, hosts, tmp_path):  # noqa: F811
    race(stack, hosts[0], hosts[1], tmp_path)


def test_two_studies_sharing_one_object_launched_at_the_same_moment(stack, process_env, tmp_path):
    """No gate: both launched together, whichever claims first wins; the invariant holds."""
    from gwo_assets_tests.e2e.test_concurrent_runs import SLOW_POSTS

    env = initialized(process_env)
    second, shared = two_studies_sharing_one_object(stack, tmp_path)
    reports = tmp_path / "reports"
    config_a = real_config(stack.info, reports, skip_invalid_rows=True)
    _, config_b = configs(stack, second, reports)
    stack.dataservice.set_faults(SLOW_POSTS)
    runs = [start(config, env, tmp_path, f"study-{i}")
            for i, config in enumerate((config_a, config_b))]
    outcomes = [finish(run) for run in runs]
    stack.dataservice.set_faults(None)

    _, linked = the_one_file(stack, shared)
    by_study = {study.study_id: study for study in (stack.study, second)}
    owners = [study for study in by_study.values() if linked == {
        b.kf_id for o in study.harmonized if o.filepath == shared for b in o.biospecimens}]
    assert len(owners) == 1, linked  # one file, linked to one study only
    assert [code for code, _ in outcomes] == [0, 0], [err[-3000:] for _, err in outcomes]
    [winner] = owners
    [loser] = [study for study in by_study.values() if study is not winner]
    assert_study_loaded(stack, winner)
    assert_study_loaded(stack, without(loser, shared))
    assert_no_duplicates(stack)
    [report] = [report_json(reports, folder.name) for folder in reports.iterdir()
                if report_json(reports, folder.name)["study_id"] == loser.study_id]
    text = str([p for g in report["problems"] for p in g["problems"] if p.get("value") == shared])
    assert winner.study_id in text, report["problems"]
