"""Filler: other studies' genomic files, so the sandbox costs what a full DataService costs.

A real DataService holds about a million genomic files of other studies. Its
``genomic_file.external_id`` has no index and every list request runs the page
query and a ``total`` count over the same filter, so a ``?external_id=`` look-up
scans the whole table twice (115-140 ms at 1 M files, ~9 ms empty). The filler
gives the sandbox that table: ``files`` genomic files in studies of
``FILES_PER_STUDY`` files, each study with its participants, biospecimens,
experiments, one shared sequencing center, and the link tables at their real
sizes (every file linked to its biospecimen and experiment, except one in
``UNLINKED_EVERY``, left link-less as a killed load leaves it). The indexd
fields (urls, hashes, size, file_name, acl, authz, metadata, latest_did) are
filled like any file's.

Rows are made by SQL in one transaction (a recursive counter, no Python per
row) with the secondary indexes dropped and rebuilt after. ``prepare`` keeps a
template database per (size, filler version, schema) in a cache directory and
copies it, so a million files cost their build once.

Filler kf_ids are ``PREFIX_`` + a fixed 40-bit permutation of the row number
(``filler_kf_id``); ``is_filler_kf_id`` recognises the first ``RESERVED_IDS``
of every prefix, and the sandbox's own random ids (server and study generator)
skip them, so a study never lands on a filler record.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from gwo_assets.core.kf_ids import CROCKFORD
from gwo_assets.sandbox.dataservice.schema import (
    BIOSPECIMEN, BIOSPECIMEN_GENOMIC_FILE, GENOMIC_FILE, PARTICIPANT, RESOURCES,
    SEQUENCING_CENTER, SEQUENCING_EXPERIMENT, SEQUENCING_EXPERIMENT_GENOMIC_FILE, STUDY, Resource,
)
from gwo_assets.sandbox.dataservice.store import _encode, schema_sql, to_micros

log = logging.getLogger(__name__)

FILLER_VERSION = 1  # bump when the rows below change: cached templates are rebuilt
FILES_PER_STUDY = 10_000
FILES_PER_EXPERIMENT = 5
FILES_PER_BIOSPECIMEN = 10
BIOSPECIMENS_PER_PARTICIPANT = 2
UNLINKED_EVERY = 50  # file 0, 50, 100, ... has no links (2 %): invisible to ?study_id=
CENTER_NAME = "Filler Sequencing Center (other studies)"
RESERVED_IDS = 1 << 24  # filler rows per table that can ever exist (16.7 M)
_ID_BITS = 40
_ID_MASK = (1 << _ID_BITS) - 1
_MULTIPLIER = 0x5DEECE66D  # odd, so i -> i * M mod 2**40 is a permutation
_INVERSE = pow(_MULTIPLIER, -1, 1 << _ID_BITS)
_DECODE = {char: value for value, char in enumerate(CROCKFORD)}
_EPOCH_MICROS = to_micros(datetime(2019, 1, 1, tzinfo=timezone.utc))
DEFAULT_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) \
    / "gwo_assets" / "sandbox-filler"


@dataclass(frozen=True)
class FillerCounts:
    """How many rows of each table ``files`` filler files come with."""

    files: int

    @property
    def studies(self) -> int:
        return math.ceil(self.files / FILES_PER_STUDY)

    @property
    def biospecimens(self) -> int:
        return math.ceil(self.files / FILES_PER_BIOSPECIMEN)

    @property
    def participants(self) -> int:
        return math.ceil(self.biospecimens / BIOSPECIMENS_PER_PARTICIPANT)

    @property
    def experiments(self) -> int:
        return math.ceil(self.files / FILES_PER_EXPERIMENT)

    @property
    def linked_files(self) -> int:
        return self.files - math.ceil(self.files / UNLINKED_EVERY)

    def as_dict(self) -> dict[str, int]:
        return {"study": self.studies, "sequencing_center": 1 if self.files else 0,
                "participant": self.participants, "biospecimen": self.biospecimens,
                "sequencing_experiment": self.experiments, "genomic_file": self.files,
                "biospecimen_genomic_file": self.linked_files,
                "sequencing_experiment_genomic_file": self.linked_files}


def filler_kf_id(prefix: str, number: int) -> str:
    """The kf_id of filler row ``number`` (0-based) of a table."""
    if not 0 <= number < RESERVED_IDS:
        raise ValueError(f"filler row {number} is outside 0..{RESERVED_IDS - 1}")
    value = ((number + 1) * _MULTIPLIER) & _ID_MASK
    return f"{prefix}_" + "".join(CROCKFORD[(value >> s) & 31] for s in range(35, -1, -5))


def is_filler_kf_id(kf_id: str) -> bool:
    """True for an id ``filler_kf_id`` gives (or may give) to a filler row, any prefix."""
    _, _, body = kf_id.partition("_")
    if len(body) != 8 or any(c not in _DECODE for c in body):
        return False
    value = 0
    for char in body:
        value = value << 5 | _DECODE[char]
    number = (value * _INVERSE) & _ID_MASK
    return 1 <= number <= RESERVED_IDS


def prepare(db_path: str | Path, files: int, cache_dir: str | Path | None = None) -> float:
    """Put ``files`` filler files into the new database ``db_path``; returns seconds spent.

    With ``cache_dir`` the filled database is built once per size (and filler
    version and schema) as a template there and copied; without, built in place.
    """
    started = time.perf_counter()
    db_path = Path(db_path)
    if db_path.exists() and db_path.stat().st_size:
        raise ValueError(f"filler goes into a new database only; {db_path} exists")
    if files <= 0:
        return 0.0
    if cache_dir is None:
        build(db_path, files)
    else:
        template = ensure_template(files, Path(cache_dir))
        shutil.copyfile(template, db_path)
    return time.perf_counter() - started


def template_path(files: int, cache_dir: Path) -> Path:
    schema = hashlib.sha256(schema_sql(RESOURCES).encode()).hexdigest()[:12]
    return cache_dir / f"filler-{files}-v{FILLER_VERSION}-{schema}.sqlite3"


def ensure_template(files: int, cache_dir: Path) -> Path:
    """The cached template for ``files``, built under a lock when missing."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    template = template_path(files, cache_dir)
    with open(f"{template}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs never build the same template twice
        if not template.exists():
            partial = template.with_suffix(f".{os.getpid()}.partial")
            partial.unlink(missing_ok=True)
            try:
                build(partial, files)
                os.replace(partial, template)
            finally:
                partial.unlink(missing_ok=True)
    return template


def build(path: Path, files: int) -> dict[str, int]:
    """Create the sandbox schema at ``path`` and fill it; returns rows per table."""
    started = time.perf_counter()
    counts = FillerCounts(files)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF",
                       "temp_store=MEMORY", "cache_size=-1048576"):
            conn.execute(f"PRAGMA {pragma}")
        conn.executescript(schema_sql(RESOURCES))
        indexes = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
        conn.execute("BEGIN")
        for name in indexes:  # rebuilt once at the end: cheaper than 1 M random inserts each
            conn.execute(f"DROP INDEX {name}")
        for resource, rows, columns in _tables(counts):
            conn.execute(_insert_sql(resource, columns), {"n": rows})
        conn.execute("COMMIT")
        conn.executescript(schema_sql(RESOURCES))
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    log.info("filler: %d genomic files (%s) built in %.1f s, %.0f MiB", files,
             counts.as_dict(), time.perf_counter() - started, path.stat().st_size / 2**20)
    return counts.as_dict()


def _ids(prefix: str, number: str) -> str:
    """SQL for ``filler_kf_id(prefix, <number>)``."""
    value = f"((({number}) + 1) * {_MULTIPLIER}) & {_ID_MASK}"
    chars = " || ".join(f"substr('{CROCKFORD}', ((({value}) >> {shift}) & 31) + 1, 1)"
                        for shift in range(35, -1, -5))
    return f"'{prefix}_' || {chars}"


def _uuid(tag: int, number: str) -> str:
    """A valid, deterministic uuid per table (``tag``) and row number."""
    return f"printf('f111{tag:04x}-0000-4000-8000-%012x', {number})"


def _created(table_offset: int, number: str) -> str:
    """Filler rows are older than anything a test or run creates (from 2019 on, 10 ms apart)."""
    return f"({_EPOCH_MICROS + table_offset} + ({number}) * 10000)"


def _json(value: object) -> str:
    return "'" + json.dumps(value).replace("'", "''") + "'"


def _tables(c: FillerCounts) -> list[tuple[Resource, int, dict[str, str]]]:
    """(resource, rows, column -> SQL expression of the row number ``i``)."""
    per_study = math.ceil(c.participants / c.studies) if c.studies else 1
    study_of_participant = f"(i / {per_study})"
    study_of_file = (f"((i / {FILES_PER_BIOSPECIMEN}) / {BIOSPECIMENS_PER_PARTICIPANT}"
                     f" / {per_study})")
    center = _ids(SEQUENCING_CENTER.prefix, "0")
    data_types = ("Aligned Reads", "Variant Calls", "gVCF", "Unaligned Reads", "Gene Expression")
    formats = ("cram", "vcf", "gvcf", "bam", "tsv")
    data_type = "CASE i % 5 " + " ".join(f"WHEN {k} THEN '{v}'" for k, v in
                                         enumerate(data_types)) + " END"
    file_format = "CASE i % 5 " + " ".join(f"WHEN {k} THEN '{v}'" for k, v in
                                           enumerate(formats)) + " END"
    file_name = f"'filler-' || i || '.' || ({file_format})"
    url = (f"'s3://kf-study-us-east-1-prd-' || replace(lower({_ids(STUDY.prefix, study_of_file)}), '_', '-') "
           f"|| '/harmonized/' || {file_name}")
    linked = f"i % {UNLINKED_EVERY} != 0"
    return [
        (STUDY, c.studies, {
            "external_id": "'filler-study-' || i", "name": "'Filler study ' || i",
            "short_name": "'FILLER' || i"}),
        (SEQUENCING_CENTER, 1, {"name": f"'{CENTER_NAME}'", "external_id": "'filler-center'"}),
        (PARTICIPANT, c.participants, {
            "study_id": _ids(STUDY.prefix, study_of_participant),
            "external_id": "'filler-pt-' || i", "is_proband": "i % 2"}),
        (BIOSPECIMEN, c.biospecimens, {
            "participant_id": _ids(PARTICIPANT.prefix, f"i / {BIOSPECIMENS_PER_PARTICIPANT}"),
            "sequencing_center_id": center, "analyte_type": "'DNA'",
            "external_sample_id": "'filler-bs-' || i", "external_aliquot_id": "'filler-bs-' || i"}),
        (SEQUENCING_EXPERIMENT, c.experiments, {
            "external_id": "'filler-se-' || i", "experiment_strategy": "'WGS'",
            "is_paired_end": "1", "platform": "'Illumina'", "sequencing_center_id": center}),
        (GENOMIC_FILE, c.files, {
            "external_id": url, "urls": f"json_array({url})", "file_name": file_name,
            "hashes": "json_object('md5', lower(hex(randomblob(16))))",
            "size": "1000000 + i * 7919 % 90000000000",
            "acl": _json(["phs000000.c1"]), "authz": _json(["/programs/phs000000.c1"]),
            "metadata": _json({}), "latest_did": _uuid(0xD1D, "i"),
            "availability": "'Immediate Download'", "controlled_access": "1",
            "data_type": data_type, "file_format": file_format,
            "is_harmonized": "i % 2", "reference_genome": "'GRCh38'"}),
        (BIOSPECIMEN_GENOMIC_FILE, c.files, {
            "_where": linked, "biospecimen_id": _ids(BIOSPECIMEN.prefix,
                                                     f"i / {FILES_PER_BIOSPECIMEN}"),
            "genomic_file_id": _ids(GENOMIC_FILE.prefix, "i")}),
        (SEQUENCING_EXPERIMENT_GENOMIC_FILE, c.files, {
            "_where": linked, "sequencing_experiment_id": _ids(SEQUENCING_EXPERIMENT.prefix,
                                                               f"i / {FILES_PER_EXPERIMENT}"),
            "genomic_file_id": _ids(GENOMIC_FILE.prefix, "i")}),
    ]


def _insert_sql(resource: Resource, columns: dict[str, str]) -> str:
    """INSERT ... SELECT over i = 0 .. :n - 1; unnamed fields take the schema's default."""
    columns = dict(columns)
    where = columns.pop("_where", "1")
    offset = RESOURCES.index(resource) * 1000  # tables created apart, as loaders would
    exprs = {"kf_id": _ids(resource.prefix, "i"), "uuid": _uuid(RESOURCES.index(resource), "i"),
             "created_at": _created(offset, "i"), "modified_at": _created(offset, "i")}
    for field in resource.fields:
        if field.name in columns:
            exprs[field.name] = columns.pop(field.name)
        elif field.default is not None:
            exprs[field.name] = _literal(_encode(field, field.default))
    exprs.update(columns)  # columns beyond the fields (latest_did)
    return (f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :n) "
            f"INSERT INTO {resource.table} ({', '.join(exprs)}) "
            f"SELECT {', '.join(exprs.values())} FROM n WHERE {where}")


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value) if not isinstance(value, bool) else str(int(value))
