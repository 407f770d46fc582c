"""Every rule meshc has: its code, name, severity and inputs are known here; its module is imported when it must run.

Naming scheme: one module per concept (what the rules look at: `input`, `references`, `routing`,
`gateways`, `security`, `services`, and the `envoy` and `nginx` backends), never per code. A code's
first digit is its family (design.md §3: 0 input, 1 references, 2 routing, 3 policy and security,
4 backends), and codes are given out in order within a family, so a module holds one range or a
few. The first line of each module's docstring lists its codes (`(MC301–MC304, MC320)`; `MC1xx`
for a whole family); tests/test_rule_units.py checks that every code registered by a module is
listed there. Each rule computes its own findings (see `meshc.rules.base.per_mesh` for analyses
that several rules share).

The table below declares every rule function (`@rule` in its module says the same, or importing
the module fails), and for each module the kinds of resources its findings are about: a lint
whose input holds none of them cannot get a finding from it, and does not import it (a lint of
one VirtualService needs neither the annotation tables nor the Gateway API analyses). `None`:
the module is imported by every lint. tests/test_rule_registry.py proves the kinds, by linting
every input of the test suite with each module's rules and comparing.
"""

import importlib

from meshc.diagnostics import Severity
from meshc.mesh import WORKLOAD_KINDS
from meshc.models import GATEWAY_API_VERSIONS
from meshc.rules.base import READS, RULES, Finding, Rule, declare, describe, find, rule

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

declare(
    "annotations",
    frozenset({"Namespace", "Service", *WORKLOAD_KINDS}),
    [
        ("MC008", "unknown-annotation", W, "IST0108", ()),
        ("MC009", "misplaced-annotation", W, "IST0107", ()),
        ("MC010", "invalid-annotation-value", W, "IST0125", ()),
        ("MC011", "deprecated-annotation", I, "IST0135", ()),
    ],
)
declare(
    "delegates",
    None,
    [
        ("MC230", "delegate-rule-dropped", W, None, ()),
    ],
)
from meshc.rules import envoy as envoy  # noqa: E402 (stage codes, registered in this order)

declare(
    "services",
    frozenset({"Namespace", "Service", "ServiceEntry", "Sidecar", *WORKLOAD_KINDS}),
    [
        ("MC309", "service-entry-without-addresses", W, "IST0134", ()),
        ("MC310", "conflicting-service-entry-protocols", W, "IST0177", ()),
        ("MC311", "sidecar-selects-no-workload", E, "IST0101", ("workloads",)),
        ("MC312", "conflicting-sidecar-selectors", E, "IST0110", ("workloads",)),
        ("MC313", "multiple-default-sidecars", E, "IST0111", ()),
        ("MC314", "sidecar-in-ambient-mode", W, "IST0167", ()),
        ("MC315", "port-name-without-protocol", I, "IST0118", ()),
        ("MC316", "external-name-port-without-protocol", W, "IST0150", ()),
        ("MC317", "workload-port-protocol-conflict", W, "IST0116", ()),
        ("MC318", "workload-target-port-conflict", W, "IST0137", ()),
        ("MC319", "application-uid-1337", W, "IST0144", ()),
        ("MC322", "namespace-multiple-injection-labels", W, "IST0123", ()),
    ],
)
declare(
    "extensions",
    frozenset({"EnvoyFilter", "Telemetry"}),
    [
        ("MC325", "envoy-filter-relative-operation", W, "IST0151", ()),
        ("MC326", "envoy-filter-relative-operation-with-proxy-version", W, "IST0155", ()),
        ("MC327", "envoy-filter-replace-not-applicable", E, "IST0152", ()),
        ("MC328", "envoy-filter-add-ignored", E, "IST0153", ()),
        ("MC329", "envoy-filter-remove-ignored", E, "IST0154", ()),
        ("MC330", "telemetry-without-providers", W, "IST0157", ()),
        ("MC331", "conflicting-telemetry-selectors", E, "IST0159", ("workloads",)),
        ("MC332", "multiple-default-telemetries", E, "IST0160", ()),
        ("MC333", "telemetry-selects-no-workload", E, "IST0101", ("workloads",)),
    ],
)
declare(
    "gatewayapi",
    frozenset({*GATEWAY_API_VERSIONS, "CustomResourceDefinition"}),
    [
        ("MC150", "unknown-parent-gateway", E, None, ("gateways",)),
        ("MC151", "unknown-parent-listener", E, None, ()),
        ("MC152", "parent-rejects-namespace", E, None, ()),
        ("MC153", "parent-rejects-route-kind", E, None, ()),
        ("MC154", "no-matching-listener-hostname", E, None, ()),
        ("MC155", "unknown-parent-service", E, None, ("services",)),
        ("MC156", "unknown-backend", E, None, ("services",)),
        ("MC157", "unknown-backend-port", E, None, ("services",)),
        ("MC158", "backend-not-permitted", E, None, ()),
        ("MC159", "unsupported-backend", E, None, ()),
        ("MC160", "unknown-gateway-class", W, None, ("gateway-classes",)),
        ("MC161", "unknown-listener-certificate", E, None, ()),
        ("MC350", "gateway-api-crd-too-old", W, "IST0176", ()),
        ("MC351", "unserved-listener", E, None, ()),
        ("MC352", "conflicting-listeners", E, None, ()),
        ("MC353", "unsupported-allowed-route-kind", W, None, ()),
        ("MC250", "route-and-virtual-service-for-host", W, None, ()),
        ("MC251", "route-backend-weights-zero", W, None, ()),
        ("MC252", "unsupported-route-filter", E, None, ()),
    ],
)
declare(
    "gateways",
    frozenset({"Gateway"}),
    [
        ("MC301", "gateway-selects-no-workload", E, "IST0101", ("gateway-workloads",)),
        ("MC302", "gateway-port-not-exposed", W, "IST0162", ()),
        ("MC303", "conflicting-gateways", E, "IST0145", ()),
        ("MC304", "duplicate-gateway-certificate", W, "IST0138", ()),
        ("MC320", "unknown-gateway-credential", E, "IST0101", ("secrets",)),
    ],
)
declare(
    "injection",
    frozenset({"Namespace", "Pod"}),
    [
        ("MC323", "namespace-not-injected", I, "IST0102", ()),
        ("MC324", "pod-without-proxy", W, "IST0103", ()),
    ],
)
from meshc.rules import input as input  # noqa: E402 (stage codes, registered in this order)

declare(
    "meshconfig",
    None,
    [
        ("MC020", "invalid-mesh-config", E, None, ()),
    ],
)
declare(
    "multicluster",
    frozenset({"Service"}),
    [
        ("MC334", "inconsistent-multicluster-service", W, "IST0170", ()),
    ],
)
from meshc.rules import nginx as nginx  # noqa: E402 (stage codes, registered in this order)

declare(
    "references",
    None,
    [
        ("MC101", "unknown-destination-host", E, "IST0101", ("services",)),
        ("MC102", "unknown-subset", E, "IST0101", ("destination-rules",)),
        ("MC103", "unknown-destination-port", E, "IST0101", ("services",)),
        ("MC104", "destination-port-required", E, "IST0112", ("services",)),
        ("MC105", "unknown-gateway", E, "IST0101", ("gateways",)),
        ("MC106", "legacy-gateway-reference", W, "IST0133", ()),
        ("MC107", "host-not-in-gateway", W, "IST0132", ()),
        ("MC108", "unknown-destination-rule-host", W, "IST0174", ("services",)),
        ("MC109", "subset-selects-no-workload", E, "IST0173", ("workloads",)),
        ("MC110", "multiple-destination-rules", W, None, ()),
        ("MC111", "subset-without-labels", W, None, ()),
    ],
)
declare(
    "routing",
    None,
    [
        ("MC201", "conflicting-mesh-virtual-services", E, "IST0109", ()),
        ("MC202", "unreachable-rule", W, "IST0130", ()),
        ("MC203", "shadowed-match", I, "IST0131", ()),
        ("MC204", "redundant-match", I, "IST0131", ()),
        ("MC205", "ingress-route-without-subset", W, "IST0140", ()),
        ("MC206", "jwt-claim-route-without-request-authentication", E, "IST0149", ("workloads",)),
        ("MC207", "deprecated-field", W, "IST0002", ()),
        ("MC208", "route-weights-not-100", W, None, ()),
        ("MC209", "destination-without-weight", W, None, ()),
        ("MC210", "weight-on-single-destination", W, None, ()),
        ("MC211", "duplicate-route-destination", W, None, ()),
        ("MC212", "retries-exceed-timeout", W, None, ()),
        ("MC213", "fault-without-percentage", W, None, ()),
        ("MC214", "zero-fault-percentage", W, None, ()),
        ("MC215", "mirror-to-route-destination", I, None, ()),
        ("MC216", "uri-rewrite-on-regex-match", W, None, ()),
        ("MC217", "match-port-not-served", W, None, ("services",)),
        ("MC218", "source-match-ignored-with-gateways", W, None, ()),
    ],
)
declare(
    "security",
    frozenset({"DestinationRule", "AuthorizationPolicy", "RequestAuthentication", "Telemetry", "WasmPlugin"}),
    [
        ("MC305", "tls-without-ca-certificates", W, "IST0128", ()),
        ("MC306", "port-tls-without-ca-certificates", W, "IST0129", ()),
        ("MC307", "authorization-policy-selects-no-workload", W, "IST0127", ("workloads",)),
        ("MC308", "unknown-source-namespace", E, "IST0101", ("namespaces",)),
        ("MC321", "selector-on-gateway-api-workload", W, "IST0166", ()),
    ],
)
declare(
    "webhook",
    None,
    [
        ("MC220", "deprecated-setting", W, "IST0133", ()),
        ("MC219", "abort-without-error-type", W, "IST0133", ()),
        ("MC336", "selector-without-labels", W, "IST0133", ()),
        ("MC335", "deny-rule-only-http-attributes", W, "IST0133", ()),
        ("MC337", "ignored-tls-setting", W, "IST0133", ()),
        ("MC338", "failover-without-outlier-detection", W, "IST0133", ()),
    ],
)

# The modules whose findings may be about any input are imported with this package.
for _module, _reads in READS.items():
    if _reads is None:
        importlib.import_module(_module)

__all__ = ["RULES", "Finding", "Rule", "describe", "find", "rule"]
