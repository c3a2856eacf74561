"""A large, valid GWO manifest for smoke and scale tests (no files committed)."""

from gwo_assets.core.kf_ids import CROCKFORD

HEADER = "Filepath\tSource Read\tKF Biospecimen ID\tKF Participant ID\tData Type\tWorkflow Type\tKF Family ID"


def kf_id(prefix: str, number: int) -> str:
    """The ``number``-th kf_id of ``prefix``: distinct numbers give distinct valid ids."""
    body = ""
    for _ in range(8):
        number, digit = divmod(number, len(CROCKFORD))
        body = CROCKFORD[digit] + body
    return f"{prefix}_{body}"


def large_manifest_tsv(rows: int, bucket: str = "kf-study-us-east-1-prd-sd-0a1b2c3d") -> bytes:
    """``rows`` data rows: each harmonized file has two source reads (tumor/normal pair) of one participant."""
    lines = [HEADER]
    for number in range(rows):
        pair = number // 2
        lines.append("\t".join((
            f"s3://{bucket}/harmonized/somatic/pair{pair}.vcf.gz",
            f"s3://{bucket}/source/reads{number}.cram",
            kf_id("BS", number),
            kf_id("PT", pair),
            "Variant Calls",
            "Somatic-Mutation",
            kf_id("FM", pair // 4),
        )))
    return ("\n".join(lines) + "\n").encode()
