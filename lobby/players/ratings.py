"""Glicko-2 ratings, per game.

The math (``update`` and friends) is pure: Mark Glickman, "Example of the Glicko-2
system" (2013), step by step. Each finished game is one rating period for the humans
who played it: every other human seat is an opponent, scored 1, ½ or 0 by comparing
the two seats' returns. Bots are neither rated nor rating opponents.

``rate_record`` applies it to a finished game's record, given its players' ratings before;
``rate_game`` does so in a rating store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meeple.game.match import is_bot_player
from meeple.lobby.stores.base import PlayerRating, RatingStore

SCALE = 173.7178
"""Glicko-2's ratio between the Glicko scale and its own."""
DEFAULT_RATING = 1500.0
DEFAULT_RD = 350.0
DEFAULT_VOLATILITY = 0.06
TAU = 0.5
"""How much the volatility may change in one period (the paper suggests 0.3 to 1.2)."""
EPSILON = 0.000001
MIN_RD = 30.0
"""The floor for RD, so that a rating never freezes completely."""


@dataclass(frozen=True, slots=True)
class Rating:
    rating: float = DEFAULT_RATING
    rd: float = DEFAULT_RD
    volatility: float = DEFAULT_VOLATILITY


NEW = Rating()
"""A player's rating before their first rated game."""
_NEW = (NEW.rating, NEW.rd, NEW.volatility)


_Q = 3.0 / (math.pi * math.pi)


def _g(phi: float) -> float:
    return 1.0 / math.sqrt(1.0 + _Q * phi * phi)


def _expected(mu: float, mu_j: float, g_j: float) -> float:
    """E(mu, mu_j, phi_j), given g_j = g(phi_j): a rating period needs both."""
    return 1.0 / (1.0 + math.exp(-g_j * (mu - mu_j)))


def _f(x: float, a: float, base: float, pv: float, tau2: float) -> float:
    """Step 5's f(x), with its constants as arguments (a closure makes a cell of each)."""
    ex = math.exp(x)
    s = pv + ex
    return ex * (base - ex) / (2.0 * s * s) - (x - a) / tau2


def _new_volatility(phi: float, sigma: float, delta: float, v: float, tau: float) -> float:
    """Step 5: the Illinois algorithm for the new volatility."""
    exp = math.exp
    a = math.log(sigma * sigma)
    d2 = delta * delta
    base = d2 - phi * phi - v  # delta^2 - phi^2 - v
    pv = phi * phi + v
    tau2 = tau * tau
    big_a = a
    if base > 0:
        big_b = math.log(base)
    else:
        k = 1
        while _f(a - k * tau, a, base, pv, tau2) < 0:
            k += 1
        big_b = a - k * tau
    f_a, f_b = _f(big_a, a, base, pv, tau2), _f(big_b, a, base, pv, tau2)
    while abs(big_b - big_a) > EPSILON:
        big_c = big_a + (big_a - big_b) * f_a / (f_b - f_a)
        f_c = _f(big_c, a, base, pv, tau2)
        if f_c * f_b <= 0:
            big_a, f_a = big_b, f_b
        else:
            f_a /= 2.0
        big_b, f_b = big_c, f_c
    return exp(big_a / 2.0)


Glicko = tuple[float, float, float]
"""A rating as plain floats (rating, RD, volatility): what the arithmetic works on, since
making a ``Rating`` (a frozen dataclass) costs as much as a third of one update."""


def update(player: Rating, results: Sequence[tuple[Rating, float]], tau: float = TAU) -> Rating:
    """The player's rating after one period with these (opponent, score) results.

    Scores are 1 for a win, 0.5 for a draw and 0 for a loss. With no results only
    the RD grows (step 6 alone), as the paper says for a player who did not compete.
    """
    rows = [(o.rating, o.rd, o.volatility, score) for o, score in results]
    return Rating(*_update((player.rating, player.rd, player.volatility), rows, tau))


def _update(
    player: Glicko, results: Sequence[tuple[float, float, float, float]], tau: float
) -> Glicko:
    """``update`` on floats: each result is an opponent's three and the score."""
    rating, rd, sigma = player
    mu = (rating - DEFAULT_RATING) / SCALE
    phi = rd / SCALE
    if not results:
        phi_new = math.sqrt(phi * phi + sigma * sigma)
        return rating, min(DEFAULT_RD, phi_new * SCALE), sigma
    v_inv = 0.0
    gain = 0.0
    for opponent_rating, opponent_rd, _, score in results:
        mu_j = (opponent_rating - DEFAULT_RATING) / SCALE
        phi_j = opponent_rd / SCALE
        g = _g(phi_j)
        e = _expected(mu, mu_j, g)
        v_inv += g * g * e * (1.0 - e)
        gain += g * (score - e)
    v = 1.0 / v_inv
    delta = v * gain
    sigma_new = _new_volatility(phi, sigma, delta, v, tau)
    phi_star2 = phi * phi + sigma_new * sigma_new
    phi_new = 1.0 / math.sqrt(1.0 / phi_star2 + 1.0 / v)
    mu_new = mu + phi_new * phi_new * gain
    return mu_new * SCALE + DEFAULT_RATING, phi_new * SCALE, sigma_new


def pairwise_scores(
    returns: Sequence[float], seats: Sequence[int]
) -> dict[int, list[tuple[int, float]]]:
    """For each of ``seats``, its (opponent seat, score) against every other of ``seats``."""
    out: dict[int, list[tuple[int, float]]] = {}
    for i in seats:
        row = []
        for j in seats:
            if i == j:
                continue
            if returns[i] > returns[j]:
                score = 1.0
            elif returns[i] < returns[j]:
                score = 0.0
            else:
                score = 0.5
            row.append((j, score))
        out[i] = row
    return out


def expected_score(a: Rating, b: Rating) -> float:
    """The chance ``a`` beats ``b`` (what the matchmaker may show)."""
    mu = (a.rating - DEFAULT_RATING) / SCALE
    mu_b = (b.rating - DEFAULT_RATING) / SCALE
    phi_ab = math.sqrt((a.rd / SCALE) ** 2 + (b.rd / SCALE) ** 2)
    return _expected(mu, mu_b, _g(phi_ab))


# The game-over hook ----------------------------------------------------------------


def _rated_seats(record: Mapping[str, Any], rate_bots: bool) -> list[int]:
    """The seats a finished game rates: of kind ``human`` (people and, unless
    ``rate_bots`` is off, bot accounts; never the server's own bots); none unless it has
    an outcome and two of them."""
    if not record.get("outcome"):
        return []
    seats = [
        i
        for i, seat in enumerate(record["seats"])
        if seat.get("kind") == "human"
        and seat.get("player_id")
        and (rate_bots or not is_bot_player(seat["player_id"]))
    ]
    return seats if len(seats) >= 2 else []


def rate_record(
    record: Mapping[str, Any],
    before: Mapping[str, PlayerRating | None],
    rate_bots: bool = True,
) -> list[PlayerRating]:
    """The new ratings of a finished game's rated players (``_rated_seats``), from
    ``before`` (each one's rating in this game before it, None for a first game). Pure: a
    batch of games computes them from ratings it read at once (``stores.sql.finished``)."""
    humans = _rated_seats(record, rate_bots)
    if not humans:
        return []
    seats = record["seats"]
    returns = [float(r) for r in record["outcome"]["returns"]]
    prev = {i: before[seats[i]["player_id"]] for i in humans}
    ratings: dict[int, Glicko] = {
        i: _NEW if entry is None else (entry.rating, entry.rd, entry.volatility)
        for i, entry in prev.items()
    }
    updated = []
    for i, row in pairwise_scores(returns, humans).items():
        old = prev[i]
        rating, rd, volatility = _update(ratings[i], [(*ratings[j], s) for j, s in row], TAU)
        updated.append(
            PlayerRating(
                player_id=seats[i]["player_id"],
                name=seats[i].get("name") or seats[i]["player_id"],
                rating=rating,
                rd=max(MIN_RD, rd),
                volatility=volatility,
                games=(old.games if old is not None else 0) + 1,
            )
        )
    return updated


async def rate_game(
    record: dict[str, Any], store: RatingStore, rate_bots: bool = True
) -> list[PlayerRating]:
    """Update the ratings of a finished game's rated players in ``store``; returns
    the new ratings."""
    players = [record["seats"][i]["player_id"] for i in _rated_seats(record, rate_bots)]
    if not players:
        return []
    game = record["game"]
    before = {player: await store.get(game, player) for player in players}
    updated = rate_record(record, before, rate_bots)
    await store.put_many(game, updated)
    return updated
