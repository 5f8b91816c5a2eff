"""ISO 20022 bank transaction codes (domain/family/sub-family, written ``PMNT/RDDT/UPDD``), as camt.053 and
Ponto Connect give them: what a code says of direct debits and returns. One reading for both readers."""

from __future__ import annotations

#: Issued (the creditor's side) and received SEPA direct debits.
DIRECT_DEBIT_FAMILIES = ("IDDT", "RDDT")
DIRECT_DEBIT_SCHEMES = {"ESDD": "core", "BBDD": "b2b"}


def family_and_sub(code: str) -> tuple[str, str]:
    """(family, sub-family) of a structured code; ("", "") for a proprietary one."""
    if code.count("/") != 2:
        return "", ""
    _, family, sub = code.split("/")
    return family, sub


def is_direct_debit(code: str, mandate: str | None) -> bool:
    """A SEPA direct debit, by its family or its mandate."""
    return family_and_sub(code)[0] in DIRECT_DEBIT_FAMILIES or bool(mandate)


def direct_debit_scheme(code: str) -> str | None:
    return DIRECT_DEBIT_SCHEMES.get(family_and_sub(code)[1])


def unpaid_direct_debit(code: str) -> bool:
    """Sub-family UPDD: a reversal due to a return or an unpaid direct debit."""
    return family_and_sub(code)[1] == "UPDD"


def returned_transfer(code: str) -> bool:
    """Sub-family RRTN: a credit transfer that came back."""
    return code.endswith("/RRTN")
