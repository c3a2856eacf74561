"""The safety tests again, against a DataService that also holds other studies' files (issue 20).

A real DataService holds ~1 M genomic files of other studies; the sandbox's filler gives it
that shape at a small size: other studies' files (2 % of them link-less, invisible to a
study read), no index on ``external_id``, a ``total`` count per list request. Each test below
is the original test function, collected here a second time: its ``stack`` / ``make_stack``
is this module's, which starts the same study (same seed and size as the original module's
fixture) beside ``FILLER_FILES`` filler files. Cases: another tool's link-less file reused
(with and without indexd), another study's file never touched, a lost POST answer or a late
commit never a second record. The last test checks the filler itself is left as it was.

They run again what ``make test`` already runs, only beside the filler, so they are in the
slower suite (``make test-e2e``, which CI runs too).
"""

import requests
import pytest

from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.assets.test_indexd_lookups import (  # noqa: F401  (collected here again)
    test_a_linkless_file_of_another_tool_is_still_found_and_reused_with_indexd,
    test_another_studys_file_is_still_never_touched_with_indexd)
from gwo_assets_tests.assets.test_ingest_job import (  # noqa: F401
    assert_study_loaded, test_a_linkless_file_left_by_another_tool_is_reused_and_linked_by_default)
from gwo_assets_tests.errors.test_existing_files import (  # noqa: F401
    test_a_file_of_another_study_stops_the_run_before_any_write,
    test_a_lost_post_answer_resolves_to_the_file_that_post_created,
    test_a_lost_post_never_resolves_to_another_studys_record_with_the_same_body)
from gwo_assets_tests.reliability.test_late_commit import (  # noqa: F401
    test_504_now_and_commit_seconds_later_leaves_one_record_per_file)
from gwo_assets_tests.support import run_ingest

pytestmark = pytest.mark.slow

FILLER_FILES = 20_000

# The study each original module's ``stack`` fixture starts: (specimens, seed).
ORIGINAL_STACKS = {
    "gwo_assets_tests.assets.test_indexd_lookups": (12, 11),
    "gwo_assets_tests.assets.test_ingest_job": (12, 11),
    "gwo_assets_tests.errors.test_existing_files": (4, 41),
    "gwo_assets_tests.reliability.test_late_commit": (12, 11),
}


@pytest.fixture(scope="module")
def filler_cache(tmp_path_factory):
    """One filled template per test process (built once, ~1 s; copied per sandbox)."""
    return tmp_path_factory.mktemp("filler-cache")


@pytest.fixture
def make_stack(make_stack, filler_cache):
    """reliability/conftest.py's ``make_stack``, every sandbox beside the filler."""
    def make(seed: int = 11, **options) -> SandboxStack:
        return make_stack(seed=seed, filler_files=FILLER_FILES, filler_cache=filler_cache,
                          **options)

    return make


@pytest.fixture
def stack(request, make_stack) -> SandboxStack:
    specimens, seed = ORIGINAL_STACKS.get(request.function.__module__, (12, 11))
    return make_stack(seed=seed, specimens=specimens)


def test_the_filler_is_real_and_a_load_beside_it_touches_none_of_it(stack, tmp_path):
    """The filler is there and has the cost profile (look-ups are answered from it); the
    load adds exactly its own files and writes nothing else."""
    url = stack.info["dataservice_url"]
    total = requests.get(f"{url}/genomic-files", params={"limit": 1}, timeout=30).json()["total"]
    study_files_before = total - FILLER_FILES
    sample = requests.get(f"{url}/genomic-files", params={"limit": 100}, timeout=30).json()
    before = {r["kf_id"]: (r["modified_at"], r["external_id"]) for r in sample["results"]}
    stack.dataservice.reset_counts()

    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False)

    assert result.success
    assert_study_loaded(stack)
    counts = stack.dataservice.request_counts()
    new_files = len(stack.study.harmonized)
    assert counts["POST /genomic-files"] == new_files
    assert not any(key.startswith(("PATCH", "DELETE")) for key in counts)
    after = requests.get(f"{url}/genomic-files", params={"limit": 1}, timeout=30).json()["total"]
    assert after == FILLER_FILES + study_files_before + new_files
    for kf_id, stored in before.items():
        record = requests.get(f"{url}/genomic-files/{kf_id}", timeout=30).json()["results"]
        assert (record["modified_at"], record["external_id"]) == stored
