"""``GET /api/players/{id}``: a player's profile, their rating in every game they have
played rated, so that a profile page needs one call and not a search of every
leaderboard. Their finished games are ``GET /api/players/{id}/games``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from meeple.game.match import is_bot_player
from meeple.lobby.http.auth import CurrentSession, ServicesDep
from meeple.lobby.http.problems import problem_responses

router = APIRouter(prefix="/api", tags=["results"])


class GameRating(BaseModel):
    game: str
    rating: float
    rd: float = Field(description="Rating deviation: how unsure the rating is.")
    volatility: float
    games: int


class PlayerProfile(BaseModel):
    player_id: str
    name: str | None = Field(
        description="The account's display name, else the name on the player's latest rating;"
        " null for a guest with no rated game."
    )
    account: bool = Field(description="Whether the player has an account (not a guest).")
    bot: bool = Field(description="A bot's account.")
    ratings: list[GameRating] = Field(description="One per game the player is rated in.")


@router.get("/players/{player_id}", response_model=PlayerProfile, responses=problem_responses(401))
async def player_profile(
    player_id: str, services: ServicesDep, session: CurrentSession
) -> PlayerProfile:
    """Who a player is and their rating in each game (an unknown id: no ratings)."""
    account = await services.accounts.store.get(player_id)
    ratings, name = [], None
    for game in services.games.registry:
        found = await services.ratings.get(game, player_id)
        if found is not None:
            name = found.name
            ratings.append(
                GameRating(
                    game=game,
                    rating=found.rating,
                    rd=found.rd,
                    volatility=found.volatility,
                    games=found.games,
                )
            )
    return PlayerProfile(
        player_id=player_id,
        name=account.display_name if account is not None else name,
        account=account is not None and account.deleted_at is None,
        bot=is_bot_player(player_id) or (account is not None and account.is_bot),
        ratings=ratings,
    )
