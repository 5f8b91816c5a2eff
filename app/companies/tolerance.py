"""A company's payment tolerance: how far short of the amount due a payment may be and still settle it.

Like Odoo's payment tolerance and the "allowed payment difference" of Belgian invoicing tools: a fixed
amount, a percentage of the invoice total, or both (then the difference must be within both). The default
is none: a payment settles an invoice only when it is exact. The difference becomes a write-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Tolerance:
    amount: Decimal | None = None
    percent: Decimal | None = None

    @property
    def enabled(self) -> bool:
        return self.amount is not None or self.percent is not None

    def allows(self, short: Decimal, total: Decimal) -> bool:
        """True when a payment ``short`` below what is due may still settle an invoice of ``total``."""
        if short <= ZERO or not self.enabled:
            return False
        if self.amount is not None and short > self.amount:
            return False
        return not (self.percent is not None and short * HUNDRED > abs(total) * self.percent)

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> Tolerance:
        if not config:
            return cls()
        amount, percent = config.get("amount"), config.get("percent")
        return cls(
            amount=Decimal(str(amount)) if amount is not None else None,
            percent=Decimal(str(percent)) if percent is not None else None,
        )

    def as_config(self) -> dict[str, str] | None:
        if not self.enabled:
            return None
        out: dict[str, str] = {}
        if self.amount is not None:
            out["amount"] = f"{self.amount:.2f}"
        if self.percent is not None:
            out["percent"] = format(self.percent.normalize(), "f")
        return out
