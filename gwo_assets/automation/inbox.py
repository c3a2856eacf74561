"""The manifest inbox: a local folder or an ``s3://bucket/prefix/``, and what the sensor has seen.

A manifest is known by the SHA-256 of its bytes: the same bytes uploaded again (under any
name) are never handled twice. To avoid reading every object on every tick, the cursor also
keeps, per file, a signature (S3: ETag and size; local: mtime and size) and the hash it had:
a file whose signature did not change is not read again.

A file that cannot be read is that file's problem, never the inbox's: ``read`` raises
``UnreadableManifest``, either *lasting* (archived, access denied, gone: the sensor records it
as handled for that signature and tells once; new bytes or a new name make it new again) or
not (S3 throttling, a 5xx, the network: tried again on the next tick).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from gwo_assets.errors import GwoError, S3AccessError

INBOX_ENV = "GWO_MANIFEST_INBOX"
MANIFEST_SUFFIXES = (".tsv", ".csv", ".xlsx")
# S3 codes that say nothing about the object: the credentials, the service, the network.
_S3_TRANSIENT_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed",
    "InternalError", "ServiceUnavailable", "InvalidAccessKeyId", "SignatureDoesNotMatch",
    "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
})
_S3_GONE_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_S3_DENIED_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled"})
_AGAIN = ("then put it in the inbox again under a new name (the same name with the same bytes "
          "is not read again)")


class UnreadableManifest(GwoError):
    """One inbox file could not be read; ``str()`` says why and what to do.

    ``lasting``: it will not become readable by itself (archived, access denied, gone), so it is
    recorded as handled for its signature; otherwise it is tried again on the next tick.
    """

    def __init__(self, message: str, lasting: bool):
        super().__init__(message)
        self.lasting = lasting


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
                try:
                    stat = path.stat()
                except FileNotFoundError:  # removed since rglob saw it: not in the inbox any more
                    continue
                found.append(InboxFile(str(path), path.relative_to(self.root).as_posix(),
                                       f"{stat.st_mtime_ns}:{stat.st_size}"))
        return found

    def read(self, file: InboxFile) -> bytes:
        try:
            return Path(file.location).read_bytes()
        except FileNotFoundError as error:
            raise UnreadableManifest("it was removed between the listing and the read; put it "
                                     "in the inbox again to have it read", lasting=True) from error
        except PermissionError as error:
            raise UnreadableManifest(
                "the sensor may not read it (permission denied): give the daemon's user read "
                "access, then touch it (or put it in the inbox again)", lasting=True) from error
        except OSError as error:
            raise UnreadableManifest(f"{error.strerror or error}", lasting=False) from error


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
        try:
            return self.client.get_object(Bucket=self.bucket,
                                          Key=self.prefix + file.relative)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise unreadable_s3_object(error) from error


def unreadable_s3_object(error: ClientError | BotoCoreError) -> UnreadableManifest:
    """Why S3 would not give an inbox object's bytes, and whether that lasts."""
    if not isinstance(error, ClientError):  # no answer (network, timeout, credentials chain)
        return UnreadableManifest(f"S3 did not answer ({error})", lasting=False)
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code == "InvalidObjectState":
        return UnreadableManifest(
            "it is archived (S3 Glacier Flexible Retrieval / Deep Archive, or an archive tier of "
            "Intelligent-Tiering) and S3 will not return its bytes (InvalidObjectState): restore "
            f"it or store it in the STANDARD storage class, {_AGAIN}", lasting=True)
    if code in _S3_GONE_CODES:
        return UnreadableManifest(
            f"it was deleted between the listing and the read ({code}); upload it again to have "
            "it read", lasting=True)
    if code in _S3_DENIED_CODES:
        return UnreadableManifest(
            f"S3 denied reading it ({code}): give the sensor's AWS credentials s3:GetObject on "
            f"it (and kms:Decrypt when it is KMS-encrypted), {_AGAIN}", lasting=True)
    if code in _S3_TRANSIENT_CODES or status >= 500 or status in (0, 408, 429):
        return UnreadableManifest(f"S3 answered {code or status}", lasting=False)
    return UnreadableManifest(f"S3 refused to return it ({code or status}): fix the object, "
                              f"{_AGAIN}", lasting=True)


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
    ``files``: location -> [signature, sha256] of the files listed last time;
    ``unreadable``: location -> the signature it could not be read under, for good (handled
    for those bytes: the same signature is not tried again, another one is)."""

    seen: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> InboxCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(seen=dict(data.get("seen", {})), files=dict(data.get("files", {})),
                   unreadable=dict(data.get("unreadable", {})))

    def to_json(self) -> str:
        return json.dumps({"seen": self.seen, "files": self.files,
                           "unreadable": self.unreadable}, sort_keys=True)

    def is_known_unreadable(self, file: InboxFile) -> bool:
        return self.unreadable.get(file.location) == file.signature

    def known_hash(self, file: InboxFile) -> str | None:
        """The file's hash when its signature did not change since it was read."""
        signature, sha256 = self.files.get(file.location, (None, None))
        return sha256 if signature == file.signature else None
