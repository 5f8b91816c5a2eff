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
