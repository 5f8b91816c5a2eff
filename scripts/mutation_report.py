"""Print `make mutate`'s score per module from mutmut's result files (mutants/**/*.py.meta), and list the
survivors, grouped by function, so that docs/testing.md can say of each why it survives.

Usage: python scripts/mutation_report.py [--survivors]
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

# mutmut's exit codes (mutmut.stats.status_by_exit_code). A timeout is a kill too: the mutant broke the code.
# A mutant no test reaches (5, 33) counts as a survivor: nothing would notice it.
KILLED = {1, 3, 24, -24, 36, 152, 255}
SURVIVED = {0, 5, 33}


def main() -> int:
    root = Path("mutants")
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print("no results under mutants/: run `make mutate` first", file=sys.stderr)
        return 2
    total = Counter()
    survivors: dict[str, list[str]] = defaultdict(list)
    print(f"{'module':42} {'mutants':>8} {'killed':>7} {'survived':>9} {'unchecked':>9} {'score':>7}")
    for meta in metas:
        module = str(meta.relative_to(root)).removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        killed = sum(1 for c in codes.values() if c in KILLED)
        survived = [name for name, c in codes.items() if c in SURVIVED]
        untested = len(codes) - killed - len(survived)
        for name in survived:
            survivors[module].append(name)
        total.update(mutants=len(codes), killed=killed, survived=len(survived), untested=untested)
        checked = killed + len(survived)
        score = f"{killed / checked:.1%}" if checked else "—"
        print(f"{module:42} {len(codes):8d} {killed:7d} {len(survived):9d} {untested:9d} {score:>7}")
    checked = total["killed"] + total["survived"]
    print(
        f"{'all':42} {total['mutants']:8d} {total['killed']:7d} {total['survived']:9d} {total['untested']:9d} "
        f"{total['killed'] / checked if checked else 0:7.1%}"
    )
    if "--survivors" in sys.argv:
        for module, names in survivors.items():
            by_function = Counter(name.rsplit("__mutmut_", 1)[0] for name in names)
            print(f"\n{module}")
            for function, count in by_function.most_common():
                print(f"  {count:4d}  {function.split('.')[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
