"""Print the matching engine's precision and recall per kind of payment on the committed seeded scenario
(tests/scenarios.py): the table docs/benchmark.md publishes, which tests/unit/test_matching_quality.py holds equal.

    .venv/bin/python scripts/matching_quality.py [SEED INVOICES PAYMENTS]   # default 7 20000 4000
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.reconciliation.matching import match_payments  # noqa: E402
from tests.scenarios import CONFIG, evaluate, generate  # noqa: E402


def main(seed: int = 7, invoices: int = 20_000, payments: int = 4_000) -> None:
    scenario = generate(seed=seed, invoices=invoices, payments=payments)
    outcomes = match_payments(scenario.payments, copy.deepcopy(scenario.invoices), config=CONFIG)
    print(evaluate(scenario, outcomes).table())


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
