"""Error answers: status + ``_status.message``, with Werkzeug's stock texts where the
real service lets Flask answer (bad JSON, unknown URL, wrong method, crashes)."""

BAD_REQUEST = "The browser (or proxy) sent a request that this server could not understand."
NOT_FOUND = ("The requested URL was not found on the server. If you entered the URL "
             "manually please check your spelling and try again.")
METHOD_NOT_ALLOWED = "The method is not allowed for the requested URL."
INTERNAL_ERROR = ("The server encountered an internal error and was unable to complete "
                  "your request. Either the server is overloaded or there is an error in "
                  "the application.")
SERVICE_UNAVAILABLE = ("The server is temporarily unable to service your request due to "
                       "maintenance downtime or capacity problems. Please try again later.")
INTEGRITY_ERROR = "error saving changes"


class ApiError(Exception):
    """Answer ``status`` with ``{"_status": {"code": status, "message": message}}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def internal_error() -> ApiError:
    return ApiError(500, INTERNAL_ERROR)


def not_found(entity: str, kf_id: str) -> ApiError:
    return ApiError(404, f"could not find {entity} `{kf_id}`")


def invalid(action: str, entity: str, errors: dict) -> ApiError:
    """``could not create genomic_file: {'size': ['Not a valid integer.']}``."""
    return ApiError(400, f"could not {action} {entity}: {errors!r}")
