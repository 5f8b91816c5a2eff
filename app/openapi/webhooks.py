"""The OpenAPI 3.1 ``webhooks`` section: one entry per event type, with the body a webhook endpoint receives
(``{type, timestamp, data, change}``, signed per Standard Webhooks) and the same shape the event feed lists.

Each event's ``data`` is the resource as the API showed it when the event happened; ``change`` says what
changed. The schemas name the API's own resources (InvoicePublic, TransactionPublic) so that a generated
client reads a webhook with the types it reads the API with.
"""

from __future__ import annotations

from typing import Any, get_args

from app.events.schemas import EventType


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2,3}$"}
_INVOICE_STATUS = {"type": "string", "enum": ["open", "partially_paid", "paid", "overpaid", "cancelled"]}

#: The ``change`` of each kind of event.
CHANGE_SCHEMAS: dict[str, dict[str, Any]] = {
    "InvoiceMoneyChange": {
        "type": "object",
        "description": "An invoice's money state changed. Money that came back (a returned collection, a "
        "reversal) gives invoice.reopened with reason `returned` and the return.",
        "required": ["status", "previous_status", "amount_paid", "write_off_amount", "amount_due"],
        "properties": {
            "status": _INVOICE_STATUS,
            "previous_status": _INVOICE_STATUS,
            "amount_paid": _MONEY,
            "write_off_amount": _MONEY,
            "amount_due": _MONEY,
            "reason": {"type": "string", "enum": ["returned"]},
            "return": {"anyOf": [_ref("ReturnPublic"), {"type": "null"}]},
        },
    },
    "InvoiceDeliveryChange": {
        "type": "object",
        "required": ["delivery"],
        "properties": {"delivery": _ref("InvoiceDelivery")},
    },
    "TransactionStateChange": {
        "type": "object",
        "description": "Money in came to need a person: unmatched, or partly matched with a remainder.",
        "required": ["status", "previous_status", "unallocated_amount"],
        "properties": {
            "status": {"type": "string", "enum": ["unmatched", "partially_matched"]},
            "previous_status": {"type": ["string", "null"]},
            "unallocated_amount": _MONEY,
        },
    },
    "SuggestionChange": {
        "type": "object",
        "required": ["suggestion_id", "score"],
        "properties": {"suggestion_id": {"type": "string"}, "score": {"type": "number"}},
    },
    "AccountAddedData": {
        "type": "object",
        "required": ["id", "iban", "statement_id"],
        "properties": {"id": {"type": "string"}, "iban": {"type": "string"}, "statement_id": {"type": "string"}},
    },
    "InvoicePendingChange": {
        "type": "object",
        "description": "A pending payment (the bank shows it, it is not booked) naming the invoice appeared, or "
        "stopped counting: never money paid.",
        "required": ["pending_amount"],
        "properties": {
            "pending_amount": _MONEY,
            "pending_payment": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "amount": _MONEY,
                    "execution_date": {"type": "string", "format": "date"},
                    "state": {"type": "string", "enum": ["pending", "booked", "expired"]},
                },
            },
        },
    },
    "PontoAccountData": {
        "type": "object",
        "description": "A bank account the company's Ponto Connect integration reads.",
        "required": ["ponto_account_id", "iban", "state"],
        "properties": {
            "ponto_account_id": {"type": "string"},
            "iban": {"type": "string"},
            "state": {"type": "string", "enum": ["active", "consent_expired", "revoked"]},
            "consent_expires_at": {"type": ["string", "null"], "format": "date-time"},
            "reauthorization_url": {"type": ["string", "null"]},
        },
    },
    "CodaboxMismatchData": {
        "type": "object",
        "required": ["state", "mismatch"],
        "properties": {
            "state": {"type": "string", "enum": ["mismatch"]},
            "mismatch": {"type": "string"},
            "feed_index": {"type": ["integer", "string", "null"]},
            "holder": {"type": ["string", "null"]},
        },
    },
}

#: event type -> (what data is, what change is, when it is sent)
EVENTS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "invoice.paid": (_ref("InvoicePublic"), _ref("InvoiceMoneyChange"), "An invoice is settled exactly."),
    "invoice.partially_paid": (_ref("InvoicePublic"), _ref("InvoiceMoneyChange"), "Part of an invoice is settled."),
    "invoice.overpaid": (_ref("InvoicePublic"), _ref("InvoiceMoneyChange"), "More than an invoice's total came in."),
    "invoice.reopened": (
        _ref("InvoicePublic"),
        _ref("InvoiceMoneyChange"),
        "What settled an invoice was undone, or its money came back (change.reason: returned).",
    ),
    "invoice.cancelled": (_ref("InvoicePublic"), _ref("InvoiceMoneyChange"), "An invoice was cancelled."),
    "invoice.delivered": (_ref("InvoicePublic"), _ref("InvoiceDeliveryChange"), "CodaBox took the invoice."),
    "invoice.delivery_failed": (
        _ref("InvoicePublic"),
        _ref("InvoiceDeliveryChange"),
        "CodaBox refused the invoice for good, or every retry failed.",
    ),
    "invoice.payment_pending": (
        _ref("InvoicePublic"),
        _ref("InvoicePendingChange"),
        "The bank shows a payment naming the invoice that is not booked yet (Ponto): pending_amount, not paid.",
    ),
    "invoice.pending_expired": (
        _ref("InvoicePublic"),
        _ref("InvoicePendingChange"),
        "A pending payment of the invoice was never booked within CODARECON_PONTO_PENDING_DAYS: no longer counted.",
    ),
    "transaction.unmatched": (
        _ref("TransactionPublic"),
        _ref("TransactionStateChange"),
        "Money in that nothing settles: a person should look.",
    ),
    "transaction.partially_matched": (
        _ref("TransactionPublic"),
        _ref("TransactionStateChange"),
        "Money in that leaves a remainder nobody has accounted for.",
    ),
    "suggestion.created": (_ref("TransactionPublic"), _ref("SuggestionChange"), "A match for a person to decide."),
    "account.added": (
        _ref("AccountAddedData"),
        {"type": "object", "properties": {"account": {"type": "string", "enum": ["added"]}}},
        "A statement brought an account the company had not registered.",
    ),
    "codabox.mismatch": (
        _ref("CodaboxMismatchData"),
        {"type": "object", "properties": {"state": {"type": "string", "enum": ["mismatch"]}}},
        "A statement of another enterprise came through the company's CodaBox feed.",
    ),
    "account.revoked": (
        _ref("PontoAccountData"),
        {
            "type": "object",
            "properties": {"state": {"type": "string", "enum": ["revoked"]}, "reason": {"type": "string"}},
        },
        "Ponto Connect may no longer read the account: the company or Ponto ended the integration or took the "
        "account out of it. Nothing of it syncs until the company connects again.",
    ),
    "consent.expiring": (
        _ref("PontoAccountData"),
        {
            "type": "object",
            "properties": {
                "consent_expires_at": {"type": "string", "format": "date-time"},
                "reauthorization_url": {"type": ["string", "null"]},
            },
        },
        "The account's PSD2 consent ends soon (within CODARECON_PONTO_CONSENT_WARNING_DAYS): the company's user "
        "renews it at reauthorization_url.",
    ),
    "webhook.test": (
        {"type": ["object", "null"], "description": "The endpoint, as the API shows it."},
        {
            "type": "object",
            "properties": {"endpoint_id": {"type": "string"}, "message": {"type": "string"}},
        },
        "Sent by POST /v1/webhook-endpoints/{id}/test to that endpoint only.",
    ),
}


def _camel(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.replace(".", "_").split("_"))


def webhooks_section() -> tuple[dict[str, Any], dict[str, Any]]:
    """(the document's ``webhooks``, the component schemas they name)."""
    missing = set(get_args(EventType)) ^ set(EVENTS)
    if missing:
        raise RuntimeError(f"event types and their webhook documentation differ: {sorted(missing)}")
    components = dict(CHANGE_SCHEMAS)
    webhooks: dict[str, Any] = {}
    for event_type, (data, change, when) in EVENTS.items():
        name = f"{_camel(event_type)}Event"
        components[name] = {
            "type": "object",
            "description": when,
            "required": ["type", "timestamp", "data", "change"],
            "properties": {
                "type": {"type": "string", "const": event_type},
                "timestamp": {"type": "string", "format": "date-time"},
                "data": data,
                "change": change,
            },
        }
        webhooks[event_type] = {
            "post": {
                "operationId": f"on{_camel(event_type)}",
                "summary": when,
                "description": "Signed per Standard Webhooks (headers webhook-id, webhook-timestamp, "
                "webhook-signature); retried with backoff until a 2xx.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(name)}}},
                "responses": {"2XX": {"description": "Received; anything else is retried."}},
            }
        }
    return webhooks, components
