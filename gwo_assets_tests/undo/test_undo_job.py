"""undo_gwo end to end against a real sandbox: ingest for real, undo, compare stored state.

Every assertion reads the sandbox's stored state (plain HTTP) and compares it with a
snapshot taken before the ingest or with what the test itself changed.
"""

import hashlib

import pytest
import requests

from gwo_assets.sandbox.dataservice import FaultConfig
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.support import link_id, list_all, post_record, run_ingest, stored_files
from gwo_assets_tests.undo.support import (
    run_undo,
    stored_state,
    undo_json,
    without_fields,
)

SE_LINKS = "/sequencing-experiment-genomic-files"
BS_LINKS = "/biospecimen-genomic-files"
# A PATCH of size/hashes makes a new indexd version: these move, the rest is restored.
VERSION_FIELDS = ("modified_at", "latest_did", "access_urls")
SE_LINK_LIST = "sequencing_experiment_genomic_files"


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=4, seed=29, workdir=tmp_path / "sandbox") as running:
        yield running


def ingest(stack, reports):
    result = run_ingest(stack.info, reports, dry_run=False)
    assert result.success
    return reports / result.run_id / "report.json"


def undo(stack, report, *, dry_run: bool, **dataservice_options):
    return run_undo(stack.info["dataservice_url"], report, dry_run=dry_run, **dataservice_options)


def counts(report, result) -> dict:
    return undo_json(report, result.run_id)["counts"]


def actions_by_kf_id(report, result) -> dict[str, dict]:
    return {a["kf_id"]: a for a in undo_json(report, result.run_id)["actions"]}


def test_undo_takes_back_exactly_what_the_run_created(stack, tmp_path):
    service = stack.dataservice
    before = stored_state(stack)
    report = ingest(stack, tmp_path / "reports")
    loaded = stored_state(stack)
    assert len(loaded["/genomic-files"]) == len(before["/genomic-files"]) + len(stack.study.harmonized)

    service.reset_counts()
    dry = undo(stack, report, dry_run=True)
    assert dry.success
    assert service.write_count() == 0
    assert stored_state(stack) == loaded
    planned = counts(report, dry)
    assert planned["genomic_files"]["deleted"] == len(stack.study.harmonized)
    assert all(c["skipped"] == 0 and c["failed"] == 0 for c in planned.values())

    # Some DELETEs refused: the undo fails (non-zero exit), loses no experiment, can be rerun.
    service.set_faults(FaultConfig(error_rate=0.3, error_statuses=(400,), methods=("DELETE",),
                                   seed=5))
    faulty = undo(stack, report, dry_run=False)
    service.set_faults(None)
    assert not faulty.success
    assert undo_json(report, faulty.run_id)["status"] == "failed"
    assert sum(c["failed"] for c in counts(report, faulty).values()) > 0
    experiments = list_all(stack.info["dataservice_url"], "/sequencing-experiments")
    assert {e["kf_id"] for e in experiments} == set(before["/sequencing-experiments"])

    real = undo(stack, report, dry_run=False)
    assert real.success
    assert stored_state(stack) == before
    done = counts(report, real)
    assert all(c["failed"] == 0 for c in done.values())
    assert sum(c["deleted"] + c["skipped"] for c in done.values()) == \
        sum(c["deleted"] for c in planned.values())

    service.reset_counts()
    again = undo(stack, report, dry_run=False)
    assert again.success
    assert service.write_count() == 0
    assert all(c["deleted"] == 0 and c["skipped"] == planned[step]["deleted"]
               for step, c in counts(report, again).items())
    assert stored_state(stack) == before


@pytest.mark.slow  # make test-e2e (CI): tens of seconds
def test_undo_keeps_a_file_curated_after_the_run_and_counts_lost_delete_answers_as_done(
        stack, tmp_path):
    """A curator changed one created file's acl: undo leaves it and its links, and says why.
    Every other DELETE is done, also those whose answer was lost and whose retry got 404."""
    service, url = stack.dataservice, stack.info["dataservice_url"]
    before = stored_state(stack)
    report = ingest(stack, tmp_path / "reports")
    [curated] = stored_files(url, stack.study.harmonized[0].filepath)
    assert requests.patch(f"{url}/genomic-files/{curated['kf_id']}", timeout=10,
                          json={"acl": ["/programs/curated"]}).ok
    kept = {curated["kf_id"]} | {item["kf_id"] for endpoint in (BS_LINKS, SE_LINKS)
                                 for item in list_all(url, endpoint, genomic_file_id=curated["kf_id"])}

    service.reset_counts()
    service.set_faults(FaultConfig(lost_response_rate=0.3, methods=("DELETE",), seed=3))
    result = undo(stack, report, dry_run=False, max_retries=10)
    service.set_faults(None)

    assert result.success
    actions = actions_by_kf_id(report, result)
    assert actions[curated["kf_id"]]["status"] == "skipped"
    assert actions[curated["kf_id"]]["reason"].startswith("changed since the run (acl ")
    assert {kf for kf, a in actions.items() if a["status"] == "skipped"} == kept
    done = [kf for kf, a in actions.items() if a["status"] == "done"]
    assert len(done) == len(actions) - len(kept)
    deletes = sum(n for name, n in service.request_counts().items() if name.startswith("DELETE"))
    assert deletes > len(done)  # some answers were lost: their retries found the record gone
    after = stored_state(stack)
    assert without_fields(after, (SE_LINK_LIST,), None) == without_fields(
        {name: {**records, **{kf: after[name][kf] for kf in kept if kf in after[name]}}
         for name, records in before.items()}, (SE_LINK_LIST,), None)
    assert after["/genomic-files"][curated["kf_id"]]["acl"] == ["/programs/curated"]


@pytest.mark.e2e  # slow (several job runs): make test-e2e
def test_undo_of_a_patching_run_then_of_a_run_whose_records_others_changed(stack, tmp_path):
    """Two undos on one sandbox (one ingest fewer): the later run's PATCH is restored, then
    the earlier run's records that others changed meanwhile are skipped and reported."""
    reports = tmp_path / "reports"
    first_report = ingest(stack, reports)
    undo_patching_run_restores_previous_values(stack, reports)
    undo_skips_and_reports_records_changed_since_the_run(stack, first_report)


def undo_patching_run_restores_previous_values(stack, reports):
    url = stack.info["dataservice_url"]
    target = next(h for h in stack.study.harmonized
                  if not h.multipart and h.storage_class == "STANDARD")
    [first] = stored_files(url, target.filepath)
    before = stored_state(stack)
    stack.s3.client().put_object(Bucket=stack.study.bucket, Key=target.key, Body=b"re-harmonized!")
    report = ingest(stack, reports)
    [patched] = stored_files(url, target.filepath)
    assert patched["kf_id"] == first["kf_id"]
    assert patched["hashes"]["md5"] == hashlib.md5(b"re-harmonized!").hexdigest()

    result = undo(stack, report, dry_run=False)
    assert result.success
    [restored] = stored_files(url, target.filepath)
    assert restored["kf_id"] == first["kf_id"]
    assert (restored["size"], restored["hashes"]) == (first["size"], first["hashes"])
    assert without_fields(stored_state(stack), VERSION_FIELDS, {first["kf_id"]}) == \
        without_fields(before, VERSION_FIELDS, {first["kf_id"]})
    assert counts(report, result)["genomic_files"] == \
        {"deleted": 0, "restored": 1, "skipped": 0, "failed": 0}

    again = undo(stack, report, dry_run=False)
    assert again.success
    assert actions_by_kf_id(report, again)[first["kf_id"]]["reason"] == \
        "already has the previous values"


def created_records(stack) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Per created file kf_id: its (link kf_id, target kf_id) pairs, read from the sandbox."""
    url = stack.info["dataservice_url"]
    files = {}
    for harmonized in stack.study.harmonized:
        [record] = stored_files(url, harmonized.filepath)
        gf = record["kf_id"]
        files[gf] = {
            "bs": [(i["kf_id"], link_id(i, "biospecimen"))
                   for i in list_all(url, BS_LINKS, genomic_file_id=gf)],
            "se": [(i["kf_id"], link_id(i, "sequencing_experiment"))
                   for i in list_all(url, SE_LINKS, genomic_file_id=gf)]}
    return files


def undo_skips_and_reports_records_changed_since_the_run(stack, report):
    url = stack.info["dataservice_url"]
    created = created_records(stack)
    # An experiment whose source links someone deleted: the run's links are its last ones.
    experiment = next(se for links in created.values() for _, se in links["se"])
    last_links = {sg for links in created.values() for sg, se in links["se"] if se == experiment}
    for item in list_all(url, SE_LINKS, sequencing_experiment_id=experiment):
        if item["kf_id"] not in last_links:
            assert requests.delete(f"{url}{SE_LINKS}/{item['kf_id']}", timeout=10).ok
    on_experiment = {gf for gf, links in created.items()
                     if any(se == experiment for _, se in links["se"])}
    deleted_file, repointed_file = [gf for gf in created if gf not in on_experiment][:2]
    # A file someone deleted (with its links), and a link someone re-pointed.
    assert requests.delete(f"{url}/genomic-files/{deleted_file}", timeout=10).ok
    repointed, old_bs = created[repointed_file]["bs"][0]
    new_bs = next(b for b in stored_state(stack)["/biospecimens"]
                  if b not in {bs for _, bs in created[repointed_file]["bs"]})
    assert requests.patch(f"{url}{BS_LINKS}/{repointed}", json={"biospecimen_id": new_bs},
                          timeout=10).ok
    tampered = stored_state(stack)

    result = undo(stack, report, dry_run=False)
    assert result.success
    kept_files = on_experiment | {repointed_file}
    kept = kept_files | links_of(created, kept_files)
    gone_before = {deleted_file} | links_of(created, {deleted_file})
    undone = set(created) - kept_files - {deleted_file}
    removed = undone | links_of(created, undone)
    after = stored_state(stack)
    everything = {kf for records in after.values() for kf in records}
    assert not (removed | gone_before) & everything
    assert kept <= everything
    assert link_id(after[BS_LINKS][repointed], "biospecimen") == new_bs
    assert experiment in after["/sequencing-experiments"]
    # Everything else is as it was; experiments list their links, some of which undo deleted.
    untouched = {name: {kf: r for kf, r in records.items() if kf not in removed}
                 for name, records in tampered.items()}
    assert without_fields(after, (SE_LINK_LIST,)) == without_fields(untouched, (SE_LINK_LIST,))

    actions = actions_by_kf_id(report, result)
    assert all(actions[kf]["reason"] == "already gone" for kf in gone_before)
    assert actions[repointed]["status"] == "skipped"
    assert actions[repointed]["reason"].startswith("changed since the run (biospecimen_id")
    assert repointed in actions[repointed_file]["reason"]
    assert all(experiment in actions[sg]["reason"] for sg in last_links)
    assert all(actions[kf]["status"] == "skipped" for kf in kept)
    assert all(actions[kf]["status"] == "done" for kf in removed)


def links_of(created: dict, files: set[str]) -> set[str]:
    return {link for gf in files for kind in ("bs", "se") for link, _ in created[gf][kind]}


def test_undo_skips_a_file_edited_after_the_run_in_a_field_the_run_never_wrote(stack, tmp_path):
    """The run keeps each record's modified_at as it left it: a later edit of a field outside
    the run's bodies (here data_category) still keeps the file, its links and the reason."""
    url = stack.info["dataservice_url"]
    report = ingest(stack, tmp_path / "reports")
    [edited] = stored_files(url, stack.study.harmonized[0].filepath)
    assert requests.patch(f"{url}/genomic-files/{edited['kf_id']}", timeout=10,
                          json={"data_category": "Genomics"}).ok
    result = undo(stack, report, dry_run=False)
    assert result.success
    actions = actions_by_kf_id(report, result)
    assert actions[edited["kf_id"]]["status"] == "skipped"
    assert "modified_at" in actions[edited["kf_id"]]["reason"]
    [still] = stored_files(url, stack.study.harmonized[0].filepath)
    assert still["kf_id"] == edited["kf_id"] and still["data_category"] == "Genomics"
    others = [h for h in stack.study.harmonized[1:]]
    assert all(stored_files(url, h.filepath) == [] for h in others)


# -- experiments of other studies that the DataService sweeps (issue 19 item 4) ----------

EXPERIMENTS = "/sequencing-experiments"
TIMESTAMPS = ("created_at", "modified_at")


def other_loaders_experiment(url: str) -> str:
    """Another study's experiment, just created by its loader and not linked yet: the
    DataService deletes it at any experiment-link delete (contract 117-118)."""
    def post(endpoint: str, body: dict) -> str:
        return post_record(url, endpoint, body)

    study = post("/studies", {"external_id": "other-loader"})
    center = post("/sequencing-centers", {"name": f"center of {study}"})
    return post(EXPERIMENTS, {
        "external_id": "SE-OTHER-UNLINKED", "experiment_strategy": "WXS", "is_paired_end": False,
        "platform": "Illumina", "sequencing_center_id": center, "library_name": "LIB-X",
        "experiment_date": "2024-05-01T00:00:00+00:00", "mean_depth": 31.5,
        "total_reads": 12345, "visible": False, "visibility_comment": "held back"})


def stored_experiment(url: str, kf_id: str) -> requests.Response:
    return requests.get(f"{url}{EXPERIMENTS}/{kf_id}", timeout=10)


def without_timestamps(answer: dict) -> dict:
    """An experiment's answer (fields and _links) less its output-only timestamps."""
    return {"_links": answer["_links"],
            "results": {k: v for k, v in answer["results"].items() if k not in TIMESTAMPS}}


def test_undo_restores_another_studys_link_less_experiment_that_the_dataservice_swept(
        stack, tmp_path):
    """The run's link deletes make the DataService delete the other study's unlinked
    experiment; undo says so in its dry run, re-creates it exactly under its kf_id (only
    the output-only timestamps are new) and leaves everything else as before the ingest."""
    service, url = stack.dataservice, stack.info["dataservice_url"]
    other = other_loaders_experiment(url)
    original = stored_experiment(url, other).json()
    before = stored_state(stack)
    report = ingest(stack, tmp_path / "reports")

    service.reset_counts()
    dry = undo(stack, report, dry_run=True)
    assert dry.success and service.write_count() == 0
    planned = actions_by_kf_id(report, dry)[other]
    assert (planned["operation"], planned["status"]) == ("recreate", "planned")
    sweep = undo_json(report, dry.run_id)["experiment_sweep"]
    assert sweep["link_less"] == 1 and sweep["by_status"] == {"planned": [other]}
    markdown = (report.parent / f"undo-{dry.run_id}.md").read_text()
    assert other in markdown and "SE-OTHER-UNLINKED" in markdown and "study is unknown" in markdown

    service.reset_counts()
    real = undo(stack, report, dry_run=False)
    assert real.success
    done = actions_by_kf_id(report, real)[other]
    assert done["status"] == "done" and "swept" in done["reason"]  # it was swept, and is back
    assert service.request_counts().get("POST /sequencing-experiments") == 1
    restored = stored_experiment(url, other)
    assert restored.status_code == 200
    assert without_timestamps(restored.json()) == without_timestamps(original)
    assert without_fields(stored_state(stack), TIMESTAMPS, {other}) == \
        without_fields(before, TIMESTAMPS, {other})
    assert undo_json(report, real.run_id)["experiment_sweep"]["unseen_window"]["to"]


def test_undo_that_cannot_restore_a_swept_experiment_fails_naming_it_and_how(stack, tmp_path):
    """Every POST refused: the undo fails (non-zero exit) naming the experiment and how to
    restore it, and the body its report keeps restores it exactly."""
    service, url = stack.dataservice, stack.info["dataservice_url"]
    report = ingest(stack, tmp_path / "reports")
    other = other_loaders_experiment(url)
    original = stored_experiment(url, other).json()

    service.set_faults(FaultConfig(error_rate=1.0, error_statuses=(400,), methods=("POST",)))
    result = undo(stack, report, dry_run=False)
    service.set_faults(None)

    assert not result.success
    message = result.failure_data_for_node("undo_ingest").user_failure_data.description
    assert other in message and "NOT restored" in message
    assert f"POST {EXPERIMENTS}" in message and f"undo-{result.run_id}.json" in message
    assert stored_experiment(url, other).status_code == 404  # swept, and undo said so
    action = actions_by_kf_id(report, result)[other]
    assert action["status"] == "failed"

    answer = requests.post(f"{url}{EXPERIMENTS}", json=action["details"]["body"], timeout=10)
    assert answer.status_code == 201, answer.text
    assert without_timestamps(stored_experiment(url, other).json()) == \
        without_timestamps(original)


def test_undo_persists_the_experiment_snapshot_before_its_first_delete(stack, tmp_path,
                                                                       monkeypatch):
    """An undo killed as it starts writing has already written the link-less experiments'
    records to its report (status writing) and to the run's event log."""
    from dagster import DagsterInstance

    from gwo_assets.undo.apply import Undoer

    url = stack.info["dataservice_url"]
    report = ingest(stack, tmp_path / "reports")
    other = other_loaders_experiment(url)

    def killed(self, actions, report_name=""):
        raise RuntimeError("killed before the first delete")

    monkeypatch.setattr(Undoer, "write", killed)
    instance = DagsterInstance.ephemeral()
    result = run_undo(url, report, dry_run=False, instance=instance)

    assert not result.success
    kept = undo_json(report, result.run_id)
    assert kept["status"] == "writing"
    [action] = [a for a in kept["actions"] if a["kf_id"] == other]
    assert action["details"]["body"]["kf_id"] == other
    assert action["details"]["body"]["external_id"] == "SE-OTHER-UNLINKED"
    logged = [e.user_message for e in instance.all_logs(result.run_id)
              if "Link-less experiment snapshot" in (e.user_message or "")]
    assert any(f'"kf_id": "{other}"' in line for line in logged)
    assert stored_experiment(url, other).status_code == 200  # nothing was deleted
