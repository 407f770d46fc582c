"""Issue 15, one test per case: exact messages, positions and exit codes on the YAML users write."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_cli import run

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: default}}
spec:
  hosts: [reviews]
  http:
  - route: [{{destination: {{host: reviews, subset: {subset}}}}}]
"""
DR = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
"""
SVC = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- a loader that accepts what Kubernetes accepts ----------------------------------------------------


def test_urls_and_image_tags_in_flow_mappings_are_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15: `[{exact: https://example.com}]` and `image: nginx:1.27` were MC001 and compile exited 2."""
    text = (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r, namespace: default}\n"
        "spec:\n  hosts: [reviews]\n  http:\n  - corsPolicy:\n      allowOrigins: [{exact: https://example.com}]\n"
        "    route: [{destination: {host: reviews}}]\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec:\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers: [{name: web, image: nginx:1.27}]\n"
    )
    path = write(tmp_path, "cors.yaml", text)
    code, out, err = run(["lint", "--no-config", "--format", "text", "--select", "MC0", path], monkeypatch)
    assert (code, err) == (0, "") and out.startswith("All checks passed: 2 resources in 1 file."), out
    code, out, err = run(["compile", "--no-config", "-t", "ir", path], monkeypatch)
    assert code == 0 and "https://example.com" in out, err


@pytest.mark.parametrize(
    ("value", "read_as"),
    [
        ("on", "boolean `true`"),
        ("yes", "boolean `true`"),
        ("y", "boolean `true`"),
        ("0o17", "integer `15`"),
        ("1_000", "integer `1000`"),
        ("1e3", "number `1000.0`"),
        ("1:20", None),  # no base-60 numbers in go-yaml: a string, as written
        ("'on'", None),
    ],
)
def test_yaml_1_1_and_go_values_are_read_as_kubernetes_reads_them(
    value: str, read_as: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sigs.k8s.io/yaml (go-yaml v2): an annotation `on` is the boolean true, which kubectl refuses for a string."""
    text = (
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        f"metadata: {{name: reviews, namespace: default, annotations: {{a: {value}}}}}\nspec: {{host: reviews}}\n"
    )
    path = write(tmp_path, "dr.yaml", text)
    code, out, _ = run(["lint", "--no-config", "--format", "text", "--select", "MC006", path], monkeypatch)
    if read_as is None:
        assert (code, out) == (0, "All checks passed: 1 resource in 1 file.\n")
        return
    assert code == 1
    assert out.splitlines()[0] == f"{path}:3:64: MC006 [error] `annotations[a]` must be a string, got {read_as}"


# --- helpful syntax errors -------------------------------------------------------------------------------


def test_a_tab_that_indents_says_so_and_shows_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path, "tab.yaml", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n\tname: x\n"
    )
    code, out, _ = run(["lint", "--no-config", "--format", "text", path], monkeypatch)
    assert code == 1
    assert out.splitlines()[0] == (
        f"{path}:4:1: MC001 [error] YAML syntax error: a tab indents line 4; YAML indents with spaces only"
    )
    code, out, _ = run(["lint", "--no-config", "--format", "json", path], monkeypatch)
    assert '"help": "replace the tabs (shown as →) with spaces: `→name: x`"' in out


def test_an_unrendered_helm_template_gets_one_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a cascade of syntax errors, nor a pass where the template is quoted."""
    broken = write(
        tmp_path,
        "a.yaml",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  hosts:\n  {{- range .Values.hosts }}\n  - {{ . }}\n  {{- end }}\n",
    )
    quoted = write(
        tmp_path,
        "b.yaml",
        'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: "{{ .Values.name }}"\n'
        'spec:\n  host: "{{ .Values.host }}"\n  subsets: [{name: v1, labelz: {}}]\n',
    )
    code, out, _ = run(["lint", "--no-config", "--format", "text", broken, quoted], monkeypatch)
    assert code == 1
    lines = out.splitlines()
    assert lines[:2] == [
        f"{broken}:4:9: MC013 [error] this looks like an unrendered Helm template (`{{{{ .Release.Name }}}}`), "
        "not YAML that Kubernetes reads",
        f"{quoted}:4:10: MC013 [error] this looks like an unrendered Helm template (`{{{{ .Values.name }}}}`), "
        "not YAML that Kubernetes reads",
    ]
    assert lines[2] == "Found 2 errors, 0 warnings in 2 files."
    code, out, _ = run(["lint", "--no-config", "--format", "json", broken], monkeypatch)
    assert '"help": "render it first: `helm template CHART | meshc lint -`"' in out


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: {b: {uri: '/{{'}}\nc: [\n", (3, 1)),  # a quoted `{{`, its quote and the flow braces: `{{'}}`
        ('a: {b: {note: "x{{"}}\nc: [\n', (3, 1)),
    ],
)
def test_a_lookalike_of_a_template_does_not_hide_a_syntax_error(text: str, where: tuple[int, int]) -> None:
    """Found by tests/fuzz: a quoted string's `{{` before flow braces was taken for an action (MC013)."""
    from meshc.source import TEMPLATE_HELP, SourceFile, parse_text

    _, [err] = parse_text(SourceFile("t.yaml", text))
    assert (err.line, err.column, err.help) == (*where, None)
    assert err.message.startswith("YAML syntax error: ")
    helm = "a: {uri: '{{ .Values.x }}'}\nb: [\n"
    _, [err] = parse_text(SourceFile("t.yaml", helm))
    assert (err.line, err.column, err.help) == (1, 11, TEMPLATE_HELP)


# --- one identity, one resource --------------------------------------------------------------------------


def test_a_resource_defined_twice_is_an_error_that_names_both_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = write(tmp_path, "a.yaml", VS.format(subset="v1") + "---\n" + DR + "---\n" + SVC)
    b = write(tmp_path, "b.yaml", VS.format(subset="v2"))
    code, out, _ = run(["lint", "--no-config", "--format", "text", a, b], monkeypatch)
    assert code == 1
    assert out.splitlines()[:2] == [
        f"{b}:3:18: MC012 [error] VirtualService `default/reviews` is defined twice: here and at {a}:3:18; "
        "`kubectl apply` keeps only the later one (this one)",
        f"{b}:7:51: MC102 [error] subset `v2` is not defined for host `reviews.default.svc.cluster.local`",
    ]
    code, out, _ = run(["lint", "--no-config", "--format", "json", a, b], monkeypatch)
    assert f'"file": "{a}",\n        "line": 3,\n        "column": 18' in out  # the related place


@pytest.mark.parametrize("command", ["route", "compile", "graph"])
def test_other_commands_use_the_later_definition_and_say_so(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = write(tmp_path, "a.yaml", VS.format(subset="v1") + "---\n" + DR + "---\n" + SVC)
    b = write(tmp_path, "b.yaml", VS.format(subset="v1").replace("host: reviews, subset: v1", "host: reviews"))
    args = {
        "route": ["route", "--no-config", a, b, "--host", "reviews", "--format", "json"],
        "compile": ["compile", "--no-config", "-t", "ir", a, b],
        "graph": ["graph", "--no-config", a, b],
    }[command]
    code, out, err = run(args, monkeypatch)
    assert code == 0
    assert err == (
        f"meshc: warning: {b}:3:18: VirtualService `default/reviews` is defined twice; using this later definition "
        f"(as `kubectl apply` would), not the one at {a}:3:18\n"
    )
    if command == "route":  # the later definition routes to the host, not to subset v1
        assert '"cluster": "outbound|9080||reviews.default.svc.cluster.local"' in out
    elif command == "compile":
        assert "cluster: outbound|9080||reviews.default.svc.cluster.local" in out


def test_diff_uses_the_later_definition_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "old"
    old.mkdir()
    write(old, "a.yaml", VS.format(subset="v1") + "---\n" + DR + "---\n" + SVC)
    new = tmp_path / "new"
    new.mkdir()
    a = write(new, "a.yaml", VS.format(subset="v1") + "---\n" + DR + "---\n" + SVC)
    b = write(new, "b.yaml", VS.format(subset="v1").replace("host: reviews, subset: v1", "host: reviews"))
    code, out, _ = run(["diff", "--no-config", str(old), str(new)], monkeypatch)
    assert code == 1
    assert "    all requests: subset v1 → the service\n" in out
    assert (  # diff's text wraps long lines: compared with its line breaks as spaces
        f"+ introduced: {b}:3:18: MC012 [error] VirtualService `default/reviews` is defined twice: here and at "
        f"{a}:3:18; `kubectl apply` keeps only the later one (this one) "
    ) in " ".join(out.split()) + " "


# --- every list form --------------------------------------------------------------------------------------


def test_kind_list_forms_are_unpacked_with_positions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kubectl get virtualservices -o yaml` prints a VirtualServiceList; items may omit apiVersion and kind."""
    path = write(
        tmp_path,
        "list.yaml",
        "apiVersion: networking.istio.io/v1\nkind: VirtualServiceList\nitems:\n"
        "- metadata: {name: a, namespace: default}\n  spec: {hosts: [a], http: [{route: [{destination: {host: a}}]}]}\n"
        "- apiVersion: networking.istio.io/v1\n  kind: VirtualService\n  metadata: {name: b, namespace: default}\n"
        "  spec: {hostz: [a]}\n---\napiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: networking.istio.io/v1\n  kind: DestinationRule\n  metadata: {name: c}\n  spec: {hots: c}\n",
    )
    code, out, _ = run(["lint", "--no-config", "--format", "text", "--select", "MC0", path], monkeypatch)
    assert code == 1
    assert out.splitlines() == [
        f"{path}:9:10: MC005 [error] unknown field `hostz` in `spec`",
        f"{path}:17:10: MC005 [error] unknown field `hots` in `spec`",
        "Found 2 errors, 0 warnings in 1 file.",
    ]
    code, out, _ = run(["lint", "--no-config", "--format", "text", "--select", "MC002", path], monkeypatch)
    assert "did you mean" not in out


# --- one position per thing ------------------------------------------------------------------------------


def test_lint_compile_and_route_report_the_same_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15: for the same unknown subset compile and route warned at line 46 and lint at 47:17."""
    broken = str(ROOT / "examples" / "broken" / "references.yaml")
    where = f"{broken}:68:17"
    _, out, _ = run(["lint", "--no-config", "--format", "text", broken], monkeypatch)
    assert f"{where}: MC102 [error] subset `v3` is not defined for host `ratings.shop.svc.cluster.local`" in out
    _, _, err = run(["compile", "--no-config", "-t", "ir", broken], monkeypatch)
    assert f"meshc: warning: {where}: subset `v3` is not defined for host `ratings.shop.svc.cluster.local`" in err
    _, _, err = run(["route", "--no-config", broken, "--host", "ratings.shop.svc.cluster.local", "--port", "9080"],
                    monkeypatch)  # fmt: skip
    assert f"meshc: warning: {where}: subset `v3`" in err


def test_a_finding_reached_through_an_alias_is_reported_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        DR + "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        "metadata: {name: reviews, namespace: default}\nspec:\n  hosts: [reviews]\n  http:\n"
        "  - match: [{uri: {prefix: /a}}]\n    route: &r\n    - destination: {host: reviews, subset: v9}\n"
        "  - match: [{uri: {prefix: /b}}]\n    route: *r\n  - route: *r\n"
    )
    path = write(tmp_path, "alias.yaml", text)
    code, out, _ = run(["lint", "--no-config", "--format", "text", "--select", "MC102", path], monkeypatch)
    assert code == 1
    assert out.splitlines()[:2] == [
        f"{path}:16:44: MC102 [error] subset `v9` is not defined for host `reviews.default.svc.cluster.local`",
        "Found 1 error, 0 warnings in 1 file.",
    ]


# --- bounded alias expansion (issue 20, point 4) -------------------------------------------------------


def test_a_large_anchored_value_aliased_many_times_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20: a 500 KB anchored value aliased in 2,000 rules (683 KB) became about 1 GB of output."""
    big = "x" * 500_000
    rules = "".join(f"  - name: r{i}\n    headers: {{request: {{set: {{x: *big}}}}}}\n    route: *dest\n"
                    for i in range(2000))  # fmt: skip
    text = (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r, namespace: default}\n"
        f"spec:\n  hosts: [reviews]\n  x-anchor: &big {big}\n  http:\n  - route: &dest [{{destination: {{host: a}}}}]\n"
        + rules
    )
    path = write(tmp_path, "bomb.yaml", text)
    start = time.process_time()  # CPU time: other processes on the machine do not count
    code, out, _ = run(["lint", "--no-config", "--format", "text", path], monkeypatch)
    assert time.process_time() - start < 10, "refused without expanding (about 1 s of CPU)"
    assert code == 1
    assert out.splitlines()[0] == (
        f"{path}:13:34: MC001 [error] aliases repeat 1,000,016 characters of text; meshc expands at most 1,000,000 "
        "in one document"
    )
    code, _, err = run(["compile", "--no-config", "-t", "envoy", path], monkeypatch)
    assert code == 2 and "aliases repeat" in err


# --- names and hosts as the API server and Istio validate them -------------------------------------------


def test_names_namespaces_and_hosts_are_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15: `metadata.name: Bad_Name!` and `spec.hosts: ["not a host"]` were not reported."""
    path = write(
        tmp_path,
        "names.yaml",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: Bad_Name!, namespace: Foo}\n"
        'spec:\n  hosts: ["not a host"]\n  http: [{route: [{destination: {host: a}}]}]\n---\n'
        "apiVersion: v1\nkind: Service\nmetadata: {name: 1svc, namespace: default}\n"
        "spec: {ports: [{name: http, port: 80}]}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {generateName: web-, namespace: default}\n"
        "spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}\n",
    )
    code, out, _ = run(["lint", "--no-config", "--format", "text", "--select", "MC0", path], monkeypatch)
    assert code == 1
    subdomain = "lowercase letters, digits, `-` and `.`, at most 253, starting and ending with a letter or digit"
    label = "lowercase letters, digits and `-`, at most 63, starting and ending with a letter or digit"
    assert out.splitlines() == [
        f"{path}:3:18: MC006 [error] `Bad_Name!` is not a valid name: use {subdomain} (an RFC 1123 subdomain)",
        f"{path}:3:40: MC006 [error] `Foo` is not a valid namespace: use {label} (an RFC 1123 label)",
        f"{path}:5:11: MC006 [error] `not a host` is not a valid host name (label `not a host` is invalid)",
        f"{path}:10:18: MC006 [error] `1svc` is not a valid name: use lowercase letters, digits and `-`, at most 63, "
        "starting with a letter and ending with a letter or digit (an RFC 1035 label)",
        f"{path}:15:18: MC006 [error] `a.b` is not a valid name: use {label} (an RFC 1123 label)",
        "Found 5 errors, 0 warnings in 1 file.",
    ]
