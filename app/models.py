"""Imports every table so SQLModel.metadata (and Alembic) sees the whole schema."""

from app.codabox.models import CodaboxConnection, CodaboxFeedEntry, InboundWebhook
from app.companies.models import BankAccount, Company
from app.core.auth import ApiKey
from app.core.outbox_models import Event, IdempotencyRecord, Job
from app.invoices.models import Invoice, InvoiceDocument
from app.ponto.models import PontoAccount, PontoConnection, PontoTransaction
from app.reconciliation.models import Allocation, AuditEvent, Suggestion, WriteOff
from app.statements.models import BankTransaction, MovementTwin, PendingPayment, Statement, StatementFile
from app.ui.sessions import UiSession  # noqa: F401  (the review page's sign-ins)
from app.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Allocation",
    "ApiKey",
    "AuditEvent",
    "BankAccount",
    "BankTransaction",
    "CodaboxConnection",
    "CodaboxFeedEntry",
    "Company",
    "Event",
    "IdempotencyRecord",
    "InboundWebhook",
    "Invoice",
    "InvoiceDocument",
    "Job",
    "MovementTwin",
    "PendingPayment",
    "PontoAccount",
    "PontoConnection",
    "PontoTransaction",
    "Statement",
    "StatementFile",
    "Suggestion",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WriteOff",
]
