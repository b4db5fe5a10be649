"""50 hostile clients for 20 s against one ``meeple serve`` (issue 16): ping floods that
never read, fragment floods and slowloris (bench/hostile.py). The server's RSS grows by
under 64 MiB meanwhile, and an honest room beside them keeps its moves' p99 under 50 ms.
"""

from __future__ import annotations

from pathlib import Path

from bench.hostile import KINDS, measure
from tests.servers import ServerProcess

CLIENTS = 50
SECONDS = 20.0


async def test_hostile_clients_neither_grow_the_server_nor_slow_a_room(tmp_path: Path) -> None:
    server = ServerProcess({}, log_file=tmp_path / "server.log")
    await server.start()
    try:
        assert server.proc is not None
        result = await measure(server.http, server.proc.pid, CLIENTS, SECONDS)
    finally:
        server.stop()
    print(result)
    hostile = result.hostile
    assert all(hostile["connects"][kind] > 0 for kind in KINDS), hostile
    assert hostile["bytes_sent"]["ping"] > 64 * 2**20  # the flood was one
    assert result.rss_growth_mib is not None and result.rss_growth_mib < 64, result
    assert result.moves > 200, result  # the room played all along
    assert result.p99_ms is not None and result.p99_ms < 50, result
