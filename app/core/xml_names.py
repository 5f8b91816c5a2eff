"""Reading XML by local element names: ISO 20022 and UBL documents carry their versions in namespaces (and
writers pick their own prefixes), so a reader that ignores namespaces reads every version alike."""

from __future__ import annotations

from typing import Any


def local(element: Any) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""  # comments and processing instructions: ""


def children(element: Any, name: str) -> list[Any]:
    return [c for c in element if local(c) == name] if element is not None else []


def child(element: Any, *path: str) -> Any:
    """The first descendant along ``path`` of local names, or None."""
    node = element
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if local(c) == name), None)
    return node


def text(element: Any, *path: str) -> str | None:
    """The stripped text at ``path``; None when absent or blank."""
    node = child(element, *path)
    if node is None or node.text is None:
        return None
    return node.text.strip() or None
