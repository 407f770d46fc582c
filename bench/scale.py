"""How every command grows with the size of the configuration: time, peak memory, fitted exponent.

Usage: python -m bench.scale [--sizes 1000,3000,10000] [--repeat 2] [--markdown FILE]

For each size N, `bench.generate` writes a corpus of N services (a Service, a DestinationRule and a
VirtualService each, in 10 namespaces) and a copy with 1% of its resources changed (every 33rd
VirtualService splits 80/20 instead of 90/10). Each command runs as its own process (start-up
included), best wall time of `--repeat` runs, with its own peak RSS. A corpus of 10 services gives
each command's fixed cost (start-up and imports), which is subtracted before fitting
time = c · N^k through the sizes (least squares on the logarithms); k is reported with and
without that subtraction.

Targets (issue 8): every command linear (k ≈ 1), `meshc route` ≤ 1.2 × `meshc lint` on the same
corpus, peak memory ≤ 10 × the input size, `meshc --help` ≤ 0.2 s of imports.

A second table (`--rule-sizes`, issue 20 point 6) takes ONE VirtualService of N rules, each matching
one value of a header (`x-user: {exact: uN}`), the shape that made the shadowing analysis and
`meshc diff` quadratic: `lint --select MC202,MC203,MC204`, `diff` against a copy with one rule
changed, and `route` (text) of a 100 KB path against N rules matching exact paths (its output size
too). It reports CPU seconds of the command's process (user + system: stable on a shared machine,
where wall time is not) and the exponent fitted to them with the 10-rule run subtracted.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.generate import generate
from bench.run import PY, ROOT, meshc, timed

CHANGED_EVERY = 33
"""Every 33rd VirtualService changes: 1/33 of the VirtualServices, 1.0% of all resources."""

# name: arguments; {c} is the corpus, {d} the changed corpus.
COMMANDS: dict[str, list[str]] = {
    "lint": ["lint", "--no-config", "--format", "text", "{c}"],
    "route": ["route", "--no-config", "--host", "svc1.ns1", "--header", "end-user=user1", "{c}"],
    "compile ir": ["compile", "--no-config", "--target", "ir", "{c}"],
    "compile envoy": ["compile", "--no-config", "--target", "envoy", "{c}"],
    "compile nginx": ["compile", "--no-config", "--target", "nginx", "{c}"],
    "diff (1%)": ["diff", "--no-config", "{c}", "{d}"],
    "graph": ["graph", "--no-config", "{c}"],
}


RULE_COMMANDS: dict[str, list[str]] = {
    "lint MC202-MC204": ["lint", "--no-config", "--select", "MC202,MC203,MC204", "{c}"],
    "diff (1 rule changed)": ["diff", "--no-config", "{c}", "{d}"],
    "route, 100 KB path (text)": ["route", "--no-config", "--host", "r", "--path", "{p}", "{e}"],
}


def rules_corpus(n: int, *, changed: int | None = None, paths: bool = False) -> str:
    """One Service and one VirtualService of `n` rules: header-exact (or, with `paths`, uri-exact) matches.

    Nine YAML nodes a rule, so that 10,000 rules stay under the loader's 100,000 nodes a document
    (`source.MAX_ALIAS_NODES`); the changed copy routes rule `changed` to subset `b`.
    """
    import json

    routes = [
        {
            "match": [{"uri": {"exact": f"/p{i}"}} if paths else {"headers": {"x-user": {"exact": f"u{i}"}}}],
            "route": [{"destination": {"host": "r", "subset": "b"} if i == changed else {"host": "r"}}],
        }
        for i in range(n)
    ]
    docs = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "r"}, "spec": {"ports": [{"port": 80}]}},
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "r", "namespace": "default"},
            "spec": {"hosts": ["r"], "http": routes},
        },
    ]
    return "\n---\n".join(json.dumps(d) for d in docs) + "\n"


# Runs one command as its only child: its CPU seconds (user + system), wall seconds and stdout bytes.
_CPU_PROBE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
    "t = time.perf_counter() - t\n"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(p.returncode, r.ru_utime + r.ru_stime, t, len(p.stdout), sep='\\t')\n"
)


def cpu_timed(cmd: list[str], repeat: int) -> tuple[float, float, int]:
    """Best CPU seconds and best wall seconds of `repeat` runs, and the bytes the command printed."""
    best_cpu = best_wall = float("inf")
    size = 0
    for _ in range(repeat):
        probe = subprocess.run([PY, "-c", _CPU_PROBE, *cmd], capture_output=True, text=True, cwd=ROOT, check=True)
        code, cpu, wall, out = probe.stdout.split("\t")
        if int(code) not in (0, 1):
            raise SystemExit(f"command failed ({code}): {' '.join(cmd)}")
        best_cpu, best_wall, size = min(best_cpu, float(cpu)), min(best_wall, float(wall)), int(out)
    return best_cpu, best_wall, size


def rule_scale(sizes: list[int], repeat: int, work: Path, out: Any) -> None:
    """The table of one VirtualService with N rules (see the module docstring)."""
    files: dict[int, dict[str, str]] = {}
    long_path = "/" + "a" * 100_000
    for n in [10, *sizes]:
        c, d, e = work / f"rules-{n}.yaml", work / f"rules-{n}-changed.yaml", work / f"paths-{n}.yaml"
        c.write_text(rules_corpus(n), encoding="utf-8")
        d.write_text(rules_corpus(n, changed=n // 2), encoding="utf-8")
        e.write_text(rules_corpus(n, paths=True), encoding="utf-8")
        files[n] = {"{c}": str(c), "{d}": str(d), "{e}": str(e), "{p}": long_path}
    out(
        "| one VirtualService, N rules | "
        + " | ".join(f"{n:,} rules" for n in sizes)
        + " | exponent (CPU, start-up removed) |"
    )
    out("|---|" + "---|" * len(sizes) + "---|")
    for name, template in RULE_COMMANDS.items():
        got: dict[int, tuple[float, float, int]] = {}
        for n in [10, *sizes]:
            cmd = meshc(*[files[n].get(a, a) for a in template])
            got[n] = cpu_timed(cmd, repeat)
            print(f"  {name:26} {n:>6} rules: {got[n][0]:7.2f} s CPU {got[n][1]:7.2f} s wall", file=sys.stderr)
        t0 = got[10][0]
        k = fit_exponent(sizes, [max(got[n][0] - t0, 1e-3) for n in sizes])
        cells = []
        for n in sizes:
            cell = f"{got[n][0]:.2f} s"
            if name.startswith("route"):
                cell += f", {got[n][2] / 1e3:,.0f} KB out"
            cells.append(cell)
        out(f"| {name} | {' | '.join(cells)} | {k:.2f} |")
    out()


def fit_exponent(sizes: list[int], times: list[float]) -> float:
    """Slope of log(time) against log(size), by least squares."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(max(t, 1e-6)) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def import_time() -> tuple[float, float]:
    """(seconds importing meshc.cli, per `python -X importtime`; best wall seconds of `meshc --help`)."""
    best_imports = float("inf")
    for _ in range(5):
        proc = subprocess.run(
            [PY, "-X", "importtime", "-m", "meshc", "--help"], capture_output=True, text=True, cwd=ROOT, check=True
        )
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| meshc\.cli$", line)
            if m:
                best_imports = min(best_imports, int(m.group(1)) / 1e6)
    wall, _ = timed(meshc("--help"), 5)
    return best_imports, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,3000,10000", help="services per corpus, comma-separated")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement; the best is kept")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown to this file")
    parser.add_argument(
        "--rule-sizes", default="1000,3000,9000", help="rules in the one-VirtualService table ('' to skip it)"
    )
    parser.add_argument("--only-rules", action="store_true", help="run only the one-VirtualService table")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rule_sizes = [int(s) for s in args.rule_sizes.split(",") if s]

    work = Path(tempfile.mkdtemp(prefix="meshc-scale-"))
    lines: list[str] = []

    def out(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    try:
        if not args.only_rules:
            corpora: dict[int, tuple[Path, Path]] = {}
            for n in [10, *sizes]:
                c, d = work / f"corpus-{n}.yaml", work / f"changed-{n}.yaml"
                c.write_text(generate(n), encoding="utf-8")
                d.write_text(generate(n, changed_every=CHANGED_EVERY), encoding="utf-8")
                corpora[n] = (c, d)
            load = os.getloadavg()
            out(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
            out(f"python: {sys.version.split()[0]}; best of {args.repeat} runs; each command in its own process")
            out()
            results: dict[str, dict[int, tuple[float, int]]] = {}
            for name, template in COMMANDS.items():
                results[name] = {}
                for n in [10, *sizes]:
                    c, d = corpora[n]
                    cmd = meshc(*[a.replace("{c}", str(c)).replace("{d}", str(d)) for a in template])
                    results[name][n] = timed(cmd, args.repeat if n != 10 else max(args.repeat, 3))
                    secs, rss = results[name][n]
                    line = f"  {name:14} {n:>6} services: {secs:7.2f} s {rss / 1024:7.0f} MiB"
                    print(line, file=sys.stderr, flush=True)

            size_mb = {n: corpora[n][0].stat().st_size / 1e6 for n in sizes}
            out(
                "| command | "
                + " | ".join(f"{n:,} services ({size_mb[n]:.1f} MB)" for n in sizes)
                + " | exponent | exponent, start-up removed |"
            )
            out("|---|" + "---|" * len(sizes) + "---|---|")
            for name, by_size in results.items():
                t0 = by_size[10][0]
                times = [by_size[n][0] for n in sizes]
                raw = fit_exponent(sizes, times)
                net = fit_exponent(sizes, [t - t0 for t in times])
                cells = " | ".join(f"{by_size[n][0]:.2f} s" for n in sizes)
                out(f"| {name} | {cells} | {raw:.2f} | {net:.2f} |")
            out()
            out("Peak memory (RSS of the command's own process): MiB, its ratio to the input size, and the ratio to")
            out("the input of what it adds over the 10-service run (the interpreter and imports):")
            out()
            out("| command | " + " | ".join(f"{n:,} services" for n in sizes) + " |")
            out("|---|" + "---|" * len(sizes))
            for name, by_size in results.items():
                factor = 2 if name.startswith("diff") else 1  # diff reads two corpora
                base = by_size[10][1]
                cells = " | ".join(
                    f"{by_size[n][1] / 1024:.0f} MiB ({by_size[n][1] * 1024 / (factor * size_mb[n] * 1e6):.0f}×, "
                    f"+{(by_size[n][1] - base) * 1024 / (factor * size_mb[n] * 1e6):.0f}×)"
                    for n in sizes
                )
                out(f"| {name} | {cells} |")
            out()
            ratios = ", ".join(f"{results['route'][n][0] / results['lint'][n][0]:.2f} at {n:,}" for n in sizes)
            out(f"route / lint time: {ratios} (target ≤ 1.2)")
            imports, wall = import_time()
            out(f"meshc --help: importing meshc.cli takes {imports * 1000:.0f} ms (python -X importtime); ")
            out(f"the whole `python -m meshc --help` process {wall * 1000:.0f} ms (target ≤ 200 ms of imports)")
        if rule_sizes:
            load = os.getloadavg()
            out(f"one VirtualService of N rules: load average {load[0]:.2f} at start; best of {args.repeat} runs")
            out()
            rule_scale(rule_sizes, args.repeat, work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
