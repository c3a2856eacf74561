"""Every class of error the sandbox answers, with the service's status and wording."""

import ast

import pytest

from gwo_assets.sandbox.dataservice.api_errors import (
    BAD_REQUEST, INTERNAL_ERROR, METHOD_NOT_ALLOWED, NOT_FOUND,
)
from gwo_assets_tests.sandbox.conftest import add_file

MD5 = "0c2f2d7a0f8f4c1b8a3e6b6f0d7c9e11"


def _file(**overrides):
    return {"urls": ["s3://bucket/a.cram"], "hashes": {"md5": MD5}, "size": 1, **overrides}


def _errors(message: str, prefix: str) -> dict:
    """The field errors of ``<prefix>: {...}`` (a Python dict repr, as the service writes it)."""
    assert message.startswith(f"{prefix}: "), message
    return ast.literal_eval(message.removeprefix(f"{prefix}: "))


def _message(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"_status"} and body["_status"]["code"] == status
    return body["_status"]["message"]


@pytest.mark.parametrize("body, errors", [
    ({}, {"urls": ["Missing data for required field."],
          "hashes": ["Missing data for required field."],
          "size": ["Missing data for required field."]}),
    (_file(size="big", is_harmonized="maybe"), {"size": ["Not a valid integer."],
                                                "is_harmonized": ["Not a valid boolean."]}),
    (_file(urls="s3://bucket/a.cram"), {"urls": ["Not a valid list."]}),
    (_file(urls=["s3://bucket/a.cram", 7]), {"urls": {1: ["Not a valid string."]}}),
    (_file(hashes="abc"), {"hashes": ["Not a valid mapping type."]}),
    (_file(size=None), {"size": ["Field may not be null."]}),
    (_file(biospecimen_id="BS_00000000"), {"biospecimen_id": ["Unknown field"]}),
    (_file(kf_id="BS_00000000"), {"kf_id": ["Invalid kf_id"]}),
    (_file(kf_id="GF_000000000"), {"kf_id": ["Longer than maximum length 11."]}),
])
def test_body_validation_lists_every_field_error(api, body, errors):
    message = _message(api.call("POST", "/genomic-files", json=body), 400)

    assert _errors(message, "could not create genomic_file") == errors


def test_enum_errors_list_every_choice_including_the_common_ones(api):
    message = _message(api.call("POST", "/genomic-files", json=_file(workflow_type="alignment")),
                       400)

    choices = _errors(message, "could not create genomic_file")["workflow_type"][0]
    assert choices.startswith("Not a valid choice. Must be one of: ")
    listed = set(choices.split(": ", 1)[1].split(", "))
    assert {"Alignment", "Somatic-Mutation", "Not Reported", "Reported Unknown"} <= listed
    assert "alignment" not in listed


def test_patch_errors_say_update(api, study):
    file_id = add_file(api, study, "a.cram")
    message = _message(api.call("PATCH", f"/genomic-files/{file_id}",
                                json={"visibility_reason": "because"}), 400)

    assert message.startswith("could not update genomic_file: {'visibility_reason': ['Not a "
                              "valid choice. Must be one of: ")


@pytest.mark.parametrize("path, body, message", [
    ("/biospecimen-genomic-files", {"biospecimen_id": "BS_00000000", "genomic_file_id": "{gf}"},
     'biospecimen "BS_00000000" does not exist'),
    ("/biospecimen-genomic-files", {"biospecimen_id": "{bs}", "genomic_file_id": "GF_00000000"},
     'genomic_file "GF_00000000" does not exist'),
    ("/sequencing-experiment-genomic-files",
     {"sequencing_experiment_id": "SE_00000000", "genomic_file_id": "{gf}"},
     'sequencing_experiment "SE_00000000" does not exist'),
    ("/participants", {"study_id": "SD_00000000"}, 'study "SD_00000000" does not exist'),
])
def test_foreign_keys_to_missing_rows(api, study, path, body, message):
    file_id = add_file(api, study, "a.cram", link_biospecimen=False)
    body = {k: v.format(gf=file_id, bs=study.biospecimen_id) for k, v in body.items()}

    assert _message(api.call("POST", path, json=body), 400) == message


def test_unique_link_pairs_and_center_names(api, study):
    file_id = add_file(api, study, "a.cram")  # already linked to the biospecimen
    duplicate = {"biospecimen_id": study.biospecimen_id, "genomic_file_id": file_id}

    assert _message(api.call("POST", "/biospecimen-genomic-files", json=duplicate), 400) == (
        "could not create biospecimen_genomic_file. one with (genomic_file_id, biospecimen_id)"
        f" = ({file_id}, {study.biospecimen_id}) already exists.")
    assert _message(api.call("POST", "/sequencing-centers",
                             json={"name": "center of phs-test"}), 400) == (
        "could not create sequencing_center. one with (name) = (center of phs-test) "
        "already exists.")


@pytest.mark.parametrize("query, errors", [
    ("study_id=SD_bad", {"study_id": ["Invalid kf_id"]}),
    ("is_harmonized=yes", {"is_harmonized": ["Not a valid boolean."]}),
    ("biospecimen_id=GF_00000000", {"biospecimen_id": ["Invalid kf_id"]}),
    ("size=big", {"size": ["Not a valid integer."]}),
    ("created_at=yesterday-ish", {"created_at": ["Not a valid datetime."]}),
])
def test_bad_filter_values(api, query, errors):
    message = _message(api.call("GET", f"/genomic-files?{query}"), 400)

    assert _errors(message, "could not retrieve entities") == errors


@pytest.mark.parametrize("path", ["/genomic-files?kf_id=GF_00000000",
                                  "/biospecimen-genomic-files?kf_id=BG_00000000",
                                  "/genomic-files?limit=0"])
def test_server_errors_the_service_is_known_for(api, path):
    assert _message(api.call("GET", path), 500) == INTERNAL_ERROR


@pytest.mark.parametrize("method, path", [("GET", "/genomic-files/GF_00000000"),
                                          ("PATCH", "/genomic-files/GF_00000000"),
                                          ("DELETE", "/genomic-files/not-an-id")])
def test_unknown_kf_id_is_a_404(api, method, path):
    options = {"json": {"size": 1}} if method == "PATCH" else {}
    kf_id = path.rsplit("/", 1)[1]
    assert _message(api.call(method, path, **options), 404) == (
        f"could not find genomic_file `{kf_id}`")


def test_routing_errors(api):
    assert _message(api.call("GET", "/read-groups"), 404) == NOT_FOUND
    assert _message(api.call("PUT", "/genomic-files/GF_00000000", json={}), 405) == (
        METHOD_NOT_ALLOWED)
    assert _message(api.call("DELETE", "/genomic-files"), 405) == METHOD_NOT_ALLOWED
    assert _message(api.call("POST", "/status", json={}), 405) == METHOD_NOT_ALLOWED
    assert api.list("/studies/")["total"] == 0  # trailing slashes are fine


@pytest.mark.parametrize("raw", [b"{not json", b""])
def test_malformed_json_gets_werkzeugs_text(api, raw):
    response = api.call("POST", "/genomic-files", data=raw,
                        headers={"Content-Type": "application/json"})
    assert _message(response, 400) == BAD_REQUEST


def test_indexd_rejects_bad_hashes_with_400_on_post_and_500_on_patch(api, study):
    upper = api.call("POST", "/genomic-files", json=_file(hashes={"md5": MD5.upper()}))
    assert _message(upper, 400).startswith(
        f"failed to create new indexd record: '{MD5.upper()}' does not match '^[0-9a-f]{{32}}$'")
    unknown = api.call("POST", "/genomic-files", json=_file(hashes={"blake2": "abc"}))
    assert "'md5' is a required property" in _message(unknown, 400)
    negative = api.call("POST", "/genomic-files", json=_file(size=-5))
    assert "-5 is less than the minimum of 0" in _message(negative, 400)

    file_id = add_file(api, study, "a.cram")
    before = api.call("GET", f"/genomic-files/{file_id}").json()["results"]
    patch = api.call("PATCH", f"/genomic-files/{file_id}", json={"hashes": {"md5": MD5.upper()}})
    assert _message(patch, 500) == INTERNAL_ERROR
    assert api.call("GET", f"/genomic-files/{file_id}").json()["results"] == before


def test_a_failed_request_changes_nothing(api, dataservice, study):
    """The unique check fails after the overwrite's other changes were applied: all roll back."""
    file_id = add_file(api, study, "a.cram")
    other_bs = api.create("/biospecimens", participant_id=study.participant_id,
                          sequencing_center_id=study.center_id, analyte_type="RNA")
    link_id = api.create("/biospecimen-genomic-files", biospecimen_id=other_bs,
                         genomic_file_id=file_id, external_id="before")
    before = api.call("GET", f"/biospecimen-genomic-files/{link_id}").json()
    writes = dataservice.write_count()

    clash = api.call("PATCH", f"/biospecimen-genomic-files/{link_id}",
                     json={"external_id": "after", "biospecimen_id": study.biospecimen_id})

    assert clash.status_code == 400
    assert api.call("GET", f"/biospecimen-genomic-files/{link_id}").json() == before
    assert dataservice.write_count() == writes
