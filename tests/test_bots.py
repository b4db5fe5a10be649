"""The bot strategies, played locally through ``meeple.game.match.Match`` (no server).

Every strategy must pick a move the match accepts from positions reached by random
play, and the real strategies must be real: perfect tic-tac-toe never loses, the
Connect Four search beats random play, the chess searcher mates in one, and the
Liar's Dice search answers legally within its time bound.
"""

from __future__ import annotations

import random
import time
import zlib
from typing import Any

import pytest

from meeple.client.bots import (
    BEST,
    MCTS,
    STRATEGIES,
    AlphaBeta,
    Best,
    Strategy,
    best_strategy,
    choose_move,
    get_strategy,
    legal_moves,
)
from meeple.client.bots.chess_search import ChessSearcher
from meeple.client.bots.connect4 import AlphaBetaConnect4
from meeple.client.bots.generic import GameSearch, random_move, scores
from meeple.client.bots.liarsdice import LiarsDiceMCTS
from meeple.client.bots.random_bot import RandomStrategy
from meeple.client.bots.rules import GAMES as VIEW_RULES
from meeple.client.bots.tictactoe import Minimax
from meeple.game.api import Rejection, win
from meeple.game.match import Match
from tests.games import GAMES, NAMES
from tests.sample_games import Nim

# Quick versions of the searching strategies, so the whole file runs in seconds. They
# are bounded by depth and iterations, not time, so a busy machine plays the same.
FAST_ALPHABETA = AlphaBeta(AlphaBetaConnect4(max_depth=3, budget=10), ChessSearcher(2, 10))
FAST_MCTS = MCTS(LiarsDiceMCTS(iterations=200, budget=10))
FAST: dict[str, Strategy] = {
    "random": RandomStrategy(),
    "minimax": Minimax(),
    "alphabeta": FAST_ALPHABETA,
    "mcts": FAST_MCTS,
}


class FastBest(Best):
    def choose(self, game: str, view: dict[str, Any], seat: int, rng: random.Random) -> Any:
        return FAST[BEST[game]].choose(game, view, seat, rng)


FAST["best"] = FastBest()


def new_match(game: str, seed: int, seats: int = 2, options: dict[str, Any] | None = None) -> Match:
    match = Match.create(GAMES[game], seats, options, seed)
    for seat in range(seats):
        match.sit(seat, f"p{seat}", f"P{seat}")
    match.start()
    return match


def play(match: Match, players: list[Strategy], rng: random.Random, max_moves: int = 300) -> None:
    """Play ``match`` out; every move a strategy picks must be accepted."""
    game = match.game.name
    for _ in range(max_moves):
        if match.status != "playing":
            return
        seat = match.to_act[0]
        move = players[seat].choose(game, match.view(seat), seat, rng)
        step = match.submit(seat, move)
        assert not isinstance(step, Rejection), f"{players[seat].name} chose {move}: {step}"


def random_positions(game: str, count: int, seed: int) -> list[Match]:
    """Matches left in play after a random number of random moves."""
    rng = random.Random(seed)
    out: list[Match] = []
    attempts = 0
    while len(out) < count and attempts < count * 20:
        attempts += 1
        seats = rng.randint(2, 4) if game == "liarsdice" else 2
        match = new_match(game, rng.randrange(2**31), seats)
        for _ in range(rng.randint(0, 40)):
            if match.status != "playing":
                break
            seat = match.to_act[0]
            match.submit(seat, rng.choice(match.legal_moves(seat)).model_dump())
        if match.status == "playing":
            out.append(match)
    return out


def dumped(moves: list[Any]) -> list[dict[str, Any]]:
    return sorted((m.model_dump() for m in moves), key=repr)


@pytest.mark.parametrize("game", sorted(VIEW_RULES))
def test_legal_moves_from_the_view_match_the_rules(game: str) -> None:
    for match in random_positions(game, 10, seed=1):
        seat = match.to_act[0]
        from_view = sorted(legal_moves(game, match.view(seat), seat), key=repr)
        assert from_view == dumped(match.legal_moves(seat))


@pytest.mark.parametrize(
    ("name", "game"),
    [(name, game) for name, strategy in sorted(FAST.items()) for game in sorted(strategy.games)],
)
def test_every_strategy_picks_a_move_the_match_accepts(name: str, game: str) -> None:
    strategy = FAST[name]
    rng = random.Random(7)
    for match in random_positions(game, 6, seed=zlib.crc32(f"{name}/{game}".encode()) % 1000):
        seat = match.to_act[0]
        move = strategy.choose(game, match.view(seat), seat, rng)
        step = match.submit(seat, move)
        assert not isinstance(step, Rejection), f"{name} chose {move} in {game}: {step}"


def test_registry() -> None:
    assert set(STRATEGIES) == {"random", "minimax", "alphabeta", "mcts", "best"}
    for game, name in BEST.items():
        found = best_strategy(game)
        assert found is not None and found.name == name and found.supports(game)
    assert best_strategy("no-such-game") is None  # the generic bots play it
    assert not get_strategy("best").supports("no-such-game")
    with pytest.raises(KeyError, match="alphabeta"):
        get_strategy("nonsense")
    with pytest.raises(ValueError, match="does not play"):
        Minimax().choose("chess", {}, 0, random.Random())


def test_minimax_never_loses_tictactoe_against_random() -> None:
    rng = random.Random(3)
    minimax, randomly = Minimax(), RandomStrategy()
    losses = 0
    for i in range(50):
        seat = i % 2
        players: list[Strategy] = [minimax, randomly] if seat == 0 else [randomly, minimax]
        match = new_match("tictactoe", i)
        play(match, players, rng)
        assert match.outcome is not None
        losses += not match.outcome.draw and seat not in match.outcome.winners
    assert losses == 0


def test_minimax_against_itself_always_draws() -> None:
    match = new_match("tictactoe", 0)
    play(match, [Minimax(), Minimax()], random.Random(0))
    assert match.outcome is not None and match.outcome.draw


def test_connect4_alphabeta_beats_random() -> None:
    rng = random.Random(5)
    search, randomly = FAST_ALPHABETA, RandomStrategy()
    wins = 0
    for i in range(20):
        seat = i % 2
        players: list[Strategy] = [search, randomly] if seat == 0 else [randomly, search]
        match = new_match("connect4", i)
        play(match, players, rng)
        assert match.outcome is not None
        wins += seat in match.outcome.winners
    assert wins >= 17


def test_connect4_alphabeta_blocks_and_wins() -> None:
    search = AlphaBetaConnect4(max_depth=4, budget=1.0)
    rng = random.Random(0)
    # Seat 0 has three in the bottom row (columns 0-2) and is to move: it wins at 3...
    assert search.choose({"c": [[0], [0], [0], [], [], [1], [1, 1]]}, 0, rng) == {"col": 3}
    # ... and seat 1, to move one disc earlier, must block there.
    assert search.choose({"c": [[0], [0], [0], [], [], [1], [1]]}, 1, rng) == {"col": 3}


@pytest.mark.parametrize(
    ("fen", "seat", "mate"),
    [
        ("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1", 0, "a1a8"),  # back rank
        ("r1bqkbnr/pppp1ppp/2n5/4p3/2B1P3/5Q2/PPPP1PPP/RNB1K1NR w KQkq - 2 3", 0, "f3f7"),
        ("rnbqkbnr/pppp1ppp/8/4p3/6P1/5P2/PPPPP2P/RNBQKBNR b KQkq - 0 2", 1, "d8h4"),
    ],
)
def test_chess_searcher_finds_mate_in_one(fen: str, seat: int, mate: str) -> None:
    match = new_match("chess", 0, options={"fen": fen})
    move = ChessSearcher(max_depth=3, budget=2.0).choose(match.view(seat), seat, random.Random(0))
    assert move == {"kind": "move", "uci": mate}
    match.submit(seat, move)
    assert match.outcome is not None and match.outcome.reason == "checkmate"


def test_chess_searcher_takes_a_free_queen() -> None:
    view: dict[str, Any] = {"s": "4k3/8/8/3q4/8/8/3R4/4K3 w - - 0 1", "m": [], "d": None}
    move = ChessSearcher(max_depth=2, budget=2.0).choose(view, 0, random.Random(0))
    assert move == {"kind": "move", "uci": "d2d5"}


def test_chess_views_after_moves_rebuild_the_position() -> None:
    match = new_match("chess", 0)
    play(match, [FAST_ALPHABETA, RandomStrategy()], random.Random(1), max_moves=12)
    seat = match.to_act[0]
    assert dumped(match.legal_moves(seat)) == sorted(
        legal_moves("chess", match.view(seat), seat), key=repr
    )


def test_liarsdice_mcts_is_legal_and_quick() -> None:
    mcts = MCTS()  # the default one, with its real time bound
    rng = random.Random(11)
    slowest = 0.0
    for match in random_positions("liarsdice", 12, seed=4):
        seat = match.to_act[0]
        # CPU time, not wall time: the bound is on the search's work, and wall time
        # also counts whatever else the test machine is busy with.
        started = time.thread_time()
        move = mcts.choose("liarsdice", match.view(seat), seat, rng)
        slowest = max(slowest, time.thread_time() - started)
        assert not isinstance(match.submit(seat, move), Rejection), move
    assert slowest < 0.2


def test_liarsdice_mcts_challenges_an_impossible_bid_and_never_opens_with_one() -> None:
    mcts = LiarsDiceMCTS(iterations=500, budget=1.0)
    rng = random.Random(2)
    # Four dice in play, we hold no fives (and ones are not wild): 4 x 5 cannot hold.
    view = {"n": [2, 2], "t": 1, "b": [[0, 4, 5]], "r": 1, "w": False, "d": [2, 3]}
    assert mcts.choose(view, 1, rng) == {"kind": "challenge"}
    # Ones wild: an opening bid on ones counts only ones, where any other face counts
    # them too, so opening on ones gives the table away for nothing.
    opening = {"n": [5, 5], "t": 0, "b": [], "r": 1, "w": True, "d": [1, 6, 6, 6, 2]}
    for trial in range(5):  # wild ones: an opening bid on ones throws the wild dice away
        move = mcts.choose(opening, 0, random.Random(trial))
        assert move["kind"] == "bid" and move["face"] != 1, move


def test_liarsdice_mcts_beats_random() -> None:
    rng = random.Random(9)
    wins = 0
    for i in range(6):
        seat = i % 2
        players: list[Strategy] = [FAST_MCTS, RandomStrategy()]
        if seat == 1:
            players.reverse()
        match = new_match("liarsdice", i, options=None)
        play(match, players, rng)
        assert match.outcome is not None
        wins += seat in match.outcome.winners
    assert wins >= 5


# The generic bots: any game, on its own rules -----------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("strategy", ["best", "random"])
def test_a_server_bot_plays_every_installed_game(name: str, strategy: str) -> None:
    """What a room's bot seat does: whatever the game, a move the match accepts."""
    game = GAMES[name]
    rng = random.Random(name)
    for seed in range(3):
        match = Match.create(game, game.min_seats, None, seed)
        for seat in range(game.min_seats):
            match.sit(seat, f"p{seat}", f"P{seat}")
        match.start()
        for _ in range(6):
            if match.status != "playing":
                break
            seat = match.to_act[0]
            move = choose_move(
                strategy, name, match.view(seat), seat, rng,
                rules=game, state=match.state, seats=match.seat_count,
            )  # fmt: skip
            step = match.submit(seat, move)
            assert not isinstance(step, Rejection), f"{strategy} chose {move} in {name}: {step}"


def test_a_game_no_strategy_knows_is_searched_on_its_rules() -> None:
    nim = Nim()
    state = nim.setup(2, nim.parse_options(None), random.Random(0))
    # Nine left, take one to three, the last take wins: taking one leaves a multiple of four.
    move = choose_move(
        "best", "nim", nim.view(state, 0), 0, random.Random(0), rules=nim, state=state
    )
    assert move == {"n": 1}
    assert random_move(nim, state, 0, random.Random(1)) in [{"n": 1}, {"n": 2}, {"n": 3}]
    with pytest.raises(ValueError, match="no strategy here plays"):
        choose_move("best", "nim", nim.view(state, 0), 0)


def test_the_generic_search_never_loses_tictactoe_against_random() -> None:
    game = GAMES["tictactoe"]
    search = GameSearch(iterations=1500, budget=10)
    rng = random.Random(4)
    for i in range(10):
        match = new_match("tictactoe", i)
        ours = i % 2
        while match.status == "playing":
            seat = match.to_act[0]
            if seat == ours:
                move = search.choose(game, match.state, seat, 2, rng)
            else:
                move = random_move(game, match.state, seat, rng)
            assert not isinstance(match.submit(seat, move), Rejection)
        assert match.outcome is not None
        assert match.outcome.draw or ours in match.outcome.winners, match.log


def test_scores_rank_seats_by_their_returns() -> None:
    assert scores(win(1, 2, "x"), 2) == [0.0, 1.0]
    assert scores(None, 3) == [0.5, 0.5, 0.5]
    hearts_like = win(0, 4, "x").__class__((0,), False, (-3.0, -10.0, -10.0, -26.0), "x")
    assert scores(hearts_like, 4) == [1.0, 0.5, 0.5, 0.0]
