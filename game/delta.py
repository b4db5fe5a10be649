"""Deltas between two views, and applying one.

A delta is a list of operations, each a small array:

* ``[path, value]`` sets the value at ``path`` (a list of dict keys and list
  indexes). Setting the index one past a list's end appends to it.
* ``[path]`` deletes the dict key at ``path``.

The empty path stands for the whole view. Dicts are compared key by key and lists
of the same length item by item, so a move that changes one board cell costs one
operation; a list that grew only at its end gets appends; any other change to a
list replaces it whole, which is cheap for the small lists views hold.
"""

from __future__ import annotations

from itertools import compress
from operator import is_not
from typing import Any

Path = list[str | int]
Op = list[Any]

__all__ = ["Op", "Path", "apply_delta", "diff"]


def diff(old: Any, new: Any) -> list[Op]:
    """The operations that turn ``old`` into ``new``."""
    ops: list[Op] = []
    _diff(old, new, [], ops)
    return ops


_CONTAINERS = (dict, list)


def _diff(old: Any, new: Any, path: Path, ops: list[Op]) -> None:
    # Types are compared as well as values: 1, 1.0 and True are equal in Python but
    # encode differently, and a client must end up with exactly the new view.
    # A changed leaf (a board cell) is compared here, without a call of its own: on
    # the move path that is most of the work.
    old_type = type(old)
    if old_type is not type(new):
        ops.append([path, new])
    elif old_type is dict:
        for key, value in new.items():
            if key not in old:
                ops.append([[*path, key], value])
            else:
                before = old[key]
                if before is not value:
                    kind = type(before)
                    if kind in _CONTAINERS or kind is not type(value):
                        _diff(before, value, [*path, key], ops)
                    elif before != value:
                        ops.append([[*path, key], value])
        for key in old:
            if key not in new:
                ops.append([[*path, key]])
    elif old_type is list:
        n_old, n_new = len(old), len(new)
        if n_old == n_new:
            # Only the items that are not the very same object are looked at, and they
            # are found in C: a board of 64 cells with one changed costs one step here.
            for i in compress(range(n_new), map(is_not, old, new)):
                before, after = old[i], new[i]
                kind = type(before)
                if kind in _CONTAINERS or kind is not type(after):
                    _diff(before, after, [*path, i], ops)
                elif before != after:
                    ops.append([[*path, i], after])
        elif n_new > n_old and not diff(old, new[:n_old]):
            for i in range(n_old, n_new):
                ops.append([[*path, i], new[i]])
        else:
            ops.append([path, new])
    elif old != new:
        ops.append([path, new])


def apply_delta(view: Any, ops: list[Op]) -> Any:
    """The view after ``ops``; ``view`` itself is left as it was.

    Only the containers along each changed path are copied, so applying a
    one-cell delta to a large view costs little.
    """
    copied: set[int] = set()
    root = view
    for op in ops:
        path = op[0]
        if not path:
            root = op[1]
            copied.clear()
            continue
        if id(root) not in copied:
            root = _shallow(root)
            copied.add(id(root))
        node = root
        for key in path[:-1]:
            child = node[key]
            if id(child) not in copied:
                child = _shallow(child)
                copied.add(id(child))
                node[key] = child
            node = child
        last = path[-1]
        if len(op) == 1:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(op[1])
        else:
            node[last] = op[1]
    return root


def _shallow(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    raise ValueError(f"cannot descend into {type(value).__name__}")
