"""Istio's single-resource checks: one-of groups, durations, percentages, regexes and the like."""

from __future__ import annotations

import itertools
import re

import pytest

from .conftest import check, messages, vs_spec

# --- one-of groups -------------------------------------------------------------------------------


def test_string_match_accepts_one_kind_and_rejects_two() -> None:
    assert check("VirtualService", vs_spec(match=[{"uri": {"prefix": "/a"}}])) == []
    (problem,) = check("VirtualService", vs_spec(match=[{"uri": {"exact": "/a", "prefix": "/b"}}]))
    assert problem.loc == ("spec", "http", 0, "match", 0, "uri")
    assert problem.message == "set only one of `exact`, `prefix`, `regex` (found `exact` and `prefix`)"


def test_empty_header_match_tests_presence_and_is_valid() -> None:
    assert check("VirtualService", vs_spec(match=[{"headers": {"x-user": {}}}])) == []


@pytest.mark.parametrize(
    ("extra", "found"),
    [
        ({"redirect": {"uri": "/x"}}, "redirect"),
        ({"directResponse": {"status": 503}}, "directResponse"),
    ],
)
def test_http_rule_action_conflicts_with_route(extra: dict, found: str) -> None:
    (problem,) = check("VirtualService", vs_spec(**extra))
    assert problem.message == f"an http rule with `{found}` cannot also set `route`"
    assert problem.loc == ("spec", "http", 0, "route")


def test_http_rule_needs_an_action() -> None:
    spec = {"hosts": ["reviews"], "http": [{"match": [{"uri": {"prefix": "/"}}]}]}
    assert messages(check("VirtualService", spec)) == [
        "an http rule needs one of `route`, `redirect`, `directResponse` or `delegate`"
    ]


def test_http_rule_with_delegate_needs_no_route() -> None:
    spec = {"hosts": ["reviews"], "http": [{"delegate": {"name": "d", "namespace": "n"}}]}
    assert check("VirtualService", spec) == []
    spec["http"][0]["route"] = [{"destination": {"host": "r"}}]
    assert messages(check("VirtualService", spec)) == ["an http rule with `delegate` cannot also set `route`"]


def test_redirect_and_direct_response_cannot_be_combined() -> None:
    spec = {"hosts": ["a"], "http": [{"redirect": {"uri": "/x"}, "directResponse": {"status": 200}}]}
    assert messages(check("VirtualService", spec)) == ["an http rule with `redirect` cannot also set `directResponse`"]


def test_redirect_port_and_derive_port_are_one_of() -> None:
    spec = {"hosts": ["a"], "http": [{"redirect": {"port": 8080, "derivePort": "FROM_REQUEST_PORT"}}]}
    assert messages(check("VirtualService", spec)) == [
        "set only one of `port`, `derivePort` (found `port` and `derivePort`)"
    ]


def test_rewrite_uri_and_regex_rewrite_are_one_of() -> None:
    rewrite = {"uri": "/a", "uriRegexRewrite": {"match": "^/b", "rewrite": "/c"}}
    assert messages(check("VirtualService", vs_spec(rewrite=rewrite))) == [
        "set only one of `uri`, `uriRegexRewrite` (found `uri` and `uriRegexRewrite`)"
    ]


def test_fault_abort_error_types_are_one_of() -> None:
    fault = {"abort": {"httpStatus": 503, "grpcStatus": "UNAVAILABLE"}}
    assert messages(check("VirtualService", vs_spec(fault=fault))) == [
        "set only one of `httpStatus`, `grpcStatus`, `http2Error` (found `httpStatus` and `grpcStatus`)"
    ]


def test_fault_delay_kinds_are_one_of() -> None:
    fault = {"delay": {"fixedDelay": "1s", "exponentialDelay": "2s"}}
    assert messages(check("VirtualService", vs_spec(fault=fault))) == [
        "set only one of `fixedDelay`, `exponentialDelay` (found `fixedDelay` and `exponentialDelay`)"
    ]


def test_deprecated_fault_delay_percent_is_accepted() -> None:
    fault = {"delay": {"fixedDelay": "5s", "percent": 10}}
    assert check("VirtualService", vs_spec(fault=fault)) == []


def test_load_balancer_simple_and_consistent_hash_are_one_of() -> None:
    lb = {"simple": "RANDOM", "consistentHash": {"useSourceIp": True}}
    assert messages(check("DestinationRule", {"host": "r", "trafficPolicy": {"loadBalancer": lb}})) == [
        "set only one of `simple`, `consistentHash` (found `simple` and `consistentHash`)"
    ]


def test_consistent_hash_keys_are_one_of() -> None:
    lb = {"consistentHash": {"httpHeaderName": "x-user", "useSourceIp": True}}
    (problem,) = check("DestinationRule", {"host": "r", "trafficPolicy": {"loadBalancer": lb}})
    assert problem.message == (
        "set only one of `httpHeaderName`, `httpCookie`, `useSourceIp`, `httpQueryParameterName` "
        "(found `httpHeaderName` and `useSourceIp`)"
    )
    assert problem.loc == ("spec", "trafficPolicy", "loadBalancer", "consistentHash")


def test_mirror_and_mirrors_are_one_of() -> None:
    spec = vs_spec(mirror={"host": "m"}, mirrors=[{"destination": {"host": "m"}}])
    assert messages(check("VirtualService", spec)) == [
        "set only one of `mirror`, `mirrors` (found `mirror` and `mirrors`)"
    ]


def test_deprecated_mirror_percent_fields_are_accepted() -> None:
    for field, value in (
        ("mirrorPercent", 50),
        ("mirror_percent", 50),
        ("mirrorPercentage", {"value": 12.5}),
    ):
        assert check("VirtualService", vs_spec(mirror={"host": "m"}, **{field: value})) == []


# --- durations -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2s", "1.5s", "100ms", "1h", "1h30m", "0.5s", "250ms"])
def test_go_durations_are_accepted(value: str) -> None:
    assert check("VirtualService", vs_spec(timeout=value)) == []


@pytest.mark.parametrize("value", ["2", "2 s", "-1s", "abc", "", "1.5"])
def test_malformed_durations_are_rejected(value: str) -> None:
    (problem,) = check("VirtualService", vs_spec(timeout=value))
    assert problem.loc == ("spec", "http", 0, "timeout")
    assert "is not a duration" in problem.message


def test_duration_syntax_is_one_or_more_number_unit_parts_back_to_back() -> None:
    """Proves: `parse_duration` accepts exactly the full matches of `(number unit)+` (Go's syntax as Istio reads it).

    It checks with one pattern (the parts found must cover the text); the oracle is the full-match
    pattern it replaced, on every text of up to 4 characters over the characters that matter.
    """
    from pydantic_core import PydanticCustomError

    from meshc.models.base import parse_duration

    part = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h)"
    full = re.compile(f"(?:{part})+")
    accepted = 0
    for size in range(5):
        for chars in itertools.product("01.nsuµmhx", repeat=size):
            text = "".join(chars)
            try:
                parse_duration(text)
                ok = True
            except PydanticCustomError as exc:
                assert exc.type == "duration_format", text
                ok = False
            assert ok == (full.fullmatch(text) is not None), text
            accepted += ok
    assert accepted == 166  # `1s`, `1.5m`, `.5µs`, `1m1s`, ...: the texts the oracle accepts


def test_non_string_duration_is_rejected() -> None:
    (problem,) = check("VirtualService", vs_spec(timeout=5))
    assert problem.loc == ("spec", "http", 0, "timeout")
    assert "duration" in problem.message


def test_timeouts_must_be_at_least_one_millisecond() -> None:
    (problem,) = check("VirtualService", vs_spec(timeout="0s"))
    assert problem.message == "duration `0s` is too short; it must be at least `1ms`"
    (problem,) = check("VirtualService", vs_spec(retries={"attempts": 2, "perTryTimeout": "100us"}))
    assert problem.loc == ("spec", "http", 0, "retries", "perTryTimeout")


def test_tcp_idle_timeout_zero_disables_it() -> None:
    pool = {"tcp": {"idleTimeout": "0s"}}
    assert check("DestinationRule", {"host": "r", "trafficPolicy": {"connectionPool": pool}}) == []


def test_cors_max_age_needs_whole_seconds() -> None:
    (problem,) = check("VirtualService", vs_spec(corsPolicy={"maxAge": "1500ms"}))
    assert problem.loc == ("spec", "http", 0, "corsPolicy", "maxAge")
    assert "whole seconds" in problem.message


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 100.5, 101])
def test_percentages_must_be_between_0_and_100(value: float) -> None:
    (problem,) = check("VirtualService", vs_spec(fault={"abort": {"httpStatus": 503, "percentage": {"value": value}}}))
    assert problem.loc == ("spec", "http", 0, "fault", "abort", "percentage", "value")
    assert problem.message == f"`value` must be between 0 and 100, got {value}"


def test_percentage_accepts_integers_and_fractions() -> None:
    for value in (0, 100, 0.1, 50):
        assert check("VirtualService", vs_spec(mirror={"host": "m"}, mirrorPercentage={"value": value})) == []


@pytest.mark.parametrize("number", [0, 65536, -80])
def test_service_entry_ports_must_be_valid(number: int) -> None:
    (problem,) = check("ServiceEntry", {"hosts": ["a.example.com"], "ports": [{"number": number, "name": "http"}]})
    assert problem.message == f"`number` must be between 1 and 65535, got {number}"


def test_negative_weight_is_rejected_and_zero_total_weight_too() -> None:
    route = [{"destination": {"host": "a"}, "weight": -1}]
    assert messages(check("VirtualService", vs_spec(route=route))) == [
        "`weight` must be between 0 and 2147483647, got -1"
    ]
    route = [{"destination": {"host": "a"}}, {"destination": {"host": "b"}}]
    (problem,) = check("VirtualService", vs_spec(route=route))
    assert problem.message == "the weights of the destinations of `route` add up to 0"


# --- regexes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["(?=x)", r"(a)\1", "(?<!a)b", "["])
def test_regex_valid_in_python_but_not_in_re2_is_rejected(pattern: str) -> None:
    (problem,) = check("VirtualService", vs_spec(match=[{"uri": {"regex": pattern}}]))
    assert problem.loc == ("spec", "http", 0, "match", 0, "uri", "regex")
    assert "is not a valid RE2 regex" in problem.message
    assert problem.help == "Istio uses RE2 syntax: no lookaround, no backreferences"


def test_re2_regex_is_accepted() -> None:
    assert check("VirtualService", vs_spec(match=[{"uri": {"regex": r"/api/v[0-9]+/(?i:items)/\d+"}}])) == []


def test_regex_longer_than_1024_characters_is_rejected() -> None:
    (problem,) = check("VirtualService", vs_spec(match=[{"headers": {"x": {"regex": "a" * 1025}}}]))
    assert "at most 1024" in problem.message


def test_without_headers_accepts_star_as_presence() -> None:
    assert check("VirtualService", vs_spec(match=[{"withoutHeaders": {"x-debug": {"regex": "*"}}}])) == []
    (problem,) = check("VirtualService", vs_spec(match=[{"uri": {"regex": "*"}}]))
    assert "RE2" in problem.message


# --- other local checks --------------------------------------------------------------------------


def test_empty_prefix_is_allowed_for_uri_only() -> None:
    assert check("VirtualService", vs_spec(match=[{"uri": {"prefix": ""}}])) == []
    (problem,) = check("VirtualService", vs_spec(match=[{"method": {"prefix": ""}}]))
    assert problem.loc == ("spec", "http", 0, "match", 0, "method", "prefix")


def test_invalid_header_names_are_rejected_at_the_key() -> None:
    (problem,) = check("VirtualService", vs_spec(match=[{"headers": {"bad header": {"exact": "x"}}}]))
    assert problem.at_key and problem.loc[-1] == "bad header"


def test_jwt_claim_routing_needs_a_gateway() -> None:
    spec = vs_spec(match=[{"headers": {"@request.auth.claims.group": {"exact": "admin"}}}])
    assert "only for VirtualServices bound to gateways" in messages(check("VirtualService", spec))[0]
    spec["gateways"] = ["istio-system/ingress"]
    assert check("VirtualService", spec) == []


def test_hosts_must_not_be_empty_strings_or_invalid() -> None:
    spec = vs_spec()
    spec["hosts"] = [""]
    assert messages(check("VirtualService", spec)) == ["host name must not be empty"]
    (problem,) = check("DestinationRule", {"host": "bad_host!"})
    assert problem.loc == ("spec", "host")


def test_mesh_bound_virtual_service_cannot_use_star_host() -> None:
    spec = vs_spec()
    spec["hosts"] = ["*"]
    assert "not allowed in a VirtualService bound to the mesh" in messages(check("VirtualService", spec))[0]
    spec["gateways"] = ["gw"]
    assert check("VirtualService", spec) == []


def test_retry_settings_with_zero_attempts_are_rejected() -> None:
    (problem,) = check("VirtualService", vs_spec(retries={"attempts": 0, "perTryTimeout": "1s"}))
    assert problem.message == "`perTryTimeout` set while `attempts` is 0 (retries disabled)"


def test_retry_on_conditions_are_checked() -> None:
    assert check("VirtualService", vs_spec(retries={"attempts": 3, "retryOn": "5xx,connect-failure,503"})) == []
    (problem,) = check("VirtualService", vs_spec(retries={"attempts": 3, "retryOn": "5xx,gateway-eror"}))
    assert problem.message == "`gateway-eror` is not a valid `retryOn` condition"
    assert problem.help == "did you mean `gateway-error`?"


def test_duplicate_subset_names_are_rejected() -> None:
    spec = {"host": "r", "subsets": [{"name": "v1"}, {"name": "v1"}]}
    (problem,) = check("DestinationRule", spec)
    assert problem.loc == ("spec", "subsets", 1, "name")


def test_gateway_https_server_needs_tls() -> None:
    server = {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*"]}
    assert messages(check("Gateway", {"servers": [server]})) == ["a `HTTPS` server needs `tls` settings"]
    server["tls"] = {"mode": "SIMPLE", "credentialName": "cert"}
    assert check("Gateway", {"servers": [server]}) == []


def test_gateway_protocol_typo_suggests_the_protocol() -> None:
    server = {"port": {"number": 80, "name": "http", "protocol": "HTPP"}, "hosts": ["*"]}
    (problem,) = check("Gateway", {"servers": [server]})
    assert problem.help == "did you mean `HTTP`?"


def test_deprecated_outlier_and_sidecar_fields_are_accepted() -> None:
    policy = {
        "outlierDetection": {"consecutiveErrors": 5},
        "loadBalancer": {"consistentHash": {"minimumRingSize": 1024}},
    }
    assert check("DestinationRule", {"host": "r", "trafficPolicy": policy}) == []
    sidecar = {
        "egress": [{"hosts": ["./*"]}],
        "outboundTrafficPolicy": {
            "mode": "ALLOW_ANY",
            "egressProxy": {"host": "proxy.example.com", "port": {"number": 3128}},
        },
    }
    assert check("Sidecar", sidecar) == []


def test_authorization_policy_deny_without_rules_is_rejected() -> None:
    assert check("AuthorizationPolicy", {}) == []
    assert "never applies" in messages(check("AuthorizationPolicy", {"action": "DENY"}))[0]


def test_authorization_policy_from_keyword_field() -> None:
    spec = {
        "action": "ALLOW",
        "rules": [{"from": [{"source": {"namespaces": ["prod"]}}], "to": [{"operation": {"methods": ["GET"]}}]}],
    }
    assert check("AuthorizationPolicy", spec) == []
    spec["rules"][0]["when"] = [{"key": "request.headerz[x]", "values": ["1"]}]
    (problem,) = check("AuthorizationPolicy", spec)
    assert problem.loc == ("spec", "rules", 0, "when", 0, "key")


def test_request_authentication_accepts_deprecated_jwks_uri_spelling() -> None:
    assert check("RequestAuthentication", {"jwtRules": [{"issuer": "me", "jwks_uri": "https://me/jwks"}]}) == []
    assert messages(check("RequestAuthentication", {"jwtRules": [{"audiences": ["a"]}]})) == [
        "a JWT rule needs `issuer` or `jwksUri`"
    ]


def test_export_to_dot_and_own_namespace_are_duplicates() -> None:
    (problem,) = check("VirtualService", {**vs_spec(), "exportTo": [".", "prod"]}, namespace="prod")
    assert problem.loc == ("spec", "exportTo")
