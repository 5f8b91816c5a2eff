"""VAT numbers: the company's own Belgian enterprise/VAT number (``BE0123456789``, mod 97), and customers'
VAT numbers by country prefix: Belgium, every other EU member state (and Northern Ireland's XI) through
python-stdnum's EU rules, other countries through stdnum's module for that country where it has one."""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum import get_cc_module
from stdnum.be import vat as be_vat
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError


class VatError(ValueError):
    pass


@lru_cache(maxsize=4096)  # every company request checks the VAT number in its path (stdnum: ~40 µs)
def normalize_vat(text: str) -> str:
    try:
        digits = be_vat.validate(text)
    except ValidationError:
        raise VatError(f"'{text}' is not a valid Belgian enterprise/VAT number (BE0123456789)") from None
    return "BE" + digits


def enterprise_number(text: str | None) -> str | None:
    """The Belgian enterprise number a bank file gives for an account's holder, as ``BE`` + 10 digits; None
    when the field is blank, zeros, or not a number that passes the mod-97 check (anonymised files, banks that
    fill it with something else): a holder is only ever compared when the file names one for certain.

    CODA writes it in 11 digits ("0" + the 10-digit number), camt.053 as the number, with or without ``BE``.
    """
    digits = re.sub(r"[\s.\-/]", "", text or "").upper().removeprefix("BE")
    if len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if len(digits) != 10 or not digits.isdigit() or not digits.strip("0"):
        return None
    return "BE" + digits if be_vat.is_valid(digits) else None


_PREFIX = re.compile(r"^[A-Za-z]{2}")


@lru_cache(maxsize=4096)  # a batch repeats its customers; checking a number costs ~50 µs
def normalize_customer_vat(text: str) -> str:
    """``CC`` + the national number, compact and upper case, checked with its country's check digits.

    A number without a country prefix is read as a Belgian enterprise number (how Belgian invoices write it).
    Greece is ``EL``, as in VIES.
    """
    compact = re.sub(r"[\s.\-/]", "", text).upper()
    if not _PREFIX.match(compact):
        return normalize_vat(compact)
    country = compact[:2].lower()
    try:
        if country in eu_vat.MEMBER_STATES or country == "el":
            return eu_vat.validate(compact)
        # Outside the EU (Switzerland, the United Kingdom, Norway, ...): that country's own rules, if known.
        module = get_cc_module(country, "vat")
        if module is None:
            raise VatError(f"'{text}' does not start with a country code whose VAT numbers can be checked")
        number = module.validate(compact[2:] if compact[2:3].isdigit() else compact)
        return number if number.upper().startswith(country.upper()) else country.upper() + number
    except ValidationError as exc:
        raise VatError(f"'{text}' is not a valid {compact[:2]} VAT number ({exc.message})") from None
