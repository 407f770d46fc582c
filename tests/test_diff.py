"""`meshc diff`: exactly the requests that change destination, structural and policy changes, lint delta.

The bookinfo walk-through lives in tests/diff/bookinfo-N-*/input.yaml (one step each); the goldens
`diff.txt`, `diff.json` and `diff.md` of a step hold `meshc diff <previous step> <step>`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from meshc import ir
from meshc.cli import main
from meshc.config import Options
from meshc.diff import DiffResult, compare_paths, to_markdown
from meshc.witness import regex_example, witness

from .conftest import EXAMPLES, ROOT

DIFF = ROOT / "tests" / "diff"
STEPS = sorted(p.name for p in DIFF.iterdir() if p.name.startswith("bookinfo-") and p.is_dir())
REVIEWS = "reviews.default.svc.cluster.local:9080"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _requests(result: DiffResult) -> set[tuple[str, str, str, str, str]]:
    return {(s.context, s.subject, r.description, r.old_text, r.new_text) for s in result.sections for r in s.requests}


def _changes(result: DiffResult) -> set[tuple[str, str, str, str]]:
    return {(s.subject, c.kind, c.change, c.text) for s in result.sections for c in s.changes}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the walk-through -------------------------------------------------------------------------------

EXPECTED_REQUESTS = {
    "bookinfo-2-jason-v2": {
        ("mesh", REVIEWS, 'header end-user exact "jason"', "subset v1", "subset v2"),
    },
    "bookinfo-3-v1-v3-split": {
        ("mesh", REVIEWS, 'header end-user exact "jason"', "subset v2", "subset v1 50%, subset v3 50%"),
        ("mesh", REVIEWS, "requests no other rule matches", "subset v1", "subset v1 50%, subset v3 50%"),
    },
    "bookinfo-4-all-v3": {
        ("mesh", REVIEWS, "all requests", "subset v1 50%, subset v3 50%", "subset v3"),
    },
}

EXPECTED_CHANGES = {
    "bookinfo-2-jason-v2": {("rule", "added")},
    "bookinfo-3-v1-v3-split": {("rule", "removed"), ("weights", "changed")},
    "bookinfo-4-all-v3": {("weights", "changed")},
}


def test_walk_through_has_four_steps_each_proving_something() -> None:
    assert STEPS == ["bookinfo-1-all-v1", "bookinfo-2-jason-v2", "bookinfo-3-v1-v3-split", "bookinfo-4-all-v3"]
    for step in STEPS:
        first = (DIFF / step / "input.yaml").read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# Proves: "), step


@pytest.mark.parametrize("step", STEPS[1:])
def test_walk_through_names_exactly_the_requests_that_change(step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    previous = STEPS[STEPS.index(step) - 1]
    result = compare_paths([f"tests/diff/{previous}"], [f"tests/diff/{step}"], Options())
    assert _requests(result) == EXPECTED_REQUESTS[step]
    # Nothing else: only the reviews route table changed (ratings was reordered and reformatted).
    assert [(s.context, s.subject) for s in result.sections] == [("mesh", REVIEWS)]
    assert {(c.kind, c.change) for s in result.sections for c in s.changes} == EXPECTED_CHANGES[step]
    assert len(result.sections[0].changes) == len(EXPECTED_CHANGES[step])
    assert result.changed
    assert not result.introduced and not result.resolved
    assert not result.notes


@pytest.mark.parametrize("step", STEPS[1:])
@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_walk_through_goldens(
    step: str, fmt: str, golden, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    previous = STEPS[STEPS.index(step) - 1]
    code, out, err = _run(["diff", f"tests/diff/{previous}", f"tests/diff/{step}", "--format", fmt], capsys)
    assert code == 1, err
    assert err == ""
    ext = {"text": "txt", "json": "json", "markdown": "md"}[fmt]
    golden.check(DIFF / step / f"diff.{ext}", out)


def test_reverse_walk_names_the_same_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = compare_paths(["tests/diff/bookinfo-2-jason-v2"], ["tests/diff/bookinfo-1-all-v1"], Options())
    assert _requests(result) == {("mesh", REVIEWS, 'header end-user exact "jason"', "subset v2", "subset v1")}
    assert {(c.kind, c.change) for s in result.sections for c in s.changes} == {("rule", "removed")}


# --- nothing changed -----------------------------------------------------------------------------------


def _shuffled_copy(src: Path, dest: Path, seed: int) -> None:
    """Same resources: other files and folders, other document and key order, comments, flow style."""
    docs = []
    for f in sorted(src.rglob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(f.read_text(encoding="utf-8")) if d)
    rng = random.Random(seed)
    rng.shuffle(docs)

    def shuffle(o: object) -> object:
        if isinstance(o, dict):
            items = list(o.items())
            rng.shuffle(items)
            return {k: shuffle(v) for k, v in items}
        if isinstance(o, list):
            return [shuffle(v) for v in o]
        return o

    docs = [shuffle(d) for d in docs]
    half = len(docs) // 2
    _write(dest / "moved" / "first.yaml", "# a comment that changes nothing\n" + yaml.safe_dump_all(docs[:half]))
    _write(dest / "other.yml", yaml.safe_dump_all(docs[half:], default_flow_style=True))


@pytest.mark.parametrize("seed", [1, 2])
def test_unchanged_routing_reports_nothing(
    seed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    _shuffled_copy(EXAMPLES / "bookinfo", tmp_path / "copy", seed)
    for fmt in ("text", "json", "markdown"):
        code, out, err = _run(["diff", "examples/bookinfo", str(tmp_path / "copy"), "--format", fmt], capsys)
        assert code == 0, out + err
        if fmt == "json":
            data = json.loads(out)
            assert data["changed"] is False
            assert data["hosts"] == []
            assert data["lint"] == {"introduced": [], "resolved": []}
        else:
            assert "No routing changes." in out


def test_same_folder_is_unchanged(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = _run(["diff", "examples/bookinfo", "examples/bookinfo"], capsys)
    assert code == 0
    assert out.endswith("No routing changes.\nLint: 0 introduced, 0 resolved.\n")


# --- exit codes and errors -------------------------------------------------------------------------------


def test_exit_codes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    one, two = "tests/diff/bookinfo-1-all-v1/input.yaml", "tests/diff/bookinfo-2-jason-v2/input.yaml"
    assert _run(["diff", one, one], capsys)[0] == 0
    assert _run(["diff", one, two], capsys)[0] == 1
    assert _run(["diff", one, two, "--format", "json"], capsys)[0] == 1
    code, out, err = _run(["diff", one, "nope.yaml"], capsys)
    assert (code, out) == (2, "")
    assert err == "meshc: error: no such file or folder: `nope.yaml`\n"
    code, _, err = _run(["diff", one], capsys)
    assert code == 2
    assert err == "meshc: error: expected OLD and NEW (files or folders), or --base GIT_REV [PATHS]...\n"
    code, _, err = _run(["diff", one, two, "--format", "yaml"], capsys)
    assert code == 2
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / one, tmp_path / "mesh.yaml")
    if shutil.which("git") is not None:
        code, _, err = _run(["diff", "--base", "HEAD"], capsys)
        assert code == 2
        assert err.startswith("meshc: error: --base needs a git repository")
        assert err.count("\n") == 1


# --- --base --------------------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_base_compares_the_working_tree_with_a_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    conf = repo / "deploy" / "mesh"
    conf.mkdir(parents=True)
    shutil.copy(DIFF / "bookinfo-1-all-v1" / "input.yaml", conf / "routing.yaml")
    _write(repo / "README.md", "not yaml\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "one")
    shutil.copy(DIFF / "bookinfo-2-jason-v2" / "input.yaml", conf / "routing.yaml")

    monkeypatch.chdir(repo)
    code, out, err = _run(["diff", "--base", "HEAD", "deploy/mesh", "--format", "json"], capsys)
    assert code == 1, err
    data = json.loads(out)
    assert data["old"] == "HEAD:deploy/mesh"
    [host] = data["hosts"]
    assert [r["description"] for r in host["requests"]] == ['header end-user exact "jason"']
    # File names read the same on both sides: the old side is read from a mirror of the repository.
    assert host["changes"][0]["location"] == "deploy/mesh/routing.yaml:27"

    # From a sub-folder, with the default PATHS (the current folder).
    monkeypatch.chdir(conf)
    code, out, _ = _run(["diff", "--base", "HEAD"], capsys)
    assert code == 1
    assert 'header end-user exact "jason": subset v1 → subset v2' in out

    # The revision itself, unchanged: exit 0.
    monkeypatch.chdir(repo)
    _git(repo, "commit", "-qam", "two")
    assert _run(["diff", "--base", "HEAD", "deploy"], capsys)[0] == 0
    assert _run(["diff", "--base", "HEAD~1", "deploy"], capsys)[0] == 1

    # A file that did not exist at the revision: everything in it is added.
    shutil.copy(DIFF / "bookinfo-1-all-v1" / "input.yaml", repo / "extra.yaml")
    code, out, _ = _run(["diff", "--base", "HEAD", "extra.yaml", "--format", "json"], capsys)
    assert code == 1
    assert {h["status"] for h in json.loads(out)["hosts"]} == {"added"}

    code, _, err = _run(["diff", "--base", "no-such-rev", "deploy"], capsys)
    assert (code, err) == (2, "meshc: error: unknown git revision `no-such-rev`\n")
    outside = tmp_path / "outside.yaml"
    outside.write_text("", encoding="utf-8")
    code, _, err = _run(["diff", "--base", "HEAD", str(outside)], capsys)
    assert code == 2
    assert "is outside the git repository" in err


# --- what else is reported -------------------------------------------------------------------------------


def _pair(tmp_path: Path, old: str, new: str) -> DiffResult:
    a = _write(tmp_path / "old" / "mesh.yaml", old)
    b = _write(tmp_path / "new" / "mesh.yaml", new)
    return compare_paths([str(a.parent)], [str(b.parent)], Options())


SERVICES = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
"""


def _reviews(*rules: str) -> str:
    body = "".join(rules)
    return (
        SERVICES
        + """---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
"""
        + body
    )


RULE_X = """  - name: x
    match: [{headers: {x: {exact: a}}}]
    route: [{destination: {host: reviews, subset: v2}}]
"""
RULE_P = """  - name: p
    match: [{uri: {prefix: /p}}]
    route: [{destination: {host: reviews, subset: v3}}]
"""
RULE_ALL = """  - route: [{destination: {host: reviews, subset: v1}}]
"""


def test_reorder_changes_only_the_overlap_of_the_two_rules(tmp_path: Path) -> None:
    """Swapping two rules changes only the requests both select: found by probing the pair."""
    result = _pair(tmp_path, _reviews(RULE_X, RULE_P, RULE_ALL), _reviews(RULE_P, RULE_X, RULE_ALL))
    assert _requests(result) == {
        ("mesh", REVIEWS, 'uri prefix "/p" and header x exact "a"', "subset v2", "subset v3"),
    }
    [sec] = result.sections
    [move] = sec.changes
    # One of the two is reported as moved (the other keeps its relative order).
    assert (move.kind, move.change, {move.old, move.new}) == ("rule", "moved", {0, 1})  # routes[0], routes[1]
    assert sec.requests[0].example.to_dict() == {"method": "GET", "path": "/p", "headers": {"x": "a"}}


def test_reorder_of_disjoint_rules_changes_no_request(tmp_path: Path) -> None:
    x2 = RULE_X.replace("exact: a", "exact: b").replace("name: x", "name: x2").replace("v2", "v3")
    result = _pair(tmp_path, _reviews(RULE_X, x2, RULE_ALL), _reviews(x2, RULE_X, RULE_ALL))
    assert _requests(result) == set()
    assert {(c.kind, c.change) for s in result.sections for c in s.changes} == {("rule", "moved")}


def test_rule_index_shift_is_not_a_change(tmp_path: Path) -> None:
    """Inserting a rule shifts the others' indexes: only the new rule and its requests are reported."""
    rule_c = RULE_X.replace("exact: a", "exact: c").replace("name: x", "name: c").replace("v2", "v3")
    result = _pair(tmp_path, _reviews(RULE_X, RULE_ALL), _reviews(rule_c, RULE_X, RULE_ALL))
    assert _requests(result) == {("mesh", REVIEWS, 'header x exact "c"', "subset v1", "subset v3")}
    assert {(c.kind, c.change) for s in result.sections for c in s.changes} == {("rule", "added")}


def test_inserted_rule_that_overlaps_a_later_one(tmp_path: Path) -> None:
    """A new first rule also takes the requests it shares with the next rule: both kinds are named."""
    result = _pair(tmp_path, _reviews(RULE_X, RULE_ALL), _reviews(RULE_P, RULE_X, RULE_ALL))
    assert _requests(result) == {
        ("mesh", REVIEWS, 'uri prefix "/p"', "subset v1", "subset v3"),
        ("mesh", REVIEWS, 'uri prefix "/p" and header x exact "a"', "subset v2", "subset v3"),
    }


def test_route_features_and_policy(tmp_path: Path) -> None:
    old = _reviews(RULE_ALL) + POLICY_OLD
    new = (
        _reviews(
            """  - route: [{destination: {host: reviews, subset: v1}}]
    timeout: 3s
    retries: {attempts: 5, perTryTimeout: 1s}
    fault: {abort: {httpStatus: 503, percentage: {value: 10}}}
    rewrite: {uri: /v1}
    mirror: {host: reviews, subset: v3}
    headers: {request: {set: {x-test: "1"}}}
"""
        )
        + POLICY_NEW
    )
    result = _pair(tmp_path, old, new)
    assert _requests(result) == set()  # none of these changes where a request goes
    changes = {(c.kind, c.change) for s in result.sections for c in s.changes}
    assert changes == {
        ("timeout", "added"),
        ("retries", "changed"),
        ("fault", "added"),
        ("rewrite", "added"),
        ("mirror", "added"),
        ("headers", "added"),
        ("policy", "changed"),
        ("policy", "added"),
    }
    texts = {c.text for s in result.sections for c in s.changes}
    assert "default/reviews http[0] (every request): fault added: abort 503 for 10%" in texts
    assert "default/reviews http[0] (every request): timeout added: 3s" in texts
    assert any(
        t.startswith("subsets (no subset), v1, v2, v3: load balancer policy LEAST_REQUEST → ROUND_ROBIN") for t in texts
    )
    assert any("outlier detection added: consecutive_5xx 3" in t for t in texts)


POLICY_OLD = ""
POLICY_NEW = """---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection: {consecutive5xxErrors: 3}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
"""


def test_redirect_and_unknown_subset(tmp_path: Path) -> None:
    old = _reviews(RULE_P, RULE_ALL)
    new = _reviews(
        """  - match: [{uri: {prefix: /p}}]
    redirect: {uri: /q, redirectCode: 308}
""",
        RULE_ALL.replace("v1", "v9"),
    )
    result = _pair(tmp_path, old, new)
    assert _requests(result) == {
        ("mesh", REVIEWS, 'uri prefix "/p"', "subset v3", "redirect 308 to /q"),
        ("mesh", REVIEWS, "requests no other rule matches", "subset v1", "subset v9 (unknown: 503)"),
    }


def test_gateway_host_added(tmp_path: Path) -> None:
    gateway = """---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: front, namespace: default}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: reviews, subset: v1}}]}]
"""
    extra = """---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: default}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http: [{route: [{destination: {host: reviews, subset: v2}}]}]
"""
    result = _pair(tmp_path, _reviews(RULE_ALL) + gateway, _reviews(RULE_ALL) + gateway + extra)
    assert _requests(result) == {
        (
            "gateway default/gw",
            "shop.example.com:80",
            "all requests",
            "reviews.default:9080 subset v1",
            "reviews.default:9080 subset v2",
        ),
    }
    [sec] = result.sections
    assert sec.status == "added"


def test_lint_findings_introduced_and_resolved(tmp_path: Path) -> None:
    bad = (
        _reviews(RULE_ALL)
        + """---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: other, namespace: default, lables: {a: b}}
spec:
  host: other
"""
    )
    good = (
        _reviews(RULE_ALL)
        + """---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: other, namespace: default, labels: {a: b}}
spec:
  host: other
"""
    )
    fixed = _pair(tmp_path / "a", bad, good)
    assert [f.code for f in fixed.resolved] == ["MC005"]
    assert fixed.introduced == []
    broke = _pair(tmp_path / "b", good, bad)
    assert [f.code for f in broke.introduced] == ["MC005"]
    assert broke.introduced[0].file.endswith("new/mesh.yaml")


def test_markdown_escapes_table_cells(tmp_path: Path) -> None:
    old = _reviews(RULE_ALL)
    new = _reviews(
        """  - match: [{headers: {x-a: {regex: "a|b"}}}]
    route: [{destination: {host: reviews, subset: v2}}]
""",
        RULE_ALL,
    )
    md = to_markdown(_pair(tmp_path, old, new))
    row = next(line for line in md.splitlines() if line.startswith("| header"))
    assert row == '| header x-a regex "a\\|b" | subset v1 | subset v2 |'
    assert row.count("|") - row.count("\\|") == 4


# --- witnesses -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "example"),
    [
        ("/api/v[0-9]+/.*", "/api/v0/a"),
        (".*", "a"),
        ("^/a(b|c)d$", "/abd"),
        ("[^/]+", "a"),
        (r"\d{3}", "000"),
        ("(?i)abc", "abc"),
    ],
)
def test_regex_examples(pattern: str, example: str) -> None:
    assert regex_example(pattern) == example


def test_regex_without_example() -> None:
    assert regex_example("[[:alpha:]]+") is None  # POSIX classes are RE2-only: no example, not guessed


def _m(**kw: object) -> ir.RouteMatch:
    return ir.RouteMatch(**kw)  # type: ignore[arg-type]


def test_witness_of_a_pair_satisfies_both() -> None:
    a = _m(path=ir.PathMatch("prefix", "/api"), headers=[ir.HeaderMatch("x", ir.StringMatch("exact", "1"))])
    b = _m(path=ir.PathMatch("exact", "/api/users"), method=ir.StringMatch("exact", "POST"))
    p = witness([a, b])
    assert p is not None
    assert (p.path, p.method, p.headers) == ("/api/users", "POST", (("x", "1"),))


def test_witness_of_contradicting_blocks_is_none() -> None:
    a = _m(headers=[ir.HeaderMatch("x", ir.StringMatch("exact", "1"))])
    b = _m(headers=[ir.HeaderMatch("x", ir.StringMatch("exact", "2"))])
    assert witness([a, b]) is None
    assert witness([_m(path=ir.PathMatch("exact", "/a")), _m(path=ir.PathMatch("exact", "/b"))]) is None


def test_witness_of_without_headers_and_claims() -> None:
    inverted = ir.HeaderMatch("x", ir.StringMatch("exact", "1"), invert=True, treat_missing_as_empty=True)
    claim = ir.ClaimMatch(["groups"], ir.StringMatch("exact", "admin"))
    p = witness(
        [_m(headers=[inverted], jwt_claims=[claim], query_params=[ir.QueryParamMatch("q", ir.StringMatch("present"))])]
    )
    assert p is not None
    assert p.headers == ()
    assert json.loads(p.claims) == {"groups": "admin"}
    assert p.query == (("q", "meshc"),)


def test_text_has_colour_only_when_asked(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    args = ["diff", "tests/diff/bookinfo-1-all-v1", "tests/diff/bookinfo-2-jason-v2"]
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" not in _run(args, capsys)[1]  # not a terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in _run(args, capsys)[1]


def test_a_side_read_from_stdin_is_linted_like_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found while hardening: the lint half of a side read `-` a second time and found it empty."""
    from tests.test_cli import run

    broken = "examples/broken/virtual-service.yaml"
    from_file = json.loads(run(["diff", "--no-config", "-f", "json", "examples/bookinfo", broken], monkeypatch)[1])
    data = Path(broken).read_bytes()
    code, out, _ = run(["diff", "--no-config", "-f", "json", "examples/bookinfo", "-"], monkeypatch, stdin=data)
    from_stdin = json.loads(out)
    assert code == 1
    assert len(from_stdin["lint"]["introduced"]) == len(from_file["lint"]["introduced"]) == 4
