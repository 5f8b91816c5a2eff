"""Belgian enterprise/VAT numbers, normalised as ``BE0123456789`` (python-stdnum checks mod 97)."""

from __future__ import annotations

from stdnum.be import vat as be_vat
from stdnum.exceptions import ValidationError


class VatError(ValueError):
    pass


def normalize_vat(text: str) -> str:
    try:
        digits = be_vat.validate(text)
    except ValidationError:
        raise VatError(f"'{text}' is not a valid Belgian enterprise/VAT number (BE0123456789)") from None
    return "BE" + digits
