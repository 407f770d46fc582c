"""The bench keeps working: a smoke run of `bench.run` on a tiny corpus (no timing asserted)."""

from __future__ import annotations

import re

import pytest

from bench.generate import generate
from bench.run import main


def test_generate_findings_share() -> None:
    """Proves: `--findings` gives that share of documents an MC212 finding, spread over the corpus."""
    text = generate(12, findings=1 / 6)
    assert text.count("perTryTimeout: 2s") == 6
    assert text.count("perTryTimeout: 1s") == 6
    assert generate(12, findings=1 / 3).count("perTryTimeout: 2s") == 12
    assert "perTryTimeout: 2s" not in generate(12)
    with pytest.raises(ValueError):
        generate(3, findings=0.5)


def test_bench_run_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    """Proves: one bench run measures every row of issue 18's table and prints each ratio as a number."""
    assert main(["--services", "3", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for row in (
        "meshc lint --format json / PyYAML C load_all",
        "meshc compile --target envoy / meshc lint",
        "meshc lint, one small file / yamllint",
        "peak memory: meshc lint --format json / PyYAML C load_all",
        "peak memory: meshc compile --target envoy / PyYAML C load_all",
    ):
        assert re.search(re.escape(row) + r"\s+\d+\.\d\d\s", out), (row, out)
    assert "load average at start" in out
