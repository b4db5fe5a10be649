"""The socket edge: the room WebSocket below ASGI, its frames, writes and heartbeats.

Everything a client's bytes meet before a room does: the handshake and its checks
(``gateway``), RFC 6455 framing (``frames``), one write per connection per loop turn
(``connection``), one heartbeat timer for every socket (``heartbeat``) and the origin
rule shared with CORS (``origins``).
"""
