"""Filler: other studies' genomic files in the sandbox, invisible to a study, found by external_id."""

import sqlite3

import pytest
import requests

from gwo_assets.sandbox.dataservice import SandboxDataService, filler
from gwo_assets.sandbox.dataservice.kf_ids import new_kf_id
from gwo_assets.sandbox.dataservice.store import schema_sql
from gwo_assets.sandbox.dataservice.schema import RESOURCES
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.sandbox.conftest import Api, add_experiment, add_file, create_study

FILES = 2_000


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("filler-cache")


@pytest.fixture
def filled(cache):
    with SandboxDataService(filler_files=FILES, filler_cache=cache) as service:
        yield service


def test_filler_holds_other_studies_files_with_links_and_indexd_fields(filled):
    api = Api(filled.url)
    counts = filler.FillerCounts(FILES)
    files = api.list("/genomic-files", limit=1000)
    assert files["total"] == FILES
    assert api.list("/biospecimen-genomic-files", limit=1)["total"] == counts.linked_files
    assert api.list("/sequencing-experiment-genomic-files", limit=1)["total"] == counts.linked_files
    assert api.list("/studies", limit=1)["total"] == counts.studies
    first = files["results"][0]
    assert first["urls"] == [first["external_id"]] and first["size"] > 0
    assert len(first["hashes"]["md5"]) == 32 and first["latest_did"] and first["acl"]
    assert first["access_urls"] == [f"gen3/data/{first['latest_did']}"]
    # a linked filler file is its study's; a link-less one (every 50th) nobody's
    study_id = api.list("/studies", limit=1)["results"][0]["kf_id"]
    in_study = api.list("/genomic-files", study_id=study_id, limit=1)["total"]
    assert 0 < in_study < FILES
    with sqlite3.connect(filled.db_path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_filler_is_invisible_to_a_study_and_external_id_finds_the_right_record(filled):
    api = Api(filled.url)
    study = create_study(api)
    experiment = add_experiment(api, study)
    mine = add_file(api, study, "mine.cram", experiment_id=experiment)
    orphan = add_file(api, study, "orphan.cram", link_biospecimen=False)
    for path in ("/genomic-files", "/biospecimen-genomic-files",
                 "/sequencing-experiment-genomic-files", "/sequencing-experiments",
                 "/biospecimens", "/participants"):
        page = api.list(path, study_id=study.study_id, limit=1000)
        assert page["total"] == len(page["results"]) <= 2, path
    assert [f["kf_id"] for f in api.list("/genomic-files", study_id=study.study_id)["results"]] \
        == [mine]
    for kf_id, name in ((mine, "mine.cram"), (orphan, "orphan.cram")):
        found = api.list("/genomic-files", external_id=f"s3://bucket/{name}")
        assert (found["total"], [f["kf_id"] for f in found["results"]]) == (1, [kf_id])
    some_filler = api.list("/genomic-files", limit=1)["results"][0]
    found = api.list("/genomic-files", external_id=some_filler["external_id"])
    assert (found["total"], found["results"][0]["kf_id"]) == (1, some_filler["kf_id"])
    assert api.list("/genomic-files", external_id="s3://bucket/none")["total"] == 0
    assert api.list("/genomic-files", limit=1)["total"] == FILES + 2


def test_no_index_on_external_id_and_a_filtered_page_scans_instead_of_walking_created_at(filled):
    with sqlite3.connect(filled.db_path) as conn:
        indexed = {row[0] for row in conn.execute(
            "SELECT il.name FROM sqlite_master m, pragma_index_list(m.name) l, "
            "pragma_index_info(l.name) il WHERE m.type = 'table' AND m.name = 'genomic_file'")}
        assert "external_id" not in indexed
        plan = " ".join(str(row[3]) for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM genomic_file WHERE external_id = ? AND "
            "(+created_at > ? OR (+created_at = ? AND uuid > ?)) ORDER BY +created_at, uuid "
            "LIMIT 10", ("x", 0, 0, "")))
        assert "SCAN genomic_file" in plan and "created_at_uuid" not in plan


def test_filler_kf_ids_are_reserved_from_the_sandboxs_own_ids():
    ids = [filler.filler_kf_id("GF", n) for n in (0, 1, 7, FILES, filler.RESERVED_IDS - 1)]
    assert all(filler.is_filler_kf_id(kf_id) for kf_id in ids)
    assert len(set(ids)) == len(ids)
    assert not filler.is_filler_kf_id("GF_00000000") and not filler.is_filler_kf_id("GF_SHORT")
    assert not any(filler.is_filler_kf_id(new_kf_id("BG")) for _ in range(2_000))


def test_template_is_built_once_per_size_and_copied(cache, tmp_path):
    template = filler.template_path(FILES, cache)
    filler.prepare(tmp_path / "a.sqlite3", FILES, cache)
    built = template.stat().st_mtime_ns
    filler.prepare(tmp_path / "b.sqlite3", FILES, cache)
    assert template.stat().st_mtime_ns == built
    assert (tmp_path / "b.sqlite3").stat().st_size == template.stat().st_size
    assert template.name == f"filler-{FILES}-v{filler.FILLER_VERSION}-{schema_hash()}.sqlite3"
    with pytest.raises(ValueError, match="new database"):
        filler.prepare(tmp_path / "b.sqlite3", FILES, cache)


def schema_hash() -> str:
    import hashlib

    return hashlib.sha256(schema_sql(RESOURCES).encode()).hexdigest()[:12]


def test_stack_with_filler_generates_its_study_beside_it(tmp_path, cache):
    with SandboxStack(specimens=2, seed=3, workdir=tmp_path, filler_files=500,
                      filler_cache=cache) as stack:
        url = stack.info["dataservice_url"]
        study = stack.study
        files = requests.get(f"{url}/genomic-files", params={"study_id": study.study_id,
                                                             "limit": 1000}, timeout=30).json()
        everything = requests.get(f"{url}/genomic-files", params={"limit": 1}, timeout=30).json()
        assert stack.info["filler_files"] == 500
    assert files["total"] == study.counts["source_genomic_files"] > 0
    assert everything["total"] == 500 + files["total"]
