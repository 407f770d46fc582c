"""Run meshc on hostile input: in-process with a time bound, or in a subprocess with peak memory.

The properties every run must keep (checked by `check`):

* the exit code is one the command documents (design.md §2);
* stderr never holds a traceback nor "internal error";
* an exit code 2 ends with exactly one `meshc: error: ...` line;
* machine-readable output (JSON, SARIF, JUnit, the IR and Envoy YAML) still parses, whatever
  the input strings were;
* the run ends within `IN_PROCESS_BOUND_S` of CPU time and `IN_PROCESS_WALL_S` of wall time
  (in-process, enforced by SIGPROF and SIGALRM so a real hang fails the test instead of stalling
  it), or within the subprocess timeout for bombs.
"""

from __future__ import annotations

import gc
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from meshc.cli import main
from tests.conftest import ROOT

IN_PROCESS_BOUND_S = 5.0
"""Most CPU time (user + system) an in-process run on one fuzz input (at most a few hundred KB) may take.

CPU time, not wall time: a loop that never ends burns CPU and is caught all the same, while a
busy machine (CI runners, several fuzz profiles at once) cannot fail a run that merely waited.
"""

IN_PROCESS_WALL_S = 60.0
"""Longest wall time an in-process run may take (catches a run that blocks without computing)."""

MEMORY_CONSTANT_MIB = 150
"""Peak RSS allowed on top of MEMORY_FACTOR × input size (the interpreter and meshc's imports take ~45-80 MiB)."""

MEMORY_FACTOR = 10
"""Peak RSS may grow by at most this many bytes per byte of input."""

# Exit codes each command documents (design.md §2, README): 1 means findings, failed tests,
# changed routing, or (compile --target nginx) a value nginx cannot carry safely (MC490).
EXIT_CODES: dict[str, frozenset[int]] = {
    "lint": frozenset({0, 1, 2}),
    "route": frozenset({0, 2}),
    "compile": frozenset({0, 2}),
    "compile-nginx": frozenset({0, 1, 2}),
    "test": frozenset({0, 1, 2}),
    "diff": frozenset({0, 1, 2}),
    "graph": frozenset({0, 2}),
}


class Hang(BaseException):
    """Raised by SIGPROF or SIGALRM inside a run past its bound (a BaseException, so meshc cannot catch it)."""


@dataclass
class Outcome:
    """What one run of meshc did."""

    args: list[str]
    code: int
    out: str
    err: str
    seconds: float
    peak_rss: int = 0
    """Peak resident memory in bytes (subprocess runs only)."""


# Figures for the report: inputs, exit codes and slowest run per fuzzed command.
STATS: dict[str, Counter[str]] = defaultdict(Counter)
SLOWEST: dict[str, float] = defaultdict(float)


MEASURED: list[tuple[str, str, int, float, int, int]] = []
"""(command, bomb file, input bytes, seconds, peak RSS bytes, exit code) of every measured subprocess run."""


def record(name: str, outcome: Outcome) -> None:
    """Count one input of the command `name` (shown in the terminal summary of the fuzz suite)."""
    STATS[name]["inputs"] += 1
    STATS[name][f"exit {outcome.code}"] += 1
    SLOWEST[name] = max(SLOWEST[name], outcome.seconds)


_EXPIRED: list[int] = []
"""The signal of a bound that expired during the current run (read after it, in case the raise was lost)."""


def _on_alarm(signum: int, frame: object) -> None:
    # The exception can land where Python swallows it (a weakref or __del__ callback: seen in
    # the long profile), so the expiry is also recorded, and the timer fires again soon.
    _EXPIRED.append(signum)
    which = signal.ITIMER_PROF if signum == signal.SIGPROF else signal.ITIMER_REAL
    signal.setitimer(which, 0.05)
    raise Hang(signum)


def run_in_process(args: list[str], stdin: bytes | None = None, bound: float = IN_PROCESS_BOUND_S) -> Outcome:
    """Run `meshc ARGS` in this process with stdin bytes; fail if it takes longer than `bound` seconds."""
    saved = sys.stdin, sys.stdout, sys.stderr
    out, err = io.StringIO(), io.StringIO()
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin or b""))
    sys.stdout, sys.stderr = out, err
    previous = signal.signal(signal.SIGALRM, _on_alarm), signal.signal(signal.SIGPROF, _on_alarm)
    signal.setitimer(signal.ITIMER_PROF, bound)
    signal.setitimer(signal.ITIMER_REAL, IN_PROCESS_WALL_S)
    start = time.perf_counter()
    _EXPIRED.clear()
    try:
        code = main(args)
        if _EXPIRED:
            raise Hang(_EXPIRED[0])
    except Hang as hang:
        what = f"{bound} s of CPU time" if hang.args[0] == signal.SIGPROF else f"{IN_PROCESS_WALL_S} s"
        raise AssertionError(f"`meshc {' '.join(args)}` did not finish within {what}") from None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous[0])
        signal.signal(signal.SIGPROF, previous[1])
        sys.stdin, sys.stdout, sys.stderr = saved
        # The loader freezes what it built (source.no_gc); give it back to the collector so that
        # thousands of runs in one process do not accumulate.
        gc.unfreeze()
    return Outcome(args, code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


_PROBE = """\
import os, resource, subprocess, sys, threading, time
cpu = int(sys.argv[1])
args = sys.argv[3:]
stdin = open(sys.argv[2], 'rb') if sys.argv[2] else subprocess.DEVNULL
def limit():  # the kernel stops the child with SIGXCPU past `cpu` seconds of CPU time
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
start = time.perf_counter()
proc = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit)
# Both pipes are drained at once: a command that writes a long error while its stdout is open
# would otherwise block on a full stderr pipe.
errs = []
reader = threading.Thread(target=lambda: errs.append(proc.stderr.read()))
reader.start()
out_len = 0
while True:
    chunk = proc.stdout.read(1 << 20)
    if not chunk:
        break
    out_len += len(chunk)
reader.join()
err = errs[0]
_, status, usage = os.wait4(proc.pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.stdout.write(f"{code}\\t{time.perf_counter() - start}\\t{usage.ru_maxrss * 1024}\\t{out_len}\\n")
sys.stdout.flush()
sys.stdout.buffer.write(err)
"""


def measure(args: list[str], stdin_path: Path | None = None, timeout: float = 60.0) -> Outcome:
    """Run `python -m meshc ARGS` under a probe that reports the child's own peak RSS (bytes).

    `timeout` bounds the child's CPU time (RLIMIT_CPU, so a busy machine cannot fail a run that
    only waited); its wall time may be four times that, plus a minute.
    stdout of meshc is counted, not kept (a bomb's report can be as large as the bomb);
    `Outcome.out` holds its length in characters as text.
    """
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("MESHC_DEBUG", None)
    cpu = max(1, math.ceil(timeout))
    cmd = [sys.executable, "-c", _PROBE, str(cpu), str(stdin_path or ""), sys.executable, "-m", "meshc", *args]
    wall = 4 * cpu + 60
    try:
        probe = subprocess.run(cmd, cwd=ROOT, capture_output=True, env=env, timeout=wall, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"`meshc {' '.join(args)}` did not finish within {wall} s") from None
    head, _, err = probe.stdout.partition(b"\n")
    if probe.returncode != 0 or not head:
        raise AssertionError(f"the measuring probe failed: {probe.stderr.decode(errors='replace')}")
    code, seconds, rss, out_len = head.decode().split("\t")
    if int(code) == -signal.SIGXCPU:
        raise AssertionError(f"`meshc {' '.join(args)}` did not finish within {cpu} s of CPU time")
    return Outcome(args, int(code), out_len, err.decode(errors="replace"), float(seconds), int(rss))


def check(kind: str, outcome: Outcome, output: str | None = None) -> None:
    """Assert the properties of the module docstring for one run of command `kind` (a key of EXIT_CODES).

    `output` names the format of stdout to parse on success: json, xml or yaml.
    """
    where = f"`meshc {' '.join(a if len(a) < 200 else a[:200] + '…' for a in outcome.args)}`"
    assert outcome.code in EXIT_CODES[kind], f"{where} exited {outcome.code}\n{outcome.err[-2000:]}"
    assert "Traceback" not in outcome.err, f"{where} printed a traceback\n{outcome.err[-4000:]}"
    assert "internal error" not in outcome.err, f"{where}: {outcome.err[-2000:]}"
    if outcome.code == 2:
        last = outcome.err.rstrip("\n").rsplit("\n", 1)[-1]
        assert last.startswith("meshc: error: "), f"{where} exited 2 without a one-line error: {outcome.err[-2000:]}"
        assert outcome.err.endswith("\n"), where
        return
    if output is None or outcome.code not in (0, 1):
        return
    try:
        if output == "json":
            json.loads(outcome.out)
        elif output == "xml":
            ET.fromstring(outcome.out)
        elif output == "yaml":
            yaml.load(outcome.out, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception as exc:
        raise AssertionError(f"{where}: stdout is not valid {output}: {exc}\n{outcome.out[:2000]}") from None


def rss_bound(input_bytes: int) -> int:
    """Largest peak RSS (bytes) allowed for a run on an input of `input_bytes` bytes."""
    return MEMORY_FACTOR * input_bytes + MEMORY_CONSTANT_MIB * 1024 * 1024
