"""Matching quality on SEPA direct debits (issue 40): a seeded scenario of collections, batches, returns of
every R-type, part returns, returns only an account names, money out that returns nothing of ours, and
invoices presented again, uploaded statement by statement as CODA and as camt.053.

Both formats end with the same invoice statuses, the ones the scenario's truth says; nothing is settled
wrongly (precision 100 % per kind); and every kind the evidence decides is settled (recall 100 %). The
figures per kind are docs/matching.md's ("Direct debits"), from a larger run of the same seed:
``CODARECON_DD_CUSTOMERS=400 .venv/bin/python -m pytest tests/api/test_direct_debit_quality.py -s``."""

from __future__ import annotations

import os

from tests.dd_scenarios import SUGGESTED_KINDS, DdEvaluation, DdScenario, evaluate, generate
from tests.helpers import VAT

SEED = 40


def _all(client, key, path: str) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/companies/{VAT}/{path}", params=params, headers=key).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def run(bank, scenario: DdScenario) -> tuple[DdEvaluation, dict[str, str]]:
    """Register the invoices, upload each statement in order; the evaluation and the invoices' statuses."""
    client, key = bank.client, bank.key
    response = client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": scenario.invoices}, headers=key)
    assert response.status_code == 200, response.text
    for statement in scenario.statements:
        bank.book(*statement)
    invoices = _all(client, key, "invoices")
    ids = {i["external_id"]: i["id"] for i in invoices}
    return evaluate(scenario, _all(client, key, "transactions"), ids), {i["external_id"]: i["status"] for i in invoices}


def test_direct_debits_end_as_the_truth_says_from_either_format(bank):
    scenario = generate(seed=SEED, customers=int(os.environ.get("CODARECON_DD_CUSTOMERS", "45")))
    evaluation, statuses = run(bank, scenario)
    if os.environ.get("CODARECON_DD_CUSTOMERS"):  # a larger run, for docs/matching.md's figures
        print(f"\n{bank.fmt}, {len(scenario.invoices)} invoices\n{evaluation.table()}")
    assert statuses == scenario.statuses
    assert evaluation.wrong == []
    kinds = evaluation.kinds
    assert {"collection_e2e", "collection_mandate", "collection_ogm", "collection_learned", "batch_detail"} <= set(
        kinds
    )
    assert {"return_e2e", "return_mandate", "return_partial", "return_account", "represented"} <= set(kinds)
    for kind, figures in kinds.items():
        assert figures.precision == 1.0, (kind, evaluation.table())
        assert figures.recall == 1.0 or kind in SUGGESTED_KINDS, (kind, evaluation.table())
    # A return only the account names is proposed to a person, every time.
    assert kinds["return_account"].recall == 1.0, evaluation.table()
