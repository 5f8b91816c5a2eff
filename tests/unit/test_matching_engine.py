"""The pure matching engine, signal by signal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from app.companies.tolerance import Tolerance
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
    assert out_amount.status == "suggested"
    assert [(a.invoice_id, a.amount) for a in out_amount.suggestions[0].allocations] == [("i1", D("121.00"))]
    assert out_neither.status == "unmatched"
    assert invoices  # the fixture is not mutated by the runs above (each run gets its own copy)


def test_several_references_are_matched_when_their_amounts_add_up():
    invoices = [
        inv("i1", "100.00", "+++090/9337/55493+++"),
        inv("i2", "50.00", "+++000/0000/00101+++", number="2026/00002"),
    ]
    [out] = match_payments([pay("150.00", communication="+++090/9337/55493+++ +++000/0000/00101+++")], invoices)
    assert out.status == "matched"
    assert sorted((a.invoice_id, a.amount) for a in out.allocations) == [("i1", D("100.00")), ("i2", D("50.00"))]
    assert out.remainder == 0


def test_several_references_that_do_not_add_up_are_a_suggestion_saying_why():
    invoices = [
        inv("i1", "100.00", "+++090/9337/55493+++"),
        inv("i2", "50.00", "+++000/0000/00101+++", number="2026/00002"),
    ]
    for amount in ("160.00", "120.00"):
        [out] = match_payments([pay(amount, communication="090/9337/55493 en 000/0000/00101")], invoices)
        assert out.status == "suggested", amount
        [top, *_] = out.suggestions
        assert {a.invoice_id for a in top.allocations} == {"i1", "i2"}
        assert "amounts_disagree" in {r["code"] for r in top.reasons}
        # Never more than each invoice has due, never more than the payment brings.
        assert all(
            a.amount <= D(i.due)
            for a, i in zip(sorted(top.allocations, key=lambda a: a.invoice_id), invoices, strict=True)
        )
        assert sum(a.amount for a in top.allocations) == min(D(amount), D("150.00"))


def test_an_overpayment_leaves_a_remainder_instead_of_overpaying():
    [out] = match_payments(
        [pay("150.00", structured_reference="+++090/9337/55493+++")], [inv("i1", "121.00", "+++090/9337/55493+++")]
    )
    assert out.status == "matched"
    assert [(a.invoice_id, a.amount) for a in out.allocations] == [("i1", D("121.00"))]
    assert out.remainder == D("29.00")


def test_a_remainder_that_pays_another_invoice_of_the_payer_is_proposed():
    invoices = [
        inv("i1", "121.00", "+++090/9337/55493+++", iban="BE71096123456769"),
        inv("i2", "29.00", "+++000/0000/00101+++", number="2026/00002", iban="BE71096123456769"),
    ]
    [out] = match_payments(
        [pay("150.00", structured_reference="+++090/9337/55493+++", counterparty_iban="BE71096123456769")], invoices
    )
    assert (out.status, out.remainder) == ("matched", D("29.00"))
    assert [(a.invoice_id, a.amount) for a in out.suggestions[0].allocations] == [("i2", D("29.00"))]
    assert out.suggestions[0].score < MatchConfig().auto_threshold


def test_tolerance_settles_a_small_shortfall_with_a_write_off_and_respects_both_limits():
    invoice = [inv("i1", "200.00", "+++090/9337/55493+++")]
    payment = [pay("198.50", structured_reference="+++090/9337/55493+++")]
    [exact] = match_payments(payment, invoice)
    assert [(a.amount, a.write_off) for a in exact.allocations] == [(D("198.50"), D("0"))]  # default: exact only
    loose = MatchConfig(tolerance=Tolerance(amount=D("2.00")))
    [out] = match_payments(payment, [inv("i1", "200.00", "+++090/9337/55493+++")], config=loose)
    assert [(a.amount, a.write_off) for a in out.allocations] == [(D("198.50"), D("1.50"))]
    assert "payment_difference" in {r["code"] for r in out.allocations[0].reasons}
    # 1.50 is within 2.00 but more than 0.5 % of 200 (1.00): with both limits, both must hold.
    both = MatchConfig(tolerance=Tolerance(amount=D("2.00"), percent=D("0.5")))
    [strict] = match_payments(payment, [inv("i1", "200.00", "+++090/9337/55493+++")], config=both)
    assert [(a.amount, a.write_off) for a in strict.allocations] == [(D("198.50"), D("0"))]


def test_several_invoice_numbers_that_add_up_are_matched():
    def invoices():
        return [
            inv("i1", "100.00", "+++090/9337/55493+++", number="2026/00012"),
            inv("i2", "50.00", "+++000/0000/00101+++", number="2026/00013"),
            inv("i3", "50.00", "+++000/0000/00202+++", number="2026/00014", customer="c2", name="Garage Janssens"),
        ]

    [out] = match_payments([pay("150.00", communication="facturen 2026/00012 en 2026/00013")], invoices())
    assert out.status == "matched"
    assert sorted(a.invoice_id for a in out.allocations) == ["i1", "i2"]
    [short] = match_payments([pay("140.00", communication="facturen 2026/00012 en 2026/00013")], invoices())
    assert short.status == "suggested"
    assert {a.invoice_id for a in short.suggestions[0].allocations} == {"i1", "i2"}  # the pair comes first


def test_same_amount_twice_is_never_automatic():
    invoices = [
        inv("i1", "121.00", "+++090/9337/55493+++", customer="a"),
        inv("i2", "121.00", "+++000/0000/00101+++", customer="b"),
    ]
    [out] = match_payments([pay("121.00", communication="thanks")], invoices)
    assert out.status == "suggested"
    assert {s.allocations[0].invoice_id for s in out.suggestions} == {"i1", "i2"}
    assert all(s.score < MatchConfig().auto_threshold for s in out.suggestions)


def subset_invoices(iban="BE71096123456769"):
    return [
        inv("i1", "100.00", "+++090/9337/55493+++", iban=iban),
        inv("i2", "40.00", "+++000/0000/00101+++", number="2026/00002", iban=iban),
        inv("i3", "7.00", "+++000/0000/00202+++", number="2026/00003", iban=iban),
    ]


def test_a_unique_combination_from_a_certain_payer_is_matched():
    [out] = match_payments([pay("140.00", counterparty_iban="BE71096123456769")], subset_invoices())
    assert out.status == "matched"
    assert sorted(a.invoice_id for a in out.allocations) == ["i1", "i2"]
    assert "unique" in {r["code"] for r in out.allocations[0].reasons}


def test_a_combination_found_by_name_only_is_a_suggestion():
    [out] = match_payments([pay("140.00", counterparty_name="BAKKERIJ PEETERS")], subset_invoices())
    assert out.status == "suggested"
    assert sorted(a.invoice_id for a in out.suggestions[0].allocations) == ["i1", "i2"]


def test_two_combinations_for_the_amount_are_never_automatic():
    invoices = [*subset_invoices(), inv("i4", "33.00", "+++000/0000/00303+++", number="2026/00004",
                                        iban="BE71096123456769")]  # fmt: skip
    # 140 = 100 + 40 = 100 + 33 + 7
    [out] = match_payments([pay("140.00", counterparty_iban="BE71096123456769")], invoices)
    assert out.status == "suggested"
    assert all(s.score < MatchConfig().auto_threshold for s in out.suggestions)


def test_a_single_amount_from_a_certain_payer_stays_a_suggestion():
    [out] = match_payments([pay("40.00", counterparty_iban="BE71096123456769")], subset_invoices())
    assert out.status == "suggested"


def test_the_sum_of_all_open_invoices_of_a_large_customer_is_matched():
    invoices = [
        inv(f"i{n}", f"{10 + n}.00", f"+++000/0000/{n:03d}{(n % 97) or 97:02d}+++", number=f"2026/{n:05d}",
            iban="BE71096123456769")
        for n in range(1, 41)
    ]  # fmt: skip
    total = sum(D(i.due) for i in invoices)
    [out] = match_payments([pay(str(total), counterparty_iban="BE71096123456769")], invoices)
    assert out.status == "matched"
    assert len(out.allocations) == 40


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
