"""generate_study: plan, load the DataService, upload to S3, write the manifest."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gwo_assets.sandbox.generator.dataservice_load import load_plan
from gwo_assets.sandbox.generator.manifest import MANIFEST_FORMATS, write_manifest
from gwo_assets.sandbox.generator.model import HarmonizedFile, SourceFile, StudyPlan
from gwo_assets.sandbox.generator.plan import plan_study
from gwo_assets.sandbox.generator.s3_upload import upload_outputs


@dataclass(frozen=True)
class GeneratedStudy:
    """What a generated study holds, for tests and for the sandbox CLI."""

    study_id: str
    bucket: str
    manifest: Path
    manifest_rows: int
    sequencing_centers: tuple[str, ...]
    families: tuple[str, ...]
    participants: tuple[str, ...]
    biospecimens: tuple[str, ...]
    experiments: tuple[str, ...]
    source_files: tuple[SourceFile, ...]
    harmonized: tuple[HarmonizedFile, ...]
    plan: StudyPlan

    @classmethod
    def from_plan(cls, plan: StudyPlan, manifest: Path, manifest_rows: int) -> GeneratedStudy:
        return cls(
            study_id=plan.study_id,
            bucket=plan.bucket,
            manifest=manifest,
            manifest_rows=manifest_rows,
            sequencing_centers=tuple(c.kf_id for c in plan.sequencing_centers),
            families=tuple(f.kf_id for f in plan.families),
            participants=tuple(p.kf_id for p in plan.participants),
            biospecimens=tuple(b.kf_id for b in plan.biospecimens),
            experiments=tuple(e.kf_id for e in plan.experiments),
            source_files=plan.source_files,
            harmonized=plan.harmonized,
            plan=plan,
        )

    @property
    def harmonized_filepaths(self) -> tuple[str, ...]:
        return tuple(h.filepath for h in self.harmonized)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "sequencing_centers": len(self.sequencing_centers),
            "families": len(self.families),
            "participants": len(self.participants),
            "biospecimens": len(self.biospecimens),
            "sequencing_experiments": len(self.experiments),
            "source_genomic_files": len(self.source_files),
            "biospecimen_genomic_files": len(self.source_files),
            "sequencing_experiment_genomic_files": len(self.source_files),
            "harmonized_files": len(self.harmonized),
            "manifest_rows": self.manifest_rows,
        }

    def kf_ids(self) -> set[str]:
        """Every kf_id the generator chose, links included."""
        links = {i for f in self.source_files for i in (f.biospecimen_link_id, f.experiment_link_id)}
        return ({self.study_id} | set(self.sequencing_centers) | set(self.families)
                | set(self.participants) | set(self.biospecimens) | set(self.experiments)
                | {f.kf_id for f in self.source_files} | links)

    def source_file(self, kf_id_or_url: str) -> SourceFile:
        """The unharmonized file with this kf_id or url; KeyError when unknown."""
        for source in self.source_files:
            if kf_id_or_url in (source.kf_id, source.url):
                return source
        raise KeyError(kf_id_or_url)


def generate_study(dataservice_url: str, s3_client: Any, bucket: str, specimens: int, seed: int,
                   workdir: Path, manifest_format: str = "tsv") -> GeneratedStudy:
    """Create a synthetic study in the DataService, its outputs in S3, and its GWO manifest.

    The same ``seed`` and ``specimens`` give the same records, kf_ids, objects
    and manifest bytes.
    """
    if manifest_format not in MANIFEST_FORMATS:
        raise ValueError(f"manifest_format must be one of {MANIFEST_FORMATS}, got {manifest_format!r}")
    plan = plan_study(specimens=specimens, seed=seed, bucket=bucket)
    # The two services are independent: upload while the DataService loads.
    with ThreadPoolExecutor(1, "generator-s3-side") as side:
        uploaded = side.submit(upload_outputs, s3_client, bucket, plan.harmonized)
        load_plan(plan, dataservice_url)
        uploaded.result()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    manifest = workdir / f"gwo-manifest-{plan.study_id}.{manifest_format}"
    rows = write_manifest(plan, manifest, manifest_format)
    return GeneratedStudy.from_plan(plan, manifest, rows)


def share_object(study: GeneratedStudy, owner: GeneratedStudy,
                 manifest_format: str = "tsv") -> tuple[GeneratedStudy, str]:
    """``study`` whose manifest (rewritten in place) names one of ``owner``'s S3 objects instead
    of one of its own: the first output of ``study`` with an output of ``owner`` of the same
    kind (folder, suffix, Data Type). Two studies sharing one object, as two analysts' manifests
    can; returns the new study and the shared Filepath."""
    def kind(output: HarmonizedFile) -> tuple[str, str, str]:
        folder, _, name = output.key.rpartition("/")
        return folder, name.partition(".")[2], output.data_type

    theirs = {kind(output): output for output in reversed(owner.harmonized)}
    index, shared = next((i, theirs[kind(output)]) for i, output in enumerate(study.harmonized)
                         if kind(output) in theirs)
    harmonized = list(study.harmonized)
    harmonized[index] = replace(harmonized[index], key=shared.key, filepath=shared.filepath)
    plan = replace(study.plan, harmonized=tuple(harmonized))
    rows = write_manifest(plan, study.manifest, manifest_format)
    return GeneratedStudy.from_plan(plan, study.manifest, rows), shared.filepath
