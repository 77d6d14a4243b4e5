"""Exceptions of the SMARD scraper.

SmardError
├── ConfigError            bad configuration, reported at start-up
├── SmardMisconfigured     SMARD answered 404: wrong filter/region/resolution or stale timestamp
├── SmardUnavailable       429 / 5xx from SMARD (retryable, may carry Retry-After)
├── SmardBadResponse       body is not JSON or does not parse (retryable)
├── SmardDataError         JSON parses but breaks the contract (not retryable)
└── PublishError           the gateway did not take the data
    ├── GatewayUnavailable connection problems, 429, 5xx (retryable)
    └── PublishRejected    400/401/403/413/422, GraphQL errors, userErrors (not retryable)
"""

from __future__ import annotations


class SmardError(Exception):
    """Base class of every error the scraper raises on purpose."""


class ConfigError(SmardError):
    """The configuration is invalid; the message says what to fix."""


class SmardMisconfigured(SmardError):
    """SMARD returned 404, so retrying cannot help."""

    def __init__(self, url: str) -> None:
        super().__init__(f"SMARD returned 404 for {url} (unknown filter/region/resolution?)")
        self.url = url


class SmardUnavailable(SmardError):
    """SMARD answered with a transient status (429 or 5xx)."""

    def __init__(self, url: str, status: int, retry_after: float | None) -> None:
        super().__init__(f"SMARD returned {status} for {url}")
        self.url = url
        self.status = status
        self.retry_after = retry_after


class SmardBadResponse(SmardError):
    """The body is not a JSON document (HTML challenge page, truncated file)."""


class SmardDataError(SmardError):
    """The JSON does not have the documented shape; storing it could corrupt data."""


class PublishError(SmardError):
    """The gateway did not accept a request."""


class GatewayUnavailable(PublishError):
    """The gateway could not be reached or asked us to come back later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PublishRejected(PublishError):
    """The gateway refused the request; sending it again would give the same answer."""
