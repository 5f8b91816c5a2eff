"""The pure matching engine, signal by signal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from app.reconciliation.invoice_numbers import numbers_in_text
from app.reconciliation.matching import MatchConfig, OpenInvoice, Payment, match_payments
from app.reconciliation.names import name_similarity, normalize_name

DAY = date(2026, 5, 1)


def inv(id_, due, ref, number="2026/00001", customer="c1", name="Bakkerij Peeters BV", iban=None, kind="invoice"):
    return OpenInvoice(id_, number, kind, D(due), DAY, DAY, ref, customer, name, iban)


def pay(amount, **kw):
    return Payment(id="p", amount=D(amount), booking_date=DAY, **kw)


def test_names_survive_bank_formatting():
    assert normalize_name("Bakkerij Peeters BV") == "BAKKERIJ PEETERS"
    assert name_similarity("BV BAKKERIJ PEETERS", "Bakkerij Peeters BV") >= 95
    assert (
        name_similarity("BAKKERIJ PEETERS EN ZONEN VAN DE LA", "Bakkerij Peeters en Zonen van de Laatste Straat NV")
        >= 90
    )
    assert name_similarity("GARAGE JANSSENS", "Bakkerij Peeters BV") < 60


def test_invoice_numbers_in_text():
    full, tails = numbers_in_text("Factuur 2026/0153 en fact. 17, bedrag 121,00")
    assert "20260153" in full
    assert tails == {153, 17}
    assert numbers_in_text("betaling 121,00 op 12/03")[1] == set()  # no 'invoice' word: no bare numbers


def test_structured_reference_settles_even_with_a_wrong_amount():
    [out] = match_payments(
        [pay("50.00", structured_reference="+++090/9337/55493+++")], [inv("i1", "121.00", "+++090/9337/55493+++")]
    )
    assert out.status == "matched"
    assert [(a.invoice_id, a.amount) for a in out.allocations] == [("i1", D("50.00"))]


def test_typo_needs_amount_and_payer_for_automatic_and_one_of_them_for_a_suggestion():
    invoices = [inv("i1", "121.00", "+++090/9337/55493+++", iban="BE71096123456769")]
    both = pay("121.00", communication="090/9337/55439", counterparty_iban="BE71096123456769")
    amount_only = pay("121.00", communication="090/9337/55439")
    neither = pay("7.00", communication="090/9337/55439")
    out_both, out_amount, out_neither = (
        match_payments([p], [inv("i1", "121.00", "+++090/9337/55493+++", iban="BE71096123456769")])[0]
        for p in (both, amount_only, neither)
    )
    assert out_both.status == "matched"
    assert out_amount.status == "suggested" and out_amount.suggestions[0].allocations == [("i1", D("121.00"))]
    assert out_neither.status == "unmatched"
    assert invoices  # the fixture is not mutated by the runs above (each run gets its own copy)


def test_several_references_and_overpayment_split():
    invoices = [
        inv("i1", "100.00", "+++090/9337/55493+++"),
        inv("i2", "50.00", "+++000/0000/00101+++", number="2026/00002"),
    ]
    [out] = match_payments([pay("160.00", communication="+++090/9337/55493+++ +++000/0000/00101+++")], invoices)
    assert out.status == "matched"
    assert sorted((a.invoice_id, a.amount) for a in out.allocations) == [("i1", D("100.00")), ("i2", D("60.00"))]


def test_same_amount_twice_is_never_automatic():
    invoices = [
        inv("i1", "121.00", "+++090/9337/55493+++", customer="a"),
        inv("i2", "121.00", "+++000/0000/00101+++", customer="b"),
    ]
    [out] = match_payments([pay("121.00", communication="thanks")], invoices)
    assert out.status == "suggested"
    assert {s.allocations[0][0] for s in out.suggestions} == {"i1", "i2"}
    assert all(s.score < MatchConfig().auto_threshold for s in out.suggestions)


def test_customer_subset_of_open_invoices():
    invoices = [
        inv("i1", "100.00", "+++090/9337/55493+++", iban="BE71096123456769"),
        inv("i2", "40.00", "+++000/0000/00101+++", number="2026/00002", iban="BE71096123456769"),
        inv("i3", "7.00", "+++000/0000/00202+++", number="2026/00003", iban="BE71096123456769"),
    ]
    [out] = match_payments([pay("140.00", counterparty_iban="BE71096123456769")], invoices)
    assert out.status == "suggested"
    assert sorted(i for i, _ in out.suggestions[0].allocations) == ["i1", "i2"]


def test_rejected_pairs_are_not_proposed():
    [out] = match_payments([pay("121.00")], [inv("i1", "121.00", "+++090/9337/55493+++")], rejected={("p", "i1")})
    assert out.status == "unmatched"


def test_later_payments_see_what_earlier_ones_settled():
    invoices = [inv("i1", "121.00", "+++090/9337/55493+++")]
    first = Payment("p1", D("121.00"), DAY, structured_reference="+++090/9337/55493+++")
    second = Payment("p2", D("121.00"), DAY, communication="no reference")
    out1, out2 = match_payments([first, second], invoices)
    assert out1.status == "matched"
    assert out2.status == "unmatched"  # the only invoice of that amount is paid already
