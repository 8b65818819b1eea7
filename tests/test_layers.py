"""The layering rules of design.md, checked mechanically on the package's import statements.

* aiohttp only in ``_transport.py``, ``testing/`` and the ``relay`` integration (lazily there);
* cattrs only in ``_convert.py``;
* asyncio never in the pure modules (parser, decoder, accumulator, request building, types);
* nothing in the library imports ``testing/`` (the command line, an application built on the
  library, may, inside the commands that run the emulator);
* the pure modules import nothing from the I/O layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "openrouter_async"

PURE = [
    "_sse.py",
    "_decode.py",
    "_parse.py",
    "_schema.py",
    "_accumulate.py",
    "_request.py",
    "_convert.py",
    "_error_body.py",
]
IO_LAYER = {"_transport", "_streaming", "_client", "_resources", "_batch", "relay", "testing", "_cli"}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    out: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)
    return out


def module_imports(path: Path) -> set[str]:
    """Absolute names of every module imported at run time (lazy imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    relative_base = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(relative_base[: len(relative_base) - node.level + 1])
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_aiohttp_only_in_transport_testing_and_relay() -> None:
    allowed = ("_transport.py", "testing/", "relay.py")
    offenders = [
        rel(p)
        for p in files()
        if not rel(p).startswith(allowed)
        and any(m == "aiohttp" or m.startswith("aiohttp.") for m in module_imports(p))
    ]
    assert offenders == []


def test_cattrs_only_in_convert() -> None:
    offenders = [
        rel(p)
        for p in files()
        if rel(p) != "_convert.py"
        and any(m == "cattrs" or m.startswith("cattrs.") for m in module_imports(p))
    ]
    assert offenders == []


@pytest.mark.parametrize("name", [*PURE, "types/"])
def test_pure_modules_do_no_io(name: str) -> None:
    targets = sorted((PACKAGE / name).rglob("*.py")) if name.endswith("/") else [PACKAGE / name]
    for path in targets:
        imports = module_imports(path)
        assert not any(m == "asyncio" or m.startswith("asyncio.") for m in imports), rel(path)
        layered = {m.split(".")[1] for m in imports if m.startswith("openrouter_async.")}
        assert not layered & IO_LAYER, (rel(path), layered & IO_LAYER)


def test_library_never_imports_testing() -> None:
    offenders = [
        rel(p)
        for p in files()
        if not rel(p).startswith(("testing/", "_cli/"))
        and any(m.startswith("openrouter_async.testing") for m in module_imports(p))
    ]
    assert offenders == []


def test_the_checker_sees_imports() -> None:
    """Guards the guard: absolute, relative and lazy imports are all found."""
    assert "aiohttp" in module_imports(PACKAGE / "_transport.py")
    client = module_imports(PACKAGE / "_client.py")
    assert "openrouter_async._transport" in client
    assert "openrouter_async._resources.chat" in client  # imported lazily inside a property
    assert "aiohttp" not in client  # only under TYPE_CHECKING there
