"""Which browser origins may use the server: one list for WebSockets and CORS alike."""

from __future__ import annotations

from urllib.parse import urlsplit

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a request with this ``Origin`` (and ``Host``) header may go on.

    No Origin header means no browser (a script or a bot): allowed. ``self`` in the
    list admits the server's own origin, ``localhost`` any port on a loopback name,
    ``*`` everything; any other entry is an exact origin such as ``https://example.com``.

    ``self`` is for development: it compares the Origin's host and port with the
    request's ``Host`` header, which the client sends, and ignores the scheme. A page on
    any name that resolves to this server (DNS rebinding) passes it, and so does an
    ``http://`` page where ``https://`` is served. In production, name the public
    origins in full (``MEEPLE_ORIGINS=https://games.example.com``), as deploy/ does.
    """
    if origin is None:
        return True
    if "*" in allowed or origin in allowed:
        return True
    parts = urlsplit(origin)
    if "self" in allowed and host and parts.netloc == host:
        return True
    return "localhost" in allowed and parts.hostname in LOCAL_HOSTS


def cors_regex(allowed: tuple[str, ...]) -> str | None:
    """The CORS origin pattern for the ``localhost`` entry (exact entries go in a list)."""
    if "localhost" in allowed:
        return r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
    return None
