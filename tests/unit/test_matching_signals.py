"""The matching signals as one table: every reason the engine gives is a signal's code with parameters, worded
in English for the API exactly as before, and in Dutch, French and English on the review page."""

from __future__ import annotations

import copy
import pickle
import re
import string
from decimal import Decimal as D

import pytest

from app.reconciliation import signals
from app.reconciliation.reasons import Reason, read_back, reason_codes
from app.reconciliation.signals import SIGNALS
from app.ui import i18n
from app.ui.ranking import FINDERS


def fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)


def test_every_signal_has_one_name_and_its_sentence_in_every_language():
    assert len(SIGNALS) == len(signals._TABLE)
    for name, signal in SIGNALS.items():
        texts = i18n.MESSAGES[f"match_{name}"]
        assert set(texts) == set(i18n.LANGUAGES), name
        for language, text in texts.items():
            assert fields(text) == fields(signal.english), (name, language)


def test_the_review_page_ranks_by_the_signals_weights():
    assert {name: SIGNALS[name].weight for name in FINDERS} == {
        "free_text_reference": 60,
        "invoice_number": 50,
        "amount_equals_due": 30,
        "payer_iban": 20,
        "payer_name": 15,
    }
    for name in FINDERS:
        assert f"why_{name}" in i18n.MESSAGES


def test_a_reason_is_the_apis_english_and_keeps_its_code_and_parameters():
    reason = Reason("payer_amount", amount=D("1234.5"), number="2026/7")
    assert reason == {"code": "amount", "message": "1234.50 is the amount due of invoice 2026/7"}
    assert (reason.signal, reason.params) == ("payer_amount", {"amount": "1234.50", "number": "2026/7"})
    assert Reason("payer_name", name="O'Brien") == {
        "code": "payer_name",
        "message": "payer name \"O'Brien\" is the customer's",
    }
    for copied in (copy.copy(reason), copy.deepcopy(reason), pickle.loads(pickle.dumps(reason))):
        assert copied == reason and copied.signal == reason.signal and copied.params == reason.params


def test_what_is_stored_beside_the_reasons_and_read_back():
    reasons = [Reason("unique"), {"code": "accepted", "message": "suggestion accepted by key:1"}]
    assert reason_codes(reasons) == [["unique", {}], None]
    assert reason_codes([{"code": "manual", "message": "allocated by key:1"}]) is None
    stored = reason_codes(reasons)
    assert read_back(reasons, stored) == list(zip(reasons, stored, strict=True))
    assert read_back(reasons, None) == [(r, None) for r in reasons]
    assert read_back(reasons, stored[:1]) == [(r, None) for r in reasons]  # lists that do not line up
    assert read_back(reasons[:1], [["no_such_signal", {}]]) == [(reasons[0], None)]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("nl", "€\xa01.234,50 is het openstaande bedrag van factuur 2026/7"),
        ("fr", "1\u202f234,50\xa0€ est le montant dû de la facture 2026/7"),
        ("en", "1.234,50\xa0€ is the amount due of invoice 2026/7"),
    ],
)
def test_the_review_page_words_a_reason_in_its_language_with_belgian_amounts(language, said):
    reason = Reason("payer_amount", amount=D("1234.50"), number="2026/7")
    [(stored, coded)] = read_back([dict(reason)], reason_codes([reason]))
    assert i18n.Formats(language).reason(stored, coded) == said


def test_a_reason_without_usable_codes_is_shown_as_stored():
    stored = {"code": "amount", "message": "12.00 is the amount due"}
    f = i18n.Formats("nl")
    assert f.reason(stored, None) == "12.00 is the amount due"
    assert f.reason(stored, ["amount", {}]) == "12.00 is the amount due"  # a parameter missing
    assert f.reason(stored, ["amount", {"amount": "twelve"}]) == "12.00 is the amount due"
    assert f.reason({"code": "amount"}, None) == "amount"


def test_english_templates_name_the_same_parameters_as_the_engine_passes():
    # Every {field} of the English is a parameter name; amounts are the ones each language formats.
    for signal in SIGNALS.values():
        for name in fields(signal.english):
            assert re.fullmatch(r"[a-z]+", name), (signal.name, name)
