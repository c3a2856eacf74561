import base64
import hashlib
import json
import zlib

import pandas as pd
import pytest

from gwo_assets.core.payloads import (
    biospecimen_link_payload,
    experiment_link_payload,
    file_format,
    genomic_file_payloads,
)

STUDY = "/programs/SD_11111111"
CRAM = "s3://bucket/harmonized/pt1.GRCh38.cram"
GVCF = "s3://bucket/harmonized/pt1.g.vcf.gz"
CONTENT = b"harmonized bytes"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("pt1.g.vcf.gz", "gvcf"),
        ("pt1.g.vcf.gz.tbi", "tbi"),
        ("pt1.vcf.gz.tbi", "tbi"),
        ("pt1.vcf.gz", "vcf"),
        ("pt1.cram.crai", "crai"),
        ("pt1.crai", "crai"),
        ("pt1.bam.bai", "bai"),
        ("pt1.GRCh38.CRAM", "cram"),
        ("pt1.bam", "bam"),
        ("pt1_R1.fastq.gz", "fastq"),
        ("pt1_R1.fq.gz", "fastq"),
        ("pt1.consensus_somatic.public.maf.gz", "maf"),
        ("pt1.controlfreec.seg", "seg"),
        ("pt1.rsem.genes.results.gz", "tsv"),
        ("pt1.arriba.fusions.pdf", "pdf"),
        ("pt1.peddy.html", "html"),
        ("results.tar.gz", "tar"),
        ("pt1.regions.bed", "bed"),
        ("pt1.qc.txt", "txt"),
        ("pt1.something.xyz", "xyz"),
        ("README", ""),
    ],
)
def test_file_format_uses_the_longest_known_extension(filename, expected):
    assert file_format(filename) == expected


def manifest(*rows):
    """(row, filepath, cavatica_id) triples."""
    return pd.DataFrame(
        [
            {"row": row, "filepath": filepath, "source_read": "s3://bucket/source/pt1.cram",
             "biospecimen_id": "BS_1", "participant_id": "PT_1", "data_type": "Aligned Reads",
             "workflow_type": "Alignment", "cavatica_id": cavatica_id}
            for row, filepath, cavatica_id in rows
        ]
    )


def s3_meta(**overrides):
    base = {
        "filepath": CRAM, "bucket": "bucket", "key": "harmonized/pt1.GRCh38.cram", "exists": True,
        "size": 130000000, "etag": "4a6b6bbe4dcd8a5fce7cafad4bbadb55-12", "md5": None,
        "storage_class": "STANDARD", "archive_status": None, "server_side_encryption": None,
        "checksum_sha256": None, "checksum_crc32": None,
        "checksum_crc32c": None, "checksum_sha1": None, "error": None,
    }
    return pd.DataFrame([{**base, **overrides}])


ACCESS = pd.DataFrame([{"filepath": CRAM, "controlled_access": True, "authz": [STUDY], "acl": [],
                        "access_resolved": True}])


def test_payload_is_the_full_post_body_and_json_serializable():
    bodies = genomic_file_payloads(manifest((2, CRAM, "5f0c1a2b3c4d5e6f7a8b9c0d")), s3_meta(), ACCESS)

    assert len(bodies) == 1
    body = bodies.loc[0, "payload"]
    assert body == {
        "external_id": CRAM, "urls": [CRAM], "file_name": "pt1.GRCh38.cram", "file_format": "cram",
        "data_type": "Aligned Reads", "workflow_type": "Alignment", "is_harmonized": True,
        "size": 130000000, "hashes": {"etag": "4a6b6bbe4dcd8a5fce7cafad4bbadb55-12"},
        "availability": "Immediate Download", "controlled_access": True, "authz": [STUDY], "acl": [],
        "cavatica_file_id": "5f0c1a2b3c4d5e6f7a8b9c0d", "visible": True,
    }
    assert json.loads(json.dumps(body)) == body
    assert bodies.loc[0, "row"] == 2


def test_s3_checksums_become_lower_case_hex_and_composites_are_skipped():
    sha256 = hashlib.sha256(CONTENT)
    sha1 = hashlib.sha1(CONTENT)
    crc = zlib.crc32(CONTENT).to_bytes(4, "big")
    meta = s3_meta(
        etag="ABCDEF0123456789ABCDEF0123456789", md5="ABCDEF0123456789ABCDEF0123456789",
        checksum_sha256=base64.b64encode(sha256.digest()).decode(),
        checksum_sha1=base64.b64encode(sha1.digest()).decode() + "-3",
        checksum_crc32=base64.b64encode(crc).decode(),
        checksum_crc32c="AAAAAA==",
    )

    hashes = genomic_file_payloads(manifest((2, CRAM, None)), meta, ACCESS).loc[0, "payload"]["hashes"]

    assert hashes == {
        "md5": "abcdef0123456789abcdef0123456789",
        "etag": "abcdef0123456789abcdef0123456789",
        "sha256": sha256.hexdigest(),
        "crc": crc.hex(),
    }


def test_cold_storage_classes_and_missing_objects():
    glacier = genomic_file_payloads(manifest((2, CRAM, None)), s3_meta(storage_class="DEEP_ARCHIVE"), ACCESS)
    instant = genomic_file_payloads(manifest((2, CRAM, None)), s3_meta(storage_class="GLACIER_IR"), ACCESS)
    missing = genomic_file_payloads(
        manifest((2, CRAM, None)),
        s3_meta(exists=False, size=None, etag=None, storage_class=None, error="not found"),
        ACCESS,
    )

    assert glacier.loc[0, "payload"]["availability"] == "Cold Storage"
    assert instant.loc[0, "payload"]["availability"] == "Immediate Download"
    # what S3 did not tell us is left out, so a stored value is never overwritten with nothing
    assert not {"size", "hashes", "availability", "cavatica_file_id"} & set(missing.loc[0, "payload"])


@pytest.mark.parametrize("storage_class, archive_status, availability", [
    ("INTELLIGENT_TIERING", "ARCHIVE_ACCESS", "Cold Storage"),
    ("INTELLIGENT_TIERING", "DEEP_ARCHIVE_ACCESS", "Cold Storage"),
    ("INTELLIGENT_TIERING", None, "Immediate Download"),
    ("GLACIER", None, "Cold Storage"),
    ("GLACIER_IR", None, "Immediate Download"),
])
def test_archived_intelligent_tiering_objects_are_cold_storage(storage_class, archive_status,
                                                               availability):
    """An object in an archive tier needs a restore before download, whatever its class."""
    meta = s3_meta(storage_class=storage_class, archive_status=archive_status)

    body = genomic_file_payloads(manifest((2, CRAM, None)), meta, ACCESS).loc[0, "payload"]

    assert body["availability"] == availability


def test_one_payload_per_filepath_from_its_first_row_and_cavatica_can_be_left_out():
    rows = manifest((5, GVCF, None), (3, CRAM, None), (4, CRAM, "5f0c1a2b3c4d5e6f7a8b9c0d"), (2, GVCF, "gvcf-id"))
    meta = pd.concat([s3_meta(), s3_meta(filepath=GVCF)], ignore_index=True)

    bodies = genomic_file_payloads(rows, meta, ACCESS, cavatica=False).set_index("external_id")

    assert bodies["row"].to_dict() == {GVCF: 2, CRAM: 3}
    assert bodies.loc[GVCF, "file_format"] == "gvcf"
    assert "cavatica_file_id" not in bodies.loc[CRAM, "payload"]
    with_cavatica = genomic_file_payloads(rows, meta, ACCESS).set_index("external_id")
    assert with_cavatica.loc[CRAM, "payload"]["cavatica_file_id"] == "5f0c1a2b3c4d5e6f7a8b9c0d"


def test_file_without_inherited_access_is_controlled():
    body = genomic_file_payloads(manifest((2, GVCF, None)), s3_meta(filepath=GVCF), ACCESS).loc[0, "payload"]

    assert (body["controlled_access"], body["authz"], body["acl"]) == (True, [], [])


def test_link_payloads():
    assert biospecimen_link_payload("GF_1", "BS_1") == {"biospecimen_id": "BS_1", "genomic_file_id": "GF_1"}
    assert experiment_link_payload("GF_1", "SE_1") == {"sequencing_experiment_id": "SE_1", "genomic_file_id": "GF_1"}


def test_empty_manifest_gives_no_payloads():
    bodies = genomic_file_payloads(manifest(), pd.DataFrame(), pd.DataFrame())

    assert bodies.empty
    assert "payload" in bodies.columns
