"""Records: rendering, study joins, genomic-file versions, overwrites and deletes."""

from gwo_assets_tests.sandbox.conftest import add_experiment, add_file, create_study


def _get(api, path: str) -> dict:
    response = api.call("GET", path)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(page: dict) -> list[str]:
    return [item["kf_id"] for item in page["results"]]


def test_write_only_ids_appear_only_in_links(api, study):
    file_id = add_file(api, study, "a.cram")
    link = api.list("/biospecimen-genomic-files", genomic_file_id=file_id)["results"][0]

    assert "biospecimen_id" not in link and "genomic_file_id" not in link
    assert link["_links"]["biospecimen"] == f"/biospecimens/{study.biospecimen_id}"
    assert link["_links"]["genomic_file"] == f"/genomic-files/{file_id}"
    participant = _get(api, f"/participants/{study.participant_id}")
    assert "study_id" not in participant["results"]
    assert participant["_links"]["study"] == f"/studies/{study.study_id}"
    assert participant["_links"]["family"] is None


def test_minimal_genomic_file_defaults(api):
    created = api.call("POST", "/genomic-files", json={
        "urls": ["s3://bucket/min.bam", "https://example.org/min.bam"],
        "hashes": {"md5": "6c8d8dd06fefac7bae9ecfcf6ddcfd77"}, "size": "12",
        "controlled_access": "true"}).json()["results"]

    assert created["file_name"] == "" and created["acl"] == [] and created["authz"] == []
    assert created["metadata"] == {} and created["is_harmonized"] is False
    assert created["visible"] is True and created["data_type"] is None
    assert created["size"] == 12 and created["controlled_access"] is True
    assert created["access_urls"] == [f"gen3/data/{created['latest_did']}",
                                      "https://example.org/min.bam"]
    assert created["created_at"].endswith("+00:00")


def test_study_id_reaches_files_only_through_biospecimen_links(api, study):
    other = create_study(api, "phs-other")
    linked = add_file(api, study, "linked.cram")
    unlinked = add_file(api, study, "unlinked.cram", link_biospecimen=False)
    second_bs = api.create("/biospecimens", participant_id=study.participant_id,
                           sequencing_center_id=study.center_id, analyte_type="RNA")
    api.create("/biospecimen-genomic-files", biospecimen_id=second_bs, genomic_file_id=linked)

    files = api.list("/genomic-files", study_id=study.study_id)
    assert _ids(files) == [linked] and files["total"] == 1  # distinct despite two links
    assert api.list("/genomic-files", study_id=other.study_id)["total"] == 0
    assert unlinked in _ids(api.list("/genomic-files"))


def test_experiments_and_their_links_reach_a_study_through_the_files(api, study):
    linked_se = add_experiment(api, study, "SE-linked")
    add_experiment(api, study, "SE-unlinked")
    file_id = add_file(api, study, "a.cram", experiment_id=linked_se)
    orphan_file = add_file(api, study, "b.cram", link_biospecimen=False)
    api.create("/sequencing-experiment-genomic-files", sequencing_experiment_id=linked_se,
               genomic_file_id=orphan_file)

    assert _ids(api.list("/sequencing-experiments", study_id=study.study_id)) == [linked_se]
    links = api.list("/sequencing-experiment-genomic-files", study_id=study.study_id)
    assert [item["_links"]["genomic_file"] for item in links["results"]] == [
        f"/genomic-files/{file_id}"]
    assert _ids(api.list("/genomic-files", sequencing_experiment_id=linked_se)) == [
        file_id, orphan_file]


def test_filters_parse_values_and_ignore_unknown_parameters(api, study):
    add_file(api, study, "source.cram")
    harmonized = add_file(api, study, "harmonized.cram", harmonized=True)

    for spelling in ("true", "True", "TRUE", "t", "1"):
        assert _ids(api.list("/genomic-files", is_harmonized=spelling)) == [harmonized]
    assert api.list("/genomic-files", foo="bar")["total"] == 2
    assert api.list("/genomic-files", file_name="harmonized.cram")["total"] == 0  # in indexd
    assert api.list("/genomic-files", external_id="s3://bucket/harmonized.cram")["total"] == 1


def test_patching_size_or_hashes_makes_a_new_version_and_replaces_hashes(api, study):
    file_id = add_file(api, study, "a.cram")
    original = _get(api, f"/genomic-files/{file_id}")["results"]

    new_hashes = api.call("PATCH", f"/genomic-files/{file_id}",
                          json={"hashes": {"sha1": "a" * 40}}).json()["results"]
    moved = api.call("PATCH", f"/genomic-files/{file_id}",
                     json={"urls": ["s3://bucket/moved.cram"]}).json()["results"]

    assert new_hashes["hashes"] == {"sha1": "a" * 40}
    assert new_hashes["latest_did"] != original["latest_did"]
    assert moved["latest_did"] == new_hashes["latest_did"]
    assert moved["created_at"] == original["created_at"]
    assert original["modified_at"] < new_hashes["modified_at"] < moved["modified_at"]


def test_posting_an_existing_kf_id_overwrites_it(api, dataservice, study):
    file_id = add_file(api, study, "a.cram", link_biospecimen=False)
    other_bs = api.create("/biospecimens", participant_id=study.participant_id,
                          sequencing_center_id=study.center_id, analyte_type="RNA")
    body = {"kf_id": "BG_C0NTRACT", "biospecimen_id": study.biospecimen_id,
            "genomic_file_id": file_id}
    first = api.call("POST", "/biospecimen-genomic-files", json=body).json()
    writes = dataservice.write_count()

    second = api.call("POST", "/biospecimen-genomic-files",
                      json={**body, "biospecimen_id": other_bs})

    assert second.status_code == 201
    assert second.json()["_status"]["message"] == "biospecimen_genomic_file BG_C0NTRACT created"
    stored = _get(api, "/biospecimen-genomic-files/BG_C0NTRACT")
    assert stored["_links"]["biospecimen"] == f"/biospecimens/{other_bs}"
    assert stored["results"]["created_at"] == first["results"]["created_at"]
    assert stored["results"]["modified_at"] > first["results"]["modified_at"]
    assert api.list("/biospecimen-genomic-files")["total"] == 1
    assert dataservice.write_count() == writes + 1


def test_deleting_a_file_cascades_to_its_links(api, study):
    experiment_id = add_experiment(api, study)
    kept = add_file(api, study, "kept.cram", experiment_id=experiment_id)
    doomed = add_file(api, study, "doomed.cram", experiment_id=experiment_id)

    deleted = api.call("DELETE", f"/genomic-files/{doomed}")

    assert deleted.json()["_status"]["message"] == f"genomic_file {doomed} deleted"
    assert deleted.json()["results"]["kf_id"] == doomed
    assert api.call("GET", f"/genomic-files/{doomed}").status_code == 404
    assert api.list("/biospecimen-genomic-files", genomic_file_id=doomed)["total"] == 0
    assert api.list("/sequencing-experiment-genomic-files", genomic_file_id=doomed)["total"] == 0
    assert _ids(api.list("/genomic-files", study_id=study.study_id)) == [kept]
    assert api.call("GET", f"/sequencing-experiments/{experiment_id}").status_code == 200


def test_deleting_any_experiment_link_deletes_every_unlinked_experiment(api, study):
    other = create_study(api, "phs-other")
    linked = add_experiment(api, study, "SE-linked")
    unlinked_here = add_experiment(api, study, "SE-unlinked")
    unlinked_elsewhere = add_experiment(api, other, "SE-elsewhere")
    file_id = add_file(api, study, "a.cram", experiment_id=linked)
    extra_link = api.create("/sequencing-experiment-genomic-files",
                            sequencing_experiment_id=linked,
                            genomic_file_id=add_file(api, study, "b.cram"))

    assert api.call("DELETE", f"/sequencing-experiment-genomic-files/{extra_link}").ok

    assert api.call("GET", f"/sequencing-experiments/{linked}").status_code == 200
    for gone in (unlinked_here, unlinked_elsewhere):
        assert api.call("GET", f"/sequencing-experiments/{gone}").status_code == 404
    assert _ids(api.list("/genomic-files", sequencing_experiment_id=linked)) == [file_id]


def test_deleting_a_file_with_an_experiment_link_sweeps_every_unlinked_experiment(api, study):
    """The cascade to the file's experiment link sweeps like a direct link delete (issue 19:
    reproduced on DataService 1.36.0 by deleting one genomic file)."""
    other = create_study(api, "phs-other")
    linked = add_experiment(api, study, "SE-linked")
    unlinked_elsewhere = add_experiment(api, other, "SE-elsewhere")
    add_file(api, study, "kept.cram", experiment_id=linked)
    doomed = add_file(api, study, "doomed.cram", experiment_id=linked)

    assert api.call("DELETE", f"/genomic-files/{doomed}").ok

    assert api.call("GET", f"/sequencing-experiments/{linked}").status_code == 200
    assert api.call("GET", f"/sequencing-experiments/{unlinked_elsewhere}").status_code == 404


def test_a_swept_experiment_can_be_posted_back_under_its_own_kf_id(api, study):
    """How undo restores a swept experiment: POST its fields with its kf_id (contract 121)."""
    swept = add_experiment(api, study, "SE-swept")
    before = _get(api, f"/sequencing-experiments/{swept}")
    link = api.create("/sequencing-experiment-genomic-files",
                      sequencing_experiment_id=add_experiment(api, study, "SE-linked"),
                      genomic_file_id=add_file(api, study, "a.cram"))
    assert api.call("DELETE", f"/sequencing-experiment-genomic-files/{link}").ok
    assert api.call("GET", f"/sequencing-experiments/{swept}").status_code == 404

    body = {k: v for k, v in before["results"].items()
            if k not in ("created_at", "modified_at", "sequencing_experiment_genomic_files")}
    body["sequencing_center_id"] = study.center_id
    assert api.call("POST", "/sequencing-experiments", json=body).status_code == 201

    after = _get(api, f"/sequencing-experiments/{swept}")
    assert after["_links"] == before["_links"]
    assert {k: v for k, v in after["results"].items() if k not in ("created_at", "modified_at")} \
        == {k: v for k, v in before["results"].items() if k not in ("created_at", "modified_at")}


def test_deleting_a_study_cascades_to_participants_and_biospecimens(api, study):
    file_id = add_file(api, study, "a.cram")

    assert api.call("DELETE", f"/studies/{study.study_id}").ok

    assert api.call("GET", f"/participants/{study.participant_id}").status_code == 404
    assert api.call("GET", f"/biospecimens/{study.biospecimen_id}").status_code == 404
    assert api.list("/biospecimen-genomic-files")["total"] == 0
    assert api.call("GET", f"/genomic-files/{file_id}").status_code == 200


def test_a_center_still_in_use_cannot_be_deleted(api, study):
    response = api.call("DELETE", f"/sequencing-centers/{study.center_id}")

    assert response.status_code == 400
    assert response.json()["_status"]["message"] == "error saving changes"
    assert api.call("GET", f"/sequencing-centers/{study.center_id}").status_code == 200
