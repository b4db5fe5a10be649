"""Stand-ins: server-side bots, and seats whose turns are skipped.

A room seats bots at creation, and its abandon policy may hand a disconnected
player's seat to a bot (``bot``) or skip its turns (``skip``). When it is such a
seat's turn, a skip applies the game's timeout rule on the next loop turn, and a bot
thinks in a worker thread so that a slow search never stalls the loop. Either way the
result counts only if the match is still at the moment it was asked for (the same
game and sequence number) and the seat is still stood in for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from meeple.game.api import Rejection
from meeple.game.match import Match, Transition

log = logging.getLogger("meeple.room")

Moment = tuple[int, int]
"""(game number, sequence number): sequence numbers restart in every game."""


def moment_of(match: Match) -> Moment:
    return match.game_no, match.seq


class Autoplay:
    """The seats of one room that the server plays, and their pending turns."""

    __slots__ = ("_apply", "_match", "_scheduled", "_thinking", "room_id", "seats")

    def __init__(
        self, room_id: str, match: Match, apply: Callable[[Transition | Rejection], None]
    ) -> None:
        self.room_id = room_id
        self._match = match
        self._apply = apply
        """The room's way to make a change (saved, then published)."""
        self.seats: dict[int, str] = {}
        """Seat -> "skip" or a bot strategy's name."""
        self._scheduled: Moment | None = None
        """The moment a turn was last scheduled for: one stand-in move per moment."""
        self._thinking: set[asyncio.Task[None]] = set()
        """Bots' moves being worked out (held here: the loop keeps only weak references)."""

    def stand_in(self, seat: int, strategy: str) -> None:
        self.seats[seat] = strategy

    def release(self, seat: int) -> None:
        """The seat's player is back: no more skipping or standing in."""
        self.seats.pop(seat, None)

    def clear(self) -> None:
        """The room is closing here: a bot still thinking finds its seat no longer its own."""
        self.seats.clear()

    def schedule(self) -> None:
        """Let a stand-in act if it is its turn."""
        match = self._match
        if match.status != "playing" or not self.seats:
            return
        moment = moment_of(match)
        for seat in match.to_act:
            strategy = self.seats.get(seat)
            if strategy is None or self._scheduled == moment:
                continue
            self._scheduled = moment
            loop = asyncio.get_running_loop()
            if strategy == "skip":
                loop.call_soon(self._skip, seat, moment)
            else:
                task = loop.create_task(self._bot_move(seat, strategy, moment))
                self._thinking.add(task)
                task.add_done_callback(self._thinking.discard)
            return

    def _still(self, seat: int, moment: Moment) -> bool:
        return moment_of(self._match) == moment and seat in self.seats

    def _skip(self, seat: int, moment: Moment) -> None:
        if self._still(seat, moment) and self.seats[seat] == "skip":
            self._apply(self._match.timeout(seat))

    async def _bot_move(self, seat: int, strategy: str, moment: Moment) -> None:
        from meeple.client.bots import choose_move  # the lobby may use the client's bots

        match = self._match
        view = match.view(seat)
        try:
            # The state goes along for the generic bots (games no strategy plays): they
            # search it only in games without hidden information.
            move = await asyncio.to_thread(
                choose_move,
                strategy,
                match.game.name,
                view,
                seat,
                rules=match.game,
                state=match.state,
                seats=match.seat_count,
            )
        except Exception:
            log.exception("room %s: bot for seat %s failed; it forfeits", self.room_id, seat)
            if self._still(seat, moment):
                self._apply(match.forfeit(seat, "bot failed"))
            return
        if not self._still(seat, moment):
            return
        result = match.submit(seat, move)
        if isinstance(result, Rejection):
            log.warning("room %s: bot move %r refused: %s", self.room_id, move, result.message)
            result = match.forfeit(seat, "bot failed")
        self._apply(result)
