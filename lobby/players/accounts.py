"""Accounts: sign-up, log-in, and a guest becoming an account under the same player id.

Usernames are unique after NFKC normalisation and case folding (``username_key``), so
"Ada", "ADA" and a full-width "Ada" are one name; display names are free. Passwords are 8 to 128
characters with no composition rules (NIST SP 800-63B) and kept as argon2id hashes
(argon2-cffi's defaults), computed in a worker thread: a hash takes tens of
milliseconds, which the event loop and its rooms must not wait for. A password is
hashed and checked in NFKC, as SP 800-63B advises, so that "café" typed with a
composed "é" on one keyboard and as "e" and an accent on another is one password; a
hash made before that (of the password as typed) still logs in, and is made again.

A failed log-in says only that it failed, whether the name is unknown or the password
wrong, and takes as long either way (an unknown name is checked against a dummy hash).
After ``FREE_FAILURES`` failures in a row an account (``FREE_ADDRESS_FAILURES`` a client
address) is slowed down: each further attempt must wait twice as long as the last
(``stores.base.login_wait``), up to ``MAX_LOGIN_WAIT``; meanwhile attempts are answered
429. The failures are counted in the hot store (``LoginFailures``: memory or Redis), so
the slow-down holds across processes.
"""

from __future__ import annotations

import asyncio
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from meeple.game.match import BOT_ACCOUNT_PREFIX
from meeple.lobby.stores.base import (
    Account,
    AccountStore,
    LoginFailures,
    Session,
    SessionStore,
    new_id,
)

MIN_PASSWORD = 8
MAX_PASSWORD = 128
USERNAME = re.compile(r"[^\W_][\w.-]{1,30}[^\W_]|[^\W_]{3}")
"""3 to 32 letters, digits, ``_``, ``.`` and ``-``, starting and ending with a letter or
digit (checked after NFKC)."""
FREE_FAILURES = 5
"""Failed log-ins in a row an account is allowed before it is slowed down."""
FREE_ADDRESS_FAILURES = 20
"""The same for a client address (many players may share one, behind a NAT)."""


class AccountError(Exception):
    """A refused request: ``code`` is the problem's code, ``status`` its HTTP status."""

    def __init__(self, code: str, detail: str, status: int, retry_after: float | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status
        self.retry_after = retry_after


def username_key(username: str) -> str:
    """The form usernames are compared in: NFKC, case-folded, NFKC again (the folding may
    undo the normalisation, as Unicode's NFKC_Casefold notes)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def check_username(username: str) -> str:
    """The username as it will be kept (NFKC, stripped); AccountError if it is not one."""
    name = unicodedata.normalize("NFKC", username).strip()
    if not USERNAME.fullmatch(name):
        raise AccountError(
            "invalid_username",
            "a username is 3 to 32 letters, digits, '_', '.' or '-', starting and ending "
            "with a letter or digit",
            422,
        )
    return name


def password_form(password: str) -> str:
    """The form a password is hashed and checked in: NFKC (SP 800-63B, 5.1.1.2)."""
    return unicodedata.normalize("NFKC", password)


def check_password(password: str) -> None:
    """Its length is counted in characters of its NFKC form."""
    if not MIN_PASSWORD <= len(password_form(password)) <= MAX_PASSWORD:
        raise AccountError(
            "invalid_password",
            f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters (any characters)",
            422,
        )


class Passwords:
    """argon2id hashing off the event loop."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash("not anyone's password")

    async def hash(self, password: str) -> str:
        """The hash of the password's NFKC form."""
        return await asyncio.to_thread(self._hasher.hash, password_form(password))

    async def check(self, hashed: str | None, password: str) -> bool | None:
        """None if ``password`` does not match ``hashed`` (no hash is checked against a
        dummy one, so that it takes as long and fails); else whether the hash should be
        made again: it was of the password as typed, not in NFKC (made before hashes were
        of that form), or with other parameters than the hasher's."""

        def matches(form: str) -> bool:
            try:
                return self._hasher.verify(hashed or self._dummy, form) and bool(hashed)
            except (VerificationError, InvalidHashError):
                return False

        def run() -> bool | None:
            normal = password_form(password)
            if matches(normal):
                assert hashed is not None
                return self._hasher.check_needs_rehash(hashed)
            if normal != password and matches(password):
                return True
            return None

        return await asyncio.to_thread(run)


class Accounts:
    """Sign-up, log-in and log-out over an AccountStore and the session store."""

    def __init__(
        self,
        store: AccountStore,
        sessions: SessionStore,
        failures: LoginFailures,
        passwords: Passwords | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.failures = failures
        self.passwords = passwords or Passwords()
        self._clock = clock

    async def register(
        self,
        username: str,
        password: str,
        display_name: str | None = None,
        *,
        is_bot: bool = False,
        guest: Session | None = None,
    ) -> tuple[str, Session, Account]:
        """A new account and a session for it. With ``guest``, the guest's player id
        becomes the account's (its ratings and history stay its own)."""
        name = check_username(username)
        check_password(password)
        if guest is not None and is_bot:
            raise AccountError(
                "bot_from_guest",
                "a bot account starts afresh: a guest's games were played as a person",
                409,
            )
        if guest is not None:
            existing = await self.store.get(guest.player_id)
            if existing is not None:
                raise AccountError("already_registered", "this player has an account", 409)
        account = Account(
            player_id=guest.player_id if guest else _new_player_id(is_bot),
            username=name,
            username_key=username_key(name),
            display_name=(display_name or (guest.name if guest else name)).strip(),
            password_hash=await self.passwords.hash(password),
            is_bot=is_bot,
            created_at=self._clock(),
        )
        if not await self.store.create(account):
            raise AccountError("username_taken", "that username is taken", 409)
        token, session = await self.sessions.create(account.display_name, account.player_id)
        return token, session, account

    async def login(
        self, username: str, password: str, address: str
    ) -> tuple[str, Session, Account]:
        """A new session for the account; one generic AccountError for every failure."""
        name_key = username_key(unicodedata.normalize("NFKC", username).strip())
        key, address_key = "account:" + name_key, "address:" + address
        wait = await self.failures.wait([key, address_key])
        if wait > 0:
            raise AccountError(
                "too_many_attempts", "too many failed log-ins: wait and try again", 429, wait
            )
        account = await self.store.by_username(name_key)
        hashed = account.password_hash if account and account.deleted_at is None else None
        stale = await self.passwords.check(hashed, password)
        if account is None or stale is None:
            await self.failures.failed(key, FREE_FAILURES)
            await self.failures.failed(address_key, FREE_ADDRESS_FAILURES)
            raise AccountError("login_failed", "wrong username or password", 401)
        await self.failures.succeeded(key)
        if stale:
            assert hashed is not None  # it matched
            await self.store.replace_hash(
                account.player_id, hashed, await self.passwords.hash(password)
            )
        token, session = await self.sessions.create(account.display_name, account.player_id)
        return token, session, account

    async def change_password(
        self, player_id: str, password: str, new_password: str, address: str
    ) -> tuple[str, Session, Account]:
        """A new password, checked against the one now (``confirm_password``), then every
        session of the account ends (whoever knew the old password is logged out) and the
        caller gets a new one."""
        account = await self.store.get(player_id)
        if account is None or account.deleted_at is not None or account.username_key is None:
            raise AccountError("no_account", "a guest has no password to change", 404)
        check_password(new_password)
        hashed = await self.confirm_password(account, password, address)
        if not await self.store.replace_hash(
            player_id, hashed, await self.passwords.hash(new_password)
        ):
            raise AccountError("password_changed", "the password changed meanwhile", 409)
        await self.sessions.revoke_player(player_id)
        token, session = await self.sessions.create(account.display_name, player_id)
        return token, session, account

    async def confirm_password(self, account: Account, password: str | None, address: str) -> str:
        """Check that the caller knows the (live) account's password now, before a change
        a session alone must not make (a new password, a deletion: a session left open
        on a shared computer is not enough). Its failures count as failed log-ins do, so
        it is no way round their slow-down (429 ``too_many_attempts``); 403
        ``password_required`` without one, ``wrong_password`` for a wrong one. The hash
        it matched."""
        if not password:
            raise AccountError("password_required", "this needs the account's password", 403)
        key, address_key = f"account:{account.username_key}", "address:" + address
        wait = await self.failures.wait([key, address_key])
        if wait > 0:
            raise AccountError(
                "too_many_attempts", "too many wrong passwords: wait and try again", 429, wait
            )
        hashed = account.password_hash
        if await self.passwords.check(hashed, password) is None:
            await self.failures.failed(key, FREE_FAILURES)
            await self.failures.failed(address_key, FREE_ADDRESS_FAILURES)
            raise AccountError("wrong_password", "that is not the account's password", 403)
        await self.failures.succeeded(key)
        assert hashed is not None  # it matched
        return hashed

    async def delete(self, player_id: str, password: str | None, address: str) -> Account | None:
        """Remove the credentials and personal fields, given the password now
        (``confirm_password``); the player id stays, so their games stay in others'
        histories, under an anonymous name. None for a guest (no account)."""
        account = await self.store.get(player_id)
        if account is None or account.deleted_at is not None:
            return None
        await self.confirm_password(account, password, address)
        gone = replace(
            account,
            username=None,
            username_key=None,
            display_name=ANONYMOUS,
            password_hash=None,
            deleted_at=self._clock(),
        )
        await self.store.update(gone)
        await self.sessions.revoke_player(player_id)
        return gone


ANONYMOUS = "deleted player"
"""The name a deleted account's games show it under."""


def _new_player_id(is_bot: bool) -> str:
    """``p_…`` for a person, ``bot_…`` for a bot (``is_bot_player``), as lichess marks
    BOT accounts: every seat, rating and record then shows a bot as one."""
    return new_id(BOT_ACCOUNT_PREFIX.rstrip("_") if is_bot else "p")
