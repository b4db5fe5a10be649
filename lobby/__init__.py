"""Meeple's service. The wiring lives here (``app``, ``services``, ``settings``, ``cli``);
each part has a folder of its own, and a change goes where its folder name says:

- ``edge/``: the room WebSocket below ASGI, its frames, writes and heartbeats;
- ``rooms/``: the rooms this process hosts, the cluster of processes, quick-match;
- ``players/``: what players earn beyond one room (ratings);
- ``http/``: the REST API;
- ``stores/``: the store interfaces, in memory and in Redis;
- ``ops/``: metrics, logs and health.

Parts import downwards only (edge and http use rooms; rooms use stores and ops;
stores and ops use nothing of the others): ``tests/test_layout.py`` keeps it so.
"""
