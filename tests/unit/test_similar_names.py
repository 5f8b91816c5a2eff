"""similar_names answers, for a whole list of customers at once, exactly what name_similarity says of each."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.reconciliation.names import name_similarity, similar_names

WORDS = ["BAKKERIJ", "JANSSENS", "GARAGE", "PEETERS", "SERVICES", "DE", "VOS", "NV", "BV", "SRL", "MAES", "Ç", "&"]
NAMES = st.lists(st.sampled_from(WORDS), min_size=0, max_size=6).map(" ".join)


def one_by_one(bank: str | None, candidates: list[tuple[str, str | None]], threshold: float) -> set[str]:
    return {key for key, name in candidates if name_similarity(bank, name) >= threshold}


@settings(max_examples=300, deadline=None)
@given(
    bank=st.one_of(st.none(), NAMES, NAMES.map(lambda n: n[:35])),
    names=st.lists(st.one_of(st.none(), NAMES, st.text(max_size=40)), max_size=30),
    threshold=st.sampled_from([0.0, 50.0, 80.0, 85.0, 90.0, 95.0, 95.5, 100.0]),
)
def test_the_same_customers_as_asking_each(bank, names, threshold) -> None:
    candidates = [(f"c{i}", name) for i, name in enumerate(names)]
    assert similar_names(bank, candidates, threshold) == one_by_one(bank, candidates, threshold)


def test_a_name_the_bank_cut_short_is_found_by_its_beginning() -> None:
    candidates = [("a", "Bakkerij Janssens en Zonen Oudenaarde NV"), ("b", "Garage Peeters")]
    cut = "BAKKERIJ JANSSENS EN ZONEN OUDENAA"  # 35 characters at most, the legal form gone
    assert similar_names(cut, candidates, 95.0) == {"a"} == one_by_one(cut, candidates, 95.0)


def test_a_word_many_customers_share_offers_its_first_in_key_order_whatever_the_order_they_came_in() -> None:
    """Three hundred customers share the payer's common words: the index offers the first NAME_BUCKET of them in
    key order, as the stored index reads them, however they were added (it once cut a set at 200, and which
    customers were weighed then depended on the process's hash seed)."""
    from datetime import date
    from decimal import Decimal

    from app.reconciliation.matching import NAME_BUCKET, InvoiceIndex, OpenInvoice

    def invoice(n: int, name: str) -> OpenInvoice:
        day = date(2026, 1, 1)
        return OpenInvoice(f"i{n}", f"2026/{n}", "invoice", Decimal("10.00"), day, day, f"ref{n}", f"c{n:03d}", name)

    crowd = [invoice(n, f"Janssens Bakkerij {n}") for n in range(300)]
    payer = invoice(300, "Janssens Bakkerij Oudenaarde")
    first = sorted(f"c{n:03d}" for n in range(301))[:NAME_BUCKET]
    for order in ([*crowd, payer], [payer, *crowd[::-1]]):
        index = InvoiceIndex(order)
        assert [key for key, _ in index.name_candidates({"JANSSENS", "BAKKERIJ"})] == first
        # The payer's own rare word makes it the only candidate.
        assert [key for key, _ in index.name_candidates({"JANSSENS", "BAKKERIJ", "OUDENAARDE"})] == ["c300"]
    index = InvoiceIndex(crowd)
    assert len(index.name_candidates({"JANSSENS"})) == NAME_BUCKET
    index.add(invoice(999, "Janssens Aannemer"))  # a customer who sorts first joins the word
    index.add(invoice(-1, "Janssens Aannemer"))
    assert index.name_candidates({"JANSSENS"})[0][0] == "c-01"
