"""Bot accounts that outlast a run: ``meeple bot`` signs its players up as bot accounts
once, keeps their usernames and passwords in a file, and logs in with them on the next
run, so a bot keeps its player id, its rating and its history.

The file is ``bots.json`` in ``MEEPLE_DATA_DIR`` (by default ``~/.local/share/meeple``,
``$XDG_DATA_HOME/meeple`` when that is set: where ``meeple serve`` keeps its database),
or wherever ``--credentials`` says; readable by its owner only. It holds, per server,
one account per bot slot (the strategy and the bot's number).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from meeple.client.errors import ApiError
from meeple.client.rest import MeepleClient


def default_path() -> Path:
    """``bots.json`` in the data directory ``meeple serve`` uses too."""
    data = os.environ.get("MEEPLE_DATA_DIR")
    if not data:
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(
            os.path.expanduser("~"), ".local", "share"
        )
        data = os.path.join(base, "meeple")
    return Path(data) / "bots.json"


class BotAccounts:
    """The credentials file: ``{server: {slot: {"username", "password"}}}``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._data: dict[str, dict[str, dict[str, str]]] = {}
        if self.path.exists():
            loaded: Any = json.loads(self.path.read_text() or "{}")
            if not isinstance(loaded, dict):
                raise ValueError(f"{self.path} is not a bot credentials file")
            self._data = loaded

    def get(self, server: str, slot: str) -> dict[str, str] | None:
        return self._data.get(server, {}).get(slot)

    def put(self, server: str, slot: str, credentials: dict[str, str]) -> None:
        """Keep them, written whole to a file only its owner may read."""
        self._data.setdefault(server, {})[slot] = credentials
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self._data, f, indent=2)
        os.replace(partial, self.path)

    async def log_in(self, api: MeepleClient, server: str, slot: str, display_name: str) -> None:
        """Log ``api`` in as the slot's bot account, signing one up the first time (or
        again when the server no longer knows it: a new database, a deleted account)."""
        kept = self.get(server, slot)
        if kept is not None:
            try:
                await api.login(kept["username"], kept["password"])
                return
            except ApiError as exc:
                if exc.status != 401:
                    raise
        # Usernames are one namespace per server: a random tail keeps two people's bots apart.
        username = f"{slot[:20]}-{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(24)
        await api.register(username, password, display_name, bot=True)
        self.put(server, slot, {"username": username, "password": password})
