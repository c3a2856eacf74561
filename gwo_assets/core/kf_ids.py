"""kf_id formats, checked before any value goes into a URL or request."""

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
