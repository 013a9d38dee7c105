"""The package layout stays true: imports flow one way between the subpackages, no
module imports another in a cycle, and nothing private crosses a module boundary.

Every import counts, at module level or inside a function, except under
``if TYPE_CHECKING:`` (never executed). The graph is read from the source with ast,
so it holds for code paths no other test runs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import mentionwatch

PACKAGE = Path(mentionwatch.__file__).parent
NAME = "mentionwatch"

# Lower layers never import higher ones. Same layer: allowed (cycles are checked apart).
LAYERS: dict[str, int] = {
    # foundations: records, errors and utilities everything may use
    "mentionwatch": 0,
    "models": 0,
    "errors": 0,
    "timeutil": 0,
    "textutil": 0,
    "urls": 0,
    "config": 1,
    "sources": 2,
    "analysis": 3,
    "store": 4,
    "webcare": 5,
    "report": 6,
    # assemblers: wire the layers below into a config check, a scan, a demo
    "configure": 7,
    "pipeline": 7,
    "demo": 7,
    "rescore": 7,
    "cli": 8,
    "__main__": 8,
}
MAX_TOP_LEVEL_MODULES = 12


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a module of the package
    name: str | None  # the name taken from it (None: the module itself)
    line: int


def _module_names() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _module_names()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found: list[Import] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == NAME:
                    found.append(Import(module, alias.name, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != NAME:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # `from . import store`: the module itself
                    found.append(Import(module, sub, None, node.lineno))
                else:
                    found.append(Import(module, target, alias.name, node.lineno))
    return found


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]


def _unit(module: str) -> str:
    """The subpackage or top-level module a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_walker_sees_imports_at_every_depth() -> None:
    # A walker that found nothing would pass every rule below: pin a few known edges.
    edges = {(i.importer, i.target) for i in IMPORTS}
    assert ("mentionwatch.pipeline", "mentionwatch.store.db") in edges
    assert ("mentionwatch.configure", "mentionwatch.sources") in edges
    # imported inside a function (SourceContext.search_terms)
    assert ("mentionwatch.sources.base", "mentionwatch.config.query") in edges
    assert len(MODULES) > 40


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        if imp.target != imp.importer:
            edges[imp.importer].add(imp.target)
    assert _cycles(edges) == []


def test_no_private_name_crosses_a_module() -> None:
    leaks = [
        f"{i.importer}:{i.line} imports {i.name} from {i.target}"
        for i in IMPORTS
        if i.name is not None
        and i.name.startswith("_")
        and not (i.name.startswith("__") and i.name.endswith("__"))
        and i.target != i.importer
    ]
    private_modules = [
        m for m in MODULES if any(p.startswith("_") and p != "__main__" for p in m.split("."))
    ]
    assert leaks == []
    assert private_modules == []


def test_imports_flow_one_way() -> None:
    assert {_unit(m) for m in MODULES} <= set(LAYERS), "a new subpackage needs a layer here"
    upward = [
        f"{i.importer}:{i.line} imports {i.target} ({_unit(i.importer)} may not use "
        f"{_unit(i.target)})"
        for i in IMPORTS
        if LAYERS[_unit(i.target)] > LAYERS[_unit(i.importer)]
    ]
    assert upward == []


def test_sources_touch_neither_the_store_nor_the_console() -> None:
    forbidden = ("rich", "sqlite3", "sqlite_utils")
    for module, path in MODULES.items():
        if _unit(module) != "sources":
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                names.add(node.module or "")
        assert not [n for n in names if n.split(".")[0] in forbidden], module


def test_few_modules_at_the_top_and_every_subpackage_says_its_job() -> None:
    top = [
        m for m, path in MODULES.items() if path.parent == PACKAGE and path.name != "__init__.py"
    ]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    for module, path in MODULES.items():
        if path.name == "__init__.py" and module != NAME:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            assert doc, f"{module}: say its one job"
            assert "May import" in doc, f"{module}: say what it may import"
