"""The matching engine's arithmetic: combined payments, the split of a payment over documents, credit notes
netted against transfers, the scores each kind of evidence earns, and the running index that later payments
see. Each test states a payer's situation and the one answer a bookkeeper would give."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from app.companies.tolerance import Tolerance
from app.identifiers.references import format_ogm
from app.reconciliation.matching import InvoiceIndex, MatchConfig, Matcher, OpenInvoice, Payment, match_payments
from tests.unit.test_matching_engine import DAY, pay

IBAN = "BE71096123456769"


def ogm(n: int) -> str:
    base = f"{n:010d}"
    return format_ogm(f"{base}{(int(base) % 97) or 97:02d}")


def doc(n, due, customer="c1", kind="invoice", iban=IBAN, age=0, name="Bakkerij Peeters BV", total=None):
    """Document n: its number and reference follow from n; a higher ``age`` is due earlier (older)."""
    day = DAY - timedelta(days=age)
    return OpenInvoice(f"i{n}", f"2026/{n:05d}", kind, D(due), day, day, ogm(n), customer, name, iban,
                       D(total) if total else None)  # fmt: skip


def booked(outcome):
    return [(a.invoice_id, a.amount, a.write_off) for a in outcome.allocations]


def parts(suggestion):
    return sorted((p.invoice_id, p.amount) for p in suggestion.allocations)


def codes(reasons):
    return [r["code"] for r in reasons]


def search(pool, target, payment_amount=None, max_size=None, config=None):
    matcher = Matcher(InvoiceIndex(pool), config)
    payment = pay(payment_amount if payment_amount is not None else target)
    combos, exhaustive = matcher._combinations(payment, D(target), pool, max_size=max_size)
    return [sorted(i.id for i in combo) for combo in combos], exhaustive


# -- the combination search ---------------------------------------------------------------------------


def test_the_search_finds_the_one_combination_and_knows_it_looked_everywhere():
    pool = [doc(1, "100.00"), doc(2, "40.00"), doc(3, "7.00")]
    assert search(pool, "140.00") == ([["i1", "i2"]], True)
    assert search(pool, "47.00") == ([["i2", "i3"]], True)
    # All of them together: the target is exactly what the documents still to choose can add (the bound).
    assert search(pool, "147.00") == ([["i1", "i2", "i3"]], True)
    assert search(pool, "107.00") == ([["i1", "i3"]], True)


def test_one_document_alone_or_no_combination_is_not_a_combination():
    pool = [doc(1, "100.00"), doc(2, "40.00"), doc(3, "7.00")]
    assert search(pool, "100.00") == ([], True)
    assert search(pool, "141.00") == ([], True)
    assert search(pool, "500.00") == ([], True)


def test_two_combinations_stop_the_search_as_ambiguous():
    pool = [doc(1, "100.00"), doc(2, "40.00"), doc(3, "7.00"), doc(4, "33.00")]
    combos, exhaustive = search(pool, "140.00")
    assert sorted(combos) == [["i1", "i2"], ["i1", "i3", "i4"]]
    assert exhaustive


def test_the_size_limit_and_the_step_budget_bound_the_search():
    pool = [doc(1, "100.00"), doc(2, "40.00"), doc(3, "7.00")]
    assert search(pool, "147.00", max_size=2) == ([], True)
    assert search(pool, "147.00", max_size=3) == ([["i1", "i2", "i3"]], True)
    assert search(pool, "140.00", max_size=2) == ([["i1", "i2"]], True)
    # Out of steps: whatever was found, the search cannot call it unique.
    _, exhaustive = search(pool, "147.00", config=MatchConfig(max_search_steps=3))
    assert not exhaustive
    found, exhaustive = search(pool, "147.00", config=MatchConfig(max_search_steps=1000))
    assert (found, exhaustive) == ([["i1", "i2", "i3"]], True)


def test_a_credit_note_counts_against_the_invoices_it_is_combined_with():
    pool = [doc(1, "100.00"), doc(2, "50.00"), doc(3, "30.00", kind="credit_note")]
    assert search(pool, "70.00") == ([["i1", "i3"]], True)  # 100 - 30
    assert search(pool, "120.00") == ([["i1", "i2", "i3"]], True)  # 100 + 50 - 30
    # Credit notes alone never make up money in: a combination must hold a document the payment settles.
    notes = [doc(1, "10.00", kind="credit_note"), doc(2, "20.00", kind="credit_note"), doc(3, "30.00")]
    assert search(notes, "-30.00", payment_amount="5.00") == ([], True)
    # A refund of 30 settles credit notes: two of them, or a credit note less an invoice.
    assert search(notes, "-30.00", payment_amount="-30.00") == ([["i1", "i2"]], True)
    netted = [doc(1, "60.00", kind="credit_note"), doc(2, "30.00")]
    assert search(netted, "-30.00", payment_amount="-30.00") == ([["i1", "i2"]], True)


def test_the_oldest_few_are_searched_for_suggestions_and_two_answers_are_none():
    config = MatchConfig(max_subset_candidates=3, max_subset_size=2)
    matcher = Matcher(InvoiceIndex([]), config)
    pool = [doc(1, "10.00", age=9), doc(2, "20.00", age=8), doc(3, "40.00", age=7), doc(4, "5.00", age=1)]
    found = matcher._oldest_combination(pay("30.00"), D("30.00"), pool)
    assert [[i.id for i in c] for c in found] == [["i1", "i2"]]
    # i4 is not among the three oldest, so 15 (10 + 5) is not searched; 70 needs three of them.
    assert matcher._oldest_combination(pay("15.00"), D("15.00"), pool) == []
    assert matcher._oldest_combination(pay("70.00"), D("70.00"), pool) == []
    # 50 = 10 + 40, and 60 = 20 + 40: each unique; add a document making 50 twice and it is no answer.
    assert [[i.id for i in c] for c in matcher._oldest_combination(pay("50.00"), D("50.00"), pool)] == [["i1", "i3"]]
    twice = [doc(1, "10.00", age=9), doc(2, "20.00", age=8), doc(3, "30.00", age=7), doc(5, "40.00", age=6)]
    wide = Matcher(InvoiceIndex([]), MatchConfig(max_subset_candidates=4, max_subset_size=2))
    assert wide._oldest_combination(pay("50.00"), D("50.00"), twice) == []  # 10 + 40 and 20 + 30


# -- a payer's open documents: small and large customers -------------------------------------------------


def test_a_certain_payer_paying_one_invoice_gets_a_suggestion_scored_for_one():
    invoices = [doc(1, "100.00", age=2), doc(2, "40.00", age=1), doc(3, "7.00")]
    [out] = match_payments([pay("40.00", counterparty_iban=IBAN)], invoices)
    assert out.status == "suggested"
    [only] = out.suggestions
    assert (only.score, parts(only)) == (0.8, [("i2", D("40.00"))])
    assert codes(only.reasons) == ["payer_iban", "amount"]


def test_two_invoices_with_the_amount_make_two_weak_suggestions_oldest_first():
    invoices = [doc(1, "40.00", age=1), doc(2, "40.00", age=5), doc(3, "7.00")]
    [out] = match_payments([pay("40.00", counterparty_iban=IBAN)], invoices)
    assert [(s.score, parts(s)) for s in out.suggestions] == [
        (0.45, [("i2", D("40.00"))]),
        (0.45, [("i1", D("40.00"))]),
    ]
    assert all(codes(s.reasons)[-1] == "ambiguous" for s in out.suggestions)


def test_a_combination_by_name_is_a_suggestion_scored_below_automatic():
    invoices = [doc(1, "100.00", iban=None), doc(2, "40.00", iban=None), doc(3, "7.00", iban=None)]
    [out] = match_payments([pay("107.00", counterparty_name="BAKKERIJ PEETERS")], invoices)
    [top] = out.suggestions
    assert (top.score, parts(top)) == (0.75, [("i1", D("100.00")), ("i3", D("7.00"))])
    assert codes(top.reasons) == ["payer_name", "amount_subset"]


def test_a_near_amount_within_tolerance_is_proposed_with_its_write_off():
    config = MatchConfig(tolerance=Tolerance(amount=D("1.00")))
    invoices = [doc(1, "100.00"), doc(2, "40.00")]
    [out] = match_payments([pay("99.50", counterparty_iban=IBAN)], invoices, config=config)
    [top] = out.suggestions
    assert [(p.invoice_id, p.amount, p.write_off) for p in top.allocations] == [("i1", D("99.50"), D("0.50"))]
    # Beyond the tolerance, nothing single is near.
    [far] = match_payments([pay("98.50", counterparty_iban=IBAN)], [doc(1, "100.00"), doc(2, "40.00")], config=config)
    assert far.status == "unmatched"


def large_customer(n=30, start=10):
    return [doc(k, f"{start + k}.00", age=n - k) for k in range(1, n + 1)]


def test_a_large_customer_paying_one_invoice_is_found_through_the_amount_index():
    invoices = large_customer()  # 30 open documents: more than the exhaustive pool of 24
    [out] = match_payments([pay("25.00", counterparty_iban=IBAN)], invoices)
    assert out.status == "suggested"
    assert (out.suggestions[0].score, parts(out.suggestions[0])) == (0.8, [("i15", D("25.00"))])


def test_a_large_customer_paying_its_oldest_two_gets_that_pair_proposed():
    invoices = large_customer(start=100)
    # i1 (101) and i2 (102) are the oldest; nothing else comes to 203 (single documents are due 101 to 130).
    [out] = match_payments([pay("203.00", counterparty_iban=IBAN)], invoices)
    assert out.status == "suggested"
    assert [(s.score, parts(s)) for s in out.suggestions] == [(0.75, [("i1", D("101.00")), ("i2", D("102.00"))])]
    # i1 and i30 also come to 231 = 101 + 130, but i30 is not among the oldest twelve: nothing to propose.
    [out] = match_payments([pay("261.00", counterparty_iban=IBAN)], large_customer(start=100))
    assert out.status == "unmatched"


def test_a_large_customer_paying_everything_is_matched_and_nothing_less_is():
    total = sum((i.due for i in large_customer()), D(0))
    [out] = match_payments([pay(str(total), counterparty_iban=IBAN)], large_customer())
    assert out.status == "matched"
    assert len(out.allocations) == 30 and out.remainder == 0
    assert codes(out.allocations[0].reasons)[-1] == "unique"
    # With a credit note among them, everything together is not the unique answer.
    mixed = [*large_customer(), doc(99, "5.00", kind="credit_note")]
    [out] = match_payments([pay(str(total - 5), counterparty_iban=IBAN)], mixed)
    assert out.status != "matched"
    # A payer who is only probably the customer (two customers share the account) is never matched.
    shared = [*large_customer(), doc(98, "1.00", customer="c2", name="Garage Janssens")]
    [out] = match_payments([pay(str(total + 1), counterparty_iban=IBAN)], shared)
    assert out.status != "matched"


def test_a_rejected_document_keeps_everything_together_from_being_matched():
    total = sum((i.due for i in large_customer()), D(0))
    [out] = match_payments([pay(str(total), counterparty_iban=IBAN)], large_customer(), rejected={("p", "i7")})
    assert out.status != "matched"


# -- references and invoice numbers: scores and groups -----------------------------------------------------


def test_scores_of_an_invoice_number_follow_the_evidence_beside_it():
    def score(amount, iban=None, text="factuur 2026/00001"):
        invoices = [doc(1, "100.00", iban=IBAN), doc(2, "55.00", customer="c2", name="Garage Janssens", iban=None)]
        [out] = match_payments([pay(amount, communication=text, counterparty_iban=iban)], invoices)
        return out.status, (out.suggestions[0].score if out.suggestions else out.allocations[0].confidence)

    assert score("100.00", IBAN) == ("matched", 0.97)  # number, amount and payer
    assert score("100.00") == ("suggested", 0.9)  # number and amount
    assert score("60.00", IBAN) == ("suggested", 0.85)  # number and payer
    assert score("60.00") == ("suggested", 0.75)  # the number alone
    # A bare number after the word "factuur" is a tail: weaker evidence.
    assert score("100.00", IBAN, "factuur 1") == ("suggested", 0.8)
    assert score("100.00", None, "factuur 1") == ("suggested", 0.7)
    assert score("60.00", IBAN, "factuur 1") == ("suggested", 0.65)
    assert score("60.00", None, "factuur 1") == ("suggested", 0.55)


def test_several_numbers_of_one_customer_score_by_what_is_known_of_the_payer():
    def top(iban, amount="150.00", second_customer="c1"):
        invoices = [doc(1, "100.00"), doc(2, "50.00", customer=second_customer, name="Garage Janssens")]
        [out] = match_payments([pay(amount, communication="facturen 2026/00001 en 2026/00002",
                                    counterparty_iban=iban)], invoices)  # fmt: skip
        return out

    matched = top(IBAN)
    assert matched.status == "matched"
    assert [(a.invoice_id, a.amount, a.confidence) for a in matched.allocations] == [
        ("i1", D("100.00"), 0.97), ("i2", D("50.00"), 0.97)
    ]  # fmt: skip
    assert top(None).allocations[0].confidence == 0.96  # one customer, payer unknown: still automatic
    assert top(None, second_customer="c2").suggestions[0].score == 0.8  # two customers: a person decides
    # Not adding up caps the group's score at a suggestion.
    short = top(IBAN, amount="120.00")
    assert [s.score for s in short.suggestions if len(s.allocations) == 2] == [0.8]


def test_two_automatic_answers_for_different_invoices_make_a_suggestion():
    # A reference one typo from i1's and the full number of i2, each confirmed by amount and payer.
    typo = ogm(1234567).replace("1234", "1243")
    invoices = [doc(1234567, "100.00", age=2), doc(2, "100.00", age=1)]
    [out] = match_payments([pay("100.00", communication=f"{typo} factuur 2026/00002", counterparty_iban=IBAN)],
                           invoices)  # fmt: skip
    assert out.status == "suggested"
    assert sorted(parts(s)[0][0] for s in out.suggestions[:2]) == ["i1234567", "i2"]
    assert [s.score for s in out.suggestions[:2]] == [0.97, 0.97]
    # Either alone is matched.
    [one] = match_payments([pay("100.00", communication=typo, counterparty_iban=IBAN)], [doc(1234567, "100.00")])
    assert one.status == "matched"


def test_a_reference_in_the_text_scores_just_below_the_structured_one():
    [typed] = match_payments([pay("100.00", communication=f"betaling {ogm(1)}")], [doc(1, "100.00")])
    [structured] = match_payments([pay("100.00", structured_reference=ogm(1))], [doc(1, "100.00")])
    assert (typed.status, typed.allocations[0].confidence, typed.allocations[0].method) == (
        "matched", 0.98, "free_text_reference"
    )  # fmt: skip
    assert (structured.allocations[0].confidence, structured.allocations[0].method) == (1.0, "structured_reference")


def test_amount_alone_scores_by_how_many_invoices_share_it():
    one = [doc(1, "100.00", iban=None), doc(2, "60.00", iban=None)]
    [out] = match_payments([pay("100.00", communication="bedankt")], one)
    assert [(s.score, parts(s)) for s in out.suggestions] == [(0.5, [("i1", D("100.00"))])]
    two = [doc(1, "100.00", iban=None, age=1), doc(2, "100.00", iban=None, customer="c2", age=3)]
    [out] = match_payments([pay("100.00", communication="bedankt")], two)
    assert [(s.score, parts(s)) for s in out.suggestions] == [
        (0.3, [("i2", D("100.00"))]),
        (0.3, [("i1", D("100.00"))]),
    ]
    assert codes(out.suggestions[0].reasons) == ["amount_equals_due", "ambiguous"]
    # Below the suggestion threshold, an amount alone is not worth a person's time.
    [out] = match_payments([pay("100.00")], two, config=MatchConfig(suggest_threshold=0.31))
    assert out.status == "unmatched"


def test_a_typo_in_the_reference_scores_by_what_confirms_it():
    reference = ogm(1234567)  # +++000/1234/567xx+++
    typo = reference.replace("1234", "1243")
    invoices = [doc(1234567, "100.00")]
    [both] = match_payments([pay("100.00", communication=typo, counterparty_iban=IBAN)], invoices)
    [payer_only] = match_payments([pay("60.00", communication=typo, counterparty_iban=IBAN)], [doc(1234567, "100.00")])
    assert (both.status, both.allocations[0].confidence) == ("matched", 0.97)
    assert (payer_only.status, payer_only.suggestions[0].score) == ("suggested", 0.85)
    assert codes(payer_only.suggestions[0].reasons) == ["reference_typo", "payer_iban"]


# -- the split: what each document receives --------------------------------------------------------------


def test_a_transfer_net_of_a_credit_note_settles_both():
    invoices = [doc(1, "100.00"), doc(2, "30.00", kind="credit_note")]
    [out] = match_payments([pay("70.00", communication=f"{ogm(1)} min creditnota {ogm(2)}")], invoices)
    assert out.status == "matched"
    assert booked(out) == [("i2", D("30.00"), D("0.00")), ("i1", D("100.00"), D("0.00"))]
    assert out.remainder == 0


def test_a_refund_settles_a_credit_note():
    [out] = match_payments([pay("-30.00", structured_reference=ogm(2))], [doc(2, "30.00", kind="credit_note")])
    assert (out.status, booked(out), out.remainder) == ("matched", [("i2", D("30.00"), D("0.00"))], 0)
    # Money out never pays an invoice, and money in never pays a credit note by itself.
    [out] = match_payments([pay("-100.00", structured_reference=ogm(1))], [doc(1, "100.00")])
    assert out.status == "unmatched"
    [out] = match_payments([pay("30.00", structured_reference=ogm(2))], [doc(2, "30.00", kind="credit_note")])
    assert out.status == "unmatched"


def test_a_short_payment_of_two_invoices_writes_off_only_on_the_last():
    config = MatchConfig(tolerance=Tolerance(amount=D("2.00")))
    invoices = [doc(1, "100.00", age=3), doc(2, "50.00", age=1)]
    [out] = match_payments([pay("149.00", communication=f"{ogm(1)} {ogm(2)}")], invoices, config=config)
    assert out.status == "matched"
    assert booked(out) == [("i1", D("100.00"), D("0.00")), ("i2", D("49.00"), D("1.00"))]
    assert codes(out.allocations[1].reasons)[-1] == "payment_difference"
    assert "payment_difference" not in codes(out.allocations[0].reasons)


def test_a_short_payment_beyond_the_tolerance_leaves_the_last_invoice_partly_open():
    invoices = [doc(1, "100.00", age=3), doc(2, "50.00", age=1)]
    [out] = match_payments([pay("120.00", structured_reference=ogm(1), communication=ogm(2))], invoices)
    [top] = out.suggestions
    assert [(p.invoice_id, p.amount, p.write_off) for p in top.allocations] == [
        ("i1", D("100.00"), D("0.00")), ("i2", D("20.00"), D("0.00"))
    ]  # fmt: skip


def test_money_beyond_what_is_due_stays_on_the_payment_and_says_so():
    [out] = match_payments([pay("130.00", structured_reference=ogm(1))], [doc(1, "100.00")])
    assert (booked(out), out.remainder) == ([("i1", D("100.00"), D("0.00"))], D("30.00"))
    assert codes(out.allocations[0].reasons) == ["structured_reference", "remainder"]
    # Exactly what is due: no remainder reason.
    [out] = match_payments([pay("100.00", structured_reference=ogm(1))], [doc(1, "100.00")])
    assert codes(out.allocations[0].reasons) == ["structured_reference"]


def test_a_remainder_proposal_is_for_the_remainder_and_never_automatic():
    invoices = [doc(1, "100.00", age=5), doc(2, "30.00", age=1), doc(3, "7.00")]
    [out] = match_payments([pay("137.00", structured_reference=ogm(1), counterparty_iban=IBAN)], invoices)
    assert (out.status, out.remainder) == ("matched", D("37.00"))
    [proposal] = out.suggestions
    assert parts(proposal) == [("i2", D("30.00")), ("i3", D("7.00"))]
    assert proposal.score == 0.9  # a unique pair from a certain payer (0.95 alone), capped: a person decides
    assert codes(proposal.reasons)[0] == "remainder"
    # The same pair as the whole payment is matched: the cap is what keeps a remainder for a person.
    [whole] = match_payments([pay("37.00", counterparty_iban=IBAN)], [doc(2, "30.00"), doc(3, "7.00")])
    assert whole.status == "matched"
    # A weaker proposal keeps its own score under the cap.
    by_name = [doc(1, "100.00", iban=None), doc(2, "30.00", iban=None), doc(3, "7.00", iban=None)]
    [out] = match_payments([pay("137.00", structured_reference=ogm(1), counterparty_name="BAKKERIJ PEETERS")], by_name)
    assert [s.score for s in out.suggestions] == [0.75]


# -- the running index ----------------------------------------------------------------------------------


def test_a_partly_paid_invoice_is_found_by_what_it_still_has_due():
    invoices = [doc(1, "100.00", iban=None)]
    first, second = (
        Payment("p1", D("60.00"), DAY, structured_reference=ogm(1)),
        Payment("p2", D("40.00"), DAY, communication="rest"),
    )
    out1, out2 = match_payments([first, second], invoices)
    assert booked(out1) == [("i1", D("60.00"), D("0.00"))]
    assert (out2.status, out2.suggestions[0].score, parts(out2.suggestions[0])) == (
        "suggested",
        0.5,
        [("i1", D("40.00"))],
    )


def test_the_index_keeps_each_customer_s_totals_as_documents_are_settled():
    docs = [doc(1, "100.00", age=3), doc(2, "40.00", age=2), doc(3, "25.00", kind="credit_note", age=1)]
    index = InvoiceIndex(docs)
    assert (index.customer_size("c1"), index.customer_due_sum("c1")) == (3, D("115.00"))
    assert index.customer_kinds("c1") == {"invoice", "credit_note"}
    index.settle(docs[0], D("60.00"))
    assert (index.customer_size("c1"), index.customer_due_sum("c1")) == (3, D("55.00"))
    assert sorted(i.id for i in index.customer_with_due("c1", D("40.00"))) == ["i1", "i2"]
    index.settle(docs[2], D("25.00"))
    assert (index.customer_size("c1"), index.customer_due_sum("c1")) == (2, D("80.00"))
    assert index.customer_kinds("c1") == {"invoice"}
    index.settle(docs[1], D("40.00"))
    assert (index.customer_size("c1"), index.customer_due_sum("c1")) == (1, D("40.00"))
    assert [i.id for i in index.open_documents("c1")] == ["i1"]


def test_open_documents_stay_oldest_first_through_bulk_removal_of_settled_ones():
    docs = [doc(k, "10.00", age=100 - k) for k in range(1, 61)]
    index = InvoiceIndex(reversed(docs))
    for d in docs[::2]:
        index.settle(d, D("10.00"))  # 30 settled: more than a fifth and more than 16
    assert [i.id for i in index.open_documents("c1", limit=3)] == ["i2", "i4", "i6"]
    assert [i.id for i in index.open_documents("c1")] == [f"i{k}" for k in range(2, 61, 2)]
    assert len(index.by_customer["c1"]) == 30  # the settled ones left the list
    assert index.open_documents("nobody") == []


def test_learned_accounts_identify_a_payer_the_invoices_do_not_name():
    invoices = [doc(1, "100.00", iban=None), doc(2, "40.00", iban=None)]
    [unknown] = match_payments([pay("140.00", counterparty_iban="BE68539007547034")], invoices)
    assert unknown.status == "unmatched"
    learned = {"BE68539007547034": {"c1"}}
    [known] = match_payments(
        [pay("140.00", counterparty_iban="BE68539007547034")],
        [doc(1, "100.00", iban=None), doc(2, "40.00", iban=None)],
        learned_ibans=learned,
    )
    assert known.status == "matched"
    assert codes(known.allocations[0].reasons)[0] == "payer_iban"


def test_a_name_must_be_close_to_count_as_the_payer():
    invoices = [doc(1, "100.00", iban=None), doc(2, "40.00", iban=None)]
    [close] = match_payments([pay("140.00", counterparty_name="BAKKERIJ PEETERS BVBA")], invoices)
    assert close.status == "suggested" and codes(close.suggestions[0].reasons)[0] == "payer_name"
    [far] = match_payments(
        [pay("140.00", counterparty_name="PEETERS TRANSPORT")],
        [doc(1, "100.00", iban=None), doc(2, "40.00", iban=None)],
    )
    assert far.status == "unmatched"


# -- references one typo away -------------------------------------------------------------------------------


def _neighbours_by_brute_force(digits: str) -> set[str]:
    """Every string one changed digit or one swap of neighbours away, kept when python-stdnum calls it a
    valid OGM: the oracle the engine's arithmetic must agree with."""
    from stdnum.be import ogm_vcs

    out = set()
    for i in range(12):
        for d in "0123456789":
            if d != digits[i]:
                out.add(digits[:i] + d + digits[i + 1 :])
    for i in range(11):
        if digits[i] != digits[i + 1]:
            out.add(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :])
    return {v for v in out if ogm_vcs.is_valid(v)}


def test_typo_neighbours_are_exactly_the_valid_references_one_slip_away():
    import random

    from app.reconciliation.matching import _one_typo_variants, one_typo_variants

    rng = random.Random(11)
    samples = [ogm(n).strip("+").replace("/", "") for n in (1, 96, 97, 194, 1234567, 9999999999)]
    samples += [f"{rng.randrange(10**12):012d}" for _ in range(150)]  # mostly invalid, as typed
    samples += ["000000000097", "123456789097", "900000000090"]  # check digit 97, and a swap across the check
    for digits in samples:
        produced = list(_one_typo_variants(digits))
        assert len(produced) == len(set(produced)), digits  # each neighbour once
        assert set(produced) == _neighbours_by_brute_force(digits), digits
        assert one_typo_variants(digits) == tuple(produced)
    for not_twelve_digits in ("", "12345678901", "1234567890123", "12345678901a", "١٢٣٤٥٦٧٨٩٠١٢"):
        assert list(_one_typo_variants(not_twelve_digits)) == []


# -- the index when a key is unknown ------------------------------------------------------------------------


def test_a_learned_account_of_a_customer_with_nothing_open_finds_nothing_and_breaks_nothing():
    learned = {"BE68539007547034": {"gone"}}  # a customer whose invoices are all paid
    [out] = match_payments(
        [pay("40.00", counterparty_iban="BE68539007547034", communication="factuur 77 en 2026/00777")],
        [doc(1, "100.00", iban=None), doc(2, "40.00", iban=None)],
        learned_ibans=learned,
    )
    assert out.status == "suggested"  # by amount alone, weakly
    assert [(s.score, parts(s)) for s in out.suggestions] == [(0.5, [("i2", D("40.00"))])]


def test_an_account_shared_by_a_large_customer_and_one_with_nothing_open_proposes_everything():
    learned = {IBAN: {"gone"}}
    invoices = large_customer()
    total = sum((i.due for i in invoices), D(0))
    [out] = match_payments([pay(str(total), counterparty_iban=IBAN)], invoices, learned_ibans=learned)
    # Two customers behind the account: everything together is proposed, not matched.
    assert out.status == "suggested"
    assert [len(s.allocations) for s in out.suggestions] == [30]
    assert sum(p.amount for p in out.suggestions[0].allocations) == total


# -- edges of amounts and of the search -------------------------------------------------------------------


def test_a_payment_under_one_euro_settles_like_any_other():
    [out] = match_payments([pay("0.50", structured_reference=ogm(1))], [doc(1, "0.50")])
    assert (out.status, booked(out)) == ("matched", [("i1", D("0.50"), D("0.00"))])
    [combined] = match_payments([pay("0.50", counterparty_iban=IBAN)], [doc(1, "0.20"), doc(2, "0.30")])
    assert (combined.status, sorted(booked(combined))) == (
        "matched",
        [("i1", D("0.20"), D("0.00")), ("i2", D("0.30"), D("0.00"))],
    )
    [refund] = match_payments([pay("-0.50", structured_reference=ogm(3))], [doc(3, "0.50", kind="credit_note")])
    assert (refund.status, booked(refund)) == ("matched", [("i3", D("0.50"), D("0.00"))])


def test_a_refund_of_two_credit_notes_to_a_known_account_is_matched():
    notes = [doc(1, "10.00", kind="credit_note"), doc(2, "20.00", kind="credit_note"), doc(3, "30.00")]
    [out] = match_payments([pay("-30.00", counterparty_iban=IBAN)], notes)
    assert out.status == "matched"
    assert sorted(booked(out)) == [("i1", D("10.00"), D("0.00")), ("i2", D("20.00"), D("0.00"))]


def test_more_than_two_combinations_stop_at_two_and_the_larger_documents_are_tried_first():
    pool = [doc(1, "10.00"), doc(2, "20.00"), doc(3, "30.00"), doc(4, "40.00"), doc(5, "50.00")]
    # 60 = 50 + 10 = 40 + 20 = 30 + 20 + 10: the search stops at the second, trying the larger documents first.
    combos, exhaustive = search(pool, "60.00")
    assert combos == [["i1", "i5"], ["i2", "i4"]]
    assert exhaustive
    [out] = match_payments([pay("60.00", counterparty_iban=IBAN)], pool)
    assert [(s.score, [p.invoice_id for p in s.allocations]) for s in out.suggestions] == [
        (0.45, ["i1", "i5"]),
        (0.45, ["i2", "i4"]),
    ]


def test_the_step_budget_counts_every_step():
    pool = [doc(1, "100.00"), doc(2, "40.00")]
    # Nothing can reach 500: the first step sees it and the search is over, complete.
    assert search(pool, "500.00", config=MatchConfig(max_search_steps=1)) == ([], True)
    assert search(pool, "500.00", config=MatchConfig(max_search_steps=0)) == ([], False)


def test_twenty_four_open_documents_are_searched_whole_and_twenty_five_are_not():
    def powers(n):  # amounts of 2^k cents: every combination has its own sum, so an answer is unique
        return [doc(k, str(D(2**k) / 100), age=n - k) for k in range(n)]

    [searched] = match_payments([pay("0.03", counterparty_iban=IBAN)], powers(24))
    assert searched.status == "matched"
    assert sorted(a.invoice_id for a in searched.allocations) == ["i0", "i1"]
    [large] = match_payments([pay("0.03", counterparty_iban=IBAN)], powers(25))
    assert large.status == "suggested"  # among the oldest few: proposed, not matched
    assert [(s.score, [p.invoice_id for p in s.allocations]) for s in large.suggestions] == [(0.75, ["i0", "i1"])]


def test_a_single_invoice_and_a_combination_for_the_same_amount_are_both_doubtful():
    invoices = [doc(1, "100.00", age=3, iban=None), doc(2, "40.00", age=2, iban=None), doc(3, "60.00", iban=None)]
    [out] = match_payments([pay("100.00", counterparty_name="BAKKERIJ PEETERS")], invoices)
    assert [(s.score, [p.invoice_id for p in s.allocations]) for s in out.suggestions] == [
        (0.8, ["i1"]),
        (0.45, ["i2", "i3"]),
    ]
    assert codes(out.suggestions[1].reasons)[-1] == "ambiguous"


def test_the_suspects_of_a_typo_are_the_references_that_name_nothing_open():
    from app.identifiers.references import find_references
    from app.reconciliation.matching import typo_suspects

    open_refs = {ogm(1)}
    known = open_refs.__contains__
    valid_elsewhere = ogm(2).strip("+").replace("/", "")  # valid, but no open invoice has it
    swapped = "000000000110"  # 00101 typed as 00110: not a valid OGM
    assert typo_suspects(swapped, [], known) == [swapped]
    assert typo_suspects(valid_elsewhere, [], known) == [valid_elsewhere]
    assert typo_suspects(ogm(1).strip("+").replace("/", ""), [], known) == []  # names an open invoice
    assert typo_suspects(swapped + "4711", [], known) == [swapped]  # what follows the 12 digits is not read
    assert typo_suspects("0000000001", [], known) == []  # too short to be one
    assert typo_suspects(None, [], known) == []
    text = f"{ogm(1)} {ogm(2)} +++000/0000/00110+++ RF18 5390 0754 7034 RF00 1234"
    found = find_references(text)
    assert typo_suspects(None, found, known) == [valid_elsewhere, swapped]  # RF references are never suspects


def test_a_percentage_tolerance_is_taken_of_the_invoice_total_not_of_what_is_left():
    config = MatchConfig(tolerance=Tolerance(percent=D("1")))
    half_paid = doc(1, "100.00", total="200.00")  # 1 % of 200 is 2.00; of what is left, 1.00
    [out] = match_payments([pay("98.50", structured_reference=ogm(1))], [half_paid], config=config)
    assert booked(out) == [("i1", D("98.50"), D("1.50"))]
    [by_number] = match_payments(
        [pay("98.50", communication="factuur 2026/00001")], [doc(1, "100.00", total="200.00")], config=config
    )
    assert (by_number.suggestions[0].score, codes(by_number.suggestions[0].reasons)) == (
        0.9,
        ["invoice_number", "amount"],
    )
    # A known payer's near amount: the same base.
    [near] = match_payments([pay("98.50", counterparty_iban=IBAN)], [doc(1, "100.00", total="200.00")], config=config)
    assert [(p.invoice_id, p.amount, p.write_off) for p in near.suggestions[0].allocations] == [
        ("i1", D("98.50"), D("1.50"))
    ]
    # Two named documents: the tolerance is of the last one's total.
    both = [doc(1, "100.00", age=2), doc(2, "50.00", age=1, total="300.00")]
    [group] = match_payments([pay("148.00", communication=f"{ogm(1)} {ogm(2)}")], both, config=config)
    assert group.status == "matched"
    assert booked(group) == [("i1", D("100.00"), D("0.00")), ("i2", D("48.00"), D("2.00"))]


def test_what_each_named_document_receives_down_to_the_cent():
    def split(amount, config=None, second="50.00"):
        invoices = [doc(1, "100.00", age=2), doc(2, second, age=1)]
        [out] = match_payments([pay(amount, communication=f"{ogm(1)} {ogm(2)}")], invoices, config=config)
        chosen = out.allocations or out.suggestions[0].allocations
        return [(a.invoice_id, a.amount, a.write_off) for a in chosen]

    assert split("100.00") == [("i1", D("100.00"), D("0.00"))]  # nothing left for the second: no line for it
    assert split("100.50") == [("i1", D("100.00"), D("0.00")), ("i2", D("0.50"), D("0.00"))]
    # The second entirely written off (0.50 short, within a tolerance of 1.00): a line with no money.
    loose = MatchConfig(tolerance=Tolerance(amount=D("1.00")))
    assert split("100.00", loose, second="0.50") == [("i1", D("100.00"), D("0.00")), ("i2", D("0.00"), D("0.50"))]


def test_fifty_cents_too_much_is_a_remainder_that_says_so_and_may_pay_another_invoice():
    invoices = [doc(1, "100.00", age=2), doc(2, "0.50", age=1)]
    [out] = match_payments([pay("100.50", structured_reference=ogm(1), counterparty_iban=IBAN)], invoices)
    assert (out.status, out.remainder) == ("matched", D("0.50"))
    assert codes(out.allocations[0].reasons)[-1] == "remainder"
    assert [parts(s) for s in out.suggestions] == [[("i2", D("0.50"))]]
    # Nothing left: nothing to propose, even when a credit note and an invoice would cancel each other out.
    netting = [doc(1, "100.00", age=3), doc(2, "5.00", age=2), doc(3, "5.00", kind="credit_note", age=1)]
    [exact] = match_payments([pay("100.00", structured_reference=ogm(1), counterparty_iban=IBAN)], netting)
    assert (exact.remainder, exact.suggestions) == (D("0.00"), [])


def test_remainder_proposals_come_best_first():
    invoices = [doc(1, "100.00", age=9), doc(2, "37.00", age=3), doc(3, "30.00", age=2), doc(4, "7.00", age=1)]
    [out] = match_payments([pay("137.00", structured_reference=ogm(1), counterparty_name="BAKKERIJ PEETERS")], invoices)
    assert [(s.score, [p.invoice_id for p in s.allocations]) for s in out.suggestions] == [
        (0.8, ["i2"]),
        (0.45, ["i3", "i4"]),
    ]


def test_one_invoice_found_two_ways_is_proposed_once():
    # "factuur 1" (a bare number) and the payer's name with the amount both point at i1.
    [out] = match_payments(
        [pay("100.00", communication="factuur 1", counterparty_name="BAKKERIJ PEETERS")], [doc(1, "100.00", iban=None)]
    )
    assert [parts(s) for s in out.suggestions] == [[("i1", D("100.00"))]]


def test_a_written_off_shortfall_leaves_nothing_for_later_payments_of_the_same_run():
    config = MatchConfig(tolerance=Tolerance(amount=D("1.00")))
    first = Payment("p1", D("99.50"), DAY, structured_reference=ogm(1))
    later = Payment("p2", D("1.00"), DAY, communication="bedankt")
    out1, out2 = match_payments([first, later], [doc(1, "100.00", iban=None)], config=config)
    assert booked(out1) == [("i1", D("99.50"), D("0.50"))]
    assert out2.status == "unmatched"  # the invoice is settled: nothing of it is due any more


def test_every_invoice_named_in_full_is_paid_however_many_but_a_long_list_of_bare_numbers_is_not_a_group():
    invoices = [doc(k, f"{10 * k}.00", age=20 - k) for k in range(1, 11)]
    total = sum((i.due for i in invoices), D("0"))
    named = "facturen " + " ".join(i.number for i in invoices)
    expected = sorted((i.id, i.due, D("0.00")) for i in invoices)  # before the engine settles them
    [out] = match_payments([pay(str(total), communication=named)], invoices)
    assert out.status == "matched"
    assert sorted(booked(out)) == expected
    assert {a.method for a in out.allocations} == {"invoice_number"}
    assert codes(out.allocations[0].reasons)[:2] == ["invoice_numbers", "amounts_add_up"]

    def bare(count):
        listed = [doc(k, f"{10 * k}.00", age=20 - k) for k in range(1, count + 1)]
        paid = sum((i.due for i in listed), D("0"))
        text = "facturen " + ", ".join(str(k) for k in range(1, count + 1))
        [out] = match_payments([pay(str(paid), communication=text)], listed)
        return [s for s in out.suggestions if len(s.allocations) == count and "invoice_numbers" in codes(s.reasons)]

    assert len(bare(8)) == 1  # eight bare numbers that add up: proposed together
    assert bare(9) == []  # nine: more likely amounts or dates than invoices
