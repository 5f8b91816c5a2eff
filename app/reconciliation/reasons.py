"""Reasons as codes with parameters: the English the API shows, rendered from a signal's code and its values.

A ``Reason`` is the dict the API has always shown, ``{"code": ..., "message": ...}`` in English, that also
keeps the signal it was rendered from and the parameters. They are stored beside the English (the
``reason_codes`` columns), so the review page renders them in its reader's language (app/ui/i18n.py);
rows written before keep only their English, which is then what the page shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from app.core.money import format_amount
from app.reconciliation.signals import SIGNALS

#: One stored reason: [signal, parameters], or None for a reason stored as English text only.
Stored = list[Any] | None
#: Per signal: the API's code and the English (a plain dict: the engine makes a few reasons per payment).
_WORDING = {name: (signal.code, signal.english) for name, signal in SIGNALS.items()}


def _restore(signal: str, params: dict[str, Any]) -> Reason:
    return Reason(signal, **params)


class Reason(dict):
    """``Reason("payer_amount", amount=Decimal("12.50"), number="2026/7")`` is
    ``{"code": "amount", "message": "12.50 is the amount due of invoice 2026/7"}``."""

    __slots__ = ("params", "signal")

    def __init__(self, signal: str, **params: Any) -> None:
        code, english = _WORDING[signal]
        for name, value in params.items():
            if type(value) is Decimal:
                # As the API writes amounts ("12.50", or three decimals when a bank booked them): the stored
                # parameters are plain JSON, and the English is what it always was.
                params[name] = format_amount(value)
        dict.__init__(self, code=code, message=english.format_map(params))
        self.signal = signal
        self.params = params

    def __reduce__(self) -> Any:  # copies and pickles keep the signal (a dict's would drop it)
        return (_restore, (self.signal, self.params))


def reason_codes(reasons: Iterable[Mapping[str, Any]]) -> list[Stored] | None:
    """The ``reason_codes`` stored beside ``reasons``: per reason its signal and parameters; None when none
    has them (a person's decision, worded in English only)."""
    out = [[r.signal, r.params] if isinstance(r, Reason) else None for r in reasons]
    return out if any(entry is not None for entry in out) else None


def read_back(reasons: Sequence[Mapping[str, Any]], codes: Sequence[Stored] | None) -> list[tuple[Mapping, Stored]]:
    """Each stored reason with its signal and parameters (None where it was stored as English only, or the
    two lists do not line up)."""
    if not codes or len(codes) != len(reasons):
        return [(r, None) for r in reasons]
    return [(r, c if _well_formed(c) else None) for r, c in zip(reasons, codes, strict=True)]


def _well_formed(entry: Any) -> bool:
    return isinstance(entry, list) and len(entry) == 2 and entry[0] in SIGNALS and isinstance(entry[1], dict)
