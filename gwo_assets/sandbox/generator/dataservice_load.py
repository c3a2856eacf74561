"""POST a StudyPlan through the DataService HTTP API, concurrently.

Parents go before children (study, centers, families, participants,
biospecimens), then one job per sequencing experiment that creates the
experiment and, right after it, each of its files with both links: an
experiment left without links would be swept by the DataService the next
time anyone deletes an experiment link.

Every body carries the plan's kf_id, so a retried POST (after a 5xx or a lost
response) overwrites the same record instead of creating a second one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from gwo_assets.errors import DataServiceError
from gwo_assets.sandbox.generator.model import (
    Biospecimen,
    Experiment,
    Family,
    Participant,
    SequencingCenter,
    SourceFile,
    StudyPlan,
)

WORKERS = 8
TIMEOUT_SECONDS = 30
_T = TypeVar("_T")


def load_plan(plan: StudyPlan, dataservice_url: str, workers: int = WORKERS) -> None:
    """Create every DataService record of ``plan``; raises DataServiceError on refusal."""
    with _session(workers) as session, ThreadPoolExecutor(workers, "generator-post") as pool:
        poster = _Poster(session, dataservice_url)
        poster.post("/studies", {"kf_id": plan.study_id, "external_id": plan.external_id,
                                 "name": plan.name, "short_name": plan.external_id})
        _run_all(pool, poster.sequencing_center, plan.sequencing_centers)
        _run_all(pool, poster.family, plan.families)
        _run_all(pool, lambda p: poster.participant(p, plan.study_id), plan.participants)
        _run_all(pool, poster.biospecimen, plan.biospecimens)
        _run_all(pool, poster.experiment_with_files, plan.experiments)


class _Poster:
    def __init__(self, session: requests.Session, base_url: str) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")

    def post(self, path: str, body: dict[str, Any]) -> None:
        response = self._session.post(self._base_url + path, json=body, timeout=TIMEOUT_SECONDS)
        if response.status_code != 201:
            try:
                service_message = response.json()["_status"]["message"]
            except (ValueError, KeyError, TypeError):
                service_message = response.text[:200]
            raise DataServiceError(
                f"the sandbox generator could not POST {path} ({response.status_code}): "
                f"{service_message}",
                status=response.status_code, method="POST", path=path,
                service_message=service_message,
            )

    def sequencing_center(self, center: SequencingCenter) -> None:
        self.post("/sequencing-centers", {"kf_id": center.kf_id, "name": center.name,
                                          "external_id": center.external_id})

    def family(self, family: Family) -> None:
        self.post("/families", {"kf_id": family.kf_id, "external_id": family.external_id,
                                "family_type": "Trio"})

    def participant(self, participant: Participant, study_id: str) -> None:
        body = {"kf_id": participant.kf_id, "study_id": study_id,
                "external_id": participant.external_id, "is_proband": participant.is_proband,
                "gender": participant.gender}
        if participant.family_id:
            body["family_id"] = participant.family_id
        self.post("/participants", body)

    def biospecimen(self, specimen: Biospecimen) -> None:
        self.post("/biospecimens", {
            "kf_id": specimen.kf_id,
            "participant_id": specimen.participant.kf_id,
            "sequencing_center_id": specimen.sequencing_center_id,
            "analyte_type": specimen.analyte_type,
            "external_sample_id": specimen.external_id,
            "external_aliquot_id": specimen.external_id,
            "source_text_tissue_type": specimen.tissue,
            "composition": specimen.composition,
        })

    def experiment_with_files(self, experiment: Experiment) -> None:
        self.post("/sequencing-experiments", {
            "kf_id": experiment.kf_id,
            "external_id": experiment.external_id,
            "experiment_strategy": experiment.strategy,
            "is_paired_end": True,
            "platform": "Illumina",
            "instrument_model": "NovaSeq 6000",
            "sequencing_center_id": experiment.sequencing_center_id,
            "library_name": f"LIB-{experiment.external_id}",
            "library_strand": "Stranded" if experiment.strategy == "RNA-Seq" else "Unstranded",
        })
        for source in experiment.files:
            self.post("/genomic-files", _genomic_file_body(source))
            self.post("/sequencing-experiment-genomic-files", {
                "kf_id": source.experiment_link_id,
                "sequencing_experiment_id": experiment.kf_id,
                "genomic_file_id": source.kf_id,
            })
            self.post("/biospecimen-genomic-files", {
                "kf_id": source.biospecimen_link_id,
                "biospecimen_id": source.biospecimen_id,
                "genomic_file_id": source.kf_id,
            })


def _genomic_file_body(source: SourceFile) -> dict[str, Any]:
    body = {
        "kf_id": source.kf_id,
        "external_id": source.url,
        "file_name": source.file_name,
        "urls": [source.url],
        "hashes": {"md5": source.md5},
        "size": source.size,
        "is_harmonized": False,
        "data_type": source.data_type,
        "file_format": source.file_format,
        "controlled_access": source.controlled_access,
        "availability": "Immediate Download",
        "reference_genome": "GRCh38",
        "acl": list(source.acl),
        "authz": list(source.authz),
    }
    if source.paired_end is not None:
        body["paired_end"] = source.paired_end
    return body


def _session(workers: int) -> requests.Session:
    """One pooled session; 5xx and dropped connections are retried (kf_ids make that safe)."""
    retry = Retry(total=5, backoff_factor=0.05, status_forcelist=(500, 502, 503, 504),
                  allowed_methods=None, raise_on_status=False)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=workers, max_retries=retry))
    return session


def _run_all(pool: ThreadPoolExecutor, job: Callable[[_T], None], items: Iterable[_T]) -> None:
    """Run ``job`` on every item; the first failure cancels what has not started."""
    futures = [pool.submit(job, item) for item in items]
    try:
        for future in futures:
            future.result()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
