"""The OpenAPI document's names for generated clients: one stable, readable ``operationId`` per route (a client's
method names: ``client.create_invoice``, ``createInvoice``), and real names for the schemas FastAPI names
after their Python path or generic parameters.

A route without an id here makes ``document()`` fail: a new route is named when it is added, and a renamed
Python function never renames a client's method.
"""

from __future__ import annotations

#: (method, path) -> operationId
OPERATION_IDS: dict[tuple[str, str], str] = {
    ("get", "/healthz"): "getHealth",
    ("get", "/readyz"): "getReadiness",
    ("get", "/v1/companies"): "listCompanies",
    ("post", "/v1/companies"): "createCompany",
    ("get", "/v1/companies/{vat}"): "getCompany",
    ("patch", "/v1/companies/{vat}"): "updateCompany",
    ("post", "/v1/companies/{vat}/api-keys"): "createApiKey",
    ("get", "/v1/companies/{vat}/api-keys"): "listApiKeys",
    ("post", "/v1/companies/{vat}/api-keys/{key_id}/rotate"): "rotateApiKey",
    ("delete", "/v1/companies/{vat}/api-keys/{key_id}"): "revokeApiKey",
    ("get", "/v1/companies/{vat}/audit-events"): "listAuditEvents",
    ("post", "/v1/companies/{vat}/bank-accounts/{iban}/move"): "moveBankAccount",
    ("get", "/v1/companies/{vat}/codabox"): "getCodaboxConnection",
    ("delete", "/v1/companies/{vat}/codabox"): "disconnectCodabox",
    ("post", "/v1/companies/{vat}/codabox/access-token"): "requestCodaboxAccessToken",
    ("post", "/v1/companies/{vat}/codabox/credentials"): "exchangeCodaboxCredentials",
    ("post", "/v1/companies/{vat}/codabox/resume"): "resumeCodabox",
    ("post", "/v1/companies/{vat}/codabox/sync"): "syncCodabox",
    ("get", "/v1/companies/{vat}/invoices"): "listInvoices",
    ("post", "/v1/companies/{vat}/invoices"): "createInvoice",
    ("post", "/v1/companies/{vat}/invoices/batch"): "createInvoiceBatch",
    ("get", "/v1/companies/{vat}/invoices/{invoice_id}"): "getInvoice",
    ("get", "/v1/companies/{vat}/invoices/{invoice_id}/payment-qr"): "getInvoicePaymentQr",
    ("post", "/v1/companies/{vat}/invoices/{invoice_id}/cancel"): "cancelInvoice",
    ("post", "/v1/companies/{vat}/invoices/{invoice_id}/write-offs"): "writeOffInvoice",
    ("delete", "/v1/companies/{vat}/invoices/{invoice_id}/write-offs/{write_off_id}"): "undoInvoiceWriteOff",
    ("put", "/v1/companies/{vat}/matching-config"): "setMatchingConfig",
    ("post", "/v1/companies/{vat}/statements"): "uploadStatements",
    ("get", "/v1/companies/{vat}/statements"): "listStatements",
    ("get", "/v1/companies/{vat}/statements/{statement_id}"): "getStatement",
    ("get", "/v1/companies/{vat}/summary"): "getCompanySummary",
    ("get", "/v1/companies/{vat}/summary/automation"): "getAutomationSummary",
    ("get", "/v1/companies/{vat}/rules"): "listRules",
    ("post", "/v1/companies/{vat}/rules"): "createRule",
    ("get", "/v1/companies/{vat}/rules/{rule_id}"): "getRule",
    ("patch", "/v1/companies/{vat}/rules/{rule_id}"): "updateRule",
    ("delete", "/v1/companies/{vat}/rules/{rule_id}"): "deleteRule",
    ("get", "/v1/companies/{vat}/rules/{rule_id}/trial"): "tryRule",
    ("get", "/v1/companies/{vat}/transactions"): "listTransactions",
    ("get", "/v1/companies/{vat}/transactions/{transaction_id}"): "getTransaction",
    ("post", "/v1/companies/{vat}/transactions/{transaction_id}/allocations"): "allocateTransaction",
    ("delete", "/v1/companies/{vat}/transactions/{transaction_id}/allocations/{allocation_id}"): "undoAllocation",
    ("post", "/v1/companies/{vat}/transactions/{transaction_id}/suggestions/{suggestion_id}/accept"): "acceptSuggestion",
    ("post", "/v1/companies/{vat}/transactions/{transaction_id}/suggestions/{suggestion_id}/reject"): "rejectSuggestion",
    ("post", "/v1/companies/{vat}/transactions/{transaction_id}/suggestions/{suggestion_id}/reopen"): "reopenSuggestion",
    ("post", "/v1/companies/{vat}/transactions/{transaction_id}/write-offs"): "writeOffTransaction",
    ("delete", "/v1/companies/{vat}/transactions/{transaction_id}/write-offs/{write_off_id}"): "undoTransactionWriteOff",
    ("get", "/v1/companies/{vat}/events"): "listEvents",
    ("get", "/v1/overview"): "getOverview",
    ("post", "/v1/ubl/validate"): "validateUbl",
    ("get", "/v1/webhook-endpoints"): "listWebhookEndpoints",
    ("post", "/v1/webhook-endpoints"): "createWebhookEndpoint",
    ("get", "/v1/webhook-endpoints/{endpoint_id}"): "getWebhookEndpoint",
    ("patch", "/v1/webhook-endpoints/{endpoint_id}"): "updateWebhookEndpoint",
    ("delete", "/v1/webhook-endpoints/{endpoint_id}"): "deleteWebhookEndpoint",
    ("get", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): "listWebhookDeliveries",
    ("post", "/v1/webhook-endpoints/{endpoint_id}/test"): "testWebhookEndpoint",
    ("post", "/v1/webhooks/inbound"): "receiveInboundWebhook",
}  # fmt: skip

#: FastAPI's schema name -> ours (generic pages, and two models that share a Python name).
SCHEMA_NAMES: dict[str, str] = {
    "Page_AuditEventPublic_": "AuditEventPage",
    "Page_CompanyPublic_": "CompanyPage",
    "Page_DeliveryPublic_": "WebhookDeliveryPage",
    "Page_EndpointPublic_": "WebhookEndpointPage",
    "Page_InvoicePublic_": "InvoicePage",
    "Page_TransactionPublic_": "TransactionPage",
    "Page_StatementRead_": "StatementPage",
    "app__invoices__schemas__DeliveryPublic": "InvoiceDelivery",
    "app__webhooks__schemas__DeliveryPublic": "WebhookDelivery",
}
