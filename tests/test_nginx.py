"""deploy/nginx.conf in front of two real server processes sharing Redis.

The shipped nginx.conf runs as it is, with only its addresses and certificate paths
swapped for loopback ports and a throwaway self-signed certificate. Through it, over
HTTPS and wss://, two guests create a room, take both seats and play tic-tac-toe to
the end. nginx's access log shows which process served what: the two players' sockets
land on different processes, so the game also crosses the cluster's forwarding.

Needs Debian's nginx (tests/run.sh installs nginx-light), openssl and Redis; it fails,
never skips, when one is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Origin, Subprotocol

from meeple.game.delta import apply_delta
from tests.conftest import REDIS_URL, Peer, of_type
from tests.servers import ROOT, ServerProcess, free_port, until

pytestmark = [pytest.mark.nginx, pytest.mark.redis, pytest.mark.timeout(90)]

DEPLOY_CONF = ROOT / "deploy" / "nginx.conf"

# X takes the top row; O answers in the middle row and loses.
MOVES = [(0, 0), (1, 3), (0, 1), (1, 4), (0, 2)]
FINAL_BOARD = [0, 0, 0, 1, 1, -1, -1, -1, -1]

# Around deploy/nginx.conf: nginx in the foreground as a single process, every file it
# writes in the test's directory, and an access log that names each request's upstream.
MAIN_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;

events {{
    worker_connections 256;
}}

http {{
    log_format upstreams '$request_method $uri $status $upstream_addr';
    access_log {tmp}/access.log upstreams;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/meeple.conf;
}}
"""


def nginx_binary() -> str:
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(path, os.X_OK):
        pytest.fail(
            "nginx is not installed (looked on PATH and at /usr/sbin/nginx): "
            "sudo apt-get install nginx-light, or run tests/run.sh, which installs it"
        )
    return path


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate, key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is not installed: sudo apt-get install openssl")
    directory.mkdir()
    cert, key = directory / "cert.pem", directory / "key.pem"
    result = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"openssl could not make a certificate:\n{result.stderr}")
    return cert, key


def substitute(text: str, old: str, new: str, count: int = 1) -> str:
    """Replace ``old``, which must occur exactly ``count`` times: if deploy/nginx.conf
    changes shape, this test says so rather than quietly testing something else."""
    found = text.count(old)
    assert found == count, f"deploy/nginx.conf: expected {old!r} {count} time(s), found {found}"
    return text.replace(old, new)


@dataclass
class Nginx:
    https_port: int
    http_port: int
    tmp: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def wss(self) -> str:
        return f"wss://127.0.0.1:{self.https_port}"

    async def access_log(self, ready: Callable[[list[list[str]]], bool]) -> list[list[str]]:
        """The access log's entries (method, path, status, upstream), once ``ready`` (or
        as they are if they never are: the caller's assertion shows them)."""
        path = self.tmp / "access.log"

        def entries() -> list[list[str]]:
            return [line.split() for line in path.read_text().splitlines()]

        with contextlib.suppress(TimeoutError):
            await until(lambda: ready(entries()), what="nginx logging the requests")
        return entries()


def render(tmp: Path, upstreams: list[int], https_port: int, http_port: int, certs: Path) -> Path:
    """deploy/nginx.conf with loopback ports and the test's certificate, wrapped in a main
    configuration that keeps every file nginx writes inside ``tmp``."""
    site = DEPLOY_CONF.read_text()
    site = substitute(site, "server server1:8000", f"server 127.0.0.1:{upstreams[0]}")
    site = substitute(site, "server server2:8000", f"server 127.0.0.1:{upstreams[1]}")
    site = substitute(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = substitute(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = substitute(site, 'set $https_port "";', f'set $https_port ":{https_port}";')
    site = substitute(site, "/etc/nginx/certs/", f"{certs}/", count=2)
    # The shipped access log, and beside it the test's, which names each upstream.
    site = substitute(
        site,
        "access_log /var/log/nginx/access.log meeple;",
        f"access_log {tmp}/site-access.log meeple; access_log {tmp}/access.log upstreams;",
    )
    (tmp / "meeple.conf").write_text(site)
    main = tmp / "nginx.conf"
    main.write_text(MAIN_CONF.format(tmp=tmp))
    return main


def start_nginx(binary: str, tmp: Path, conf: Path) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """``nginx -t`` first (its complaint is the clearest failure), then nginx itself, in the
    foreground as one process, so its PID is all there is to end."""
    args = [binary, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        pytest.fail(f"nginx -t refused the configuration:\n{check.stderr}")
    stdio = (tmp / "nginx.out").open("wb")
    return subprocess.Popen(args, stdout=stdio, stderr=subprocess.STDOUT), stdio


@contextlib.asynccontextmanager
async def running_nginx(
    tmp: Path, upstreams: list[int], ca: ssl.SSLContext, certs: Path, https_port: int
) -> AsyncIterator[Nginx]:
    binary = nginx_binary()
    http_port = free_port()
    conf = render(tmp, upstreams, https_port, http_port, certs)
    proc, stdio = start_nginx(binary, tmp, conf)
    nginx = Nginx(https_port, http_port, tmp)
    try:
        async with httpx.AsyncClient(verify=ca) as client:

            async def healthy() -> bool:
                if proc.poll() is not None:
                    log = (tmp / "error.log").read_text(errors="replace")
                    pytest.fail(f"nginx exited with {proc.returncode}:\n{log}")
                with contextlib.suppress(httpx.HTTPError):
                    answer = await client.get(f"{nginx.base}/healthz", timeout=1)
                    return answer.status_code == 200
                return False

            await until(healthy, what="nginx answering https://…/healthz")
        yield nginx
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the PID we started, never a name
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        stdio.close()


@contextlib.contextmanager
def stopped_at_exit() -> Iterator[list[ServerProcess]]:
    servers: list[ServerProcess] = []
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


class Player:
    """One guest: a session over HTTPS, then a room socket over wss://."""

    def __init__(self, name: str, session: dict[str, Any]) -> None:
        self.name = name
        self.token: str = session["token"]
        self.player_id: str = session["player_id"]
        self.seat: int | None = None
        self.peer: Peer | None = None
        self.view: Any = None
        self.seq = -1
        self.final: dict[str, Any] | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def until_playing(self) -> None:
        assert self.peer is not None
        snap = await self.peer.until(lambda m: m.get("t") == "snap" and m["st"] == "playing", 10)
        assert snap["seat"] == self.seat
        self.view, self.seq = snap["v"], snap["s"]

    async def next_delta(self) -> dict[str, Any]:
        """The next change, applied to this player's view; it must follow the last one."""
        assert self.peer is not None
        delta = await self.peer.until(of_type("d"), 10)
        assert delta["s"] == self.seq + 1, f"{self.name}: a gap before s={delta['s']}"
        self.seq = delta["s"]
        self.view = apply_delta(self.view, delta["o"])
        if delta.get("st") == "finished":
            self.final = delta
        return delta


async def new_player(client: httpx.AsyncClient, name: str) -> Player:
    response = await client.post("/api/sessions", json={"name": name})
    assert response.status_code == 201, response.text
    return Player(name, response.json())


async def test_a_game_through_nginx_over_tls(tmp_path: Path, redis_prefix: str) -> None:
    certs = tmp_path / "certs"
    cert, _ = make_certificate(certs)
    https_port = free_port()
    ca = ssl.create_default_context(cafile=str(cert))  # verifies the chain and 127.0.0.1

    env = {
        "REDIS_URL": REDIS_URL,
        "MEEPLE_REDIS_PREFIX": redis_prefix,
        # The public origin in full, as deploy/docker-compose.yml names it: scheme and
        # port included (not "self", which trusts the Host header).
        "MEEPLE_ORIGINS": f"https://127.0.0.1:{https_port}",
    }
    with stopped_at_exit() as servers:
        for _ in range(2):
            server = ServerProcess(env)
            servers.append(server)
            await server.start()
        ports = [s.port for s in servers]

        async with (
            running_nginx(tmp_path, ports, ca, certs, https_port) as nginx,
            httpx.AsyncClient(base_url=nginx.base, verify=ca, timeout=10) as client,
        ):
            # Port 80's server only sends browsers to HTTPS.
            async with httpx.AsyncClient() as plain:
                redirect = await plain.get(f"http://127.0.0.1:{nginx.http_port}/api/games?x=1")
            assert redirect.status_code == 301
            location = f"https://127.0.0.1:{https_port}/api/games?x=1"
            assert redirect.headers["location"] == location  # the port kept

            ada = await new_player(client, "Ada")
            bo = await new_player(client, "Bo")

            created = await client.post("/api/rooms", json={"game": "tictactoe"}, headers=ada.auth)
            assert created.status_code == 201, created.text
            room = created.json()
            ada.seat = room["reservation"]["seat"]
            taken = await client.post(f"/api/rooms/{room['id']}/seats", json={}, headers=bo.auth)
            assert taken.status_code == 200, taken.text
            bo.seat = taken.json()["seat"]
            assert {ada.seat, bo.seat} == {0, 1}
            assert taken.json()["ws"] == room["ws"] == f"/ws/rooms/{room['id']}"

            # Ada's socket comes as a browser's would, with an Origin; Bo's as a script's.
            sockets = []
            tickets: list[str] = []
            try:
                for player, origin in ((ada, Origin(nginx.base)), (bo, None)):
                    # The browser's way: a connect ticket in the URL; a script's: the token
                    # in a subprotocol.
                    url, protocols = nginx.wss + room["ws"], [Subprotocol("meeple.v1")]
                    if origin is not None:
                        answer = await client.post("/api/session/ticket", headers=player.auth)
                        tickets.append(answer.json()["ticket"])
                        url += f"?ticket={tickets[-1]}"
                    else:
                        protocols.append(Subprotocol(f"token.{player.token}"))
                    ws = await connect(
                        url,
                        subprotocols=protocols,
                        origin=origin,
                        ssl=ca,
                        max_size=None,
                        open_timeout=10,
                    )
                    sockets.append(ws)
                    assert ws.subprotocol == "meeple.v1"
                    player.peer = Peer(ws)
                await asyncio.gather(ada.until_playing(), bo.until_playing())
                by_seat = {ada.seat: ada, bo.seat: bo}
                for move_id, (seat, cell) in enumerate(MOVES, start=1):
                    mover = by_seat[seat]
                    assert mover.peer is not None
                    await mover.peer.send({"t": "move", "id": move_id, "m": {"cell": cell}})
                    deltas = await asyncio.gather(ada.next_delta(), bo.next_delta())
                    mine = deltas[0] if mover is ada else deltas[1]
                    theirs = deltas[1] if mover is ada else deltas[0]
                    assert mine.pop("ack") == move_id  # the mover's copy acknowledges
                    assert mine == theirs  # no hidden information in tic-tac-toe
            finally:
                for ws in sockets:
                    await ws.close()

            for player in (ada, bo):
                assert player.final is not None, f"{player.name} never saw the game end"
                assert player.final["st"] == "finished"
                assert player.final["a"] == []
                result = player.final["r"]
                assert result["winners"] == [0] and result["draw"] is False
                assert result["reason"] == "three in a row"
                assert player.view == {"b": FINAL_BOARD}

            # The quick-match event stream answers at once through its unbuffered location.
            # (After the game: an open stream would count in least_conn's choice above.)
            answer = await client.post("/api/session/ticket", headers=ada.auth)
            tickets.append(ticket := answer.json()["ticket"])
            async with client.stream(
                "GET", "/api/matchmaking/events", params={"ticket": ticket}
            ) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                first = await asyncio.wait_for(anext(stream.aiter_bytes()), 5)
                assert b": connected" in first

            # Both processes served through nginx, and the two sockets (least_conn) went
            # to different ones: every move crossed from one process to the other. nginx
            # logs a socket when it closes.
            log = await nginx.access_log(
                lambda entries: sum(e[1].startswith("/ws/") for e in entries) >= 2
            )
            served = {entry[3] for entry in log if entry[1].startswith("/api/") and entry[3] != "-"}
            assert served == {f"127.0.0.1:{port}" for port in ports}, log
            sockets_at = [entry[3] for entry in log if entry[1].startswith("/ws/")]
            assert len(sockets_at) == 2 and len(set(sockets_at)) == 2, log
            assert all(entry[2] == "101" for entry in log if entry[1].startswith("/ws/")), log

            # No session token in nginx's logs, and no ticket in its access log as shipped.
            # (Its error log may name a request's URL, ticket and all: a spent one.)
            def access_log() -> str:
                return (tmp_path / "site-access.log").read_text(errors="replace")

            # nginx logs the event stream once it notices its end
            await until(
                lambda: "GET /api/matchmaking/events HTTP/1.1" in access_log(),
                what="nginx logging the event stream",
            )
            access = access_log()
            errors = (tmp_path / "error.log").read_text(errors="replace")
            for secret in (ada.token, bo.token):
                assert secret not in access and secret not in errors
            assert not [t for t in tickets if t in access]
