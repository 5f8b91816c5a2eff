"""The OpenAPI document as integrators need it, on top of what FastAPI derives from the routes: the bearer
scheme (an Authorize button in /docs), one ``Problem`` schema (RFC 9457) for every error a route can answer
instead of FastAPI's own 422 shape, the ``Idempotency-Key`` header on every POST, a whole example of every
JSON request body (app/openapi/examples.py), and the names a generated client takes its methods and types from
(app/openapi/operations.py)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.core.errors import PROBLEM_TYPES, TYPE_BASE
from app.openapi.examples import REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from app.openapi.operations import OPERATION_IDS, SCHEMA_NAMES
from app.openapi.webhooks import webhooks_section

PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `type` is one of the vocabulary in the README (Errors).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "enum": [TYPE_BASE + slug for slug in PROBLEM_TYPES],
            "examples": [TYPE_BASE + "validation"],
        },
        "title": {"type": "string", "examples": ["Invalid input"]},
        "status": {"type": "integer", "examples": [422]},
        "detail": {"type": "string", "examples": ["body.total_amount: must be greater than zero"]},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemError"}},
    },
    "additionalProperties": True,
}
PROBLEM_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One thing wrong: `loc` names a field (`body.total_amount`, `query.cursor`), `line` a line of a "
    "bank file, `rule` (with `location`) an official rule a UBL document fails; `message` always says what.",
    "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "loc": {"type": "string", "examples": ["body.total_amount"]},
        "line": {"type": "integer", "minimum": 0, "examples": [7]},
        "rule": {"type": "string", "examples": ["BR-CO-15"]},
        "location": {"type": ["string", "null"], "examples": ["/Invoice/cac:LegalMonetaryTotal"]},
    },
    "additionalProperties": False,
}
WHY = {
    400: "The body cannot be read at all (not well-formed JSON), or the query names a parameter the route does "
    "not take (`errors` names it).",
    401: "No key, or an unknown or revoked one.",
    403: "The key may not do this (a read key writing, a company key on another company or an admin route).",
    404: "No such resource for this company.",
    409: "The request conflicts with what is stored (see detail).",
    413: "The body is larger than CODARECON_MAX_UPLOAD_BYTES.",
    415: "Not a content type this route takes.",
    422: "The request is not valid: `errors` says where.",
    429: "Over the per-key rate limit: retry after `Retry-After` seconds.",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (1-255 characters): the same POST sent again with the same key gets the "
    "first answer again instead of doing the work twice; the same key with another body is a 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
#: No API key: probes, signed webhooks from outside, and the page Ponto sends a company's user back to.
PUBLIC = ("/healthz", "/readyz", "/v1/webhooks/inbound", "/v1/webhooks/ponto", "/v1/ponto/callback")
HEALTH = ("/healthz", "/readyz")


def _errors(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [] if path in PUBLIC else [401, 403, 429]
    if path not in HEALTH:  # every API route refuses a query parameter it does not take
        statuses.insert(0, 400)
    if "{" in path:
        statuses.append(404)
    if method in ("post", "put", "patch", "delete"):
        statuses.append(409)
    if operation.get("requestBody") or operation.get("parameters") or method in ("post", "put", "patch"):
        statuses.append(422)
    if "requestBody" in operation:
        statuses += [413, 415] if 400 in statuses else [400, 413, 415]
    return statuses


def document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        license_info=app.license_info,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemError"] = PROBLEM_ERROR_SCHEMA
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A company key (read or write scope) or the admin token.",
        }
    }
    for name, example in {**REQUEST_EXAMPLES, **RESPONSE_EXAMPLES}.items():
        schemas[name]["examples"] = [example]  # the whole body, as /docs offers it to send or shows it
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            try:
                operation["operationId"] = OPERATION_IDS[(method, path)]
            except KeyError:
                raise RuntimeError(f"{method.upper()} {path} has no operationId in app/openapi/operations.py") from None
            if path not in PUBLIC:
                operation["security"] = [{"bearer": []}]
            responses = operation.setdefault("responses", {})
            for status in _errors(path, method, operation):
                responses[str(status)] = {
                    "description": WHY[status],
                    "content": {"application/problem+json": {"schema": PROBLEM}},
                }
            for status, response in responses.items():  # also what a route declared itself (401 of webhooks)
                # A page for a person's browser (the Ponto callback) says its refusals as a page.
                if status.startswith("4") and "text/html" not in response.get("content", {}):
                    response["content"] = {"application/problem+json": {"schema": PROBLEM}}
            if method == "post" and not any(
                p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])
            ):
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    webhooks, webhook_schemas = webhooks_section()
    schema["webhooks"] = webhooks
    schemas.update(webhook_schemas)
    _inputs_as_taken(schema)
    schema = _renamed(schema)
    app.openapi_schema = schema
    return schema


def _renamed(node: Any) -> Any:
    """The document with SCHEMA_NAMES applied: the components' keys and titles, and every reference to them."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.removeprefix("#/components/schemas/")
                value = f"#/components/schemas/{SCHEMA_NAMES.get(name, name)}"
            out[key] = _renamed(value)
        schemas = out.get("components", {}).get("schemas")
        if schemas is not None:
            out["components"]["schemas"] = {
                SCHEMA_NAMES.get(name, name): {**body, "title": SCHEMA_NAMES[name]} if name in SCHEMA_NAMES else body
                for name, body in schemas.items()
            }
        return out
    if isinstance(node, list):
        return [_renamed(item) for item in node]
    return node


#: What the server refuses in every query, path and header value (app/core/request_routes.py): any C0 control
#: character and DEL.
NO_CONTROLS_IN_PARAMETERS = "^[^\\x00-\\x1f\\x7f]*$"
#: What it refuses in every string of a JSON body (app/core/schemas.py, StrictInput): the C0 controls but tab,
#: newline and carriage return, and DEL.
NO_CONTROLS_IN_BODIES = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"


def _inputs_as_taken(schema: dict[str, Any]) -> None:
    """Inputs described as the server takes them, so that a client (or a fuzzer) generating from the document
    sends what is accepted: a parameter left out is absent, never null; strings without a pattern of their own
    hold no control characters. Body schemas shared with answers are left as they are (bank data is shown as
    the bank wrote it)."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _not_null(parameter["schema"])
                _no_controls(parameter["schema"], NO_CONTROLS_IN_PARAMETERS)
    components = schema["components"]["schemas"]
    for name in _request_only(schema):
        for prop in components[name].get("properties", {}).values():
            _no_controls(prop, NO_CONTROLS_IN_BODIES)


def _not_null(node: dict[str, Any]) -> dict[str, Any]:
    options = node.get("anyOf")
    if not options or {"type": "null"} not in options:
        return node
    rest = [o for o in options if o != {"type": "null"}]
    kept = {k: v for k, v in node.items() if k != "anyOf"}
    return {**rest[0], **kept} if len(rest) == 1 else {**kept, "anyOf": rest}


#: A required string is trimmed before its length counts: one of only spaces is empty, so it needs one other.
NOT_BLANK_IN_BODIES = (
    "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"
)


def _no_controls(node: dict[str, Any], pattern: str) -> None:
    for option in node.get("anyOf", [node]):
        if option.get("type") == "string" and not {"pattern", "enum", "format", "const"} & option.keys():
            blank_refused = pattern == NO_CONTROLS_IN_BODIES and option.get("minLength", 0) >= 1
            option["pattern"] = NOT_BLANK_IN_BODIES if blank_refused else pattern
        if option.get("type") == "array" and isinstance(option.get("items"), dict):
            _no_controls(option["items"], pattern)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for k, v in node.items() if k != "$ref"))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _closure(names: set[str], components: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen and name in components:
            seen.add(name)
            todo += _refs(components[name])
    return seen


def _request_only(schema: dict[str, Any]) -> set[str]:
    """The component schemas that only request bodies use."""
    components = schema["components"]["schemas"]
    requests, answers = set(), set()
    for operations in schema["paths"].values():
        for operation in operations.values():
            requests |= _refs(operation.get("requestBody", {}))
            answers |= _refs(operation.get("responses", {}))
    answers |= _refs(schema.get("webhooks", {}))
    return _closure(requests, components) - _closure(answers, components)
