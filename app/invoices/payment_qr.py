"""The payment QR of an invoice: an EPC QR code (EPC069-12, version 002, SEPA credit transfer) that a banking
app scans to fill in a transfer of the amount due, with the invoice's structured reference.

The reference goes in the *structured* remittance line (line 10) as the banks read it: an OGM/VCS as its 12
bare digits, an ISO 11649 RF reference as it is. The free-text line stays empty: Belgian banking apps treat an
OGM there as free text, so the payment would arrive without its structured communication (letspeppol and
Dolibarr fixed exactly this in 2026). The image is drawn by segno (error correction M, at most version 13, as
the standard requires).
"""

from __future__ import annotations

import io
from decimal import Decimal

import segno

from app.identifiers.references import ogm_digits

#: EPC069-12: at most 999,999,999.99 EUR in one code, at least 0.01.
MAX_QR_AMOUNT = Decimal("999999999.99")
#: EPC069-12 field lengths.
MAX_NAME = 70


class PaymentQrError(ValueError):
    """The invoice cannot be paid through a QR code (nothing due, too much, no account)."""


def remittance_reference(structured_reference: str) -> str:
    """Line 10 of the payload: an OGM's 12 digits, or the RF reference as it is."""
    compact = structured_reference.replace(" ", "").upper()
    if compact.startswith("RF"):
        return compact  # an ISO 11649 reference, stored validated
    return ogm_digits(structured_reference) or compact


def epc_payload(*, name: str, iban: str, amount_due: Decimal, structured_reference: str) -> str:
    """The text the code carries, line by line: service tag, version, character set (1: UTF-8), SEPA credit
    transfer, BIC (optional inside the EEA: empty), the beneficiary's name and IBAN, the amount, purpose (empty),
    the structured reference. The empty free-text line at the end is left out, as the standard allows."""
    if not Decimal("0.01") <= amount_due <= MAX_QR_AMOUNT:
        raise PaymentQrError(f"an EPC QR code carries 0.01 to {MAX_QR_AMOUNT} EUR, not {amount_due}")
    lines = [
        "BCD",
        "002",
        "1",
        "SCT",
        "",
        name.strip()[:MAX_NAME],
        iban.replace(" ", "").upper(),
        f"EUR{amount_due:.2f}",
        "",
        remittance_reference(structured_reference),
    ]
    return "\n".join(lines)


def render(payload: str, image_format: str, scale: int) -> tuple[bytes, str]:
    """The code as SVG or PNG, with its media type."""
    code = segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")
    if code.version > 13:  # EPC069-12's ceiling; 70 characters of name and 35 of reference stay well below it
        raise PaymentQrError("the payment data does not fit an EPC QR code")
    out = io.BytesIO()
    if image_format == "png":
        code.save(out, kind="png", scale=scale, border=4)
        return out.getvalue(), "image/png"
    code.save(out, kind="svg", scale=scale, border=4, xmldecl=False, title="EPC payment QR code")
    return out.getvalue(), "image/svg+xml"
