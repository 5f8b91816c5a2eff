"""The OpenAPI document (what FastAPI derives, plus examples and problem types), its export, and offline /docs."""
