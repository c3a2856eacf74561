"""The records of a synthetic study, decided before any request is made.

Everything here is plain data: the plan is computed from the seed alone, so
loading it concurrently can never change what gets created.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Participant:
    kf_id: str
    external_id: str
    family_id: str | None
    is_proband: bool
    gender: str


@dataclass(frozen=True)
class Biospecimen:
    kf_id: str
    external_id: str
    participant: Participant
    sequencing_center_id: str
    analyte_type: str  # DNA | RNA
    tissue: str  # Tumor | Normal
    composition: str


@dataclass(frozen=True)
class SourceFile:
    """An unharmonized file: a DataService genomic file with its SE and BS links."""

    kf_id: str
    url: str
    file_name: str
    data_type: str
    file_format: str
    size: int
    md5: str
    is_read: bool  # reads feed workflows; an index (.crai) does not
    paired_end: int | None
    controlled_access: bool
    authz: tuple[str, ...]
    acl: tuple[str, ...]
    biospecimen_id: str
    experiment_id: str
    biospecimen_link_id: str
    experiment_link_id: str


@dataclass(frozen=True)
class Experiment:
    kf_id: str
    external_id: str
    strategy: str
    biospecimen: Biospecimen
    sequencing_center_id: str
    files: tuple[SourceFile, ...]

    @property
    def reads(self) -> tuple[SourceFile, ...]:
        return tuple(f for f in self.files if f.is_read)


@dataclass(frozen=True)
class HarmonizedFile:
    """A workflow output: an S3 object plus its rows in the GWO manifest."""

    key: str
    filepath: str
    data_type: str
    workflow_type: str
    cavatica_id: str
    task_id: str
    biospecimens: tuple[Biospecimen, ...]
    source_reads: tuple[str, ...]  # source file urls, as in the manifest
    body_size: int
    storage_class: str = "STANDARD"
    multipart: bool = False
    md5_metadata: bool = False

    @property
    def participant(self) -> Participant:
        return self.biospecimens[0].participant


@dataclass(frozen=True)
class SequencingCenter:
    kf_id: str
    name: str
    external_id: str


@dataclass(frozen=True)
class Family:
    kf_id: str
    external_id: str


@dataclass(frozen=True)
class StudyPlan:
    study_id: str
    external_id: str
    name: str
    bucket: str
    sequencing_centers: tuple[SequencingCenter, ...]
    families: tuple[Family, ...]
    participants: tuple[Participant, ...]
    biospecimens: tuple[Biospecimen, ...]
    experiments: tuple[Experiment, ...]
    harmonized: tuple[HarmonizedFile, ...]

    @property
    def source_files(self) -> tuple[SourceFile, ...]:
        return tuple(f for e in self.experiments for f in e.files)
