"""Invoice lines and their totals as EN 16931 computes them: the one place that turns lines into money.

- line net amount (BT-131) = quantity x unit price, rounded to the cent;
- per VAT category and rate (BG-23): taxable amount (BT-116) = the sum of its line nets, VAT (BT-117) =
  taxable x rate / 100, rounded to the cent;
- tax exclusive amount (BT-109) = the sum of the line nets; VAT total (BT-110) = the sum of the categories' VAT;
- total (BT-112, the amount to pay) = tax exclusive + VAT.

Rounding is half-up (commercial rounding), as the official rules' own ``round()`` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

#: VAT categories (UNCL5305 subset of EN 16931) and what each requires.
CATEGORIES = {
    "S": "standard rate",
    "Z": "zero rated goods",
    "E": "exempt from VAT",
    "AE": "VAT reverse charge",
    "K": "intra-community supply (VAT exempt for EEA)",
    "G": "export outside the EU (free export item, VAT not charged)",
    "O": "services outside the scope of VAT",
}
#: Categories whose rate is always 0 (O has no rate at all in the document).
ZERO_RATED = {"Z", "E", "AE", "K", "G", "O"}
#: The exemption reason code (VATEX) a category implies when the client gives none (E needs one of its own).
DEFAULT_EXEMPTION_CODES = {"AE": "VATEX-EU-AE", "K": "VATEX-EU-IC", "G": "VATEX-EU-G", "O": "VATEX-EU-O"}
#: Categories that must state why no VAT is charged (BR-E-10, BR-AE-10, BR-IC-10, BR-G-10, BR-O-10).
NEEDS_REASON = {"E", "AE", "K", "G", "O"}


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit_code: str
    vat_category: str
    vat_rate: Decimal
    vat_exemption_reason: str | None = None

    @property
    def net(self) -> Decimal:
        return cents(self.quantity * self.unit_price)

    @property
    def exemption_code(self) -> str | None:
        """A VATEX code when the reason is one (or the category implies one); free text is not a code."""
        reason = self.vat_exemption_reason
        if reason and reason.upper().startswith("VATEX-"):
            return reason.upper()
        return DEFAULT_EXEMPTION_CODES.get(self.vat_category) if not reason else None


@dataclass(frozen=True)
class VatSubtotal:
    category: str
    rate: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal
    exemption_reason: str | None = None
    exemption_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "rate": _rate_text(self.rate),
            "taxable_amount": str(self.taxable_amount),
            "tax_amount": str(self.tax_amount),
        }


@dataclass(frozen=True)
class Totals:
    lines: tuple[Line, ...]
    breakdown: tuple[VatSubtotal, ...]
    tax_exclusive: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.tax_exclusive + self.tax


def _rate_text(rate: Decimal) -> str:
    text = format(rate.normalize(), "f")
    return text


def compute_totals(lines: list[Line]) -> Totals:
    groups: dict[tuple[str, Decimal], list[Line]] = {}
    for line in lines:
        groups.setdefault((line.vat_category, line.vat_rate), []).append(line)
    breakdown = []
    for (category, rate), members in groups.items():
        taxable = sum((line.net for line in members), ZERO)
        reasons = [line for line in members if line.vat_exemption_reason or line.exemption_code]
        first = reasons[0] if reasons else None
        breakdown.append(
            VatSubtotal(
                category=category,
                rate=rate,
                taxable_amount=taxable,
                tax_amount=cents(taxable * rate / 100),
                exemption_reason=first.vat_exemption_reason if first else None,
                exemption_code=first.exemption_code if first else None,
            )
        )
    tax_exclusive = sum((line.net for line in lines), ZERO)
    tax = sum((sub.tax_amount for sub in breakdown), ZERO)
    return Totals(tuple(lines), tuple(breakdown), tax_exclusive, tax)


def line_dict(line: Line) -> dict[str, Any]:
    """How a line is stored and shown (amounts as strings, as everywhere in the API)."""
    return {
        "description": line.description,
        "quantity": format(line.quantity.normalize(), "f"),
        "unit_price": format(line.unit_price.normalize(), "f") if line.unit_price else "0",
        "unit_code": line.unit_code,
        "vat_category": line.vat_category,
        "vat_rate": _rate_text(line.vat_rate),
        "vat_exemption_reason": line.vat_exemption_reason,
        "net_amount": str(line.net),
    }


def line_from_dict(data: dict[str, Any]) -> Line:
    return Line(
        description=data["description"],
        quantity=Decimal(data["quantity"]),
        unit_price=Decimal(data["unit_price"]),
        unit_code=data["unit_code"],
        vat_category=data["vat_category"],
        vat_rate=Decimal(data["vat_rate"]),
        vat_exemption_reason=data.get("vat_exemption_reason"),
    )
