"""The import rules of docs/architecture.md, held on the real tree (scripts/module_graph.py reads it).

Each rule is also shown to catch a planted violation, so a rule that quietly stopped checking would fail here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import module_graph as graph

ARROWS = graph.arrows()


def _show(arrows: list[graph.Arrow]) -> str:
    return "\n".join(f"{a.source}:{a.line} -> {a.target}" for a in arrows)


def test_no_module_imports_itself_back_through_others() -> None:
    assert graph.circles(ARROWS) == []


def test_no_arrow_points_up_a_layer() -> None:
    assert graph.upward(ARROWS) == [], _show(graph.upward(ARROWS))


def test_core_imports_nothing_but_core() -> None:
    outside = [a for a in ARROWS if a.source.startswith("app.core.") and not a.target.startswith("app.core")]
    assert outside == [], _show(outside)


def test_features_import_only_earlier_features_logic() -> None:
    bad = graph.against_feature_order(ARROWS)
    assert bad == [], _show(bad)


def test_only_presentation_imports_a_presenter() -> None:
    bad = graph.presenter_reach(ARROWS)
    assert bad == [], _show(bad)


def test_every_module_has_a_layer_and_few_sit_at_the_top() -> None:
    modules = graph.app_modules()
    assert graph.unplaced(modules) == []
    top = [m for m, p in modules.items() if m.count(".") == 1 and p.name != "__init__.py"]
    assert len(top) <= 8, top


def _arrow(source: str, target: str) -> graph.Arrow:
    return graph.Arrow(source, target, 1, False)


@pytest.mark.parametrize(
    ("rule", "arrows"),
    [
        (graph.circles, [_arrow("app.a.x", "app.a.y"), _arrow("app.a.y", "app.a.z"), _arrow("app.a.z", "app.a.x")]),
        (graph.upward, [_arrow("app.core.db", "app.invoices.models")]),
        (graph.upward, [_arrow("app.invoices.service", "app.ui.views")]),
        (graph.against_feature_order, [_arrow("app.reconciliation.ledger", "app.invoices.service")]),
        (graph.against_feature_order, [_arrow("app.companies.service", "app.reconciliation.ledger")]),
        (graph.presenter_reach, [_arrow("app.reconciliation.ledger", "app.invoices.presenter")]),
        (graph.presenter_reach, [_arrow("app.webhooks.dispatch", "app.statements.presenter")]),
    ],
)
def test_each_rule_catches_a_planted_violation(rule, arrows) -> None:
    assert rule(arrows)


@pytest.mark.parametrize(
    ("rule", "arrows"),
    [
        (graph.against_feature_order, [_arrow("app.reconciliation.ledger", "app.invoices.models")]),
        (graph.against_feature_order, [_arrow("app.companies.router", "app.reconciliation.account_moves")]),
        (graph.against_feature_order, [_arrow("app.statements.service", "app.reconciliation.service")]),
        (graph.presenter_reach, [_arrow("app.events.snapshots", "app.invoices.presenter")]),
        (graph.presenter_reach, [_arrow("app.reconciliation.router", "app.statements.presenter")]),
        (graph.upward, [_arrow("app.ui.views", "app.core.db")]),
    ],
)
def test_each_rule_lets_an_allowed_arrow_through(rule, arrows) -> None:
    assert rule(arrows) == []


def test_an_import_inside_a_function_counts(tmp_path: Path) -> None:
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from app.b import g\n")
    (package / "b.py").write_text("from app import a\n")
    modules = {"app": package / "__init__.py", "app.a": package / "a.py", "app.b": package / "b.py"}
    found = graph.arrows(modules)
    assert graph.circles(found) == [["app.a", "app.b"]]
    assert any(a.in_function for a in found)


#: A query built or run: the session's calls, or SQLAlchemy's statement builders (not ``@router.delete(``).
SQL_IN_A_ROUTER = re.compile(r"session\.(get|exec|execute|scalars?)\(|(?<![.\w])(select|insert|update|delete)\(")


def test_routers_hold_no_sql() -> None:
    """A router reads the request, calls a service or a query module, and renders (docs/architecture.md)."""
    found = [
        f"{module}: {match.group(0)}"
        for module, path in graph.app_modules().items()
        if graph.kind_of(module) == "router"
        for match in SQL_IN_A_ROUTER.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert SQL_IN_A_ROUTER.search("rows = session.exec(select(Company)).all()")
    assert not SQL_IN_A_ROUTER.search('@router.delete("/{id}")')
