"""Fixtures for the sandbox tests: a fresh sandbox DataService and a tiny study in it."""

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from gwo_assets.sandbox.dataservice import SandboxDataService


@pytest.fixture
def dataservice() -> Iterator[SandboxDataService]:
    """A started sandbox DataService on a fresh temporary database."""
    with SandboxDataService() as service:
        yield service


class Api:
    """Plain HTTP against the sandbox, so assertions never rest on the pipeline's client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def call(self, method: str, path: str, **options) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=30, **options)

    def create(self, path: str, **body) -> str:
        response = self.call("POST", path, json=body)
        assert response.status_code == 201, response.text
        return response.json()["results"]["kf_id"]

    def list(self, path: str, **params) -> dict:
        response = self.call("GET", path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@dataclass
class Study:
    """kf_ids of a study: one participant and biospecimen, experiments and files."""

    study_id: str
    center_id: str
    participant_id: str
    biospecimen_id: str
    experiment_ids: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)


@pytest.fixture
def api(dataservice: SandboxDataService) -> Api:
    return Api(dataservice.url)


def create_study(api: Api, name: str = "phs-test") -> Study:
    study_id = api.create("/studies", external_id=name)
    center_id = api.create("/sequencing-centers", name=f"center of {name}")
    participant_id = api.create("/participants", study_id=study_id, external_id=f"{name}-pt")
    biospecimen_id = api.create("/biospecimens", participant_id=participant_id,
                                sequencing_center_id=center_id, analyte_type="DNA")
    return Study(study_id, center_id, participant_id, biospecimen_id)


def add_experiment(api: Api, study: Study, external_id: str = "SE-1") -> str:
    kf_id = api.create("/sequencing-experiments", external_id=external_id,
                       experiment_strategy="WGS", is_paired_end=True, platform="Illumina",
                       sequencing_center_id=study.center_id)
    study.experiment_ids.append(kf_id)
    return kf_id


def add_file(api: Api, study: Study, name: str, *, harmonized: bool = False,
             link_biospecimen: bool = True, experiment_id: str | None = None) -> str:
    """A genomic file, linked to the study's biospecimen (and an experiment if given)."""
    kf_id = api.create("/genomic-files", external_id=f"s3://bucket/{name}",
                       urls=[f"s3://bucket/{name}"], size=len(name),
                       hashes={"md5": f"{len(study.file_ids):032x}"}, is_harmonized=harmonized)
    if link_biospecimen:
        api.create("/biospecimen-genomic-files", biospecimen_id=study.biospecimen_id,
                   genomic_file_id=kf_id)
    if experiment_id:
        api.create("/sequencing-experiment-genomic-files", sequencing_experiment_id=experiment_id,
                   genomic_file_id=kf_id)
    study.file_ids.append(kf_id)
    return kf_id


@pytest.fixture
def study(api: Api) -> Study:
    return create_study(api)
