"""Concurrent clients: one writer at a time, no SQLITE_BUSY, unique pairs hold."""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from gwo_assets_tests.sandbox.conftest import add_experiment, add_file

THREADS = 16


def _post_from_many_threads(url: str, path: str, bodies: list[dict]) -> list[requests.Response]:
    """POST every body at once, each from its own thread and session, released together."""
    start = threading.Barrier(len(bodies))

    def post(body: dict) -> requests.Response:
        with requests.Session() as session:
            start.wait()
            return session.post(url + path, json=body, timeout=30)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_the_same_link_pair_from_many_threads_is_created_exactly_once(api, dataservice, study):
    file_id = add_file(api, study, "a.cram", link_biospecimen=False)
    pair = {"biospecimen_id": study.biospecimen_id, "genomic_file_id": file_id}

    responses = _post_from_many_threads(dataservice.url, "/biospecimen-genomic-files",
                                        [pair] * THREADS)

    assert sorted(r.status_code for r in responses) == [201] + [400] * (THREADS - 1)
    assert {r.json()["_status"]["message"] for r in responses if r.status_code == 400} == {
        "could not create biospecimen_genomic_file. one with (genomic_file_id, biospecimen_id)"
        f" = ({file_id}, {study.biospecimen_id}) already exists."}
    stored = api.list("/biospecimen-genomic-files", genomic_file_id=file_id)
    assert stored["total"] == 1


def test_distinct_links_from_many_threads_are_all_created(api, dataservice, study):
    experiment_id = add_experiment(api, study)
    files = [add_file(api, study, f"{i}.cram", link_biospecimen=False) for i in range(THREADS)]
    bodies = [{"sequencing_experiment_id": experiment_id, "genomic_file_id": f} for f in files]

    responses = _post_from_many_threads(dataservice.url, "/sequencing-experiment-genomic-files",
                                        bodies)

    assert [r.status_code for r in responses] == [201] * THREADS
    stored = api.list("/sequencing-experiment-genomic-files",
                      sequencing_experiment_id=experiment_id)
    assert stored["total"] == THREADS
    experiment = api.call("GET", f"/sequencing-experiments/{experiment_id}").json()["results"]
    assert sorted(experiment["sequencing_experiment_genomic_files"]) == sorted(
        r.json()["results"]["kf_id"] for r in responses)
