"""Every problem type the code can answer is in the OpenAPI document's enum (issue 41), and the document's error
items describe every shape the code writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.core.errors import PROBLEM_TYPES, STATUS_SLUGS, TYPE_BASE

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "openapi" / "openapi.json").read_text())


def test_every_slug_in_the_code_is_a_documented_type():
    used = set(STATUS_SLUGS.values())
    for path in (ROOT / "app").rglob("*.py"):
        used |= set(re.findall(r'slug\s*=\s*"([a-z-]+)"', path.read_text()))
    assert used <= set(PROBLEM_TYPES), used - set(PROBLEM_TYPES)
    assert DOCUMENT["components"]["schemas"]["Problem"]["properties"]["type"]["enum"] == [
        TYPE_BASE + slug for slug in PROBLEM_TYPES
    ]


def test_every_error_item_the_code_writes_has_documented_keys():
    allowed = set(DOCUMENT["components"]["schemas"]["ProblemError"]["properties"])
    for path in (ROOT / "app").rglob("*.py"):
        for item in re.findall(r"errors=\[\{([^\]]*)\}", path.read_text()):
            keys = set(re.findall(r'"([a-z_]+)":', item))
            assert keys <= allowed, (path.name, keys - allowed)
