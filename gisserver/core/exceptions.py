"""Domain errors raised by services; gisserver.core.errors maps them to HTTP responses.

Kept free of Flask so that services in layers/ and reports/ can raise them.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: a request the service refuses, with a stable code and details for clients."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, details: dict | list | None = None, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer must carry (Retry-After for 429 and 503)."""
        return {}


class Invalid(ServiceError):
    status = 400
    code = "invalid"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PreconditionFailed(ServiceError):
    """The client's If-Match names a version that is no longer current; *etag* is the current one."""

    status = 412
    code = "precondition_failed"

    def __init__(self, message: str, details: dict | None = None, *, etag: str | None = None):
        super().__init__(message, details)
        self.etag = etag

    @property
    def headers(self) -> dict[str, str]:
        return {"ETag": self.etag} if self.etag else {}


class PreconditionRequired(ServiceError):
    """A change that must name the version it changes (If-Match) came without it (RFC 6585)."""

    status = 428
    code = "precondition_required"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class UnsupportedMedia(ServiceError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(ServiceError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, details: dict | None = None, *, retry_after: int):
        super().__init__(message, details)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(ServiceError):
    status = 503
    code = "unavailable"
