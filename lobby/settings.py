"""Server settings, read once from the environment (``MEEPLE_*`` and ``REDIS_URL``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from meeple.game.protocol import MAX_FRAME


def _env_switch(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in ("on", "1", "true", "yes"):
        return True
    if raw.strip().lower() in ("off", "0", "false", "no"):
        return False
    raise ValueError(f"{name} must be on or off, not {raw!r}")


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def default_database_url() -> str:
    """Where ``meeple serve`` keeps accounts, ratings and records when DATABASE_URL is not
    set: an SQLite file in ``MEEPLE_DATA_DIR``, by default ``~/.local/share/meeple``
    (``$XDG_DATA_HOME/meeple`` when that is set)."""
    data = os.environ.get("MEEPLE_DATA_DIR")
    if not data:
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(
            os.path.expanduser("~"), ".local", "share"
        )
        data = os.path.join(base, "meeple")
    return f"sqlite+aiosqlite:///{os.path.abspath(os.path.join(data, 'meeple.db'))}"


IN_MEMORY = "memory"
"""``DATABASE_URL=memory``: nothing lasts, accounts, ratings and records are kept in
memory (a throwaway server; the benchmark's in-memory case)."""


@dataclass(frozen=True)
class Settings:
    """Everything a deployment may tune. Defaults suit one process on a laptop."""

    redis_url: str | None = None
    database_url: str | None = None
    """Where what must last is kept (accounts, ratings, records): an SQLAlchemy URL,
    ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://user@host/db``. None keeps them
    in memory (an app made in code, a test); ``meeple serve`` defaults to an SQLite file
    (``default_database_url``), with REDIS_URL too: one file the processes of one machine
    share (processes on several machines need DATABASE_URL)."""
    database_schema: str | None = None
    """The PostgreSQL schema to use (``MEEPLE_DATABASE_SCHEMA``); None: the search path's."""
    redis_prefix: str = "meeple:"
    redis_connections: int = 64
    """Connections to Redis that requests (REST calls, connects) share; when all are busy
    a request waits for one. Moves and leases have connections of their own."""
    redis_wait_replicas: int = 0
    """Acknowledge a move only once this many Redis replicas have it (``WAIT``, one per
    journal batch); 0: once the primary has it. Not on a Redis Cluster."""
    redis_wait_ms: int = 1000
    """How long a batch waits for those replicas before its moves fail (``not_saved``)."""
    origins: tuple[str, ...] = ("self", "localhost")
    """Allowed browser origins. ``self`` is the server's own origin as the request's Host
    header names it (for development: see ``edge.origins``); ``localhost`` is any port on
    localhost, 127.0.0.1 or [::1]; anything else is an exact origin, the way to name
    production's (``https://games.example.com``)."""
    max_frame: int = MAX_FRAME
    send_queue: int = 256
    """Frames that may wait for a slow client before it is closed with 4429."""
    backlog: int = 256
    """Changes a room keeps per audience for resuming clients."""
    grace_seconds: float = 60.0
    reservation_seconds: float = 30.0
    session_ttl_seconds: float = 24 * 3600.0
    ping_interval: float = 10.0
    ping_timeout: float = 10.0
    message_rate: float = 20.0
    message_burst: int = 40
    """Frames other than moves; moves are paced by the game's turns."""
    create_limits: bool = True
    """Rate limits on creating sessions (per address), rooms and tickets (per player).
    Off for load tests and trusted bot farms, whose players all come from one address."""
    refusal_rate: float = 5.0
    refusal_burst: int = 20
    """Refused messages (errors) a client may cause before it is closed with 1008."""
    chat_rate: float = 0.5
    chat_burst: int = 5
    lease_seconds: float = 5.0
    """How long a room's owner may be silent before another process takes the room."""
    finished_room_ttl: float = 300.0
    """How long a finished room with nobody in it stays listed."""
    connect_ticket_seconds: float = 30.0
    """How long a connect ticket (POST /api/session/ticket) stays good, if unused."""
    ticket_seconds: float = 60.0
    """How long a quick-match ticket waits for a match before it expires
    (``MEEPLE_TICKET_SECONDS``)."""
    request_timeout: float = 10.0
    """Seconds a client has to send a whole request (head and body) once its connection
    is open or the request's first byte came; a WebSocket's handshake is one. 0: none."""
    games: tuple[str, ...] = ()
    """Games to serve besides the installed ones: ``package.module:GameClass`` each
    (``MEEPLE_GAMES``, comma-separated; ``meeple serve --game``)."""
    vapid_key_file: str = "meeple-vapid.pem"
    """Web Push: where the server's VAPID key is kept (made on first use; with Redis it is
    kept in Redis instead, one key for every process)."""
    vapid_subject: str = "mailto:admin@localhost"
    """Web Push: who runs this server, for push services (a mailto: or https: URL)."""
    push_services: tuple[str, ...] = (
        "https://fcm.googleapis.com",
        "https://updates.push.services.mozilla.com",
        "https://*.notify.windows.com",
        "https://web.push.apple.com",
    )
    """Web Push: the origins a subscription's endpoint may have (the server POSTs there)."""
    rate_bots: bool = True
    """Whether games rate bot accounts (``MEEPLE_RATE_BOTS``). On, as lichess rates its BOT
    accounts: a bot's rating says how strong it is, and a person's games against it count.
    Off: a bot account's seat is left out of the rating like the server's own bots."""
    entry_point_games: bool = True
    """Serve every game installed under the ``meeple.games`` entry points
    (``MEEPLE_ENTRY_POINT_GAMES=off`` serves only ``games`` and ``create_app(games=)``)."""

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        redis_url = env.get("REDIS_URL") or None
        # What must last is always in SQL: with REDIS_URL too, the SQLite file is shared by
        # the processes of one machine; several machines need DATABASE_URL.
        database_url: str | None = env.get("DATABASE_URL") or default_database_url()
        if database_url == IN_MEMORY:
            database_url = None
        return cls(
            redis_url=redis_url,
            database_url=database_url,
            database_schema=env.get("MEEPLE_DATABASE_SCHEMA") or None,
            redis_prefix=env.get("MEEPLE_REDIS_PREFIX", "meeple:"),
            redis_connections=int(env.get("MEEPLE_REDIS_CONNECTIONS", 64)),
            redis_wait_replicas=int(env.get("MEEPLE_REDIS_WAIT_REPLICAS", 0)),
            redis_wait_ms=int(env.get("MEEPLE_REDIS_WAIT_MS", 1000)),
            origins=_env_list("MEEPLE_ORIGINS", ("self", "localhost")),
            grace_seconds=float(env.get("MEEPLE_GRACE_SECONDS", 60)),
            reservation_seconds=float(env.get("MEEPLE_RESERVATION_SECONDS", 30)),
            ticket_seconds=float(env.get("MEEPLE_TICKET_SECONDS", 60)),
            ping_interval=float(env.get("MEEPLE_PING_INTERVAL", 10)),
            ping_timeout=float(env.get("MEEPLE_PING_TIMEOUT", 10)),
            message_rate=float(env.get("MEEPLE_MESSAGE_RATE", 20)),
            message_burst=int(env.get("MEEPLE_MESSAGE_BURST", 40)),
            create_limits=_env_switch("MEEPLE_CREATE_LIMITS", True),
            lease_seconds=float(env.get("MEEPLE_LEASE_SECONDS", 5)),
            request_timeout=float(env.get("MEEPLE_REQUEST_TIMEOUT", 10)),
            games=_env_list("MEEPLE_GAMES", ()),
            entry_point_games=_env_switch("MEEPLE_ENTRY_POINT_GAMES", True),
            rate_bots=_env_switch("MEEPLE_RATE_BOTS", True),
            vapid_key_file=env.get("MEEPLE_VAPID_KEY_FILE", "meeple-vapid.pem"),
            vapid_subject=env.get("MEEPLE_VAPID_SUBJECT", "mailto:admin@localhost"),
            push_services=_env_list("MEEPLE_PUSH_SERVICES", cls.push_services),
        )
