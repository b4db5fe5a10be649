"""State message sizes, offline: the ``d`` frames each game's moves produce.

    .venv/bin/python bench/sizes.py [--games 200] [--json out.json]

Plays random games (uniformly random legal moves) of every game in the registry
through ``game.match.Match``, builds each change's ``d`` message the way the room's
hot path does (``lobby.rooms.Room._publish``: ``{"t", "s", "o", "a"}`` plus ``st``
and ``r`` when the game ends; no turn timer, so no ``dl``), encodes it with
``game.codec.encode`` and measures the WebSocket payload: one frame per distinct
delta (hidden-information games send each seat its own).

``s`` is measured at three sizes: the sequence numbers of a room's first game (1
to 127: one byte), and as if the room had lived long (``s`` = 1,000: three bytes;
``s`` = 100,000: five bytes), since every accepted change in a room adds one.
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

from game.api import Rejection
from game.codec import encode
from game.match import Match, Transition
from game.registry import GAMES

LONG_LIVED = (1_000, 100_000)


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
    mean_s1000: float
    max_s1000: int
    mean_s100000: float
    max_s100000: int


def messages(t: Transition, seq: int | None = None) -> list[bytes]:
    """The frames ``Room._publish`` sends for one transition (one per distinct delta)."""
    message: dict[str, Any] = {"t": "d", "s": t.seq if seq is None else seq, "o": None}
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
    long_lived: dict[int, list[int]] = {s: [] for s in LONG_LIVED}
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
            sizes = [len(f) for f in messages(result)]
            (final if result.status == "finished" else mid).extend(sizes)
            if result.status != "finished":
                for s in LONG_LIVED:
                    long_lived[s].extend(len(f) for f in messages(result, s))
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
        mean_s1000=sum(long_lived[1000]) / len(long_lived[1000]),
        max_s1000=max(long_lived[1000]),
        mean_s100000=sum(long_lived[100_000]) / len(long_lived[100_000]),
        max_s100000=max(long_lived[100_000]),
    )


def measure(games: int = 200) -> list[GameSizes]:
    # Chess games of random moves run long; fewer of them give plenty of moves.
    return [play(name, games if name != "chess" else max(1, games // 10)) for name in GAMES]


def table(rows: list[GameSizes]) -> str:
    lines = [
        "| game | moves | mid-game d: mean / p50 / p99 / max B | s=1,000: mean / max B "
        "| s=100,000: mean / max B | game-ending d: mean / max B |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.game} | {r.moves:,} | {r.mean:.1f} / {r.p50} / {r.p99} / {r.max} "
            f"| {r.mean_s1000:.1f} / {r.max_s1000} | {r.mean_s100000:.1f} / {r.max_s100000} "
            f"| {r.final_mean:.1f} / {r.final_max} |"
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
