"""Belgian structured communications (OGM/VCS) and ISO 11649 RF creditor references.

Parsing any usual notation, validating check digits, generating new OGMs, formatting them the one way we
store them (``+++ddd/dddd/ddddd+++``), and finding references typed into free text.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass

from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.exceptions import ValidationError


class ReferenceError_(ValueError):
    """The text is not a valid OGM/VCS or RF reference."""


_OGM_DECORATION = re.compile(r"[\s+*/.\-]")


def ogm_digits(text: str) -> str | None:
    """The 12 digits of an OGM in any usual notation, or None when the text is no OGM shape at all.

    Does not check the mod-97 digits; see :func:`is_valid_ogm`.
    """
    digits = _OGM_DECORATION.sub("", text)
    if len(digits) == 12 and digits.isascii() and digits.isdigit():
        return digits
    return None


def ogm_check_digits(base10: str) -> str:
    """The two check digits of a 10-digit OGM base: base mod 97, with 0 written as 97."""
    return f"{(int(base10) % 97) or 97:02d}"


def is_valid_ogm_digits(digits: str) -> bool:
    return len(digits) == 12 and digits.isdigit() and int(digits) > 0 and ogm_check_digits(digits[:10]) == digits[10:]


def format_ogm(digits: str) -> str:
    if len(digits) == 12 and digits.isascii() and digits.isdigit():  # the usual case, without stdnum's cleaning
        return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"
    return f"+++{ogm_vcs.format(digits)}+++"


def normalize_ogm(text: str) -> str:
    """``+++ddd/dddd/ddddd+++`` for a valid OGM in any usual notation; raises ReferenceError_ otherwise."""
    digits = ogm_digits(text)
    if digits is None:
        raise ReferenceError_("an OGM/VCS has 12 digits, e.g. +++123/4567/89002+++")
    if not is_valid_ogm_digits(digits):
        raise ReferenceError_("the OGM/VCS check digits (mod 97) are wrong")
    return format_ogm(digits)


def generate_ogm(base: int | None = None) -> str:
    """A valid OGM from a 10-digit base (random when not given), formatted ``+++ddd/dddd/ddddd+++``."""
    if base is None:
        base = secrets.randbelow(9_999_999_999) + 1
    base10 = f"{base:010d}"
    return format_ogm(base10 + ogm_check_digits(base10))


def generate_ogms(count: int) -> list[str]:
    """``count`` random OGMs as ``generate_ogm`` makes them, from one read of the system's randomness instead of
    one each. 64 random bits reduced modulo the 9,999,999,999 bases favour none by more than 1 in 10^9."""
    raw = os.urandom(8 * count)
    return [generate_ogm(int.from_bytes(raw[8 * i : 8 * i + 8], "big") % 9_999_999_999 + 1) for i in range(count)]


def normalize_rf(text: str) -> str:
    """Compact upper-case ``RFnn...`` for a valid ISO 11649 reference; raises ReferenceError_ otherwise."""
    try:
        return iso11649.validate(text)
    except ValidationError as exc:
        raise ReferenceError_(f"not a valid ISO 11649 RF reference ({exc.message})") from None


def normalize_reference(text: str) -> str:
    """Normalise a structured reference given by a client: an RF reference or an OGM/VCS."""
    stripped = text.strip()
    if stripped[:2].upper() == "RF":
        return normalize_rf(stripped)
    return normalize_ogm(stripped)


@dataclass(frozen=True, slots=True)
class FoundReference:
    """A reference found in free text: normalised value, whether its check digits hold, the raw digits."""

    value: str  # "+++ddd/dddd/ddddd+++" or "RF.." (for invalid OGMs: the formatted digits all the same)
    valid: bool
    raw: str
    kind: str  # "ogm" or "rf"


# An OGM written with its slashes (+++ and *** optional), or 12 digits standing alone, with optional
# single spaces or dots between groups; runs of digits longer than 12 are not references.
_OGM_IN_TEXT = re.compile(
    r"(?<![0-9])(?:[+*]{3}\s*)?"
    r"(\d{3})\s?[/.\-]?\s?(\d{4})\s?[/.\-]?\s?(\d{5})"
    r"(?:\s*[+*]{3})?(?![0-9])"
)
_RF_IN_TEXT = re.compile(r"(?<![A-Z0-9])RF\s?(\d{2})\s?((?:[A-Z0-9]\s?){1,21})", re.IGNORECASE)


def find_references(text: str | None) -> list[FoundReference]:
    """All OGM- and RF-shaped references in free text, in order, valid ones and typos alike.

    Payers type ``+++090/9337/55493+++``, ``***...***``, ``090/9337/55493``, ``090933755493`` or the same
    with spaces; continuation records are already joined by the CODA adapter.
    """
    if not text:
        return []
    found: list[FoundReference] = []
    seen: set[str] = set()
    for match in _OGM_IN_TEXT.finditer(text):
        digits = "".join(match.groups())
        if digits in seen or int(digits) == 0:
            continue
        seen.add(digits)
        found.append(FoundReference(format_ogm(digits), is_valid_ogm_digits(digits), digits, "ogm"))
    for match in _RF_IN_TEXT.finditer(text):
        value = _rf_in(match.group(1), match.group(2))
        if value is not None and value not in seen:
            seen.add(value)
            found.append(FoundReference(value, True, value, "rf"))
    return found


def _rf_in(check: str, body: str) -> str | None:
    """The RF reference at the start of ``body``, which the greedy pattern may have run into the next words.

    Check digits (mod 97) alone cannot tell: one word in 97 appended keeps them valid ("RF18 5390 0754 7034
    dank u" is valid whole). So the reference ends at the shortest valid length, and reaches further only
    over groups with digits in them, as references are printed ("RF18 5390 0754 7034"), never over words.
    """
    prefix = "RF" + check
    groups = body.split()
    valid = [k for k in range(1, len(groups) + 1) if iso11649.is_valid(prefix + "".join(groups[:k]).upper())]
    if valid:
        shortest = valid[0]
        end = max(k for k in valid if all(any(c.isdigit() for c in g) for g in groups[shortest:k]))
        return (prefix + "".join(groups[:end])).upper()
    compact = (prefix + "".join(groups)).upper()  # letters glued to the reference: shrink to what holds
    return next((compact[:end] for end in range(len(compact), 4, -1) if iso11649.is_valid(compact[:end])), None)
