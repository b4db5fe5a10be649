"""The shape of the code: parts import downwards only, and nothing imports in a circle.

Read from the source with ``ast`` (nothing is imported), counting every import,
those under ``if TYPE_CHECKING:`` and inside functions too: a circle that only the
type checker or a late import breaks is still a circle a reader has to untangle.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"game": "meeple.game", "lobby": "meeple.lobby", "client": "meeple.client"}

# Which parts of lobby/ may import which: each only from those below it.
LOBBY_PARTS: dict[str, set[str]] = {
    "stores": set(),
    "ops": set(),
    "ratelimit": set(),
    "players": {"stores", "ops"},
    "rooms": {"stores", "ops", "players", "ratelimit"},
    "edge": {"rooms", "stores", "ops", "ratelimit", "services"},
    "http": {"rooms", "stores", "ops", "players", "ratelimit", "services"},
}
"""Besides these, every part may read ``settings``; the two shells that take requests
(edge and http) reach the app's ``services``, which nothing below them may."""
WIRING = {"app", "services", "settings", "cli", "dbcli", "games", "newgame"}
"""The top of lobby/: the app's wiring, which may import every part."""

# Modules of the standard library and third parties that game/ must never use: it is pure.
IMPURE = {"asyncio", "socket", "redis", "time", "datetime", "threading", "uvicorn", "fastapi"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    parts[0] = FOLDERS[parts[0]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "vendor" not in path.parts:
                found[module_name(path)] = path
    return found


SOURCES = sources()


def imports_of(path: Path, module: str) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports (absolute names), with its line."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name, node.lineno
            for alias in node.names:  # ``from package import module``
                if f"{name}.{alias.name}" in SOURCES:
                    yield f"{name}.{alias.name}", node.lineno


def internal_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in SOURCES.items():
        targets = set()
        for name, _ in imports_of(path, module):
            while name and name not in SOURCES:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)  # importing one's own package's __init__ is no edge
        graph[module] = targets
    return graph


def test_no_generic_top_level_names() -> None:
    """Everything is imported as meeple.*: ``import game`` would load a second copy."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for folder in (*FOLDERS, "tests", "bench", "examples")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "vendor" not in path.parts
        for name, line in imports_of(path, module_name(path) if folder in FOLDERS else "")
        if name.split(".")[0] in FOLDERS
    ]
    assert wrong == []


def test_no_import_circles() -> None:
    graph = internal_graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert circles == []


def lobby_part(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "lobby" else None


def test_lobby_parts_import_downwards() -> None:
    wrong = []
    for module, targets in internal_graph().items():
        part = lobby_part(module)
        if part is None or part in WIRING:
            continue
        for target in targets:
            other = lobby_part(target)
            if other is None or other == part or other == "settings":
                continue
            if other not in LOBBY_PARTS.get(part, set()):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_every_lobby_module_belongs_to_a_part() -> None:
    known = set(LOBBY_PARTS) | WIRING
    strays = [m for m in SOURCES if (part := lobby_part(m)) is not None and part not in known]
    assert strays == []


def test_game_is_pure_and_client_is_public() -> None:
    """game/ does no I/O and reads no clock; client/ never imports the server."""
    wrong = []
    for module, path in SOURCES.items():
        for name, line in imports_of(path, module):
            top = name.split(".")[0]
            if module.startswith("meeple.game") and (
                top in IMPURE or name.startswith(("meeple.lobby", "meeple.client"))
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
            if module.startswith("meeple.client") and name.startswith("meeple.lobby"):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_every_package_is_installed(folder: str) -> None:
    """pyproject lists packages by hand (they are mapped under meeple): none is left out."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    packages = {
        module_name(p) for p in (ROOT / folder).rglob("__init__.py") if "vendor" not in p.parts
    }
    assert packages <= listed
