"""The synthetic study: its plan and manifest (pure), then the study a stack serves (HTTP + S3)."""

import csv
import zipfile

import pandas as pd
import pytest
import requests

from gwo_assets.core.enums import DATA_TYPES, EXPERIMENT_STRATEGIES, WORKFLOW_TYPES
from gwo_assets.core.kf_ids import is_kf_id
from gwo_assets.core.s3_uris import parse_s3_uri
from gwo_assets.sandbox.generator import MANIFEST_COLUMNS
from gwo_assets.sandbox.generator.manifest import manifest_rows, write_manifest
from gwo_assets.sandbox.generator.plan import plan_study
from gwo_assets.sandbox.stack import SandboxStack

SPECIMENS = 16
SEED = 11


@pytest.fixture(scope="module")
def plan():
    return plan_study(specimens=SPECIMENS, seed=SEED, bucket="gwo-sandbox")


def _rows(plan):
    return [dict(zip(MANIFEST_COLUMNS, row)) for row in manifest_rows(plan)]


# -- the plan and its manifest, no servers ------------------------------------------------


def test_plan_is_a_function_of_seed_and_size(plan):
    assert plan_study(specimens=SPECIMENS, seed=SEED, bucket="gwo-sandbox") == plan
    assert plan_study(specimens=SPECIMENS, seed=SEED + 1, bucket="gwo-sandbox").study_id != plan.study_id


@pytest.mark.parametrize("specimens", [1, 2, 3, 4, 7, 50])
def test_plan_has_exactly_the_requested_specimens(specimens):
    assert len(plan_study(specimens=specimens, seed=3, bucket="b-1").biospecimens) == specimens


def test_every_kf_id_is_valid_and_unique(plan):
    ids = [plan.study_id, *(c.kf_id for c in plan.sequencing_centers), *(f.kf_id for f in plan.families),
           *(p.kf_id for p in plan.participants), *(b.kf_id for b in plan.biospecimens),
           *(e.kf_id for e in plan.experiments)]
    ids += [i for f in plan.source_files for i in (f.kf_id, f.biospecimen_link_id, f.experiment_link_id)]
    assert all(is_kf_id(i) for i in ids)
    assert len(ids) == len(set(ids))


def test_about_three_harmonized_files_per_specimen():
    big = plan_study(specimens=300, seed=5, bucket="gwo-sandbox")
    assert 2.5 <= len(big.harmonized) / len(big.biospecimens) <= 3.5


def test_manifest_uses_only_values_the_dataservice_accepts(plan):
    rows = _rows(plan)
    assert {r["Data Type"] for r in rows} <= DATA_TYPES
    assert {r["Workflow Type"] for r in rows} <= WORKFLOW_TYPES
    assert {e.strategy for e in plan.experiments} <= EXPERIMENT_STRATEGIES
    assert all(parse_s3_uri(r["Filepath"])[1].startswith("harmonized/") for r in rows)
    assert all(parse_s3_uri(r["Source Read"])[1].startswith("source/") for r in rows)


def test_one_row_per_harmonized_file_and_source_read(plan):
    rows = _rows(plan)
    pairs = [(r["Filepath"], r["Source Read"]) for r in rows]
    assert len(pairs) == len(set(pairs)) == sum(len(h.source_reads) for h in plan.harmonized)
    per_file = pd.Series([r["Filepath"] for r in rows]).value_counts()
    assert per_file.max() >= 2  # e.g. a cram aligned from two fastqs


def test_somatic_rows_name_tumor_and_normal_and_read_from_both(plan):
    sources = {f.url: f for f in plan.source_files}
    specimens = {b.kf_id: b for b in plan.biospecimens}
    somatic = [r for r in _rows(plan) if r["Workflow Type"] == "Somatic-Mutation"]
    assert somatic
    for row in somatic:
        tumor, normal = row["KF Biospecimen ID"].split(",")
        assert (specimens[tumor].tissue, specimens[normal].tissue) == ("Tumor", "Normal")
        assert specimens[tumor].participant.kf_id == row["KF Participant ID"]
    for filepath in {r["Filepath"] for r in somatic}:
        read_specimens = {sources[r["Source Read"]].biospecimen_id for r in somatic if r["Filepath"] == filepath}
        assert len(read_specimens) == 2


def test_rnaseq_outputs_read_only_rnaseq_reads_even_on_a_shared_biospecimen(plan):
    sources = {f.url: f for f in plan.source_files}
    strategy_of = {e.kf_id: e.strategy for e in plan.experiments}
    rows = _rows(plan)
    rna_reads = {strategy_of[sources[r["Source Read"]].experiment_id]
                 for r in rows if r["Workflow Type"] == "RNAseq-Analysis"}
    dna_reads = {strategy_of[sources[r["Source Read"]].experiment_id]
                 for r in rows if r["Workflow Type"] != "RNAseq-Analysis"}
    assert rna_reads == {"RNA-Seq"}
    assert "RNA-Seq" not in dna_reads
    strategies_per_specimen = {}
    for experiment in plan.experiments:
        strategies_per_specimen.setdefault(experiment.biospecimen.kf_id, set()).add(experiment.strategy)
    assert any(len(s) == 2 and "RNA-Seq" in s for s in strategies_per_specimen.values())


def test_families_appear_in_the_manifest_and_singletons_leave_it_blank(plan):
    family_ids = {r["KF Family ID"] for r in _rows(plan)}
    assert "" in family_ids
    assert family_ids - {""} <= {f.kf_id for f in plan.families}
    assert family_ids - {""}


def test_outputs_include_multipart_archived_and_md5_tagged_objects(plan):
    classes = {h.storage_class for h in plan.harmonized}
    assert {"STANDARD", "GLACIER", "DEEP_ARCHIVE"} <= classes
    multipart = [h for h in plan.harmonized if h.multipart]
    assert 2 <= len(multipart) <= 3
    assert any(h.md5_metadata for h in multipart) and not all(h.md5_metadata for h in multipart)
    assert any(h.md5_metadata for h in plan.harmonized if not h.multipart)


@pytest.mark.parametrize("manifest_format", ["tsv", "csv", "xlsx"])
def test_manifest_files_are_byte_for_byte_reproducible(plan, tmp_path, manifest_format):
    first, second = tmp_path / f"a.{manifest_format}", tmp_path / f"b.{manifest_format}"
    write_manifest(plan, first, manifest_format)
    write_manifest(plan_study(specimens=SPECIMENS, seed=SEED, bucket="gwo-sandbox"), second,
                   manifest_format)
    assert first.read_bytes() == second.read_bytes()
    if manifest_format == "xlsx":
        # openpyxl stamps the save time into core.xml: pinned, or writes a second apart differ
        core = zipfile.ZipFile(first).read("docProps/core.xml")
        assert b">2020-01-01T00:00:00Z</dcterms:modified>" in core
        frame = pd.read_excel(first, dtype=str, keep_default_na=False)
    else:
        frame = pd.read_csv(first, sep="\t" if manifest_format == "tsv" else ",", dtype=str,
                            keep_default_na=False)
    assert tuple(frame.columns) == MANIFEST_COLUMNS
    assert [tuple(r) for r in frame.itertuples(index=False)] == manifest_rows(plan)


# -- the study a stack generates, read back over HTTP and S3 --------------------------------


def _list_all(base_url, path, **params):
    """Every item of a DataService list (studies here are far below the 1000 cap)."""
    response = requests.get(f"{base_url}{path}", params={**params, "limit": 1000}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert body["total"] <= 1000
    return body["results"]


def _study_kf_ids(base_url, study_id):
    ids = {study_id}
    for path in ("/participants", "/biospecimens", "/genomic-files", "/sequencing-experiments",
                 "/sequencing-experiment-genomic-files", "/biospecimen-genomic-files"):
        ids |= {item["kf_id"] for item in _list_all(base_url, path, study_id=study_id)}
    return ids


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with SandboxStack(specimens=SPECIMENS, seed=SEED, workdir=tmp_path_factory.mktemp("stack")) as stack:
        yield stack


def test_dataservice_holds_the_study(stack):
    study, url = stack.study, stack.info["dataservice_url"]
    assert requests.get(f"{url}/studies/{study.study_id}", timeout=30).status_code == 200
    counted = {
        "participants": len(_list_all(url, "/participants", study_id=study.study_id)),
        "biospecimens": len(_list_all(url, "/biospecimens", study_id=study.study_id)),
        "sequencing_experiments": len(_list_all(url, "/sequencing-experiments", study_id=study.study_id)),
        "source_genomic_files": len(_list_all(url, "/genomic-files", study_id=study.study_id,
                                              is_harmonized="false")),
        "sequencing_experiment_genomic_files": len(
            _list_all(url, "/sequencing-experiment-genomic-files", study_id=study.study_id)),
        "biospecimen_genomic_files": len(_list_all(url, "/biospecimen-genomic-files", study_id=study.study_id)),
    }
    assert counted == {key: study.counts[key] for key in counted}
    assert set(study.kf_ids()) == _study_kf_ids(url, study.study_id) | set(study.sequencing_centers) | set(
        study.families)


def test_source_files_are_controlled_and_open(stack):
    url, study_id = stack.info["dataservice_url"], stack.study.study_id
    controlled = _list_all(url, "/genomic-files", study_id=study_id, controlled_access="true")
    open_files = _list_all(url, "/genomic-files", study_id=study_id, controlled_access="false")
    assert controlled and open_files
    assert all(f["authz"][0].startswith("/programs/phs") for f in controlled)
    assert all(f["authz"] == ["/open"] for f in open_files)
    assert all(f["hashes"]["md5"] == f["hashes"]["md5"].lower() for f in controlled + open_files)


def test_a_biospecimen_has_two_experiments_of_different_strategies(stack):
    url, study = stack.info["dataservice_url"], stack.study
    strategies = {}
    for link in _list_all(url, "/sequencing-experiment-genomic-files", study_id=study.study_id):
        experiment = requests.get(f"{url}{link['_links']['sequencing_experiment']}", timeout=30).json()
        source = study.source_file(link["_links"]["genomic_file"].rsplit("/", 1)[1])
        strategies.setdefault(source.biospecimen_id, set()).add(experiment["results"]["experiment_strategy"])
    assert any(len(s) >= 2 for s in strategies.values())


def test_manifest_somatic_rows_point_at_linked_tumor_and_normal(stack):
    url = stack.info["dataservice_url"]
    with open(stack.info["manifest"], newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    somatic = [r for r in rows if r["Workflow Type"] == "Somatic-Mutation"]
    assert somatic
    row = somatic[0]
    linked = set()
    for specimen in row["KF Biospecimen ID"].split(","):
        response = requests.get(f"{url}/biospecimens/{specimen}", timeout=30).json()
        assert response["_links"]["participant"] == f"/participants/{row['KF Participant ID']}"
        linked |= {f["external_id"] for f in _list_all(url, "/genomic-files", biospecimen_id=specimen)}
    assert {r["Source Read"] for r in somatic if r["Filepath"] == row["Filepath"]} <= linked


def test_s3_holds_every_harmonized_output(stack):
    client = stack.s3.client()
    listed = client.list_objects_v2(Bucket=stack.bucket, Prefix="harmonized/")
    keys = {o["Key"] for o in listed["Contents"]}
    assert keys == {parse_s3_uri(p)[1] for p in stack.study.harmonized_filepaths}
    heads = {h.key: client.head_object(Bucket=stack.bucket, Key=h.key) for h in stack.study.harmonized}
    multipart = {k for k, head in heads.items() if "-" in head["ETag"]}
    assert multipart == {h.key for h in stack.study.harmonized if h.multipart}
    assert {head.get("StorageClass", "STANDARD") for head in heads.values()} >= {"GLACIER", "DEEP_ARCHIVE"}
    assert any("md5" in head["Metadata"] for key, head in heads.items() if key in multipart)


def test_same_seed_same_study_other_seed_other_study(stack, tmp_path):
    def generate(seed):
        with SandboxStack(specimens=SPECIMENS, seed=seed, workdir=tmp_path / str(seed)) as other:
            url, study_id = other.info["dataservice_url"], other.study.study_id
            return open(other.info["manifest"], "rb").read(), _study_kf_ids(url, study_id)

    manifest, kf_ids = generate(SEED)
    assert manifest == open(stack.info["manifest"], "rb").read()
    assert kf_ids == _study_kf_ids(stack.info["dataservice_url"], stack.study.study_id)
    other_manifest, other_ids = generate(SEED + 1)
    assert other_manifest != manifest
    assert not other_ids & kf_ids
