"""The import graph of `app/`: circles, arrows that point up a layer, and the largest modules.

`python scripts/module_graph.py` prints the report the one-way-layers work is measured by;
`tests/unit/test_layers.py` holds the same rules as a test. Every `import` counts, also one inside a function
(hiding an import in a function does not untie a knot). Layers are read from `docs/architecture.md`'s rules,
written here once.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

# The layers, lowest first. A module may import its own layer's modules and any lower layer's, never a higher
# one. Features sit in one layer together; which feature may import which is the FEATURE rule below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("app.core",)),
    (
        "domain",
        ("app.core.money", "app.identifiers.references", "app.identifiers.iban", "app.identifiers.vat", "app.peppol"),
    ),
    (
        "features",
        (
            "app.companies",
            "app.invoices",
            "app.bank",
            "app.statements",
            "app.reconciliation",
            "app.codabox",
            "app.webhooks",
            "app.dashboard",
            "app.core.events",
        ),
    ),
    ("edge", ("app.ui", "app.main", "app.core.asgi", "app.cli", "app.worker", "app.openapi", "app.migrations")),
)


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(APP.rglob("*.py")) if "migrations/versions" not in p.as_posix()}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The app module an imported name lives in (`app.a.b.func` -> `app.a.b`)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def arrows(modules: dict[str, Path] | None = None) -> list[Arrow]:
    modules = modules or app_modules()
    found: list[Arrow] = []
    for source, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node, in_function in _imports(tree):
            for name in _imported_names(node, package):
                target = _resolve(name, modules)
                if target and target != source:
                    found.append(Arrow(source, target, node.lineno, in_function))
    return found


def _imports(tree: ast.AST) -> Iterable[tuple[ast.Import | ast.ImportFrom, bool]]:
    def walk(node: ast.AST, in_function: bool) -> Iterable[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from walk(child, inner)

    return walk(tree, False)


def _imported_names(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = package.split(".")
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [f"{base}.{alias.name}" for alias in node.names]


def layer_of(module: str) -> tuple[int, str] | None:
    for rank, (name, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank, name
    return None


def feature_of(module: str) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else None


def circles(found: list[Arrow]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a in found:
        graph.setdefault(a.source, set()).add(a.target)
        graph.setdefault(a.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def package_circles(found: list[Arrow]) -> list[list[str]]:
    """Circles between feature packages (a knot even when no two modules import each other)."""
    lifted = [
        Arrow(feature_of(a.source) or a.source, feature_of(a.target) or a.target, a.line, a.in_function)
        for a in found
        if (feature_of(a.source) or a.source) != (feature_of(a.target) or a.target)
    ]
    return circles(lifted)


def upward(found: list[Arrow]) -> list[Arrow]:
    """Arrows from a lower layer to a higher one."""
    bad = []
    for a in found:
        source, target = layer_of(a.source), layer_of(a.target)
        if source and target and target[0] > source[0]:
            bad.append(a)
    return bad


def presenter_reach(found: list[Arrow]) -> list[Arrow]:
    """A feature module importing another feature's presenter (presenters belong to their own feature)."""
    return [
        a
        for a in found
        if a.target.endswith(".presenter")
        and feature_of(a.source) != feature_of(a.target)
        and layer_of(a.source) is not None
        and layer_of(a.source)[1] != "edge"
    ]


def unplaced(modules: dict[str, Path]) -> list[str]:
    return sorted(m for m in modules if m != "app" and layer_of(m) is None)


def report() -> str:
    modules = app_modules()
    found = arrows(modules)
    sizes = sorted(((len(p.read_text(encoding="utf-8").splitlines()), m) for m, p in modules.items()), reverse=True)
    top_level = [m for m, p in modules.items() if m.count(".") == 1 and p.name != "__init__.py"]
    lines = [
        f"modules: {len(modules)}; at the top of app/: {len(top_level)}; imports: {len(found)}, "
        f"inside functions: {sum(a.in_function for a in found)}",
        f"module circles: {len(circles(found))}",
    ]
    lines += [f"  {' <-> '.join(group)}" for group in circles(found)]
    lines.append(f"package circles: {len(package_circles(found))}")
    lines += [f"  {' <-> '.join(group)}" for group in package_circles(found)]
    lines.append(f"arrows pointing up a layer: {len(upward(found))}")
    lines += [f"  {a.source}:{a.line} -> {a.target}" for a in upward(found)]
    lines.append(f"a feature importing another's presenter: {len(presenter_reach(found))}")
    lines += [f"  {a.source}:{a.line} -> {a.target}" for a in presenter_reach(found)]
    lines.append(f"modules in no layer: {len(unplaced(modules))}")
    lines += [f"  {m}" for m in unplaced(modules)]
    lines.append("largest modules:")
    lines += [f"  {n:5d} {m}" for n, m in sizes[:8]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
