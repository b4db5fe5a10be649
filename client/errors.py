"""The exceptions the client raises, so callers can branch on type rather than text."""

from __future__ import annotations


class ClientError(Exception):
    """Base for every error this client raises on purpose."""


class ApiError(ClientError):
    """A REST call answered with an RFC 9457 problem; ``code`` is the stable part."""

    def __init__(
        self, status: int, code: str, detail: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


class MatchmakingError(ClientError):
    """A quick-match ticket ended without a match (expired or cancelled)."""

    def __init__(self, ticket: str, status: str) -> None:
        super().__init__(f"ticket {ticket} is {status}")
        self.ticket = ticket
        self.status = status
