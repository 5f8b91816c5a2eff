"""IBAN validation and normalisation, via python-stdnum (Belgian BBANs are converted by the CODA reader)."""

from __future__ import annotations

from functools import lru_cache

from stdnum import iban as iban_std
from stdnum.exceptions import ValidationError


class IbanError(ValueError):
    pass


# A statement names the same few accounts again and again (the company's own, its regular payers): stdnum's
# check reads its country table each time, a fifth of a camt.053 entry's reading. Invalid text is not cached.
@lru_cache(maxsize=65536)
def normalize_iban(text: str) -> str:
    try:
        # Checksum, length and format; not the bank registry, which lags behind new banks.
        return iban_std.validate(text.upper(), check_country=False)
    except ValidationError:
        raise IbanError(f"'{text}' is not a valid IBAN") from None
