"""Structured logs: one JSON object a line, carrying room, seat and connection ids.

Call sites pass ids through ``extra`` (``log.info("joined", extra={"room": ...})``);
the formatter lifts the known ones into fields so a log search can filter on them.
No secret is written: ``RedactSecrets`` blanks credentials in every line, uvicorn's
access log included (a client may put a token in a URL however often we say not to).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

CONTEXT_FIELDS = ("room", "seat", "conn", "player", "node", "code")


SECRET_PARAMS = ("token", "ticket", "invite")
_PARAMS = "|".join(SECRET_PARAMS)
_SECRETS = re.compile(
    rf"(?P<keep>(?:[?&](?:{_PARAMS})=)|(?:\bBearer\s+)|(?:\btoken\.)|(?:/api/invites/))"
    r"[^\s&\"',;?]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with the values of credentials blanked: ``?token=``, ``?ticket=`` and
    ``?invite=`` parameters, invite codes in ``/api/invites/<code>``, bearer tokens and
    ``token.…`` subprotocols."""
    return _SECRETS.sub(r"\g<keep>[redacted]", text)


class RedactSecrets(logging.Filter):
    """Blanks credentials in a record's message (see ``redact``): on the handler, so every
    logger's lines pass through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class BoundedShutdown(logging.Filter):
    """uvicorn logs the end of its bounded wait for close handshakes at ERROR. Meeple
    bounds that wait on purpose (``cli.GRACEFUL_SECONDS``; a client that never answers a
    close must not hold a deploy), so it is a warning here, not an alert on every deploy."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and "timeout graceful shutdown exceeded" in str(
            record.msg
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class Outage:
    """A background task's failures logged as one outage, not a line an attempt: the
    first failure, then a line every ``every`` seconds while they go on, and one when
    the task works again. Redis gone for an hour would otherwise write 14,400 lines of
    one process's beat alone (four a second), and bury what else happened."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``what``: the task, as the start of a sentence ("saying we are alive")."""
        self._log = log
        self._what = what
        self._every = every
        self._clock = clock
        self._failures = 0
        self._since = self._logged = 0.0

    def failed(self, exc: BaseException) -> None:
        now = self._clock()
        self._failures += 1
        if self._failures == 1:
            self._since = self._logged = now
            self._log.warning("%s failed: %r", self._what, exc)
        elif now - self._logged >= self._every:
            self._logged = now
            self._log.warning(
                "%s still failing: %d attempts in %.0f s, the last: %r",
                self._what, self._failures, now - self._since, exc,
            )  # fmt: skip

    def worked(self) -> None:
        if self._failures:
            self._log.warning(
                "%s works again, after %d failed attempts in %.0f s",
                self._what, self._failures, self._clock() - self._since,
            )  # fmt: skip
            self._failures = 0


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def log_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the server and uvicorn alike, as JSON lines."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "meeple.lobby.ops.logs.JsonFormatter"}},
        "filters": {
            "secrets": {"()": "meeple.lobby.ops.logs.RedactSecrets"},
            "shutdown": {"()": "meeple.lobby.ops.logs.BoundedShutdown"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["secrets"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "meeple": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"filters": ["shutdown"], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }
