"""``s3://bucket/key`` URIs: the only form a Filepath or manifest location may take."""

import re

S3_URI_PATTERN = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(\S(?:.*\S)?)$")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into (bucket, key); ValueError when malformed."""
    match = S3_URI_PATTERN.fullmatch(uri or "")
    if not match:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return match.group(1), match.group(2)


def is_s3_uri(uri: object) -> bool:
    return isinstance(uri, str) and bool(S3_URI_PATTERN.fullmatch(uri))
