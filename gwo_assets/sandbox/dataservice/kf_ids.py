"""kf_id generation and the service's own kf_id format check.

The service's check is looser than ``core.kf_ids``: it matches the prefix and
8 Crockford characters at the start and leaves the length to a separate
11-character limit, so the sandbox reproduces that split.
"""

import random
import re
import uuid

from gwo_assets.core.kf_ids import CROCKFORD
from gwo_assets.sandbox.dataservice.filler import is_filler_kf_id

KF_ID_MAX_LENGTH = 11
ZERO_UUID = str(uuid.UUID(int=0))

_random = random.Random()


def new_kf_id(prefix: str) -> str:
    """A random, non-sequential kf_id such as ``GF_0A1B2C3D``, never a filler row's."""
    while True:
        kf_id = f"{prefix}_{''.join(_random.choices(CROCKFORD, k=8))}"
        if not is_filler_kf_id(kf_id):
            return kf_id


def new_uuid() -> str:
    return str(uuid.uuid4())


def has_kf_id_format(value: str, prefix: str) -> bool:
    """The service's ``validate_kf_id``: ``PREFIX_`` + 8 Crockford characters at the start."""
    return re.match(rf"{prefix}_[{CROCKFORD}]{{8}}", value) is not None
