"""Mesh settings (issue 13 point 6): `--mesh-config`, the `istio` ConfigMap, and what every stage does with them.

The outbound traffic policy decides a sidecar's answer for a host outside the registry
(httproute.go `buildCatchAllVirtualHost`, listener_builder.go `buildOutboundCatchAllNetworkFilterChains`);
`rootNamespace` moves the mesh-wide DestinationRules; `defaultHttpRetryPolicy` replaces Istio's
default retries.
"""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshc import ir
from meshc.cli import main
from meshc.compile import compile_mesh
from meshc.config import ConfigError, Options, from_table
from meshc.meshconfig import MeshConfigError, load_file
from meshc.pipeline import load
from meshc.route import explain
from meshc.simulate import Request

BOOKINFO = str(Path(__file__).resolve().parents[1] / "examples" / "bookinfo")
SERVICE_ENTRY = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se, namespace: default}
spec:
  hosts: [istio.io]
  %(addresses)s
  location: MESH_EXTERNAL
  resolution: DNS
  ports:
  - {name: http, number: 80, protocol: HTTP}
  - {name: auto, number: 81}
  - {name: tcp, number: 82, protocol: TCP}
  - {name: tls, number: 83, protocol: TLS}
  - {name: grpc, number: 85, protocol: GRPC}
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def _route(*args: str) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["route", "--no-config", "--format", "json", *args])
    return code, json.loads(out.getvalue()) if code == 0 else {}, err.getvalue()


# --- reading ---------------------------------------------------------------------------------------


def test_a_meshconfig_file_a_configmap_and_an_istio_operator_give_the_same_settings(tmp_path: Path) -> None:
    plain = _write(tmp_path, "mesh.yaml", "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\nrootNamespace: root\n")
    cm = _write(
        tmp_path,
        "cm.yaml",
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: istio, namespace: istio-system}
        data:
          mesh: |-
            outboundTrafficPolicy: {mode: REGISTRY_ONLY}
            rootNamespace: root
        """,
    )
    iop = _write(
        tmp_path,
        "iop.yaml",
        """\
        apiVersion: install.istio.io/v1alpha1
        kind: IstioOperator
        spec:
          meshConfig:
            outboundTrafficPolicy: {mode: REGISTRY_ONLY}
            rootNamespace: root
        """,
    )
    found = [load_file(p) for p in (plain, cm, iop)]
    assert all(f.outbound_traffic_policy == "REGISTRY_ONLY" and f.root_namespace == "root" for f in found)
    assert found[1].source == f"ConfigMap istio-system/istio ({cm}:5)"


def test_defaults_are_istios() -> None:
    settings_ = load([BOOKINFO], Options()).mesh.settings
    assert settings_.outbound_traffic_policy == "ALLOW_ANY" and settings_.source is None
    assert settings_.default_service_export_to == ("*",) and settings_.default_http_retry_policy is None


def test_a_bad_value_in_the_configmap_string_is_placed_on_its_own_line(tmp_path: Path) -> None:
    cm = _write(
        tmp_path,
        "cm.yaml",
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: istio, namespace: istio-system}
        data:
          mesh: |-
            enableTracing: true
            outboundTrafficPolicy:
              mode: REGISTRY
        """,
    )
    with pytest.raises(MeshConfigError) as exc:
        load_file(cm)
    assert str(exc.value).startswith(f"{cm}:8: mesh configuration `outboundTrafficPolicy.mode`: `REGISTRY` is not")
    assert "did you mean `REGISTRY_ONLY`?" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "must be a mapping"),
        ("rootNamespace: Not_Valid\n", "rootNamespace"),
        ("defaultHttpRetryPolicy: {attempts: 0, retryOn: 5xx}\n", "attempts"),
        ("a: 1\n---\nb: 2\n", "holds 2 documents"),
    ],
)
def test_unusable_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, "mesh.yaml", text)
    with pytest.raises(MeshConfigError) as exc:
        load_file(path)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_the_cli_refuses_a_missing_or_bad_file_with_exit_2(tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.yaml", "outboundTrafficPolicy: {mode: NOPE}\n")
    for path, message in ((str(tmp_path / "none.yaml"), "does not exist"), (bad, f"{bad}:1:")):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["route", BOOKINFO, "--host", "reviews", "--mesh-config", path])
        assert code == 2 and message in err.getvalue() and err.getvalue().count("\n") == 1


def test_the_configuration_file_names_a_mesh_config_relative_to_itself(tmp_path: Path) -> None:
    mesh = _write(tmp_path, "mesh.yaml", "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n")
    assert from_table({"mesh-config": "mesh.yaml"}, str(tmp_path / ".meshc.toml")).mesh_config_file == mesh
    with pytest.raises(ConfigError, match="mesh-config"):
        from_table({"mesh-config": 3}, str(tmp_path / ".meshc.toml"))
    cfg = tmp_path / ".meshc.toml"
    cfg.write_text('mesh-config = "mesh.yaml"\n', encoding="utf-8")
    code, data, _ = _route(BOOKINFO, "--host", "nope.example", "--port", "9080")
    assert data["egress"]["outbound_traffic_policy"] == "ALLOW_ANY"  # --no-config: the file is not read
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["route", BOOKINFO, "--config", str(cfg), "--host", "nope.example", "--port", "9080"])
    assert code == 0 and "block_all" in out.getvalue()
    cfg.write_text('mesh-config = "missing.yaml"\n', encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["route", BOOKINFO, "--config", str(cfg), "--host", "reviews"])
    assert code == 2 and f"{cfg}: `mesh-config`: mesh configuration file" in err.getvalue()


def test_the_flag_wins_over_the_configmap_of_the_input(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path,
        "in.yaml",
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: istio, namespace: istio-system}
        data: {mesh: "outboundTrafficPolicy: {mode: REGISTRY_ONLY}"}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: a, namespace: default}
        spec: {ports: [{name: http, port: 80}]}
        """,
    )
    code, data, _ = _route(cfg, "--host", "unknown.example")
    assert code == 0 and data["virtual_host"]["name"] == "block_all" and data["status"] == 502
    assert data["egress"]["from"].startswith("ConfigMap istio-system/istio")
    flag = _write(tmp_path, "mesh.yaml", "outboundTrafficPolicy: {mode: ALLOW_ANY}\n")
    code, data, _ = _route(cfg, "--host", "unknown.example", "--mesh-config", flag)
    assert data["virtual_host"]["name"] == "allow_any" and data["egress"]["cluster"] == "PassthroughCluster"
    assert data["egress"]["from"] == flag


# --- what the policy does -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "vhost", "cluster", "tcp"),
    [
        ("ALLOW_ANY", "allow_any", "PassthroughCluster", "PassthroughCluster"),
        ("REGISTRY_ONLY", "block_all", None, "BlackHoleCluster"),
        ("ALLOW_ANY_DYNAMIC_DNS", "allow_any_dynamic_dns", "AllowAnyDynamicDNSCluster", "PassthroughCluster"),
    ],
)
def test_each_policy_answers_a_host_outside_the_registry(
    tmp_path: Path, mode: str, vhost: str, cluster: str | None, tcp: str
) -> None:
    """TestPassthroughTraffic, without VIP: HTTP ports by the catch-all vhost, TLS ports by the passthrough chain."""
    cfg = _write(tmp_path, "se.yaml", SERVICE_ENTRY % {"addresses": ""})
    mesh = _write(tmp_path, "mesh.yaml", f"outboundTrafficPolicy: {{mode: {mode}}}\n")
    for port in ("80", "81", "85"):
        _, data, _ = _route(cfg, "--host", "foo", "--port", port, "--mesh-config", mesh)
        assert data["listener"] == f"0.0.0.0_{port}" and data["virtual_host"]["name"] == vhost, port
        assert data["egress"]["cluster"] == cluster and data["destinations"] == []
    _, data, _ = _route(cfg, "--host", "foo", "--port", "83", "--mesh-config", mesh)
    assert data["filter_chain"]["name"] == "PassthroughFilterChain" and data["egress"]["cluster"] == tcp
    # A plain TCP port without address: its only chain takes every connection, whatever the Host.
    _, data, _ = _route(cfg, "--host", "foo", "--port", "82", "--mesh-config", mesh)
    assert [d["cluster"] for d in data["destinations"]] == ["outbound|82||istio.io"] and data["egress"] is None


def test_a_service_address_takes_its_tcp_and_sniffed_ports_off_the_wildcard(tmp_path: Path) -> None:
    """TestPassthroughTraffic, with VIP: the connection to an unknown host on port 82 reaches virtualOutbound."""
    cfg = _write(tmp_path, "se.yaml", SERVICE_ENTRY % {"addresses": "addresses: [1.2.3.4]"})
    _, data, _ = _route(cfg, "--host", "istio.io", "--port", "82")
    assert data["listener"] == "1.2.3.4_82" and data["address"] == "1.2.3.4"
    assert [d["cluster"] for d in data["destinations"]] == ["outbound|82||istio.io"]
    _, data, _ = _route(cfg, "--host", "istio.io", "--port", "81")
    assert data["route_config"] == "istio.io:81" and data["virtual_host"]["domains"] == ["*"]
    for port in ("81", "82", "83"):
        _, data, err = _route(cfg, "--host", "foo", "--port", port)
        assert data["listener"] == "virtualOutbound" and data["egress"]["cluster"] == "PassthroughCluster"
        assert "outside the registry" in err
    _, data, _ = _route(cfg, "--host", "foo", "--port", "80")
    assert data["listener"] == "0.0.0.0_80" and data["virtual_host"]["name"] == "allow_any"


def test_dynamic_dns_gives_virtual_outbound_an_http_chain(tmp_path: Path) -> None:
    cfg = _write(tmp_path, "se.yaml", SERVICE_ENTRY % {"addresses": "addresses: [1.2.3.4]"})
    mesh = _write(tmp_path, "mesh.yaml", "outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}\n")
    _, data, _ = _route(cfg, "--host", "foo", "--port", "82", "--mesh-config", mesh)
    assert data["listener"] == "virtualOutbound" and data["route_config"] == "allow_any_dynamic_dns"
    assert data["egress"]["cluster"] == "AllowAnyDynamicDNSCluster"


def test_root_namespace_and_default_retries_come_from_the_settings(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path,
        "in.yaml",
        """\
        apiVersion: v1
        kind: Service
        metadata: {name: a, namespace: default}
        spec: {ports: [{name: http, port: 80}]}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: mesh-wide, namespace: mesh-root}
        spec: {host: "*.cluster.local", trafficPolicy: {connectionPool: {tcp: {maxConnections: 3}}}}
        """,
    )
    _, data, _ = _route(cfg, "--host", "a")
    assert data["policy"]["outbound|80||a.default.svc.cluster.local"]["destination_rules"] == []
    assert data["retries"]["attempts"] == 2 and data["retries"]["is_default"]
    mesh = _write(
        tmp_path, "mesh.yaml", "rootNamespace: mesh-root\ndefaultHttpRetryPolicy: {attempts: 4, retryOn: 5xx}\n"
    )
    _, data, _ = _route(cfg, "--host", "a", "--mesh-config", mesh)
    assert data["policy"]["outbound|80||a.default.svc.cluster.local"]["destination_rules"] == ["mesh-root/mesh-wide"]
    assert data["retries"]["attempts"] == 4 and data["retries"]["retry_on"] == ["5xx"]


# --- the listener model, stated as properties --------------------------------------------------------

_PROTOCOLS = st.sampled_from([None, "HTTP", "TCP", "TLS", "HTTPS", "GRPC"])


@st.composite
def _registries(draw: st.DrawFn) -> str:
    docs = []
    for i in range(draw(st.integers(1, 4))):
        ports = draw(st.lists(st.tuples(st.sampled_from([80, 81, 443, 5432]), _PROTOCOLS), min_size=1, max_size=3))
        ports = list({p: (p, proto) for p, proto in ports}.values())
        lines = [
            f"  - {{name: p{p}, number: {p}" + (f", protocol: {proto}" if proto else "") + "}" for p, proto in ports
        ]
        address = draw(st.sampled_from(["", f"addresses: [10.0.0.{i + 1}]"]))
        docs.append(
            f"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: s{i}, namespace: default}}\n"
            f"spec:\n  hosts: [s{i}.example]\n  {address}\n  resolution: DNS\n  ports:\n" + "\n".join(lines)
        )
    return "\n---\n".join(docs) + "\n"


@settings(max_examples=60, deadline=None)
@given(_registries(), st.sampled_from(["ALLOW_ANY", "REGISTRY_ONLY", "ALLOW_ANY_DYNAMIC_DNS"]))
def test_every_sidecar_listener_is_one_envoy_accepts_and_every_host_gets_an_answer(text: str, mode: str) -> None:
    """Envoy accepts every sidecar listener, and every request is answered.

    No two chains of a listener have one match (Envoy rejects that), there is one listener per address
    and port, and a request for any host on any port reaches a listener (virtualOutbound at least).
    """
    from meshc.meshconfig import MeshConfig

    opts = Options(mesh_config=MeshConfig(outbound_traffic_policy=mode))  # type: ignore[arg-type]
    loaded = load(["-"], opts, stdin=text.encode())
    assert loaded.errors == 0
    sidecar = compile_mesh(loaded.mesh).context("mesh")
    assert sidecar is not None
    keys = [(li.address, li.port) for li in sidecar.listeners]
    assert len(keys) == len(set(keys))
    assert sidecar.listeners[-1].name == ir.VIRTUAL_OUTBOUND
    for li in sidecar.listeners:
        matches = [
            (tuple(c.server_names), tuple(c.destination_cidrs), tuple(c.application_protocols))
            for c in li.filter_chains
        ]
        assert len(matches) == len(set(matches)), li.name
        rc = [c.route_config for c in li.filter_chains if c.route_config is not None]
        for table in rc:
            domains = [d for vh in table.virtual_hosts for d in vh.domains]
            assert len(domains) == len(set(domains)), table.name
    for host in ("s0.example", "unknown.example"):
        for port in (80, 81, 443, 5432, 9999):
            decision = explain(loaded, Request(host, port=port)).decision
            assert decision.listener is not None and decision.chain is not None, (host, port)
