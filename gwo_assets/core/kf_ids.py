"""kf_id formats, checked before any value goes into a URL or request."""

import hashlib
import re

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_KF_BODY = f"[{CROCKFORD}]{{8}}"
KF_ID_PATTERN = re.compile(rf"^(SD|PT|BS|SC|SE|GF|BG|SG|FM|FR)_{_KF_BODY}$")


def is_kf_id(value: object, prefix: str | None = None) -> bool:
    """True when ``value`` is PREFIX_ + 8 Crockford base32 characters."""
    if not isinstance(value, str) or not KF_ID_PATTERN.fullmatch(value):
        return False
    return prefix is None or value.startswith(prefix + "_")


def normalize_kf_id(value: str) -> str:
    """Trim and upper-case: the unambiguous repairs of a typed kf_id."""
    return value.strip().upper()


def validate_kf_id(value: str, prefix: str) -> str:
    """Return ``value`` when it is a valid ``prefix`` kf_id, else raise ValueError."""
    if not is_kf_id(value, prefix):
        raise ValueError(
            f"{value!r} is not a valid {prefix} kf_id: expected {prefix}_ followed by 8 "
            f"characters from {CROCKFORD} (e.g. {prefix}_0A1B2C3D)"
        )
    return value


def chosen_kf_id(prefix: str, key: str, attempt: int = 0) -> str:
    """The kf_id this tool gives the record identified by ``key`` (``attempt`` 0, 1, ...).

    Derived from the key, not random: every run of any study that creates the record for one
    S3 object picks the same id, so a re-sent POST, a late commit or a concurrent run all land
    on one record instead of making a second one. ``attempt`` moves to a fresh id when the
    derived one is held by a record of another key (40 bits: a clash is rare, never silent).
    """
    digest = int.from_bytes(hashlib.sha256(f"gwo_assets/{prefix}/{attempt}/{key}".encode())
                            .digest()[:5], "big")
    body = "".join(CROCKFORD[(digest >> shift) & 31] for shift in range(35, -1, -5))
    return f"{prefix}_{body}"
