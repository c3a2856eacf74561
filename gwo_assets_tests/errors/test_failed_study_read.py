"""A study read that fails: one step reads the five tables, the report marks all five failed."""

import re

import responses

from gwo_assets.assets.study_tables import STUDY_TABLES
from gwo_assets_tests.errors import failure_messages, read_report
from gwo_assets_tests.support import run_ingest

URL = "http://dataservice.test"


def test_a_refused_study_read_names_the_service_message_and_fails_every_table(stack, tmp_path):
    study_id = stack.info["study_id"]
    reports = tmp_path / "reports"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as service:
        service.get(f"{URL}/studies/{study_id}", json={
            "results": {"kf_id": study_id, "name": "a study"}, "_links": {},
            "_status": {"code": 200, "message": "success"}})
        service.get(re.compile(re.escape(URL) + r"/[a-z-]+\?.*"), status=400, json={
            "_status": {"code": 400, "message": "could not retrieve entities: {'x': ['bad']}"}})
        result = run_ingest({**stack.info, "dataservice_url": URL}, reports, dry_run=True)
    assert not result.success
    message = failure_messages(result)["study_tables"]
    assert "could not retrieve entities" in message and "rejected GET /" in message
    status = read_report(reports, result.run_id)["step_status"]
    assert {status[name] for name in STUDY_TABLES} == {"failed"}
