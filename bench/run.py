"""Time meshc against baselines on generated corpora, in one run, and print the ratios.

Usage: python -m bench.run [--services 3000] [--repeat 3] [--no-yamllint]

Every measurement is a separate process (interpreter start-up included), timed by wall clock;
the best of `--repeat` runs is kept. Baselines run on the same file in the same run, so the
ratios hold on any machine even when the absolute times do not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.generate import generate

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

PYYAML = (
    "import sys, yaml\nwith open(sys.argv[1], 'rb') as f:\n    docs = list(yaml.load_all(f, Loader=yaml.CSafeLoader))\n"
)


# Runs one command as its only child and reports that child's wall time and peak RSS (KiB), so the
# memory figure is the command's own, not the largest of every process this script started.
_PROBE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "t = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "err = p.stderr.decode(errors='replace').strip().splitlines()\n"
    "print(p.returncode, t, rss, (err[-1] if err else ''), sep='\\t')\n"
)


def timed(cmd: Sequence[str], repeat: int) -> tuple[float, int]:
    """Best wall time of `repeat` runs of cmd, and its peak RSS in KiB."""
    best = float("inf")
    peak = 0
    for _ in range(repeat):
        probe = subprocess.run([PY, "-c", _PROBE, *cmd], capture_output=True, text=True, cwd=ROOT, check=True)
        code, secs, rss, last = probe.stdout.rstrip("\n").split("\t", 3)
        if int(code) not in (0, 1):
            raise SystemExit(f"command failed ({code}): {' '.join(cmd)}\n{last}")
        best = min(best, float(secs))
        peak = max(peak, int(rss))
    return best, peak


def meshc(*args: str) -> list[str]:
    """Command line that runs meshc from this checkout."""
    return [PY, "-m", "meshc", *args]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=3000, help="services in the corpus (3 documents each)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    parser.add_argument("--no-yamllint", action="store_true", help="skip yamllint (slow)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="meshc-bench-"))
    try:
        corpus = work / f"corpus-{args.services}.yaml"
        corpus.write_text(generate(args.services), encoding="utf-8")
        size_mb = corpus.stat().st_size / 1e6
        docs = 3 * args.services
        print(f"corpus: {args.services} services, {docs} documents, {size_mb:.1f} MB ({corpus})")
        rows: list[tuple[str, float, int]] = []
        base, base_mem = timed([PY, "-c", PYYAML, str(corpus)], args.repeat)
        rows.append(("PyYAML CSafeLoader load_all", base, base_mem))
        lint_t, lint_mem = timed(meshc("lint", "--no-config", "--format", "text", str(corpus)), args.repeat)
        rows.append(("meshc lint", lint_t, lint_mem))
        if not args.no_yamllint and shutil.which("yamllint"):
            yl, yl_mem = timed(["yamllint", "-d", "relaxed", str(corpus)], 1)
            rows.append(("yamllint -d relaxed", yl, yl_mem))
        small = ROOT / "examples" / "bookinfo" / "virtual-services.yaml"
        small_t, small_mem = timed(meshc("lint", "--no-config", "--format", "text", str(small)), args.repeat)
        help_t, _ = timed(meshc("--help"), args.repeat)

        print()
        print(f"{'measurement':40} {'seconds':>9} {'× PyYAML':>9} {'peak MiB':>9}")
        for name, secs, mem in rows:
            print(f"{name:40} {secs:9.3f} {secs / base:9.2f} {mem / 1024:9.0f}")
        print(f"{'meshc lint, one small file (pre-commit)':40} {small_t:9.3f} {'':>9} {small_mem / 1024:9.0f}")
        print(f"{'meshc --help (start-up)':40} {help_t:9.3f}")
        print()
        ratio = lint_t / base
        verdict = "meets" if ratio <= 1.0 else "MISSES"
        print(f"meshc lint / PyYAML load = {ratio:.2f} ({verdict} the target of <= 1.0)")
        verdict = "meets" if small_t <= 0.3 else "MISSES"
        print(f"small file: {small_t:.3f} s ({verdict} the target of <= 0.3 s)")
    finally:
        if not os.environ.get("MESHC_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
