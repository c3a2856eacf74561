"""Errors a user sees: every message is one sentence that names what to fix."""


class GwoError(Exception):
    """Base class; ``str(error)`` is a one-line, user-facing sentence."""


class ManifestError(GwoError):
    """The manifest is unreadable or is not a GWO manifest."""


class S3AccessError(GwoError):
    """S3 refused us: missing/invalid credentials, access denied, missing bucket."""


class DataServiceError(GwoError):
    """The DataService answered with an error (or not at all)."""

    def __init__(self, message: str, *, status: int | None = None, method: str = "",
                 path: str = "", service_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path
        self.service_message = service_message


class DataServiceUnavailable(DataServiceError):
    """Connection refused, DNS failure or timeouts after the retries."""


class DataServiceAuthError(DataServiceError):
    """401/403: the token is missing, expired or lacks permission."""


class ConcurrentLoadError(GwoError):
    """Another load for the same study holds the study lock."""
