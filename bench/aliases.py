"""Alias expansion is bounded: `meshc lint` time and memory on aliased input, with the fitted exponent.

Usage: python -m bench.aliases [--repeat 3]

Each input is one VirtualService whose `x-anchor` holds a value of V bytes, aliased in N rules (the
shape of issue 20: a 500 KB anchored value in 2,000 rules, 683 KB of input, was about 1 GB of
output). meshc counts what aliases repeat, nodes and characters, against a stated budget (100,000
nodes, 1,000,000 characters per document: meshc/source.py) and refuses the document (MC001) as soon
as the budget is crossed, so time and memory follow the input, not the expansion. Rows below the
budget (small values) are linted normally. The exponent is the slope of log(time) against
log(input size) over the refused rows, start-up included.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench.run import meshc, timed
from bench.scale import fit_exponent

# (anchored value bytes, aliases): the case, larger values, more aliases, one under the budget.
CASES = [(500_000, 2_000), (2_000_000, 2_000), (5_000_000, 2_000), (50_000, 20_000), (200, 2_000)]


def corpus(value: int, aliases: int) -> str:
    """One VirtualService: a `value`-byte anchored header value, aliased in `aliases` rules."""
    rules = "".join(
        f"  - name: r{i}\n    match: [{{headers: {{x: {{exact: v{i}}}}}}}]\n"
        f"    headers: {{request: {{set: {{x-big: *big}}}}}}\n    route: *dest\n"
        for i in range(aliases)
    )
    return (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r, namespace: default}\n"
        f"spec:\n  hosts: [reviews]\n  x-anchor: &big {'x' * value}\n  http:\n"
        "  - route: &dest [{destination: {host: reviews}}]\n" + rules
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="meshc-aliases-"))
    try:
        print("| anchored value | aliases | input | expands to | `meshc lint` | peak RSS |")
        print("|---|---|---|---|---|---|")
        sizes, times = [], []
        for value, aliases in CASES:
            path = work / f"v{value}-n{aliases}.yaml"
            text = corpus(value, aliases)
            path.write_text(text, encoding="utf-8")
            secs, rss = timed(meshc("lint", "--no-config", "--format", "text", str(path)), args.repeat)
            expands = value * aliases
            print(
                f"| {value:,} B | {aliases:,} | {len(text) / 1e6:.2f} MB | {expands / 1e6:,.1f} MB | {secs:.2f} s | "
                f"{rss // 1024} MiB |"
            )
            if expands > 1_000_000:
                sizes.append(len(text))
                times.append(secs)
        print(f"\nexponent of time against input size, refused rows: {fit_exponent(sizes, times):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
