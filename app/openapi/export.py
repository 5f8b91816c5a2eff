"""Write the app's OpenAPI document (``python -m app.openapi.export FILE``); a test keeps the file in sync."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.main import create_app


def openapi_document() -> dict[str, Any]:
    return create_app().openapi()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "openapi/openapi.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
