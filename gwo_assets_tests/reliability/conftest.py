"""Fixtures and stored-state helpers for the reliability and security tests.

Everything here reads the sandbox with plain ``requests`` (via ``support``) or the
sandbox's own counters, never the pipeline's output, so the assertions stand on
what the DataService really holds.
"""

from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from gwo_assets.sandbox.dataservice.http11 import _Handler
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.e2e.conftest import process_env  # noqa: F401  (fixture, used by e2e tests here)
from gwo_assets_tests.support import list_all, link_id, stored_files

SPECIMENS = 12


@pytest.fixture(autouse=True)
def _sandbox_aws(monkeypatch):
    """Dummy credentials for moto; a test may override them (the secrets tests do)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "KF_DATASERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def make_stack(tmp_path) -> Iterator[Callable[..., SandboxStack]]:
    """``make_stack(seed=..., faults=...)`` starts a sandbox with a generated study; all are
    stopped at teardown."""
    started: list[SandboxStack] = []

    def make(seed: int = 11, **options) -> SandboxStack:
        stack = SandboxStack(specimens=options.pop("specimens", SPECIMENS), seed=seed,
                             workdir=tmp_path / f"sandbox-{len(started)}", **options).start()
        started.append(stack)
        return stack

    yield make
    for stack in started:
        stack.stop()


@pytest.fixture
def stack(make_stack) -> SandboxStack:
    return make_stack()


@pytest.fixture
def received_headers(monkeypatch) -> list[dict[str, str]]:
    """The headers of every request the in-process sandbox servers read (lower-case names).

    The sandbox DataService does not record headers itself, so its HTTP handler is
    wrapped for the test: this is what arrived on the wire, whoever sent it (an
    in-process run or a CLI subprocess).
    """
    seen: list[dict[str, str]] = []
    original = _Handler._read_headers

    def recording(self):
        headers = original(self)
        if headers is not None:
            seen.append(dict(headers))
        return headers

    monkeypatch.setattr(_Handler, "_read_headers", recording)
    return seen


# -- stored state ---------------------------------------------------------------------


def harmonized_records(stack: SandboxStack) -> dict[str, list[dict]]:
    """Every stored genomic file per manifest Filepath (found by external_id, so files
    without any link are seen too)."""
    url = stack.info["dataservice_url"]
    return {h.filepath: stored_files(url, h.filepath) for h in stack.study.harmonized}


def study_link_pairs(stack: SandboxStack, endpoint: str, relation: str) -> Counter:
    """(genomic_file_id, target_id) -> how many stored links of the study join them."""
    url, study_id = stack.info["dataservice_url"], stack.study.study_id
    return Counter((link_id(item, "genomic_file"), link_id(item, relation))
                   for item in list_all(url, endpoint, study_id=study_id))


def file_link_pairs(stack: SandboxStack, endpoint: str, relation: str,
                    file_ids: list[str]) -> Counter:
    """Like ``study_link_pairs`` but per genomic file (links of files the study read misses)."""
    url = stack.info["dataservice_url"]
    return Counter((gf_id, link_id(item, relation))
                   for gf_id in file_ids
                   for item in list_all(url, endpoint, genomic_file_id=gf_id))


def assert_no_duplicates(stack: SandboxStack) -> None:
    """At most one genomic file per external_id, at most one link per pair."""
    records = harmonized_records(stack)
    duplicated = {path: [r["kf_id"] for r in found] for path, found in records.items() if len(found) > 1}
    assert not duplicated, f"duplicate genomic files: {duplicated}"
    file_ids = [r["kf_id"] for found in records.values() for r in found]
    for endpoint, relation in (("/biospecimen-genomic-files", "biospecimen"),
                               ("/sequencing-experiment-genomic-files", "sequencing_experiment")):
        for pairs in (study_link_pairs(stack, endpoint, relation),
                      file_link_pairs(stack, endpoint, relation, file_ids)):
            repeated = {pair: n for pair, n in pairs.items() if n > 1}
            assert not repeated, f"duplicate {endpoint}: {repeated}"


def stored_counts(stack: SandboxStack) -> dict[str, int]:
    """How many of the study's harmonized files and their links are stored right now."""
    records = harmonized_records(stack)
    file_ids = [r["kf_id"] for found in records.values() for r in found]
    return {
        "genomic_files": sum(1 for found in records.values() if found),
        "biospecimen_genomic_files": sum(file_link_pairs(
            stack, "/biospecimen-genomic-files", "biospecimen", file_ids).values()),
        "sequencing_experiment_genomic_files": sum(file_link_pairs(
            stack, "/sequencing-experiment-genomic-files", "sequencing_experiment",
            file_ids).values()),
    }


def expected_counts(stack: SandboxStack) -> dict[str, int]:
    """The same counts for a completely loaded study, from the generator's ground truth."""
    study = stack.study
    return {
        "genomic_files": len(study.harmonized),
        "biospecimen_genomic_files": sum(len(h.biospecimens) for h in study.harmonized),
        "sequencing_experiment_genomic_files": sum(
            len({study.source_file(u).experiment_id for u in h.source_reads})
            for h in study.harmonized),
    }
