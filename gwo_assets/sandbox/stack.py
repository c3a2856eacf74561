"""SandboxStack: the sandbox DataService and S3 side by side, optionally with a study."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from gwo_assets.sandbox.dataservice import FaultConfig, SandboxDataService
from gwo_assets.sandbox.generator import GeneratedStudy, generate_study
from gwo_assets.sandbox.generator.s3_upload import ensure_bucket
from gwo_assets.sandbox.s3 import REGION, SandboxS3

log = logging.getLogger(__name__)


class SandboxStack:
    """Both sandbox servers on loopback, and a generated study when ``specimens > 0``.

    Faults (and the bearer-token requirement, ``token``) are switched on only after
    the study is generated, so the study is complete and only the code under test
    sees them. ``filler_files`` other studies' genomic files are in the DataService
    before the study (``filler_cache``: where the filled template is kept). Without ``workdir`` a
    temporary directory holds the manifest and is removed on stop.
    """

    def __init__(self, host: str = "127.0.0.1", dataservice_port: int = 0, s3_port: int = 0,
                 specimens: int = 50, seed: int = 7, workdir: str | Path | None = None,
                 faults: FaultConfig | None = None, bucket: str = "gwo-sandbox",
                 manifest_format: str = "tsv", token: str | None = None,
                 filler_files: int = 0, filler_cache: str | Path | None = None) -> None:
        self.host = host
        self.specimens = specimens
        self.seed = seed
        self.bucket = bucket
        self.manifest_format = manifest_format
        self.faults = faults
        self.token = token
        self.workdir = Path(workdir).resolve() if workdir is not None else None
        self._own_workdir = workdir is None
        self.s3 = SandboxS3(host=host, port=s3_port)
        self.dataservice = SandboxDataService(host=host, port=dataservice_port,
                                              filler_files=filler_files, filler_cache=filler_cache)
        self.study: GeneratedStudy | None = None

    def start(self) -> SandboxStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="gwo-sandbox-")).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.s3.start()
        self.dataservice.start()
        if self.dataservice.filler_files:
            log.info("DataService holds %d filler genomic files of other studies (%.1f s)",
                     self.dataservice.filler_files, self.dataservice.filler_seconds)
        s3_client = self.s3.client()
        ensure_bucket(s3_client, self.bucket)
        if self.specimens > 0:
            started = time.perf_counter()
            self.study = generate_study(
                self.dataservice.url, s3_client, self.bucket, specimens=self.specimens,
                seed=self.seed, workdir=self.workdir, manifest_format=self.manifest_format,
            )
            log.info("generated study %s (%d specimens, seed %d) in %.1f s: %s", self.study.study_id,
                     self.specimens, self.seed, time.perf_counter() - started, self.study.counts)
        if self.faults is not None:
            self.dataservice.set_faults(self.faults)
        if self.token is not None:
            self.dataservice.require_token(self.token)

    def stop(self) -> None:
        self.dataservice.stop()
        self.s3.stop()
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @property
    def info(self) -> dict[str, Any]:
        """What a client needs to reach the sandbox (all JSON-serialisable)."""
        return {
            "dataservice_url": self.dataservice.url,
            "s3_endpoint_url": self.s3.endpoint_url,
            "bucket": self.bucket,
            "region": REGION,
            "study_id": self.study.study_id if self.study else None,
            "manifest": str(self.study.manifest) if self.study else None,
            "workdir": str(self.workdir) if self.workdir else None,
            "filler_files": self.dataservice.filler_files,
        }

    def __enter__(self) -> SandboxStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
