"""SandboxStack: both servers, the study, faults only for the code under test."""

import json
from pathlib import Path

import requests

from gwo_assets.sandbox.dataservice import FaultConfig, SandboxDataService
from gwo_assets.sandbox.generator import generate_study
from gwo_assets.sandbox.s3 import SandboxS3
from gwo_assets.sandbox.stack import SandboxStack


def test_empty_stack_serves_both_with_the_bucket_and_cleans_its_workdir():
    with SandboxStack(specimens=0) as stack:
        info = stack.info
        workdir = Path(info["workdir"])
        assert workdir.is_dir()
        assert (info["study_id"], info["manifest"], info["region"]) == (None, None, "us-east-1")
        assert requests.get(f"{info['dataservice_url']}/studies", timeout=10).json()["total"] == 0
        assert stack.s3.client().head_bucket(Bucket=info["bucket"])
        json.dumps(info)
    assert not workdir.exists()


def test_faults_start_after_the_study_is_complete(tmp_path):
    faults = FaultConfig(error_rate=1.0, error_statuses=(503,))
    with SandboxStack(specimens=3, seed=2, workdir=tmp_path, faults=faults) as stack:
        study = stack.study
        stack.dataservice.set_faults(None)
        participants = requests.get(f"{stack.info['dataservice_url']}/participants",
                                    params={"study_id": study.study_id}, timeout=10).json()
        stack.dataservice.set_faults(faults)
        refused = requests.get(f"{stack.info['dataservice_url']}/participants", timeout=10)
    assert participants["total"] == len(study.participants)
    assert refused.status_code == 503
    assert Path(study.manifest).is_file()  # a given workdir is kept


def test_generator_retries_make_no_duplicates_under_errors_and_lost_responses(tmp_path):
    faults = FaultConfig(error_rate=0.1, lost_response_rate=0.1, seed=4)
    with SandboxDataService(faults=faults) as service, SandboxS3() as s3:
        study = generate_study(service.url, s3.client(), "gwo-faulty", specimens=4, seed=9, workdir=tmp_path)
        service.set_faults(None)
        totals = {
            path: requests.get(f"{service.url}{path}", params={"study_id": study.study_id},
                               timeout=10).json()["total"]
            for path in ("/participants", "/biospecimens", "/genomic-files",
                         "/biospecimen-genomic-files", "/sequencing-experiment-genomic-files")
        }
    assert totals == {
        "/participants": len(study.participants),
        "/biospecimens": len(study.biospecimens),
        "/genomic-files": len(study.source_files),
        "/biospecimen-genomic-files": len(study.source_files),
        "/sequencing-experiment-genomic-files": len(study.source_files),
    }
