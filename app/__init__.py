"""codarecon: payment reconciliation for Belgian invoicing software."""

__version__ = "0.1.0"
