"""Every command on YAML bombs: refused or handled, never a hang, never a traceback, memory bounded.

Quick profile: each command runs in-process on each bomb at its quick size (time bound:
harness.IN_PROCESS_BOUND_S each), and `meshc lint` runs in a subprocess on each, with its peak RSS
checked against harness.rss_bound (10 × the input size + 150 MiB).
Long profile (`-m slow`): every command in a subprocess on every bomb at its long size (100 MB
scalars, keys, comments and block scalars; a million nesting levels or documents), each within
BOMB_TIMEOUT_S + 1 s per MB of input of CPU time (RLIMIT_CPU; wall time up to four times that),
each with its peak RSS checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.fuzz.bombs import BOMBS, MB, Bomb
from tests.fuzz.harness import MEASURED, check, measure, record, rss_bound, run_in_process

BOMB_TIMEOUT_S = 60
BOOKINFO = str(EXAMPLES / "bookinfo")
TEST_FILE = "tests:\n- name: r\n  request: {host: r, port: 80}\n  expect: {action: route}\n"

# (name, kind of exit codes, output format, arguments with {} for the bomb's path)
COMMANDS = [
    ("lint", "lint", "json", ["lint", "--no-config", "-f", "json", "{}"]),
    ("route", "route", "json", ["route", "--no-config", "-f", "json", "--host", "r", "--port", "80", "{}"]),
    ("compile ir", "compile", None, ["compile", "--no-config", "-t", "ir", "{}"]),
    ("compile envoy", "compile", None, ["compile", "--no-config", "-t", "envoy", "{}"]),
    ("compile nginx", "compile-nginx", None, ["compile", "--no-config", "-t", "nginx", "{}"]),
    ("graph", "graph", None, ["graph", "--no-config", "{}"]),
    ("diff", "diff", "json", ["diff", "--no-config", "-f", "json", BOOKINFO, "{}"]),
    ("test --config", "test", "json", ["test", "{tests}", "--config", "{}", "-f", "json"]),
    ("test", "test", "json", ["test", "{}", "--config", BOOKINFO, "-f", "json"]),
]


@pytest.fixture(scope="session")
def bomb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bombs")
    (folder / "tests.yaml").write_text(TEST_FILE)
    return folder


def _args(template: list[str], bomb: Path) -> list[str]:
    return [a.replace("{tests}", str(bomb.parent / "tests.yaml")).replace("{}", str(bomb)) for a in template]


@pytest.mark.parametrize("bomb", BOMBS, ids=lambda b: b.name)
@pytest.mark.parametrize(("name", "kind", "output", "template"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_in_process(
    bomb: Bomb, name: str, kind: str, output: str | None, template: list[str], bomb_folder: Path
) -> None:
    path = bomb.write(bomb_folder, "quick")
    outcome = run_in_process(_args(template, path))
    record(f"bombs: {name}", outcome)
    check(kind, outcome, output)


@pytest.mark.parametrize("bomb", BOMBS, ids=lambda b: b.name)
def test_lint_memory(bomb: Bomb, bomb_folder: Path) -> None:
    path = bomb.write(bomb_folder, "quick")
    _measured("lint", "lint", COMMANDS[0][3], path)


@pytest.mark.slow
@pytest.mark.parametrize("bomb", BOMBS, ids=lambda b: b.name)
@pytest.mark.parametrize(("name", "kind", "output", "template"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_long(bomb: Bomb, name: str, kind: str, output: str | None, template: list[str], bomb_folder: Path) -> None:
    path = bomb.write(bomb_folder, "long")
    _measured(name, kind, template, path)


# Inputs whose every few bytes make a large object, so that memory follows that count, not the
# input's size (measured figures in bench/README.md): 200,000 unknown fields (a diagnostic each,
# ~3 KB) and a VirtualService with 200,000 hosts (a virtual host each in every compiled proxy,
# ~10 KB). The commands must still finish without a traceback; exceeding the memory bound is
# recorded as an expected failure instead of hidden by a smaller bomb.
AMPLIFYING = {
    "wide": {"lint", "route", "compile ir", "compile envoy", "compile nginx", "graph", "diff", "test --config"},
    "hosts": {"compile ir", "compile envoy", "compile nginx", "graph", "diff", "route", "test --config"},
}


def _measured(name: str, kind: str, template: list[str], path: Path) -> None:
    size = path.stat().st_size
    timeout = BOMB_TIMEOUT_S + size / MB
    outcome = measure(_args(template, path), timeout=timeout)
    record(f"bombs: {name}", outcome)
    MEASURED.append((name, path.name, size, outcome.seconds, outcome.peak_rss, outcome.code))
    check(kind, outcome)
    bomb = path.name.rsplit("-", 1)[0]
    if outcome.peak_rss > rss_bound(size) and name in AMPLIFYING.get(bomb, ()):
        pytest.xfail(f"{bomb}: memory follows the objects the input makes, {outcome.peak_rss / MB:.0f} MB")
    assert outcome.peak_rss <= rss_bound(size), (
        f"`meshc {name}` on {path.name} ({size / MB:.1f} MB) peaked at {outcome.peak_rss / MB:.0f} MB "
        f"(bound {rss_bound(size) / MB:.0f} MB)"
    )


def test_the_cpu_bound_of_a_measured_run_is_real(tmp_path: Path) -> None:
    """A run past its CPU-time bound is stopped by the kernel (RLIMIT_CPU) and fails the test."""
    from bench.generate import generate

    path = tmp_path / "corpus.yaml"
    path.write_text(generate(10_000), encoding="utf-8")  # a lint of about 4 s of CPU
    with pytest.raises(AssertionError, match=r"did not finish within 1 s of CPU time"):
        measure(["lint", "--no-config", str(path)], timeout=1)
