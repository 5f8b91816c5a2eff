"""The JSON writers of app/core/json_out.py: the fast path writes exactly what the standard library writes."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.json_out import canonical_json, json_bytes
from app.invoices.schemas import InvoiceCreate
from app.invoices.service import content_hash

# Keys and strings with quotes, backslashes, control characters, non-ASCII and astral characters; integers
# beyond 64 bits (orjson refuses those).
_text = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('"\\\n\t\x00\x1f\x7f/é€😀'), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_canonical_json_is_the_standard_librarys_sorted_compact_ascii_form(value: object) -> None:
    assert canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@settings(max_examples=200, deadline=None)
@given(_json)
def test_json_bytes_is_the_standard_librarys_compact_utf8_form(value: object) -> None:
    assert json.loads(json_bytes(value)) == value
    assert json_bytes(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def test_content_hash_is_unchanged_for_stored_invoices() -> None:
    """Hashes stored before the fast path must still recognise a re-sent invoice as the same one."""
    for name in ("Plain Customer BV", "Café Brasserie « Ça va » — 😀", 'Quote " and \\ backslash'):
        invoice = InvoiceCreate.model_validate(
            {
                "external_id": "inv-1",
                "number": "2026/001",
                "issue_date": "2026-11-01",
                "due_date": "2026-12-01",
                "total_amount": "121.00",
                "customer": {"name": name, "vat": "BE0403200393"},
            }
        )
        # As stored before invoices could name a mandate: those fields, absent, are no part of the content.
        content = invoice.model_dump(mode="json", exclude={"mandate_reference", "collection_reference"})
        payload = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
        assert content_hash(invoice) == hashlib.sha256(payload).hexdigest()
        with_mandate = invoice.model_copy(update={"mandate_reference": "MANDATE-1"})
        assert content_hash(with_mandate) != content_hash(invoice)
