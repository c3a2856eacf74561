"""From (specimens, seed) to a StudyPlan: the only code that draws random numbers.

Every kf_id is chosen here from ``random.Random(seed)`` and later sent as a
client-chosen kf_id, so the same seed and size give the same study, ids
included, however the requests are scheduled.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace

from gwo_assets.core.kf_ids import CROCKFORD
from gwo_assets.sandbox.dataservice.filler import is_filler_kf_id
from gwo_assets.sandbox.generator.model import (
    Biospecimen,
    Experiment,
    Family,
    HarmonizedFile,
    Participant,
    SequencingCenter,
    SourceFile,
    StudyPlan,
)

MIB = 1024 * 1024
MULTIPART_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MULTIPART_OBJECTS = 3  # real bytes in memory and in moto: keep it to a few
MULTIPART_WITH_MD5 = 2  # the last multipart object has no md5 to fall back on
GLACIER_SHARE = 0.03
DEEP_ARCHIVE_SHARE = 0.02
MD5_METADATA_SHARE = 0.25
CONTROLLED_SHARE = 0.75
CRAM_SOURCE_SHARE = 0.5  # DNA experiments arrive as cram+crai or as paired fastqs

SEQUENCING_CENTERS = (
    ("BGI", "BGI@CHOP Genome Center"),
    ("BCM", "Baylor College of Medicine"),
    ("WASHU", "Washington University Genome Center"),
)
STRATEGY_CODES = {"WGS": "WGS", "WXS": "WXS", "RNA-Seq": "RNA"}

# Specimens per kind of case, and how often each kind is drawn.
CASE_SIZES = {"trio": 3, "tumor_normal": 2, "tumor_normal_multiomic": 2,
              "tumor_normal_rna": 3, "singleton": 1}
CASE_WEIGHTS = {"trio": 0.3, "tumor_normal": 0.2, "tumor_normal_multiomic": 0.15,
                "tumor_normal_rna": 0.2, "singleton": 0.15}
# The first cases are fixed so that even a small study has a biospecimen with two
# strategies, a tumor/normal pair, a family, and both controlled and open files.
OPENING_CASES = (("tumor_normal_multiomic", True), ("trio", False))


def plan_study(specimens: int, seed: int, bucket: str) -> StudyPlan:
    """Decide every record of a study with exactly ``specimens`` biospecimens."""
    if specimens < 1:
        raise ValueError(f"specimens must be >= 1, got {specimens}")
    rng = random.Random(seed)
    builder = _PlanBuilder(rng, bucket)
    opening = list(OPENING_CASES)
    remaining = specimens
    while remaining > 0:
        kind, controlled = _next_case(rng, remaining, opening)
        builder.add_case(kind, controlled)
        remaining -= CASE_SIZES[kind]
    return builder.build()


def _next_case(rng: random.Random, remaining: int, opening: list[tuple[str, bool]]) -> tuple[str, bool]:
    while opening:
        kind, controlled = opening.pop(0)
        if CASE_SIZES[kind] <= remaining:
            return kind, controlled
    kinds = [kind for kind, size in CASE_SIZES.items() if size <= remaining]
    kind = rng.choices(kinds, weights=[CASE_WEIGHTS[k] for k in kinds])[0]
    return kind, rng.random() < CONTROLLED_SHARE


class _KfIds:
    """Client-chosen kf_ids from the study's RNG, never repeated within a study."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._taken: set[str] = set()

    def new(self, prefix: str) -> str:
        while True:
            kf_id = prefix + "_" + "".join(self._rng.choices(CROCKFORD, k=8))
            if kf_id not in self._taken and not is_filler_kf_id(kf_id):  # filler: other studies
                self._taken.add(kf_id)
                return kf_id


class _PlanBuilder:
    def __init__(self, rng: random.Random, bucket: str) -> None:
        self.rng = rng
        self.bucket = bucket
        self.ids = _KfIds(rng)
        self.study_id = self.ids.new("SD")
        self.accession = f"phs{rng.randrange(1000, 10000):06d}"
        self.centers = tuple(
            # Names are unique across the DataService: the study id keeps them apart.
            SequencingCenter(self.ids.new("SC"), f"{name} (sandbox {self.study_id})", code)
            for code, name in SEQUENCING_CENTERS
        )
        self.families: list[Family] = []
        self.participants: list[Participant] = []
        self.biospecimens: list[Biospecimen] = []
        self.experiments: list[Experiment] = []
        self.harmonized: list[HarmonizedFile] = []
        self._participant_numbers = itertools.count(1)

    def add_case(self, kind: str, controlled: bool) -> None:
        if kind == "trio":
            self._trio(controlled)
        elif kind == "singleton":
            self._singleton(controlled)
        else:
            rna = {"tumor_normal": None, "tumor_normal_multiomic": "same",
                   "tumor_normal_rna": "separate"}[kind]
            self._tumor_normal(controlled, rna)

    def build(self) -> StudyPlan:
        self._place_outputs()
        return StudyPlan(
            study_id=self.study_id,
            external_id=self.accession,
            name=f"GWO sandbox study {self.accession}",
            bucket=self.bucket,
            sequencing_centers=self.centers,
            families=tuple(self.families),
            participants=tuple(self.participants),
            biospecimens=tuple(self.biospecimens),
            experiments=tuple(self.experiments),
            harmonized=tuple(self.harmonized),
        )

    # -- cases ---------------------------------------------------------------

    def _trio(self, controlled: bool) -> None:
        family = Family(self.ids.new("FM"), f"FAM-{len(self.families) + 1:05d}")
        self.families.append(family)
        strategy = self._dna_strategy()
        members = ((True, self._gender()), (False, "Female"), (False, "Male"))
        for is_proband, gender in members:
            participant = self._participant(family.kf_id, is_proband, gender)
            normal = self._biospecimen(participant, "DNA", "Normal")
            self._alignment_outputs(self._experiment(normal, strategy, controlled), germline=True)

    def _singleton(self, controlled: bool) -> None:
        participant = self._participant(None, True, self._gender())
        normal = self._biospecimen(participant, "DNA", "Normal")
        self._alignment_outputs(self._experiment(normal, self._dna_strategy(), controlled), germline=True)

    def _tumor_normal(self, controlled: bool, rna: str | None) -> None:
        """A cancer proband; ``rna`` sequenced on the tumor itself or on its own aliquot."""
        participant = self._participant(None, True, self._gender())
        strategy = self._dna_strategy()
        normal = self._experiment(self._biospecimen(participant, "DNA", "Normal"), strategy, controlled)
        tumor_specimen = self._biospecimen(participant, "DNA", "Tumor")
        tumor = self._experiment(tumor_specimen, strategy, controlled)
        self._alignment_outputs(normal, germline=True)
        self._alignment_outputs(tumor, germline=False)
        self._somatic_output(tumor, normal)
        if rna == "same":
            self._rna_outputs(self._experiment(tumor_specimen, "RNA-Seq", controlled))
        elif rna == "separate":
            rna_specimen = self._biospecimen(participant, "RNA", "Tumor")
            self._rna_outputs(self._experiment(rna_specimen, "RNA-Seq", controlled))

    # -- DataService records -------------------------------------------------

    def _participant(self, family_id: str | None, is_proband: bool, gender: str) -> Participant:
        number = next(self._participant_numbers)
        participant = Participant(self.ids.new("PT"), f"P{number:05d}", family_id, is_proband, gender)
        self.participants.append(participant)
        return participant

    def _biospecimen(self, participant: Participant, analyte: str, tissue: str) -> Biospecimen:
        suffix = f"{tissue[0]}{analyte[0]}"  # ND, TD, TR
        biospecimen = Biospecimen(
            kf_id=self.ids.new("BS"),
            external_id=f"{participant.external_id}-{suffix}",
            participant=participant,
            sequencing_center_id=self.rng.choice(self.centers).kf_id,
            analyte_type=analyte,
            tissue=tissue,
            composition="Peripheral Whole Blood" if tissue == "Normal" else "Solid Tissue",
        )
        self.biospecimens.append(biospecimen)
        return biospecimen

    def _experiment(self, biospecimen: Biospecimen, strategy: str, controlled: bool) -> Experiment:
        kf_id = self.ids.new("SE")
        external_id = f"{biospecimen.external_id}-{STRATEGY_CODES[strategy]}"
        if strategy != "RNA-Seq" and self.rng.random() < CRAM_SOURCE_SHARE:
            specs = ((f"{external_id}.cram", "Aligned Reads", "cram", True, None, self._size(20, 120)),
                     (f"{external_id}.cram.crai", "Aligned Reads Index", "crai", False, None,
                      self.rng.randint(1_000_000, 9_000_000)))
        else:
            specs = tuple((f"{external_id}_R{end}.fastq.gz", "Unaligned Reads", "fastq", True, end,
                           self._size(5, 60)) for end in (1, 2))
        folder = f"s3://{self.bucket}/source/{biospecimen.participant.external_id}"
        files = tuple(
            SourceFile(
                kf_id=self.ids.new("GF"), url=f"{folder}/{name}", file_name=name,
                data_type=data_type, file_format=file_format, size=size,
                md5=f"{self.rng.getrandbits(128):032x}", is_read=is_read, paired_end=paired_end,
                controlled_access=controlled, authz=self._authz(controlled), acl=self._acl(controlled),
                biospecimen_id=biospecimen.kf_id, experiment_id=kf_id,
                biospecimen_link_id=self.ids.new("BG"), experiment_link_id=self.ids.new("SG"),
            )
            for name, data_type, file_format, is_read, paired_end, size in specs
        )
        experiment = Experiment(kf_id, external_id, strategy, biospecimen,
                                biospecimen.sequencing_center_id, files)
        self.experiments.append(experiment)
        return experiment

    def _authz(self, controlled: bool) -> tuple[str, ...]:
        return (f"/programs/{self.accession}.c1",) if controlled else ("/open",)

    def _acl(self, controlled: bool) -> tuple[str, ...]:
        return (f"{self.accession}.c1",) if controlled else ("*",)

    # -- harmonized outputs --------------------------------------------------

    def _alignment_outputs(self, experiment: Experiment, germline: bool) -> None:
        specimen = experiment.biospecimen
        stem = f"{specimen.kf_id}.{STRATEGY_CODES[experiment.strategy]}"
        task = self._task_id()
        reads = tuple(f.url for f in experiment.reads)
        self._output(f"alignment/{stem}.GRCh38.cram", "Aligned Reads", "Alignment", task, (specimen,), reads)
        self._output(f"alignment/{stem}.GRCh38.cram.crai", "Aligned Reads Index", "Alignment", task,
                     (specimen,), reads)
        if germline:
            self._output(f"gvcf/{stem}.g.vcf.gz", "gVCF", "GATK-HaplotypeCaller-gVCF", task, (specimen,), reads)

    def _somatic_output(self, tumor: Experiment, normal: Experiment) -> None:
        name = f"{tumor.biospecimen.kf_id}_{normal.biospecimen.kf_id}.{STRATEGY_CODES[tumor.strategy]}"
        reads = tuple(f.url for f in tumor.reads + normal.reads)
        self._output(f"somatic/{name}.consensus_somatic.vcf.gz", "Annotated Somatic Mutation",
                     "Somatic-Mutation", self._task_id(), (tumor.biospecimen, normal.biospecimen), reads)

    def _rna_outputs(self, experiment: Experiment) -> None:
        specimen = experiment.biospecimen
        task = self._task_id()
        reads = tuple(f.url for f in experiment.reads)
        for suffix, data_type in (("STAR.Aligned.out.sorted.bam", "Aligned Reads"),
                                  ("rsem.genes.results.gz", "Gene Expression"),
                                  ("arriba.fusions.tsv", "Gene Fusions")):
            self._output(f"rnaseq/{specimen.kf_id}.{suffix}", data_type, "RNAseq-Analysis", task,
                         (specimen,), reads)

    def _output(self, name: str, data_type: str, workflow_type: str, task_id: str,
                biospecimens: tuple[Biospecimen, ...], reads: tuple[str, ...]) -> None:
        key = f"harmonized/{name}"
        self.harmonized.append(HarmonizedFile(
            key=key, filepath=f"s3://{self.bucket}/{key}", data_type=data_type,
            workflow_type=workflow_type, cavatica_id=f"{self.rng.getrandbits(96):024x}",
            task_id=task_id, biospecimens=biospecimens, source_reads=reads,
            body_size=self.rng.randint(64, 4096),
        ))

    def _place_outputs(self) -> None:
        """Pick the few multipart, archived and md5-tagged objects."""
        files = self.harmonized
        crams = [i for i, f in enumerate(files) if f.key.endswith(".cram")][:MULTIPART_OBJECTS]
        for rank, i in enumerate(crams):
            files[i] = replace(files[i], multipart=True, md5_metadata=rank < MULTIPART_WITH_MD5,
                                body_size=MULTIPART_PART_SIZE + self.rng.randint(1, 4096))
        single = sorted(set(range(len(files))) - set(crams))
        self.rng.shuffle(single)
        glacier = min(len(single), math.ceil(len(single) * GLACIER_SHARE))
        deep = min(len(single) - glacier, math.ceil(len(single) * DEEP_ARCHIVE_SHARE))
        for position, i in enumerate(single):
            storage = ("GLACIER" if position < glacier else
                       "DEEP_ARCHIVE" if position < glacier + deep else "STANDARD")
            files[i] = replace(files[i], storage_class=storage,
                                md5_metadata=self.rng.random() < MD5_METADATA_SHARE)

    # -- draws -----------------------------------------------------------------

    def _dna_strategy(self) -> str:
        return "WGS" if self.rng.random() < 0.7 else "WXS"

    def _gender(self) -> str:
        return self.rng.choice(("Female", "Male"))

    def _size(self, low_gb: int, high_gb: int) -> int:
        return self.rng.randint(low_gb * 10**9, high_gb * 10**9)

    def _task_id(self) -> str:
        digits = f"{self.rng.getrandbits(128):032x}"
        return "-".join(digits[a:b] for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)))

