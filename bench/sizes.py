"""State message sizes, offline: the ``d`` frames each game's moves produce.

    .venv/bin/python bench/sizes.py [--games 200] [--json out.json]

Plays random games (uniformly random legal moves) of every game in the registry
through ``meeple.game.match.Match``, builds each change's ``d`` message the way the room's
hot path does (``meeple.lobby.rooms.room.Room._publish``: ``{"t", "s", "o", "a"}`` plus ``st``
and ``r`` when the game ends; no turn timer, so no ``dl``), encodes it with
``meeple.game.codec.encode`` and measures the WebSocket payload: one frame per distinct
delta (hidden-information games send each seat its own).

``s`` is what the game gives it: it counts the changes of one game (a rematch starts
again at 1), so a room's age does not matter, only a game's length: up to 127 changes
it takes one byte, up to 255 two, then three. ``max_s`` is the largest a game reached
(chess games of random moves run to hundreds of plies; they stop at 600).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meeple.game.api import Rejection
from meeple.game.codec import encode
from meeple.game.match import Match, Transition
from meeple.lobby.games import build_games

GAMES = build_games().registry
"""Every installed game, found as the server finds them."""


@dataclass
class GameSizes:
    game: str
    games: int
    moves: int
    """Moves played (each gives one ``d`` per distinct audience delta)."""
    mean: float
    """Mid-game ``d`` payloads (the game goes on), bytes, with a first game's ``s``."""
    p50: int
    p99: int
    max: int
    final_mean: float
    """The ``d`` that ends a game (it carries ``st`` and ``r``)."""
    final_max: int
    max_s: int
    """The largest sequence number a game reached."""


def messages(t: Transition) -> list[bytes]:
    """The frames ``Room._publish`` sends for one transition (one per distinct delta)."""
    message: dict[str, Any] = {"t": "d", "s": t.seq, "o": None}
    message["a"] = list(t.to_act)
    if t.status == "finished":
        message["st"] = t.status
        message["r"] = t.outcome.as_view() if t.outcome else None
    frames: dict[int, bytes] = {}
    for ops in t.deltas.values():
        if id(ops) not in frames:
            message["o"] = ops
            frames[id(ops)] = encode(message)
    return list(frames.values())


def play(name: str, games: int, seed: int = 1, max_moves: int = 600) -> GameSizes:
    game = GAMES[name]
    rng = random.Random(seed)
    mid: list[int] = []
    final: list[int] = []
    max_s = 0
    moves = 0
    for g in range(games):
        match = Match.create(game, game.min_seats, None, seed * 100_003 + g)
        for seat in range(game.min_seats):
            match.sit(seat, f"p{seat}", f"P{seat}")
        match.start()
        for _ in range(max_moves):
            if match.status != "playing" or not match.to_act:
                break
            seat = match.to_act[0]
            legal = match.legal_moves(seat)
            if not legal:
                break
            move = rng.choice(legal)
            payload = move.model_dump(mode="json") if hasattr(move, "model_dump") else move
            result = match.submit(seat, payload)
            if isinstance(result, Rejection):
                raise RuntimeError(f"{name}: a legal move was refused: {result.message}")
            moves += 1
            max_s = max(max_s, result.seq)
            sizes = [len(f) for f in messages(result)]
            (final if result.status == "finished" else mid).extend(sizes)
    mid.sort()
    return GameSizes(
        game=name,
        games=games,
        moves=moves,
        mean=sum(mid) / len(mid),
        p50=mid[len(mid) // 2],
        p99=mid[min(len(mid) - 1, int(len(mid) * 0.99))],
        max=mid[-1],
        final_mean=sum(final) / len(final) if final else 0.0,
        final_max=max(final, default=0),
        max_s=max_s,
    )


def measure(games: int = 200) -> list[GameSizes]:
    # Chess games of random moves run long; fewer of them give plenty of moves.
    return [play(name, games if name != "chess" else max(1, games // 10)) for name in GAMES]


def table(rows: list[GameSizes]) -> str:
    lines = [
        "| game | moves | mid-game d: mean / p50 / p99 / max B | game-ending d: mean / max B "
        "| largest s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.game} | {r.moves:,} | {r.mean:.1f} / {r.p50} / {r.p99} / {r.max} "
            f"| {r.final_mean:.1f} / {r.final_max} | {r.max_s} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = measure(args.games)
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")


if __name__ == "__main__":
    main()
