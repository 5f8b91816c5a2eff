"""API shapes of UBL validation."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RuleFinding(BaseModel):
    rule: str = Field(description="The official rule id (e.g. BR-CO-16, PEPPOL-EN16931-R010), or XML / UBL-ROOT.")
    message: str
    location: str | None = Field(description="Where in the document: an XPath, or a line for unreadable XML.")


class ValidationResult(BaseModel):
    valid: bool = Field(description="True when no rule flagged as fatal fails.")
    errors: list[RuleFinding]
    warnings: list[RuleFinding]
