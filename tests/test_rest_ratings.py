"""Glicko-2 (against the paper's worked example), and ratings and records after real games."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from meeple.client.rest import MeepleClient
from meeple.game.match import Match
from meeple.lobby.players.ratings import Rating, expected_score, pairwise_scores, rate_game, update
from meeple.lobby.stores.memory import MemoryRatingStore, MemoryRecordStore
from tests.conftest import acked, open_peer
from tests.games import GAMES
from tests.servers import PASSWORD, LiveServer, play_top_row, until

pytestmark = pytest.mark.both_stores
"""On the in-memory stores and on Redis: the two forms users deploy."""

# The mathematics -------------------------------------------------------------------------


def test_glickman_worked_example() -> None:
    """Glickman, "Example of the Glicko-2 system", section 'Example calculation'."""
    player = Rating(1500, 200, 0.06)
    opponents = [(Rating(1400, 30), 1.0), (Rating(1550, 100), 0.0), (Rating(1700, 300), 0.0)]
    new = update(player, opponents, tau=0.5)
    assert new.rating == pytest.approx(1464.06, abs=0.01)
    assert new.rd == pytest.approx(151.52, abs=0.01)
    assert new.volatility == pytest.approx(0.05999, abs=0.00001)


def test_a_win_raises_and_a_loss_lowers() -> None:
    a, b = Rating(), Rating()
    winner, loser = update(a, [(b, 1.0)]), update(b, [(a, 0.0)])
    assert winner.rating > 1500 > loser.rating
    assert winner.rating - 1500 == pytest.approx(1500 - loser.rating)
    assert winner.rd < 350 and loser.rd < 350
    drawn = update(a, [(b, 0.5)])
    assert drawn.rating == pytest.approx(1500) and drawn.rd < 350


def test_beating_a_stronger_player_gains_more() -> None:
    me = Rating(1500, 100)
    assert (
        update(me, [(Rating(1800, 100), 1.0)]).rating
        > update(me, [(Rating(1300, 100), 1.0)]).rating
    )


def test_no_games_only_widens_rd() -> None:
    idle = update(Rating(1600, 50, 0.06), [])
    assert idle.rating == 1600 and idle.rd > 50 and idle.volatility == 0.06
    assert update(Rating(1500, 350), []).rd == 350  # never past the starting RD


def test_expected_score() -> None:
    assert expected_score(Rating(), Rating()) == pytest.approx(0.5)
    assert expected_score(Rating(1700, 50), Rating(1500, 50)) > 0.7


def test_pairwise_scores() -> None:
    assert pairwise_scores([1.0, 0.0], [0, 1]) == {0: [(1, 1.0)], 1: [(0, 0.0)]}
    three = pairwise_scores([3.0, 1.0, 3.0], [0, 1, 2])
    assert three[0] == [(1, 1.0), (2, 0.5)] and three[1] == [(0, 0.0), (2, 0.0)]


# The game-over hook ------------------------------------------------------------------------


def record(
    seats: list[dict[str, Any]], returns: list[float], game: str = "tictactoe"
) -> dict[str, Any]:
    return {
        "id": "r_1-0",
        "room": "r_1",
        "game": game,
        "game_no": 0,
        "seats": seats,
        "outcome": {"winners": [], "draw": False, "returns": returns, "reason": "test"},
        "log": [],
        "finished_at": 1.0,
    }


def human(n: int) -> dict[str, Any]:
    return {"kind": "human", "player_id": f"p_{n}", "name": f"P{n}"}


async def test_only_humans_are_rated() -> None:
    store = MemoryRatingStore()
    bot = {"kind": "bot", "player_id": "bot:r_1:1", "name": "Bot"}
    assert await rate_game(record([human(0), bot], [1.0, 0.0]), store) == []
    assert await store.get("tictactoe", "p_0") is None

    updated = await rate_game(
        record([human(0), bot, human(2)], [0.0, 1.0, 0.5], "liarsdice"), store
    )
    assert {r.player_id for r in updated} == {"p_0", "p_2"}
    loser, winner = await store.get("liarsdice", "p_0"), await store.get("liarsdice", "p_2")
    assert loser is not None and winner is not None
    assert loser.rating < 1500 < winner.rating and loser.games == winner.games == 1
    assert await store.get("liarsdice", "bot:r_1:1") is None

    unfinished = record([human(0), human(1)], [1.0, 0.0])
    unfinished["outcome"] = None
    assert await rate_game(unfinished, store) == []


async def test_ratings_accumulate() -> None:
    store = MemoryRatingStore()
    for _ in range(3):
        await rate_game(record([human(0), human(1)], [1.0, 0.0]), store)
    best, worst = await store.get("tictactoe", "p_0"), await store.get("tictactoe", "p_1")
    assert best is not None and worst is not None
    assert best.games == 3 and best.rating > 1600 and worst.rating < 1400 and best.rd < 250
    page, _ = await store.page("tictactoe", cursor=None, limit=10)
    assert [r.player_id for r in page] == ["p_0", "p_1"]


async def test_record_store_pages_newest_first() -> None:
    store = MemoryRecordStore(max_records=4)
    for n in range(6):
        rec = record([human(0), human(n + 1)], [1.0, 0.0])
        rec["id"], rec["finished_at"] = f"r_{n}-0", float(n)
        await store.put(rec)
    assert await store.get("r_0-0") is None  # only the last four are kept
    first, cursor = await store.for_player("p_0", cursor=None, limit=3)
    assert [r["id"] for r in first] == ["r_5-0", "r_4-0", "r_3-0"] and cursor
    rest, cursor = await store.for_player("p_0", cursor=cursor, limit=3)
    assert [r["id"] for r in rest] == ["r_2-0"] and cursor is None
    only, _ = await store.for_player("p_6", cursor=None, limit=3)
    assert [r["id"] for r in only] == ["r_5-0"]


# A real game, over the REST API and the room WebSocket ---------------------------------


async def test_ratings_and_records_after_a_real_game(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        sessions = []
        for name in ("Ada", "Bo"):
            response = await client.post("/api/sessions", json={"name": name})
            sessions.append(response.json())
        ada, bo = sessions
        h_ada = {"Authorization": f"Bearer {ada['token']}"}
        h_bo = {"Authorization": f"Bearer {bo['token']}"}

        room = (await client.post("/api/rooms", json={"game": "tictactoe"}, headers=h_ada)).json()
        assert room["reservation"]["seat"] == 0
        seat = (await client.post(f"/api/rooms/{room['id']}/seats", json={}, headers=h_bo)).json()
        assert seat["seat"] == 1

        a = await open_peer(server.ws, room["id"], ada["token"])
        b = await open_peer(server.ws, room["id"], bo["token"])
        for peer in (a, b):
            await peer.until(lambda m: m["t"] == "snap" and m["st"] == "playing")
        moves = [(a, 0), (b, 3), (a, 1), (b, 4), (a, 2)]  # Ada: three in the top row
        for i, (peer, cell) in enumerate(moves):
            await peer.send({"t": "move", "id": i, "m": {"cell": cell}})
            await peer.until(acked(i))
        end = await b.until(lambda m: m["t"] == "d" and m.get("st") == "finished")
        assert end["r"]["winners"] == [0]
        await a.ws.close()
        await b.ws.close()

        async def both_rated() -> dict[str, Any] | None:
            board: dict[str, Any] = (
                await client.get("/api/leaderboards/tictactoe", headers=h_bo)
            ).json()
            return board if len(board["items"]) == 2 else None

        board = await until(both_rated, what="both players on the leaderboard")
        first, second = board["items"]
        assert (first["player_id"], first["name"], first["rank"]) == (ada["player_id"], "Ada", 1)
        assert (second["player_id"], second["rank"]) == (bo["player_id"], 2)
        assert first["rating"] > 1500 > second["rating"]
        assert first["rd"] < 350 and first["games"] == second["games"] == 1

        games = (await client.get(f"/api/players/{bo['player_id']}/games", headers=h_bo)).json()
        assert len(games["items"]) == 1 and games["next_cursor"] is None
        summary = games["items"][0]
        assert summary["room"] == room["id"] and summary["game"] == "tictactoe"
        assert summary["outcome"]["winners"] == [0] and "log" not in summary
        assert [s["player_id"] for s in summary["seats"]] == [ada["player_id"], bo["player_id"]]

        response = await client.get(f"/api/records/{summary['id']}", headers=h_ada)
        assert response.status_code == 200
        rec = response.json()
        assert [e["m"] for e in rec["log"]] == [{"cell": c} for _, c in moves]
        replayed = Match.replay(
            GAMES[rec["game"]],
            rec["seat_count"],
            rec["options"],
            rec["seed"],
            rec["log"],
            game_no=rec["game_no"],
        )
        assert replayed.status == "finished"
        assert replayed.outcome is not None and replayed.outcome.as_view() == rec["outcome"]


async def test_the_sdk_reads_profiles_leaderboards_and_histories_page_by_page(
    server: LiveServer,
) -> None:
    """What the browser's profile page shows, through the Python SDK: a player's ratings
    in one call, and the leaderboard and a history a page at a time."""
    async with MeepleClient(server.http) as ada, MeepleClient(server.http) as bo:
        await ada.register("ada", PASSWORD, "Ada")
        await bo.create_session("Bo")
        rooms = [await play_top_row(ada, bo), await play_top_row(ada, bo)]
        assert ada.player_id is not None and bo.player_id is not None
        ada_id = ada.player_id

        async def rated() -> dict[str, Any] | None:
            profile = await bo.player(ada_id)
            return profile if [r["games"] for r in profile["ratings"]] == [2] else None

        profile = await until(rated, what="Ada's two games rated")
        assert (profile["name"], profile["account"], profile["bot"]) == ("Ada", True, False)
        (rating,) = profile["ratings"]
        assert rating["game"] == "tictactoe" and rating["rating"] > 1500
        guest = await ada.player(bo.player_id)
        assert guest["account"] is False and guest["ratings"][0]["rating"] < 1500

        first = await bo.leaderboard("tictactoe", limit=1)
        assert [r["name"] for r in first["items"]] == ["Ada"] and first["next_cursor"]
        second = await bo.leaderboard("tictactoe", limit=1, cursor=first["next_cursor"])
        assert [(r["rank"], r["name"]) for r in second["items"]] == [(2, "Bo")]

        async def both_recorded() -> Any:
            page = await bo.player_games(ada_id, limit=1)
            return page if page["next_cursor"] else None

        newest = await until(both_recorded, what="both records")
        older = await bo.player_games(ada_id, limit=1, cursor=newest["next_cursor"])
        assert [g["room"] for g in newest["items"] + older["items"]] == rooms[::-1]
