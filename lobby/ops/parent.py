"""A ``meeple serve --workers N`` worker ends when its parent does.

Killed with -9, the parent cannot stop its workers: they would go on serving on the
port, orphans that nobody supervises (no restart when one hangs, no SIGTERM on a
deploy). Each worker asks to be sent SIGTERM when its parent dies, and then stops as
on a deploy (rooms handed over, players closed with 1012), in bounded time.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
"""Linux's prctl option: the signal the kernel sends us when our parent dies."""

PARENT_POLL_SECONDS = 1.0
"""Where the kernel offers no death signal, how often a worker looks for its parent."""


def end_with_parent(parent_pid: int) -> None:
    """SIGTERM to this process when ``parent_pid`` (our parent) dies: from the kernel on
    Linux, else from a thread that looks every ``PARENT_POLL_SECONDS``."""
    if not _death_signal(signal.SIGTERM):
        stop = functools.partial(os.kill, os.getpid(), signal.SIGTERM)
        threading.Thread(
            target=watch_parent, args=(parent_pid, stop), daemon=True, name="meeple-parent"
        ).start()
    if os.getppid() != parent_pid:  # it died before we asked: nothing will tell us
        os.kill(os.getpid(), signal.SIGTERM)


def watch_parent(
    parent_pid: int, on_orphaned: Callable[[], None], every: float = PARENT_POLL_SECONDS
) -> None:
    """Call ``on_orphaned`` once our parent is no longer ``parent_pid`` (it died and
    we were handed to another), looking every ``every`` seconds."""
    while os.getppid() == parent_pid:
        time.sleep(every)
    on_orphaned()


def _death_signal(sig: signal.Signals) -> bool:
    """Ask Linux for ``sig`` when our parent dies; False where that cannot be had."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False
