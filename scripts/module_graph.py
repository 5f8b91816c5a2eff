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
# one. Features share one layer; which feature may import which is FEATURE_ORDER below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("app.core",)),
    ("domain", ("app.identifiers", "app.peppol")),
    (
        "features",
        (
            "app.companies",
            "app.reconciliation",
            "app.invoices",
            "app.statements",
            "app.events",
            "app.codabox",
            "app.ponto",
            "app.webhooks",
            "app.dashboard",
        ),
    ),
    (
        "edge",
        (
            "app.ui",
            "app.main",
            "app.cli",
            "app.worker",
            "app.jobs",
            "app.hooks",
            "app.models",
            "app.openapi",
            "app.migrations",
        ),
    ),
)

#: Features, lowest first: a feature's logic imports only features before it. Tables (`*.models`) and
#: request/response shapes (`*.schemas`) are shared data any feature may read; a router is presentation and
#: may call any feature.
FEATURE_ORDER = LAYERS[2][1]
SHARED_KINDS = ("models", "schemas")
#: Modules that present: they may import a presenter. Logic (services, the ledger, matching, jobs) never does.
PRESENTATION_KINDS = ("router", "presenter")
PRESENTATION_PACKAGES = ("app.events", "app.ui")


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
    return sorted(set(found), key=lambda a: (a.source, a.line, a.target))


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


def kind_of(module: str) -> str:
    return module.rpartition(".")[2]


def against_feature_order(found: list[Arrow]) -> list[Arrow]:
    """Arrows from a feature's logic to a feature later in FEATURE_ORDER (not its tables or schemas)."""
    bad = []
    for a in found:
        source, target = feature_of(a.source), feature_of(a.target)
        if source not in FEATURE_ORDER or target not in FEATURE_ORDER or source == target:
            continue
        if kind_of(a.source) == "router" or kind_of(a.target) in SHARED_KINDS:
            continue
        if FEATURE_ORDER.index(target) > FEATURE_ORDER.index(source):
            bad.append(a)
    return bad


def presenter_reach(found: list[Arrow]) -> list[Arrow]:
    """A module that is not presentation importing a presenter (logic never renders a resource)."""
    return [
        a
        for a in found
        if kind_of(a.target) == "presenter"
        and kind_of(a.source) not in PRESENTATION_KINDS
        and not any(a.source == p or a.source.startswith(p + ".") for p in PRESENTATION_PACKAGES)
        and (layer_of(a.source) or (0, ""))[1] != "edge"
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
    logic = [a for a in found if kind_of(a.source) != "router" and kind_of(a.target) not in SHARED_KINDS]
    lines.append(
        f"package circles through logic (leaving out tables, schemas and routers): {len(package_circles(logic))}"
    )
    lines += [f"  {' <-> '.join(group)}" for group in package_circles(logic)]
    lines.append(f"arrows pointing up a layer: {len(upward(found))}")
    lines += [f"  {a.source}:{a.line} -> {a.target}" for a in upward(found)]
    lines.append(f"feature logic importing a later feature: {len(against_feature_order(found))}")
    lines += [f"  {a.source}:{a.line} -> {a.target}" for a in against_feature_order(found)]
    lines.append(f"logic importing a presenter: {len(presenter_reach(found))}")
    lines += [f"  {a.source}:{a.line} -> {a.target}" for a in presenter_reach(found)]
    lines.append(f"modules in no layer: {len(unplaced(modules))}")
    lines += [f"  {m}" for m in unplaced(modules)]
    lines.append("largest modules:")
    lines += [f"  {n:5d} {m}" for n, m in sizes[:8]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
