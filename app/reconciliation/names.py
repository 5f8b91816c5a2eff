"""Compare a bank's counterparty name with a customer name: banks upper-case, truncate to 35 characters,
and move or drop legal forms (BV, NV, SRL, BVBA, ...)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz import fuzz

LEGAL_FORMS = {
    "BV", "NV", "SRL", "BVBA", "SA", "SPRL", "VOF", "CV", "CVBA", "SC", "SCRL", "SCS", "COMMV", "GCV", "VZW",
    "ASBL", "SNC", "SCA", "CVA", "EBVBA", "SPRLU", "LTD", "GMBH", "SARL", "SAS", "BVBA/SPRL", "BV/SRL",
}  # fmt: skip
_NON_WORD = re.compile(r"[^A-Z0-9]+")


@lru_cache(maxsize=65536)
def normalize_name(name: str | None) -> str:
    if not name:
        return ""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    words = [w for w in _NON_WORD.sub(" ", ascii_name.replace("/", "")).split() if w not in LEGAL_FORMS]
    return " ".join(words)


def name_similarity(bank_name: str | None, customer_name: str | None) -> float:
    """0..100: how well the bank's (possibly truncated) name fits the customer's."""
    a, b = normalize_name(bank_name), normalize_name(customer_name)
    if not a or not b:
        return 0.0
    score = fuzz.token_set_ratio(a, b)
    if len(a) >= 12 and b.startswith(a[: max(len(a) - 2, 1)]):
        score = max(score, 95.0)  # the bank cut the name short
    return float(score)
