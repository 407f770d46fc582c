"""The resolver: istiod's precedence for registry entries and DestinationRules, and one answer in every command."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from meshc.cli import main
from meshc.config import Options
from meshc.hosts import domain_matches, host_matches, host_subset_of, is_ip, most_specific_match
from meshc.lint import read
from meshc.mesh import Mesh
from meshc.resolve import ANY_NAMESPACE, Client, Resolver


def mesh_of(text: str, **options: str) -> Mesh:
    opts = Options(**options)  # type: ignore[arg-type]
    inv = read(["-"], opts, stdin=text.encode("utf-8"))
    assert not inv.diagnostics, [d.message for d in inv.diagnostics]
    return Mesh(inv.indexed(), opts)


def se(name: str, ns: str, host: str, port: int, *, export: str = "", created: str = "", extra: str = "") -> str:
    meta = f"{{name: {name}, namespace: {ns}" + (f", creationTimestamp: '{created}'" if created else "") + "}"
    return f"""---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {meta}
spec:
  hosts: ["{host}"]
  ports: [{{number: {port}, name: http-{port}, protocol: HTTP}}]
  resolution: DNS
  {f"exportTo: [{export}]" if export else ""}
  {extra}
"""


def service(name: str, ns: str, port: int, *, created: str = "") -> str:
    meta = f"{{name: {name}, namespace: {ns}" + (f", creationTimestamp: '{created}'" if created else "") + "}"
    return f"""---
apiVersion: v1
kind: Service
metadata: {meta}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: {port}}}]
"""


def chosen(mesh: Mesh, host: str, client: str | Client) -> tuple[str, list[int]] | None:
    found = Resolver.of(mesh).resolve_host(host, client).service
    return (found.namespace, [p.number for p in found.ports]) if found is not None else None


# --- hosts -------------------------------------------------------------------------------------------


def test_host_relations_follow_istio_argument_order() -> None:
    assert host_matches("*.example.com", "a.example.com") and host_matches("a.example.com", "*.example.com")
    assert host_matches("*", "anything") and not host_matches("*.example.com", "example.com")
    assert host_matches("*.example.com", "*.a.example.com")
    # SubsetOf: the first name is covered by the second
    assert host_subset_of("*.a.example.com", "*.example.com")
    assert not host_subset_of("*.example.com", "*.a.example.com")
    assert host_subset_of("a.example.com", "*") and not host_subset_of("*", "a.example.com")
    assert most_specific_match("a.b.com", {"a.b.com": 1}, {"*.b.com": 2}) == ("a.b.com", 1)
    assert most_specific_match("a.b.com", {}, {"*.com": 1, "*.b.com": 2}) == ("*.b.com", 2)
    assert most_specific_match("*.b.com", {}, {"*.com": 1}) == ("*.com", 1)
    assert most_specific_match("b.com", {}, {"*.b.com": 1}) is None
    # Envoy's domains need one more character than the wildcard part
    assert domain_matches("*.b.com", "a.b.com") and not domain_matches("*.b.com", ".b.com")
    assert domain_matches("a.*", "a.b") and not domain_matches("a.*", "a.")


# --- registry entries ----------------------------------------------------------------------------------


ISSUE_SE = (
    se("api", "aaa", "api.example.com", 8080)
    + se("api", "default", "api.example.com", 9090, export='"."')
    + """---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  http:
  - route:
    - destination:
        host: api.example.com
        port: {number: 9090}
"""
)


def test_the_proxy_namespace_wins() -> None:
    mesh = mesh_of(ISSUE_SE)
    assert chosen(mesh, "api.example.com", "default") == ("default", [9090])
    assert chosen(mesh, "api.example.com", "other") == ("aaa", [8080])
    assert chosen(mesh, "api.example.com", ANY_NAMESPACE) == ("aaa", [8080])
    found = Resolver.of(mesh).resolve_host("api.example.com", "other")
    assert [e.namespace for e in found.hidden] == ["default"]  # exportTo "."


def test_a_kubernetes_service_wins_over_a_service_entry_unless_the_entry_is_in_the_proxy_namespace() -> None:
    host = "reviews.bookinfo.svc.cluster.local"
    text = se("squat", "aaa", host, 7000, created="2020-01-01T00:00:00Z") + service(
        "reviews", "bookinfo", 9080, created="2024-01-01T00:00:00Z"
    )
    mesh = mesh_of(text)
    assert chosen(mesh, host, "client") == ("bookinfo", [9080])  # older, but a ServiceEntry
    assert chosen(mesh, host, "aaa") == ("aaa", [7000])  # "same namespace wins" first


def test_then_the_oldest_entry_then_the_namespace() -> None:
    host = "api.example.com"
    older = se("api", "zzz", host, 1000, created="2020-01-01T00:00:00Z")
    newer = se("api", "aaa", host, 2000, created="2021-01-01T00:00:00Z")
    assert chosen(mesh_of(newer + older), host, "client") == ("zzz", [1000])
    same_time = se("api", "zzz", host, 1000) + se("api", "mmm", host, 2000)
    assert chosen(mesh_of(same_time), host, "client") == ("mmm", [2000])  # Attributes.Name is the host: namespace
    # exported to the client by name comes before public entries (servicesExportedToNamespace)
    named = se("api", "aaa", host, 1000) + se("api", "bbb", host, 2000, export="client")
    assert chosen(mesh_of(named), host, "client") == ("bbb", [2000])


def test_entries_of_one_namespace_with_the_same_shape_merge_their_ports() -> None:
    host = "api.example.com"
    text = se("a", "ns", host, 1000) + se("b", "ns", host, 2000) + se("c", "ns", host, 3000, export='"*"')
    svc = Resolver.of(mesh_of(text)).resolve_host(host, "client").service
    assert svc is not None and [p.number for p in svc.ports] == [1000, 2000, 3000]
    assert svc.entry_for(2000).resource.name == "b" and svc.entry_for(1000).resource.name == "a"
    # a different resolution does not merge (canMergeServices)
    other = se("a", "ns", host, 1000) + se("b", "ns", host, 2000).replace("resolution: DNS", "resolution: STATIC")
    svc = Resolver.of(mesh_of(other)).resolve_host(host, "client").service
    assert svc is not None and [p.number for p in svc.ports] == [1000]


def test_gateways_take_the_first_visible_entry_without_namespace_preference() -> None:
    host = "api.example.com"
    text = se("api", "aaa", host, 1000) + se("api", "gw", host, 2000)
    mesh = mesh_of(text)
    assert chosen(mesh, host, Client("gw", gateway=True)) == ("aaa", [1000])
    assert chosen(mesh, host, Client("gw")) == ("gw", [2000])


def test_proxies_that_differ_only_in_labels_share_one_registry() -> None:
    """`services` reads no labels (`_imports`, `_choose`): 100 gateway workloads of a namespace make it once."""
    host = "api.example.com"
    mesh = mesh_of(se("api", "aaa", host, 1000) + se("api", "gw", host, 2000))
    resolver = Resolver.of(mesh)
    one = resolver.services(Client("gw", {"app": "a"}, gateway=True))
    assert resolver.services(Client("gw", {"app": "b"}, gateway=True)) is one
    assert one[host].namespace == "aaa"
    sidecar = resolver.services(Client("gw", {"app": "a"}))
    assert sidecar is not one and sidecar[host].namespace == "gw"


def test_an_egress_scope_plugs_in() -> None:
    class OnlyAaa:
        def imports(self, entry: object) -> bool:
            return getattr(entry, "namespace", None) == "aaa"

    mesh = mesh_of(ISSUE_SE)
    assert chosen(mesh, "api.example.com", Client("default", scope=OnlyAaa())) == ("aaa", [8080])


# --- DestinationRules ----------------------------------------------------------------------------------


def dr(
    name: str, ns: str, host: str, subsets: list[str], *, export: str = "", selector: str = "", created: str = ""
) -> str:
    meta = f"{{name: {name}, namespace: {ns}" + (f", creationTimestamp: '{created}'" if created else "") + "}"
    subs = ", ".join(f"{{name: {s}, labels: {{version: {s}}}}}" for s in subsets)
    return f"""---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {meta}
spec:
  host: "{host}"
  subsets: [{subs}]
  {f"exportTo: [{export}]" if export else ""}
  {f"workloadSelector: {{matchLabels: {{{selector}}}}}" if selector else ""}
"""


def subsets(mesh: Mesh, host: str, client: Client | str) -> list[str] | None:
    found = Resolver.of(mesh).destination_rule(host, client)
    return list(found.subsets) if found is not None else None


REVIEWS = "reviews.bookinfo.svc.cluster.local"


def test_destination_rule_namespaces_in_istio_order() -> None:
    base = service("reviews", "bookinfo", 9080)
    root = dr("r", "istio-system", "reviews.bookinfo.svc.cluster.local", ["root"])
    owner = dr("o", "bookinfo", "reviews", ["owner"])
    client = dr("c", "client", "reviews.bookinfo.svc.cluster.local", ["client"])
    assert subsets(mesh_of(base + root), REVIEWS, "client") == ["root"]
    assert subsets(mesh_of(base + root + owner), REVIEWS, "client") == ["owner"]
    assert subsets(mesh_of(base + root + owner + client), REVIEWS, "client") == ["client"]
    # a rule of the service's namespace exported elsewhere does not reach the client: the root one does
    private = dr("o", "bookinfo", "reviews", ["owner"], export='"."')
    assert subsets(mesh_of(base + root + private), REVIEWS, "client") == ["root"]
    assert subsets(mesh_of(base + root + private), REVIEWS, "bookinfo") == ["owner"]
    # the most specific host of a namespace wins; a less specific one is not a fallback
    wild = dr("w", "bookinfo", "*.svc.cluster.local", ["wild"])
    assert subsets(mesh_of(base + wild + owner), REVIEWS, "client") == ["owner"]
    assert subsets(mesh_of(base + wild), REVIEWS, "client") == ["wild"]
    # no DestinationRule for a host the proxy does not know
    assert subsets(mesh_of(root), REVIEWS, "client") is None


def test_root_namespace_proxies_read_its_private_rules_first() -> None:
    base = service("reviews", "bookinfo", 9080)
    text = base + dr("r", "istio-system", REVIEWS, ["private"], export='"."') + dr("o", "bookinfo", "reviews", ["o"])
    assert subsets(mesh_of(text), REVIEWS, "istio-system") == ["private"]
    assert subsets(mesh_of(text), REVIEWS, "client") == ["o"]


def test_rules_of_one_namespace_merge_oldest_first() -> None:
    base = service("reviews", "bookinfo", 9080)
    first = dr("b-first", "bookinfo", "reviews", ["v1", "v2"], created="2020-01-01T00:00:00Z")
    second = dr("a-second", "bookinfo", "reviews", ["v2", "v3"], created="2021-01-01T00:00:00Z")
    found = Resolver.of(mesh_of(base + second + first)).destination_rule(REVIEWS, "client")
    assert found is not None
    assert [r.name for r in found.rules] == ["b-first", "a-second"]
    assert {name: rule.name for name, (rule, _) in found.subsets.items()} == {
        "v1": "b-first",
        "v2": "b-first",
        "v3": "a-second",
    }
    # exportTo that differ keep the rules apart (ENABLE_ENHANCED_DESTINATIONRULE_MERGE)
    apart = base + dr("x", "bookinfo", "reviews", ["v1"]) + dr("z", "bookinfo", "reviews", ["v2"], export="client")
    assert subsets(mesh_of(apart), REVIEWS, "client") == ["v2"]  # both candidates: the last catch-all


def test_workload_selector_rules_apply_to_their_workloads_in_their_namespace() -> None:
    base = service("reviews", "bookinfo", 9080)
    text = base + dr("all", "bookinfo", "reviews", ["v1"]) + dr("pp", "bookinfo", "reviews", ["v3"], selector="app: pp")
    mesh = mesh_of(text)
    assert subsets(mesh, REVIEWS, Client("bookinfo", {"app": "pp"})) == ["v3"]
    assert subsets(mesh, REVIEWS, Client("bookinfo", {"app": "other"})) == ["v1"]
    assert subsets(mesh, REVIEWS, Client("client", {"app": "pp"})) == ["v1"]  # never exported
    assert Resolver.of(mesh).destination_rules(REVIEWS, "bookinfo", {"app": "pp"})[0].name == "pp"


def test_a_private_rule_without_selector_merges_into_a_selector_rule_as_istiod_does() -> None:
    # mergeDestinationRule: equal exportTo ({.}) and one side without selector: merged, not kept apart.
    base = service("reviews", "bookinfo", 9080)
    text = (
        base
        + dr("pp", "bookinfo", "reviews", ["v3"], selector="app: pp")
        + dr("dot", "bookinfo", "reviews", ["v1"], export='"."')
    )
    mesh = mesh_of(text)
    assert subsets(mesh, REVIEWS, Client("bookinfo", {"app": "pp"})) == ["v3", "v1"]
    assert subsets(mesh, REVIEWS, Client("bookinfo", {})) is None


# --- one answer in every command -----------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "input.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def clusters(capsys: pytest.CaptureFixture[str], path: str, *args: str) -> dict[str, dict]:
    code, out, err = run(capsys, "compile", path, "--target", "ir", *args)
    assert code == 0, err
    ir_ = yaml.safe_load(out)
    sidecar = next(c for c in ir_["contexts"] if c["name"] == "mesh")
    return {c["name"]: c for c in sidecar["clusters"]}


def envoy_clusters(capsys: pytest.CaptureFixture[str], path: str, *args: str) -> set[str]:
    code, out, err = run(capsys, "compile", path, "--target", "envoy", *args)
    assert code == 0, err
    boot = yaml.safe_load(out)
    return {c["name"] for c in boot["static_resources"]["clusters"]}


def test_issue_service_entry_in_two_namespaces_one_answer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, ISSUE_SE)
    code, out, _ = run(capsys, "lint", path, "--format", "json")
    assert code == 0 and json.loads(out) == []  # no MC103: port 9090 is the default namespace's entry
    code, out, err = run(
        capsys, "route", path, "--host", "api.example.com", "--source-namespace", "default", "--format", "json"
    )
    assert code == 0, err
    decision = json.loads(out)
    assert decision["request"]["port"] == 9090 and decision["action"] == "route"
    assert [(d["cluster"], d["known"]) for d in decision["destinations"]] == [("outbound|9090||api.example.com", True)]
    assert decision["policy"]["outbound|9090||api.example.com"]["endpoints"] == ["api.example.com:9090"]
    assert "outbound|9090||api.example.com" in clusters(capsys, path)
    assert "outbound|8080||api.example.com" not in clusters(capsys, path)
    assert "outbound|9090||api.example.com" in envoy_clusters(capsys, path)


ISSUE_DR = (
    service("reviews", "default", 9080)
    + service("productpage", "default", 9080)
    + dr("reviews", "default", "reviews", ["v1"])
    + dr("reviews-pp", "default", "reviews", ["v3"], selector="app: productpage")
    + """---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v3}
"""
)


def test_issue_workload_selector_subset_one_answer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, ISSUE_DR)
    cluster = "outbound|9080|v3|reviews.default.svc.cluster.local"
    code, out, _ = run(capsys, "lint", path, "--format", "json")
    findings = json.loads(out)
    assert code == 1 and [(f["code"], f["message"]) for f in findings] == [
        (
            "MC102",
            "subset `v3` is not defined for host `reviews.default.svc.cluster.local` "
            "for clients without labels `app=productpage`",
        )
    ]
    # a productpage client has the subset, in route, in the IR and in Envoy
    code, out, err = run(
        capsys, "route", path, "--host", "reviews", "--source-labels", "app=productpage", "--format", "json"
    )
    assert code == 0, err
    decision = json.loads(out)
    assert [(d["cluster"], d["known"]) for d in decision["destinations"]] == [(cluster, True)]
    assert decision["policy"][cluster]["destination_rules"] == ["default/reviews-pp"]
    assert clusters(capsys, path, "--source-labels", "app=productpage")[cluster]["subset_labels"] == {"version": "v3"}
    assert cluster in envoy_clusters(capsys, path, "--source-labels", "app=productpage")
    # any other client does not: 503 everywhere
    code, out, err = run(capsys, "route", path, "--host", "reviews", "--format", "json")
    decision = json.loads(out)
    assert [(d["cluster"], d["known"]) for d in decision["destinations"]] == [(cluster, False)]
    assert any("subset `v3` is not defined" in n for n in decision["notes"])
    assert cluster not in clusters(capsys, path)
    assert cluster not in envoy_clusters(capsys, path)


@given(st.text(alphabet=st.sampled_from("0123456789.:abcdefz%- \u0661"), max_size=24) | st.ip_addresses().map(str))
def test_is_ip_agrees_with_ipaddress(text: str) -> None:
    """Proves: the shortcut for host names (no colon, not only digits and dots) answers as `ipaddress` does."""
    try:
        ipaddress.ip_address(text)
        expected = True
    except ValueError:
        expected = False
    assert is_ip(text) is expected
