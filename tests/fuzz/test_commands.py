"""Every command on hostile input: no traceback, a documented exit code, parseable output, no hang.

Each input runs in-process with a time bound (harness.IN_PROCESS_BOUND_S). The quick profile runs
in the normal suite; `python -m pytest tests/fuzz -m slow` runs the long one (LONG_EXAMPLES per
command).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES
from tests.fuzz import strategies as fs
from tests.fuzz.harness import check, record, run_in_process

QUICK_EXAMPLES = 25
LONG_EXAMPLES = 12_000
PROFILES = [pytest.param("quick", id="quick"), pytest.param("long", id="long", marks=pytest.mark.slow)]
BOOKINFO = str(EXAMPLES / "bookinfo")


def fuzz(profile: str, strategy: st.SearchStrategy[Any], body: Callable[[Any], None]) -> None:
    """Run `body` on examples of `strategy`: QUICK_EXAMPLES or LONG_EXAMPLES of them."""
    n = LONG_EXAMPLES if profile == "long" else QUICK_EXAMPLES

    @settings(
        max_examples=n,
        deadline=None,
        database=None if profile == "long" else settings.default.database,
        # No shrinking: one run takes up to a second on these inputs and hypothesis would spend
        # minutes minimising; the failing input is printed as it was generated.
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(strategy)
    def run(value: Any) -> None:
        body(value)

    run()


# What each input is made of: the bytes, and hosts worth asking `meshc route` about.
_configs = fs.hostile_config().map(
    lambda c: (c[0], [h for d in c[1] if d["kind"] == "VirtualService" for h in d["spec"]["hosts"]])
)
_input = st.one_of(fs.arbitrary_bytes.map(lambda b: (b, [])), fs.mutated_yaml().map(lambda b: (b, [])), _configs)
_flag = fs.hostile_text.map(lambda s: s.replace("\x00", ""))  # argv cannot carry NUL


@pytest.mark.parametrize("profile", PROFILES)
def test_lint(profile: str) -> None:
    formats = {"json": "json", "sarif": "json", "junit": "xml", "text": None, "full": None, "github": None}

    def body(value: tuple[tuple[bytes, list[str]], str]) -> None:
        (data, _), fmt = value
        outcome = run_in_process(["lint", "--no-config", "-f", fmt, "-"], data)
        record("lint", outcome)
        check("lint", outcome, formats[fmt])

    fuzz(profile, st.tuples(_input, st.sampled_from(sorted(formats))), body)


@pytest.mark.parametrize("profile", PROFILES)
def test_route(profile: str) -> None:
    """Requests for the hosts the input routes (so that most reach the simulator), some hostile flags."""

    @st.composite
    def request(draw: st.DrawFn) -> tuple[bytes, list[str]]:
        # Twice as many generated configurations: they name their hosts, so requests reach the simulator.
        data, hosts = draw(st.one_of(_input, _configs))
        sometimes = st.sampled_from((False, False, False, True))  # one time in four
        known = hosts or ["reviews", "ratings", "productpage", "details", "httpbin"]  # the examples' hosts
        host = draw(_flag) if draw(sometimes) else draw(st.sampled_from(known)).replace("*", "a")
        args = ["route", "--no-config", "-f", "json", "--host", host]
        if draw(st.booleans()):
            args += ["--path", "/" + draw(_flag)]
        if draw(st.booleans()):
            args += ["--header", draw(st.sampled_from(("end-user", "x-a", "cookie"))) + "=" + draw(_flag)]
        if draw(sometimes):
            args += ["--header", draw(_flag)]
        if draw(st.booleans()):
            args += ["--query", draw(_flag) + "=" + draw(_flag)]
        if draw(sometimes):
            args += ["--gateway", draw(st.sampled_from(("mesh", "default/gw", "gw")) | _flag)]
        if draw(sometimes):
            args += ["--port", str(draw(st.sampled_from((80, 443, 8080, 9080, 65535, 1)) | st.integers(-1, 70_000)))]
        if draw(sometimes):
            args += ["--source-namespace", draw(st.sampled_from(fs.NAMESPACES) | _flag)]
        if draw(sometimes):
            args += ["--method", draw(st.sampled_from(("POST", "get")) | _flag)]
        return data, [*args, "-"]

    def body(value: tuple[bytes, list[str]]) -> None:
        data, args = value
        outcome = run_in_process(args, data)
        record("route", outcome)
        check("route", outcome, "json")

    fuzz(profile, request(), body)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("target", "output"), [("ir", "yaml"), ("envoy", "yaml"), ("nginx", None)])
def test_compile(profile: str, target: str, output: str | None) -> None:
    kind = "compile-nginx" if target == "nginx" else "compile"  # nginx refuses unsafe values with exit 1

    def body(value: tuple[tuple[bytes, list[str]], str]) -> None:
        (data, _), namespace = value
        args = ["compile", "--no-config", "-t", target, "--source-namespace", namespace, "-"]
        outcome = run_in_process(args, data)
        record(f"compile {target}", outcome)
        check(kind, outcome, output)

    fuzz(profile, st.tuples(_input, st.sampled_from(fs.NAMESPACES) | _flag), body)


_override_value = st.one_of(
    fs.hostile_text,
    st.integers(-70_000, 70_000),
    st.lists(fs.hostile_text, max_size=3),
    st.dictionaries(fs.hostile_text, fs.hostile_text | st.integers(-1, 70_000), max_size=3),
)
_overrides = st.one_of(
    fs.arbitrary_bytes,
    st.dictionaries(
        st.sampled_from(("bind", "port_offset", "ports", "admin_port", "contexts", "upstreams", "endpoints", "x")),
        _override_value,
        max_size=4,
    ).map(lambda d: json.dumps(d).encode()),
)


@pytest.mark.parametrize("profile", PROFILES)
def test_compile_envoy_overrides(profile: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """`--overrides FILE` is input too: any content is used or refused with one line."""
    overrides = tmp_path_factory.mktemp("fuzz-overrides") / "overrides.yaml"

    def body(data: bytes) -> None:
        overrides.write_bytes(data)
        outcome = run_in_process(["compile", "--no-config", "-t", "envoy", "--overrides", str(overrides), BOOKINFO])
        record("compile envoy --overrides", outcome)
        check("compile", outcome, "yaml")

    fuzz(profile, _overrides, body)


@pytest.mark.parametrize("profile", PROFILES)
def test_graph(profile: str) -> None:
    def body(value: tuple[tuple[bytes, list[str]], str]) -> None:
        (data, _), fmt = value
        outcome = run_in_process(["graph", "--no-config", "-f", fmt, "-"], data)
        record("graph", outcome)
        check("graph", outcome)

    fuzz(profile, st.tuples(_input, st.sampled_from(("mermaid", "dot"))), body)


@pytest.mark.parametrize("profile", PROFILES)
def test_diff(profile: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The fuzzed input (from stdin) against examples/bookinfo, either way round, or against itself.

    Against itself, routing cannot have changed: exit 0 (or 2 when the input is refused).
    """
    formats = {"json": "json", "text": None, "markdown": None}
    same = tmp_path_factory.mktemp("fuzz-diff") / "same.yaml"

    def body(value: tuple[tuple[bytes, list[str]], str, str]) -> None:
        (data, _), fmt, other = value
        if other == "itself":
            same.write_bytes(data)
            sides = [str(same), "-"]
        else:
            sides = [BOOKINFO, "-"] if other == "old" else ["-", BOOKINFO]
        outcome = run_in_process(["diff", "--no-config", "-f", fmt, *sides], data)
        record("diff", outcome)
        check("diff", outcome, formats[fmt])
        if other == "itself":
            assert outcome.code in (0, 2), f"a configuration differs from itself:\n{outcome.out[:3000]}"

    fuzz(profile, st.tuples(_input, st.sampled_from(sorted(formats)), st.sampled_from(("old", "new", "itself"))), body)


# --- meshc test: the test file is hostile, and so is its configuration ----------------------------

_TEST_SEEDS = [p.read_bytes() for p in sorted((EXAMPLES / "bookinfo-tests").iterdir())]


@st.composite
def _test_file(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(("native", "icv", "mutated", "bytes")))
    if kind == "bytes":
        return draw(fs.arbitrary_bytes)
    if kind == "mutated":
        data = draw(st.sampled_from(_TEST_SEEDS))
        for _ in range(draw(st.integers(1, 4))):
            data = draw(fs._edit(data))
        return data
    text = fs.hostile_text
    if kind == "native":
        case = {
            "name": draw(text),
            "request": {
                "host": draw(st.sampled_from(fs.HOSTS) | text),
                "path": "/" + draw(text),
                "headers": {draw(text): draw(text)},
                "method": draw(st.sampled_from(["GET", ["GET", "POST"]]) | text),
            },
            "expect": draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "action": st.sampled_from(("route", "redirect", "no_route")) | text,
                        "virtual_service": text,
                        "rule": text | st.integers(-1, 5),
                        "destinations": st.lists(st.fixed_dictionaries({"host": text}, optional={"subset": text})),
                        "headers": st.dictionaries(text, text, max_size=2),
                        "status": st.integers(-1, 600),
                    },
                )
            ),
        }
        return json.dumps(
            {"config": draw(st.sampled_from(("config.yaml", "missing.yaml")) | text), "tests": [case]}
        ).encode()
    case = {
        "description": draw(text),
        "request": {
            "authority": [draw(st.sampled_from(fs.HOSTS) | text)],
            "method": [draw(st.sampled_from(("GET", "POST")) | text)],
            "uri": ["/" + draw(text)],
            "headers": {draw(text): draw(text)},
        },
        "wantMatch": draw(st.booleans()),
        "route": [{"destination": {"host": draw(text), "subset": draw(text)}}],
    }
    return json.dumps({"testCases": [case]}).encode()


@pytest.mark.parametrize("profile", PROFILES)
def test_test(profile: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("fuzz-test")
    tests, config = folder / "tests.yaml", folder / "config.yaml"

    def body(value: tuple[bytes, tuple[bytes, list[str]], str, bool]) -> None:
        test_data, (config_data, _), fmt, override = value
        tests.write_bytes(test_data)
        config.write_bytes(config_data)
        args = ["test", str(tests), "-f", fmt]
        if override:
            args += ["--config", str(config) if config_data else BOOKINFO]
        outcome = run_in_process(args)
        record("test", outcome)
        check("test", outcome, {"json": "json", "junit": "xml", "text": None}[fmt])

    fuzz(profile, st.tuples(_test_file(), _input, st.sampled_from(("text", "json", "junit")), st.booleans()), body)


def test_inputs_reach_the_compiler() -> None:
    """The generated resources are schema-valid: hostile strings get past validation into compile.

    (PyYAML's emitter very rarely writes a scalar that no parser reads back; one in twenty is tolerated.)
    """
    from meshc.config import Options
    from meshc.pipeline import load

    bad: list[bytes] = []

    @settings(max_examples=40, deadline=None, database=None, phases=(Phase.generate,))
    @given(fs.hostile_config())
    def run(value: tuple[bytes, list[dict[str, Any]]]) -> None:
        data, docs = value
        loaded = load(["-"], Options(), stdin=data)
        if loaded.errors or len(loaded.mesh.resources) != len(docs):
            bad.append(data)

    run()
    assert len(bad) <= 2, bad[0][:3000]


@pytest.mark.parametrize("style", ["block", "flow", "json"])
def test_hostile_strings_are_written_as_they_are_read(style: str) -> None:
    """What hostile_config writes reads back as the resources it holds (NEL, LS and PS were folded as breaks)."""
    from meshc.source import SourceFile, parse_text

    strings = [s for s in fs.NASTY if "\x00" not in s and "\r" not in s]
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": strings}}
    doc["data"].update({f"k{i}": s * 3 for i, s in enumerate(strings)})
    docs, errors = parse_text(SourceFile("f.yaml", fs._dump(style, [doc]).decode()))
    assert errors == []
    assert [d.data for d in docs] == [doc]


def test_a_run_that_never_ends_fails_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound is real: a run that keeps computing is stopped by its CPU-time limit."""
    from tests.fuzz import harness

    def spin(args: list[str]) -> int:
        while True:
            pass

    monkeypatch.setattr(harness, "main", spin)
    with pytest.raises(AssertionError, match=r"did not finish within 0\.2 s of CPU time"):
        run_in_process(["lint", "-"], b"", bound=0.2)


def test_a_bound_that_expires_where_python_swallows_the_exception_still_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The expiry of a bound is recorded and checked, not only raised.

    Seen in the long profile: the SIGPROF exception was raised inside a weakref callback, which
    Python reports as unraisable and ignores; the run went on.
    """
    import signal

    from tests.fuzz import harness

    def swallowing(args: list[str]) -> int:
        deadline = time.process_time() + 1.0
        while time.process_time() < deadline:
            try:
                sum(range(1000))
            except harness.Hang:  # stands for a context that drops every exception
                signal.setitimer(signal.ITIMER_PROF, 0)
        return 0

    monkeypatch.setattr(harness, "main", swallowing)
    with pytest.raises(AssertionError, match=r"did not finish within 0\.2 s of CPU time"):
        run_in_process(["lint", "-"], b"", bound=0.2)
