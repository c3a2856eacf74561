"""DataService request bodies for harmonized genomic files and their links.

Bodies follow the recorded contract: hashes are lower-case hex of the types
indexd knows (md5, sha1, sha256, crc, etag), and fields we cannot fill are
left out rather than sent as null, so that an unknown value never overwrites
a stored one.
"""

import base64
import binascii
import re

import numpy as np
import pandas as pd

from gwo_assets.core.joins import with_columns

# Kids First file_format values by extension; the longest matching extension wins.
FILE_FORMATS = {
    ".bam": "bam",
    ".bai": "bai",
    ".bam.bai": "bai",
    ".cram": "cram",
    ".crai": "crai",
    ".cram.crai": "crai",
    ".sam": "sam",
    ".fastq": "fastq",
    ".fastq.gz": "fastq",
    ".fq": "fastq",
    ".fq.gz": "fastq",
    ".vcf": "vcf",
    ".vcf.gz": "vcf",
    ".g.vcf": "gvcf",
    ".g.vcf.gz": "gvcf",
    ".gvcf": "gvcf",
    ".gvcf.gz": "gvcf",
    ".tbi": "tbi",
    ".maf": "maf",
    ".maf.gz": "maf",
    ".bed": "bed",
    ".bed.gz": "bed",
    ".seg": "seg",
    ".cns": "cns",
    ".tsv": "tsv",
    ".tsv.gz": "tsv",
    ".csv": "csv",
    ".txt": "txt",
    ".json": "json",
    ".html": "html",
    ".pdf": "pdf",
    ".png": "png",
    ".tar": "tar",
    ".tar.gz": "tar",
    ".tgz": "tar",
    ".rsem.genes.results.gz": "tsv",
    ".rsem.isoforms.results.gz": "tsv",
}
_KNOWN_EXTENSION = "(" + "|".join(re.escape(extension) for extension in FILE_FORMATS) + ")$"
# Objects that need a restore before download. GLACIER_IR is read in milliseconds: not cold.
COLD_STORAGE_CLASSES = ["GLACIER", "DEEP_ARCHIVE"]
# Intelligent-Tiering's archive tiers (HEAD's ArchiveStatus): as slow as GLACIER/DEEP_ARCHIVE.
ARCHIVE_STATUSES = ["ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"]
BODY_FIELDS = [
    "external_id",
    "urls",
    "file_name",
    "file_format",
    "data_type",
    "workflow_type",
    "is_harmonized",
    "size",
    "hashes",
    "availability",
    "controlled_access",
    "authz",
    "acl",
    "cavatica_file_id",
    "visible",
]
# S3 checksum column -> (indexd hash type, digest length in bytes). S3 gives base64;
# indexd wants hex. CRC32C has no indexd type.
S3_CHECKSUMS = {
    "checksum_sha256": ("sha256", 32),
    "checksum_sha1": ("sha1", 20),
    "checksum_crc32": ("crc", 4),
}


def file_format(filename: str) -> str:
    """Kids First file_format of ``filename`` ('' when it has no extension)."""
    return file_formats(pd.Series([filename])).iloc[0]


def file_formats(filenames: pd.Series) -> pd.Series:
    """Vectorized :func:`file_format`: known extension, else the last extension."""
    names = filenames.astype("string").str.lower()
    # The leftmost match that runs to the end is the longest known extension.
    known = names.str.extract(_KNOWN_EXTENSION, expand=False).map(FILE_FORMATS)
    last = names.str.extract(r"\.([^./]+)$", expand=False)
    return known.fillna(last).fillna("").astype(object)


def genomic_file_payloads(
    manifest: pd.DataFrame, s3_meta: pd.DataFrame, access: pd.DataFrame, cavatica: bool = True
) -> pd.DataFrame:
    """One row per harmonized filepath: the body fields, ``payload`` (the POST body) and ``row``.

    ``row`` is the file's first manifest row, for error reports. ``access`` is
    :func:`gwo_assets.core.access.inherit_access` output; a file missing from it
    is controlled with empty authz/acl.
    """
    files = (
        with_columns(manifest, ["row", "filepath", "data_type", "workflow_type", "cavatica_id"])
        .sort_values("row", kind="stable")
        .groupby("filepath", sort=False)
        .first()
        .reset_index()
    )
    s3_columns = ["filepath", "size", "storage_class", "archive_status", "etag", "md5", *S3_CHECKSUMS]
    files = files.merge(with_columns(s3_meta, s3_columns), on="filepath", how="left")
    access_columns = ["filepath", "controlled_access", "authz", "acl"]
    files = files.merge(with_columns(access, access_columns), on="filepath", how="left")

    bodies = pd.DataFrame({"row": files["row"], "external_id": files["filepath"]})
    bodies["urls"] = [[filepath] for filepath in files["filepath"]]
    bodies["file_name"] = files["filepath"].str.rsplit("/", n=1).str[-1]
    bodies["file_format"] = file_formats(bodies["file_name"]).replace("", None)
    bodies["data_type"] = files["data_type"]
    bodies["workflow_type"] = files["workflow_type"]
    bodies["is_harmonized"] = True
    bodies["size"] = pd.to_numeric(files["size"]).astype("Int64")
    bodies["hashes"] = _hashes(files)
    bodies["availability"] = _availability(files["storage_class"], files["archive_status"])
    bodies["controlled_access"] = files["controlled_access"].astype("boolean").fillna(True).astype(bool)
    for field in ["authz", "acl"]:
        bodies[field] = [entries if isinstance(entries, list) else [] for entries in files[field]]
    bodies["cavatica_file_id"] = files["cavatica_id"] if cavatica else None
    bodies["visible"] = True
    bodies["payload"] = _records_without_nulls(bodies[BODY_FIELDS])
    return bodies


def biospecimen_link_payload(gf_kf_id: str, bs_id: str) -> dict:
    """POST body for /biospecimen-genomic-files."""
    return {"biospecimen_id": bs_id, "genomic_file_id": gf_kf_id}


def experiment_link_payload(gf_kf_id: str, se_id: str) -> dict:
    """POST body for /sequencing-experiment-genomic-files."""
    return {"sequencing_experiment_id": se_id, "genomic_file_id": gf_kf_id}


def _hashes(files: pd.DataFrame) -> list[dict | None]:
    """Per file the hashes indexd accepts; None when nothing is known (so nothing is overwritten)."""
    columns = {
        "md5": files["md5"].astype("string").str.lower(),
        "etag": files["etag"].astype("string").str.lower(),
    }
    for column, (hash_type, length) in S3_CHECKSUMS.items():
        columns[hash_type] = [_base64_to_hex(value, length) for value in files[column]]
    return [hashes or None for hashes in _records_without_nulls(pd.DataFrame(columns, index=files.index))]


def _base64_to_hex(value: object, length: int) -> str | None:
    """Hex digest of an S3 base64 checksum; None for composite (``-N``) or malformed values.

    A composite checksum of a multipart upload is a checksum of part checksums,
    not of the object, so it must not be sent as the file's hash.
    """
    if not isinstance(value, str) or "-" in value:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == length else None


def cold_storage(storage_class: pd.Series, archive_status: pd.Series) -> pd.Series:
    """True where the object must be restored before it can be downloaded."""
    return storage_class.isin(COLD_STORAGE_CLASSES) | archive_status.isin(ARCHIVE_STATUSES)


def _availability(storage_class: pd.Series, archive_status: pd.Series) -> pd.Series:
    cold = cold_storage(storage_class, archive_status)
    values = np.where(cold, "Cold Storage", np.where(storage_class.notna(), "Immediate Download", None))
    return pd.Series(values, index=storage_class.index, dtype=object)


def _records_without_nulls(frame: pd.DataFrame) -> list[dict]:
    """Row dicts of plain Python values, leaving out missing cells (None/NaN/NA)."""
    values = frame.astype(object).where(frame.notna(), None)
    return [
        {field: value for field, value in record.items() if value is not None}
        for record in values.to_dict("records")
    ]
