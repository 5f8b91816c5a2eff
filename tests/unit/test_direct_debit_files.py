"""SEPA direct debits as real bank files show them (issue 40): collections and their reversals in camt.053, read
from the public files in ../shared with what their sources assert (camt-samples/MANIFEST.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.statements.camt import CamtReader
from app.statements.parsed import TransferReturn
from tests.conftest import CAMT_SAMPLES

MORE_CAMT = CAMT_SAMPLES.parent / "more-samples" / "camt"


def _leaves(path):
    if not path.is_file():
        pytest.skip(f"{path} is not there (../shared beside the repository)")
    return [t for st in CamtReader(path.read_bytes()).statements() for t in st.transactions if t.is_leaf]


def test_a_dutch_bank_reverses_two_collections_of_a_batch():
    """A Dutch bank's batch (OCA's test file): an issued direct debit (PMNT/IDDT/UPDD) booked back with RvslInd, reason AC06 (account
    blocked), one detail per debtor, each with its mandate."""
    leaves = _leaves(CAMT_SAMPLES / "oca-bank-statement-import__nl_v02_reversal_batch_balance_mismatch.xml")
    reversed_ = [t for t in leaves if t.direct_debit and t.direct_debit.is_return]
    assert [(t.amount, t.direct_debit.mandate_reference, t.direct_debit.r_type, t.direct_debit.reason)
            for t in reversed_] == [
        (Decimal("-564.05"), "NL22ZZZ524885430000-C0125.1", "reversal", "AC06"),
        (Decimal("-100.00"), "NL22ZZZ524885430000-C0125.2", "reversal", "AC06"),
    ]  # fmt: skip
    # The same file's received collection (PMNT/RDDT/ESDD) is paid, SEPA core.
    [paid] = [t for t in leaves if t.direct_debit and not t.direct_debit.is_return]
    assert (paid.amount, paid.direct_debit.scheme, paid.direct_debit.mandate_reference) == (
        Decimal("-754.25"),
        "core",
        "1880000341866",
    )


def test_a_german_collection_names_its_mandate_and_creditor():
    leaves = _leaves(MORE_CAMT / "moiristo-camt__camt_germany_01.xml")
    debits = [t.direct_debit for t in leaves if t.direct_debit]
    assert ("Ref. des SEPA-Lastschriftmandats", "Cdtr-Id des Glaeubigers", "paid") in {
        (d.mandate_reference, d.creditor_id, d.r_type) for d in debits
    }


def test_a_returned_transfer_is_not_a_direct_debit_but_says_it_came_back():
    leaves = _leaves(CAMT_SAMPLES / "sebastienrousseau-camt053__v14_returns_mixed_sts_clbd_only.xml")
    assert leaves and all(t.direct_debit is None for t in leaves)
    # Two transfers came back (AC04 account closed, AC06 blocked); the third entry is an ordinary debit.
    assert [(t.amount, t.end_to_end_reference, t.transfer_return) for t in leaves] == [
        (Decimal("1500.00"), "E2E-0001", TransferReturn("return", "AC04")),
        (Decimal("980.50"), "E2E-0002", TransferReturn("return", "AC06")),
        (Decimal("-42.00"), None, None),
    ]


def test_a_returned_transfer_written_by_the_camt_writer_reads_back_as_one():
    """PMNT/RCDT/RRTN with its RtrInf reason, as the scenario writers put a returned refund."""
    from datetime import date

    from app.statements.camt_writer import CamtMovementSpec, write_camt
    from app.statements.coda_writer import StatementSpec

    returned = CamtMovementSpec(Decimal("25.00"), communication="refund", return_reason="AC01")
    [leaf] = [
        t
        for st in CamtReader(
            write_camt([StatementSpec("BE80001000000177", date(2026, 11, 2), movements=[returned])])
        ).statements()
        for t in st.transactions
    ]
    assert (leaf.transaction_code, leaf.transfer_return) == ("PMNT/RCDT/RRTN", TransferReturn("return", "AC01"))
