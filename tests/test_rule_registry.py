"""The rule registry: its table says what the rules say, and a rule module a lint does not import could not have fired.

`meshc.rules` declares every rule (code, name, severity, inputs) and, per module, the kinds of
resources its findings are about; a lint imports a module only when its input holds one of those
kinds (`meshc.rules.base.Deferred`). These tests prove the table right: every rule function is in
it as its decorator says, and on every input the suite has (each rule case, each example, each
corpus directory and file, each routing case), a module whose kinds are absent finds nothing
when its rules are run anyway.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from meshc.config import Options
from meshc.lint import read
from meshc.mesh import Mesh
from meshc.rules import READS, RULES
from meshc.rules.base import _CHECKS, Deferred, input_kinds
from tests.lint_probe import lint_then

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def test_every_rule_function_is_in_the_table_as_its_decorator_says() -> None:
    """Proves: importing every rule module binds each declared code (a decorator that disagrees raises)."""
    for module in READS:
        importlib.import_module(module)
    declared = {code for code, r in RULES.items() if isinstance(r.check, Deferred)}
    assert declared == set(_CHECKS), f"declared but never bound: {sorted(declared - set(_CHECKS))}"
    for code in declared:
        assert _CHECKS[code].__module__ == RULES[code].module


def _inputs() -> Iterator[tuple[str, list[str], bytes | None]]:
    """(label, paths, stdin) of every input the suite lints: rule cases, examples, routing cases, the corpus."""
    for path in sorted((ROOT / "tests" / "rules").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            yield f"{path.stem}/{case['name']}", ["-"], case["input"].encode("utf-8")
    for top in (ROOT / "examples", ROOT / "tests" / "cases", CORPUS):
        for directory in sorted({p.parent for p in top.rglob("*.yaml")}):
            yield str(directory.relative_to(top.parent)), [str(directory)], None
            for file in sorted(directory.glob("*.yaml")):
                yield str(file.relative_to(top.parent)), [str(file)], None


def test_a_module_not_imported_could_not_have_fired() -> None:
    """Proves: on every input, each rule of a module whose kinds the input lacks finds nothing when run anyway."""
    assert CORPUS.is_dir(), f"the shared corpus is missing at {CORPUS}"
    lazy = [r for r in RULES.values() if isinstance(r.check, Deferred) and r.check.reads is not None]
    assert lazy
    options = Options().with_flags(complete_registry=True)
    absent_runs = 0
    for label, paths, stdin in _inputs():
        mesh = Mesh(read(paths, options, stdin=stdin).indexed(), options, defaults=True)
        kinds = input_kinds(mesh)
        for r in lazy:
            assert isinstance(r.check, Deferred) and r.check.reads is not None
            if r.check.reads.isdisjoint(kinds):
                absent_runs += 1
                found = list(r.check.function(mesh))
                assert not found, f"{r.code} fired on {label} although it has none of {sorted(r.check.reads)}"
    assert absent_runs > 1000  # the proof ran on many inputs, not on none


def test_a_lint_of_one_virtual_service_imports_what_it_needs(tmp_path: Path) -> None:
    """Proves: linting one VirtualService imports no other command, backend, renderer or unneeded rule module.

    A guard for the start-up time of the pre-commit case (issue 18): each module below is imported
    only by the commands or inputs that need it.
    """
    small = tmp_path / "vs.yaml"
    small.write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a, namespace: ns}\n"
        "spec:\n  hosts: [a]\n  http:\n  - route:\n    - destination: {host: a}\n",
        encoding="utf-8",
    )
    _code, found, _run = lint_then(small, "sorted(sys.modules)")
    modules = set(found)
    assert "meshc.rules.routing" in modules  # the probe did lint
    unwanted = {
        *(m for m, reads in READS.items() if reads is not None),
        "meshc.models.gatewayapi",
        "meshc.models.traffic",
        "meshc.models.workloads",
        "meshc.models.security",
        "meshc.models.extensions",
        "meshc.ir",  # the shadowing analysis needs only meshc.matching (about 45 ms of imports)
        "meshc.models.kube",  # only the default ingress gateway, built when an index holding it is read
        "meshc.resolve",  # imported by the rules that resolve hosts, DestinationRules or gateways, when they do
        "meshc.delegation",  # only MC230, when a VirtualService rule delegates
        "meshc.compile",
        "meshc.backends",
        "meshc.route",
        "meshc.simulate",
        "meshc.diff",
        "meshc.graph",
        "meshc.schema",
        "meshc.build",
        "meshc.output",
        "meshc.conversion",
        "meshc.completion",
        "rich",
        "ruamel",
        "jsonschema",
        "yaml",
        "tomllib",
        "tomli",
    }
    assert sorted(unwanted & modules) == []


@pytest.mark.parametrize("module", sorted(m for m, reads in READS.items() if reads is not None))
def test_lazy_modules_declare_kinds_meshc_reads(module: str) -> None:
    """Proves: each lazy module's kinds are kinds meshc reads (a typo would make the module never run)."""
    from meshc.models import KINDS

    known = {kind for _, kind in KINDS}
    reads = READS[module]
    assert reads is not None and reads <= known, sorted(reads - known)


@pytest.mark.parametrize("name", ["lint", "route", "compile", "rule", "test"])
def test_one_command_tree_says_what_the_whole_tree_says(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Proves: the click tree of one command (what a run of it builds) has the same help and usage errors."""
    from meshc import cli

    assert list(cli.command(name).commands) == [name]
    outputs = []
    for tree in (cli.command(None), cli.command(name)):
        for args in (["--help"], ["--no-such-flag"]):
            try:
                tree.main(args=[name, *args], prog_name="meshc", standalone_mode=False)
            except Exception as exc:  # a usage error: its message is what the user sees
                outputs.append(f"{type(exc).__name__}: {exc}")
            outputs.append(capsys.readouterr().out)
    half = len(outputs) // 2
    assert outputs[:half] == outputs[half:]
    assert "Usage: meshc" in outputs[0] and "no-such-flag" in outputs[half - 2]
