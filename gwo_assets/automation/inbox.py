"""The manifest inbox: a local folder or an ``s3://bucket/prefix/``, and what the sensor has seen.

A manifest is known by the SHA-256 of its bytes: the same bytes uploaded again (under any
name) are never handled twice. To avoid reading every object on every tick, the cursor also
keeps, per file, a signature (S3: ETag and size; local: mtime and size) and the hash it had:
a file whose signature did not change is not read again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from gwo_assets.errors import S3AccessError
from gwo_assets.resources.s3 import read_object_bytes

INBOX_ENV = "GWO_MANIFEST_INBOX"
MANIFEST_SUFFIXES = (".tsv", ".csv", ".xlsx")


@dataclass(frozen=True)
class InboxFile:
    location: str   # what a run reads: an absolute local path or s3://bucket/key
    relative: str   # below the inbox, '/'-separated (the path may name the study)
    signature: str  # changes whenever the bytes may have changed


class Inbox(Protocol):
    location: str

    def files(self) -> list[InboxFile]: ...

    def read(self, file: InboxFile) -> bytes: ...


def is_manifest_name(name: str) -> bool:
    """.tsv/.csv/.xlsx, not hidden, not an Excel lock file (``~$name.xlsx``)."""
    return name.lower().endswith(MANIFEST_SUFFIXES) and not name.startswith((".", "~$"))


@dataclass
class LocalInbox:
    root: Path

    @property
    def location(self) -> str:
        return str(self.root)

    def files(self) -> list[InboxFile]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"The manifest inbox {self.root} is not a folder: create it or "
                                    f"fix {INBOX_ENV}")
        found = []
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and is_manifest_name(path.name):
                stat = path.stat()
                found.append(InboxFile(str(path), path.relative_to(self.root).as_posix(),
                                       f"{stat.st_mtime_ns}:{stat.st_size}"))
        return found

    def read(self, file: InboxFile) -> bytes:
        return Path(file.location).read_bytes()


@dataclass
class S3Inbox:
    bucket: str
    prefix: str
    client: Any

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def files(self) -> list[InboxFile]:
        found = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                          Prefix=self.prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if is_manifest_name(PurePosixPath(key).name):
                        found.append(InboxFile(f"s3://{self.bucket}/{key}",
                                               key[len(self.prefix):],
                                               f"{item.get('ETag', '')}:{item.get('Size', '')}"))
        except (ClientError, BotoCoreError) as error:
            raise S3AccessError(f"Cannot list the manifest inbox {self.location} ({error}): check "
                                f"{INBOX_ENV}, the bucket and your AWS credentials") from error
        return sorted(found, key=lambda file: file.location)

    def read(self, file: InboxFile) -> bytes:
        return read_object_bytes(self.client, file.location)


def open_inbox(location: str, s3_client_factory: Any) -> Inbox:
    """``s3://bucket/prefix/`` (the client made only then) or a local folder."""
    location = location.strip()
    if location.lower().startswith("s3://"):
        bucket, _, prefix = location[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError(f"{INBOX_ENV}={location!r} names no bucket: use s3://bucket/prefix/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Inbox(bucket, prefix, s3_client_factory())
    return LocalInbox(Path(os.path.expanduser(location)).resolve())


@dataclass
class InboxCursor:
    """``seen``: sha256 -> the location it was first handled at (requested or refused);
    ``files``: location -> [signature, sha256] of the files listed last time."""

    seen: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> InboxCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(seen=dict(data.get("seen", {})), files=dict(data.get("files", {})))

    def to_json(self) -> str:
        return json.dumps({"seen": self.seen, "files": self.files}, sort_keys=True)

    def known_hash(self, file: InboxFile) -> str | None:
        """The file's hash when its signature did not change since it was read."""
        signature, sha256 = self.files.get(file.location, (None, None))
        return sha256 if signature == file.signature else None
