"""A naive GWO loader, the reference the pipeline is measured against (benchmark only).

What a first script would do: one request at a time, each entity looked up by
its natural key and POSTed when missing. Per harmonized file: HEAD its object,
resolve its source reads (GET the source file by external_id, then its
experiment links; cached per run, which flatters the naive loader), GET
/genomic-files?external_id= and POST, then per biospecimen and per experiment
GET the link and POST it. No bulk reads, no checks, no plan, no report.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from gwo_assets.core.s3_uris import parse_s3_uri
from gwo_assets.core.payloads import file_format
from gwo_assets.sandbox.s3 import make_client
from gwo_assets_tests.bench.host import DataServiceProcess

COLD_STORAGE = {"GLACIER", "DEEP_ARCHIVE"}
OPEN_MARKERS = {"authz": "/open", "acl": "*"}
TIMEOUT = 30


@dataclass
class ManifestFile:
    """One harmonized file of the manifest, its rows merged."""

    filepath: str
    data_type: str
    workflow_type: str
    cavatica_id: str | None
    biospecimens: list[str] = field(default_factory=list)
    source_reads: list[str] = field(default_factory=list)


@dataclass
class NaiveResult:
    """What the naive loader did on ``files`` files (all of them, or a sample)."""

    files: int
    seconds: float
    s3_seconds: float
    requests: dict[str, int]
    writes: int


@dataclass
class NaiveOutcome:
    """A naive run, extrapolated linearly to ``total_files`` when it ran on a sample."""

    total_files: int
    measured: NaiveResult
    server_requests: dict[str, int]

    @property
    def sampled(self) -> bool:
        return self.measured.files < self.total_files

    @property
    def scale(self) -> float:
        return self.total_files / max(self.measured.files, 1)

    @property
    def seconds(self) -> float:
        return self.measured.seconds * self.scale

    @property
    def s3_seconds(self) -> float:
        return self.measured.s3_seconds * self.scale

    def scaled_requests(self) -> dict[str, int]:
        return {key: round(count * self.scale) for key, count in self.server_requests.items()}


def read_manifest_files(path: Path) -> list[ManifestFile]:
    """The manifest's harmonized files in first-row order (TSV, headers as the generator writes them)."""
    files: dict[str, ManifestFile] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            entry = files.setdefault(row["Filepath"], ManifestFile(
                row["Filepath"], row["Data Type"], row["Workflow Type"], row.get("Cavatica ID") or None))
            for specimen in row["KF Biospecimen ID"].split(","):
                if specimen.strip() and specimen.strip() not in entry.biospecimens:
                    entry.biospecimens.append(specimen.strip())
            if row["Source Read"] and row["Source Read"] not in entry.source_reads:
                entry.source_reads.append(row["Source Read"])
    return list(files.values())


def run_naive(dataservice: DataServiceProcess, s3_endpoint_url: str, manifest: Path,
              sample: int | None) -> NaiveOutcome:
    """Load the first ``sample`` files of ``manifest`` (all when None) on a fresh study copy."""
    files = read_manifest_files(manifest)
    chosen = files[:sample] if sample else files
    dataservice.reset_counts()
    loader = NaiveLoader(dataservice.url, make_client(s3_endpoint_url))
    result = loader.load(chosen)
    return NaiveOutcome(len(files), result, dataservice.stats()["requests"])


class NaiveLoader:
    """Sequential look-up-then-POST loader over one plain ``requests`` session."""

    def __init__(self, dataservice_url: str, s3_client: Any) -> None:
        self.url = dataservice_url.rstrip("/")
        self.s3 = s3_client
        self.session = requests.Session()
        self.requests: Counter[str] = Counter()
        self.writes = 0
        self.s3_seconds = 0.0
        self._sources: dict[str, tuple[dict, list[str]]] = {}

    def load(self, files: list[ManifestFile]) -> NaiveResult:
        started = time.perf_counter()
        for entry in files:
            self.load_file(entry)
        return NaiveResult(len(files), time.perf_counter() - started, self.s3_seconds,
                           dict(self.requests), self.writes)

    def load_file(self, entry: ManifestFile) -> None:
        head = self._head(entry.filepath)
        sources = [self._source(read) for read in entry.source_reads]
        gf_id = self._find_or_create("/genomic-files", {"external_id": entry.filepath},
                                     _file_body(entry, head, [record for record, _ in sources]))
        for specimen in entry.biospecimens:
            link = {"genomic_file_id": gf_id, "biospecimen_id": specimen}
            self._find_or_create("/biospecimen-genomic-files", link, link)
        experiments = dict.fromkeys(se for _, ses in sources for se in ses)
        for experiment in experiments:
            link = {"genomic_file_id": gf_id, "sequencing_experiment_id": experiment}
            self._find_or_create("/sequencing-experiment-genomic-files", link, link)

    def _head(self, uri: str) -> dict:
        started = time.perf_counter()
        bucket, key = parse_s3_uri(uri)
        head = self.s3.head_object(Bucket=bucket, Key=key)
        self.s3_seconds += time.perf_counter() - started
        return head

    def _source(self, url: str) -> tuple[dict, list[str]]:
        """A source read's genomic file and its experiments (cached: outputs share reads)."""
        if url not in self._sources:
            record = self._get("/genomic-files", {"external_id": url})[0]
            links = self._get("/sequencing-experiment-genomic-files",
                              {"genomic_file_id": record["kf_id"]})
            experiments = [item["_links"]["sequencing_experiment"].rsplit("/", 1)[-1]
                           for item in links]
            self._sources[url] = (record, experiments)
        return self._sources[url]

    def _find_or_create(self, endpoint: str, key: dict, body: dict) -> str:
        found = self._get(endpoint, key)
        if found:
            return found[0]["kf_id"]
        self.requests[f"POST {endpoint}"] += 1
        response = self.session.post(self.url + endpoint, json=body, timeout=TIMEOUT)
        response.raise_for_status()
        self.writes += 1
        return response.json()["results"]["kf_id"]

    def _get(self, endpoint: str, params: dict) -> list[dict]:
        self.requests[f"GET {endpoint}"] += 1
        response = self.session.get(self.url + endpoint, params=params, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()["results"]


def _file_body(entry: ManifestFile, head: dict, sources: list[dict]) -> dict:
    """The POST body: S3 facts, manifest fields, access inherited from the source reads."""
    etag = head["ETag"].strip('"').lower()
    md5 = etag if "-" not in etag else (head.get("Metadata") or {}).get("md5")
    controlled = any(source.get("controlled_access") is not False for source in sources) or not sources
    body = {
        "external_id": entry.filepath, "urls": [entry.filepath],
        "file_name": entry.filepath.rsplit("/", 1)[-1],
        "file_format": file_format(entry.filepath.rsplit("/", 1)[-1]) or None,
        "data_type": entry.data_type, "workflow_type": entry.workflow_type,
        "is_harmonized": True, "size": head["ContentLength"],
        "hashes": {"etag": etag, **({"md5": md5.lower()} if md5 else {})},
        "availability": ("Cold Storage" if head.get("StorageClass") in COLD_STORAGE
                         else "Immediate Download"),
        "controlled_access": controlled, "cavatica_file_id": entry.cavatica_id, "visible": True,
    }
    for name, marker in OPEN_MARKERS.items():
        entries = dict.fromkeys(value for source in sources for value in source.get(name) or [])
        body[name] = [value for value in entries if not (controlled and value == marker)]
    return {key: value for key, value in body.items() if value is not None}
