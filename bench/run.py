"""Measure every row of issue 18's table in one run (median of paired runs) and print the ratios.

Usage: python -m bench.run [--services 3000] [--repeat 5] [--findings 0.333]

Every measurement is a separate process (interpreter start-up included), timed by wall clock,
with its own peak RSS. Each round runs every command once, side by side with its baseline on the
same file; each ratio is the median over the rounds of the ratio within a round, so the ratios
hold on any machine even when the absolute times do not.
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
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "err = p.stderr.decode(errors='replace').strip().splitlines()\n"
    "print(p.returncode, t, u.ru_maxrss, u.ru_utime + u.ru_stime, (err[-1] if err else ''), sep='\\t')\n"
)


def probe(cmd: Sequence[str]) -> tuple[float, int, float]:
    """One run of cmd: its wall time, its peak RSS in KiB and its CPU seconds (user + system)."""
    out = subprocess.run([PY, "-c", _PROBE, *cmd], capture_output=True, text=True, cwd=ROOT, check=True)
    code, secs, rss, cpu, last = out.stdout.rstrip("\n").split("\t", 4)
    if int(code) not in (0, 1):
        raise SystemExit(f"command failed ({code}): {' '.join(cmd)}\n{last}")
    return float(secs), int(rss), float(cpu)


def timed(cmd: Sequence[str], repeat: int) -> tuple[float, int]:
    """Best wall time of `repeat` runs of cmd, and its peak RSS in KiB."""
    runs = [probe(cmd) for _ in range(repeat)]
    return min(t for t, _, _ in runs), max(m for _, m, _ in runs)


def meshc(*args: str) -> list[str]:
    """Command line that runs meshc from this checkout."""
    return [PY, "-m", "meshc", *args]


# One time row of issue 18's table: a command, its baseline on the same input, the goal for the
# ratio of their times. The memory rows compare lint and compile with the PyYAML load.
Row = tuple[str, list[str], str, list[str], float]


def rows(corpus: Path, small: Path) -> list[Row]:
    """The measured pairs: every row of issue 18's table, on the corpus and on one small file."""
    big = str(corpus)
    yamllint = shutil.which("yamllint") or "yamllint"
    return [
        (
            "meshc lint --format json",
            meshc("lint", "--no-config", "--format", "json", big),
            "PyYAML C load_all",
            [PY, "-c", PYYAML, big],
            1.0,
        ),
        (
            "meshc compile --target envoy",
            meshc("compile", "--no-config", "--target", "envoy", big),
            "meshc lint",
            meshc("lint", "--no-config", big),
            1.5,
        ),
        (
            "meshc lint, one small file",
            meshc("lint", "--no-config", str(small)),
            "yamllint",
            [yamllint, "-d", "relaxed", str(small)],
            2.0,
        ),
    ]


def median(values: Sequence[float]) -> float:
    """The median of values (the mean of the middle two when there is an even number)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def measure(corpus: Path, small: Path, repeat: int) -> list[str]:
    """Run every pair `repeat` times, interleaved, and return the table's lines (medians of the paired ratios)."""
    table = rows(corpus, small)
    runs: dict[str, list[tuple[float, int, float]]] = {}
    pairs: list[tuple[str, list[str]]] = []
    for name, cmd, base_name, base, _ in table:
        pairs += [(name, cmd), (base_name, base)]
    for _ in range(repeat):
        # One round runs each distinct command once, in order, so the ratios below pair runs made
        # side by side (a load that comes and goes touches both halves of a pair alike).
        for name, cmd in dict(pairs).items():
            runs.setdefault(name, []).append(probe(cmd))
    out = [f"{'measure (medians)':64} {'seconds':>9} {'peak MiB':>9} {'CPU s':>9}"]
    for name, samples in runs.items():
        secs = median([t for t, _, _ in samples])
        mem = median([m for _, m, _ in samples]) / 1024
        cpu = median([c for _, _, c in samples])
        out.append(f"{name:64} {secs:9.3f} {mem:9.0f} {cpu:9.3f}")
    out.append("")
    out.append(f"{'ratio (median of paired runs; CPU: the same of CPU seconds)':64} {'wall':>9} {'goal':>9}")

    def ratio_line(label: str, values: list[float], goal: float, cpu: list[float] | None = None) -> str:
        value = median(values)
        verdict = "meets" if value <= goal else "MISSES"
        cpu_text = f" (CPU {median(cpu):.2f})" if cpu else ""
        return f"{label:64} {value:9.2f} {f'<= {goal:g}':>9} {verdict}{cpu_text}"

    pyyaml = runs["PyYAML C load_all"]
    for name, _, base_name, _, t_goal in table:
        mine, theirs = runs[name], runs[base_name]
        times = [a[0] / b[0] for a, b in zip(mine, theirs, strict=True)]
        cpu = [a[2] / b[2] for a, b in zip(mine, theirs, strict=True)]
        out.append(ratio_line(f"{name} / {base_name}", times, t_goal, cpu))
    for name, goal in (("meshc lint --format json", 2.0), ("meshc compile --target envoy", 3.0)):
        mem = [a[1] / b[1] for a, b in zip(runs[name], pyyaml, strict=True)]
        out.append(ratio_line(f"peak memory: {name} / PyYAML C load_all", mem, goal))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=3000, help="services in the corpus (3 documents each)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of paired runs; the median is kept")
    parser.add_argument(
        "--findings",
        type=float,
        default=1 / 3,
        help="share of documents with a real finding (MC212); default 1/3: every VirtualService",
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="measure the meshc of this checkout instead (e.g. an older commit unpacked by git archive)",
    )
    args = parser.parse_args(argv)
    if args.root:
        global ROOT
        ROOT = args.root.resolve()

    # An installed meshc has its bytecode compiled (pip does it); with PYTHONDONTWRITEBYTECODE set,
    # a checkout would compile every module again in every run, which is not what users run.
    # -f: compileall trusts a .pyc whose recorded mtime matches, but Python also checks the size; a
    # file rewritten within the same second keeps a .pyc Python rejects, and then every run compiles it.
    subprocess.run([PY, "-m", "compileall", "-f", "-q", str(ROOT / "meshc")], check=True)
    work = Path(tempfile.mkdtemp(prefix="meshc-bench-"))
    try:
        corpus = work / f"corpus-{args.services}.yaml"
        corpus.write_text(generate(args.services, findings=args.findings), encoding="utf-8")
        small = work / "small.yaml"
        # One small VirtualService file (the pre-commit case): one service's VirtualService.
        small.write_text(generate(1, findings=1 / 3).split("---\n")[2], encoding="utf-8")
        size_mb = corpus.stat().st_size / 1e6
        load = os.getloadavg()
        print(
            f"corpus: {args.services} services, {3 * args.services} documents, {size_mb:.1f} MB, "
            f"findings in {args.findings:.0%} of the documents ({corpus})"
        )
        print(f"meshc from {ROOT}")
        print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.repeat} rounds")
        print()
        for line in measure(corpus, small, args.repeat):
            print(line)
        end = os.getloadavg()
        print(f"\nload average at end: {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}")
    finally:
        if not os.environ.get("MESHC_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
