"""The layering rules of design.md, checked mechanically on the package's import statements.

* aiohttp only in ``_transport.py``, ``testing/`` and the ``relay`` integration (lazily there);
* cattrs only in ``_convert.py``;
* asyncio never in the pure modules (parser, decoder, accumulator, request building, types),
  neither directly nor through anything they import, at module level or inside a function;
* no import cycle between the package's modules, at module level or inside a function;
* no module imports another module's private (``_name``) names, by ``from m import _name`` or
  as ``m._name``;
* nothing in the library imports ``testing/`` (the command line, an application built on the
  library, may, inside the commands that run the emulator);
* the pure modules import nothing from the I/O layers.

The transitive rules hold today only with the allow-lists below: each entry names one
remaining violation and whose file it is in; an entry must go when its violation is fixed
(the tests compare found and allowed exactly), and nothing may be added to them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import attrs
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "openrouter_async"

PURE = [
    "_errors.py",
    "_config.py",
    "_http.py",
    "_hooks.py",
    "_backoff.py",
    "_json.py",
    "_sse.py",
    "_decode.py",
    "_parse.py",
    "_schema.py",
    "_accumulate.py",
    "_request.py",
    "_convert.py",
    "_error_body.py",
    "_relay_encode.py",
    "_structured.py",
]
IO_LAYER = {
    "_transport",
    "_streaming",
    "_client",
    "_resources",
    "_batch",
    "relay",
    "testing",
    "_cli",
}


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


# --------------------------------------------------------------------------- the import graph


@attrs.frozen
class Edge:
    """``importer`` imports ``target`` (a module of the package, or an outside top-level name)
    at ``line``; ``lazy`` inside a function; ``private`` the ``_name`` it takes, if any."""

    importer: str
    target: str
    line: int
    lazy: bool
    private: str | None = None

    def __str__(self) -> str:
        name = f"{self.target}.{self.private}" if self.private else self.target
        return f"{self.importer}:{self.line} -> {name}{' (in a function)' if self.lazy else ''}"


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package at ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _nodes_with_laziness(tree: ast.AST) -> list[tuple[ast.AST, bool]]:
    """Like :func:`_runtime_nodes`, each node with whether it runs inside a function."""
    out: list[tuple[ast.AST, bool]] = []
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
    while stack:
        node, lazy = stack.pop()
        out.append((node, lazy))
        inner = lazy or isinstance(node, functions)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend((c, inner) for c in child.orelse)
                continue
            stack.append((child, inner))
    return out


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def edges_of(name: str, modules: dict[str, Path]) -> list[Edge]:
    """Every run-time import of module ``name``: package modules by full name, anything else
    by its top-level name; private names taken from package modules are marked."""
    path = modules[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    nodes = _nodes_with_laziness(ast.parse(path.read_text(encoding="utf-8")))
    out: list[Edge] = []
    bound: dict[str, str] = {}  # local name -> package module it is bound to

    def add(target: str, node: ast.stmt, lazy: bool, private: str | None = None) -> None:
        if target not in modules:
            target = target.split(".")[0]
        out.append(Edge(name, target, node.lineno, lazy, private))

    for node, lazy in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, lazy)
                if alias.asname and alias.name in modules:
                    bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                if full in modules:  # a submodule, not a name defined in ``module``
                    add(full, node, lazy)
                    bound[alias.asname or alias.name] = full
                else:
                    private = alias.name if module in modules and _is_private(alias.name) else None
                    add(module, node, lazy, private)
    for node, lazy in nodes:
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and _is_private(node.attr)
            and f"{bound[node.value.id]}.{node.attr}" not in modules
        ):
            out.append(Edge(name, bound[node.value.id], node.lineno, lazy, node.attr))
    return out


def import_graph(root: Path) -> dict[str, list[Edge]]:
    modules = module_names(root)
    return {name: edges_of(name, modules) for name in modules}


def _between_modules(graph: dict[str, list[Edge]]) -> dict[str, list[Edge]]:
    """Edges from a module to another module of the package (importing a name from the
    package face is an edge to the face; the implicit import of a parent package is none)."""
    return {m: [e for e in es if e.target in graph and e.target != m] for m, es in graph.items()}


def path_to(graph: dict[str, list[Edge]], start: str, outside: tuple[str, ...]) -> list[Edge]:
    """The shortest chain of run-time imports from ``start`` to one of the ``outside``
    top-level names, or ``[]``."""
    inner = _between_modules(graph)
    came: dict[str, Edge | None] = {start: None}
    queue = [start]
    for module in queue:  # breadth first: the queue grows as it is read
        for edge in graph[module]:
            if edge.target in outside:
                chain = [edge]
                while (back := came[chain[0].importer]) is not None:
                    chain.insert(0, back)
                return chain
        for edge in inner[module]:
            if edge.target not in came:
                came[edge.target] = edge
                queue.append(edge.target)
    return []


def cycles(graph: dict[str, list[Edge]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    inner = _between_modules(graph)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted({e.target for e in inner[v]}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(inner):
        if v not in index:
            visit(v)
    return sorted(found)


def private_imports(graph: dict[str, list[Edge]]) -> list[Edge]:
    return [e for es in graph.values() for e in es if e.private and e.target != e.importer]


def _short(name: str) -> str:
    return name.removeprefix("openrouter_async.")


# --------------------------------------------------------------------------- allow-lists
# Each entry is one violation in today's code, with the file's owner as of issue #16; the
# tests below fail when an entry is fixed but still listed, as well as on anything new.

#: pure module -> the module through which its imports reach asyncio/aiohttp.
ALLOWED_IMPURE: set[tuple[str, str]] = set()  # none left: every pure module is pure

#: groups of modules that import each other (at module level or inside a function).
ALLOWED_CYCLES: list[list[str]] = []  # none left

#: (importer, the private name it takes) -> kept until the owner makes the name public.
ALLOWED_PRIVATE: set[tuple[str, str]] = set()  # none left


# --------------------------------------------------------------------------- transitive rules


def _pure_module_names() -> list[str]:
    names = [p.removesuffix(".py") for p in PURE]
    names += [
        "types." + p.relative_to(PACKAGE / "types").with_suffix("").as_posix().replace("/", ".")
        for p in sorted((PACKAGE / "types").rglob("*.py"))
    ]
    return ["openrouter_async." + n.removesuffix(".__init__") for n in names]


def test_pure_modules_never_reach_asyncio_or_aiohttp() -> None:
    graph = import_graph(PACKAGE)
    found = {}
    for name in _pure_module_names():
        chain = path_to(graph, name, ("asyncio", "aiohttp"))
        if chain:
            found[(_short(name), _short(chain[-1].importer))] = " ; ".join(map(str, chain))
    report = "\n".join(f"{key}: {chain}" for key, chain in sorted(found.items()))
    assert set(found) == ALLOWED_IMPURE, report


def test_no_import_cycles() -> None:
    graph = import_graph(PACKAGE)
    found = [[_short(m) for m in group] for group in cycles(graph)]
    inside = {
        str(attrs.evolve(e, private=None))
        for group in cycles(graph)
        for m in group
        for e in graph[m]
        if e.target in group
    }
    assert found == ALLOWED_CYCLES, "\n".join(sorted(inside))


def test_no_module_imports_private_names_of_another() -> None:
    found = {
        (_short(e.importer), f"{_short(e.target)}.{e.private}"): str(e)
        for e in private_imports(import_graph(PACKAGE))
    }
    report = "\n".join(sorted(found.values()))
    assert set(found) == ALLOWED_PRIVATE, report


def test_the_graph_checks_see_what_they_must(tmp_path: Path) -> None:
    """Guards the guard on a made-up package: a lazy import two modules away reaches asyncio,
    a cycle closed inside a function, private names taken both ways; TYPE_CHECKING ignored."""
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    sources = {
        "__init__.py": "",
        "pure.py": "from . import middle\n",
        "taker.py": "from .sub.deep import _hidden\n",
        "middle.py": "def f():\n    from .sub import deep\n    return deep._other\n",
        "sub/__init__.py": "",
        "sub/deep.py": (
            "from typing import TYPE_CHECKING\nimport asyncio\n"
            "if TYPE_CHECKING:\n    from ..pure import X\n"
            "def g():\n    from .. import middle\n_hidden = _other = 1\n"
        ),
        "clean.py": "import json\nfrom .sub import __init__ as _unused\n",
    }
    for name, text in sources.items():
        (root / name).write_text(text, encoding="utf-8")
    graph = import_graph(root)
    chain = path_to(graph, "pkg.pure", ("asyncio",))
    assert [str(e) for e in chain] == [
        "pkg.pure:1 -> pkg.middle",
        "pkg.middle:2 -> pkg.sub.deep (in a function)",
        "pkg.sub.deep:2 -> asyncio",
    ]
    assert path_to(graph, "pkg.clean", ("asyncio",)) == []
    assert cycles(graph) == [["pkg.middle", "pkg.sub.deep"]]  # not pure: TYPE_CHECKING only
    assert sorted(str(e) for e in private_imports(graph)) == [
        "pkg.middle:3 -> pkg.sub.deep._other (in a function)",
        "pkg.taker:1 -> pkg.sub.deep._hidden",
    ]
