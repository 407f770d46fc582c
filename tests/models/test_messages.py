"""Validation problems read well: unknown fields, missing fields, enums, types and ranges."""

from __future__ import annotations

from meshc.models import lookup, validate
from meshc.models.errors import Problem

from .conftest import check, vs_spec


def _vs(metadata: dict | None = None, spec: dict | None = None) -> list[Problem]:
    document = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": metadata or {"name": "r"},
        "spec": spec or vs_spec(),
    }
    return validate(lookup("networking.istio.io/v1", "VirtualService").model, document)[1]


def test_unknown_metadata_field_suggests_the_close_name() -> None:
    problems = _vs(metadata={"name": "r", "lables": {"app": "r"}})
    assert problems == [
        Problem(
            ("metadata", "lables"), "unknown field `lables` in `metadata`", "did you mean `labels`?", True, "unknown"
        )
    ]


def test_unknown_field_without_close_match_lists_the_valid_fields() -> None:
    spec = vs_spec()
    spec["http"][0]["route"][0]["destination"]["zzz"] = 1
    (problem,) = _vs(spec=spec)
    assert problem.loc == ("spec", "http", 0, "route", 0, "destination", "zzz")
    assert problem.message == "unknown field `zzz` in `destination`"
    assert problem.help == "valid fields: `host`, `subset`, `port`"
    assert problem.at_key


def test_unknown_field_matches_snake_case_to_the_camel_case_name() -> None:
    spec = vs_spec(match=[{"ignore_uri_case": True}])
    (problem,) = _vs(spec=spec)
    assert problem.help == "did you mean `ignoreUriCase`?"


def test_missing_required_field_is_located_at_the_parent_object() -> None:
    spec = vs_spec(route=[{"destination": {"subset": "v1"}}])
    assert _vs(spec=spec) == [
        Problem(("spec", "http", 0, "route", 0, "destination"), "missing required field `host`", code="missing")
    ]


def test_missing_name_in_metadata() -> None:
    assert _vs(metadata={"namespace": "x"}) == [Problem(("metadata",), "missing required field `name`", code="missing")]


def test_enum_error_lists_values_and_suggests_the_close_one() -> None:
    (problem,) = check("DestinationRule", {"host": "r", "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBINN"}}})
    assert problem.loc == ("spec", "trafficPolicy", "loadBalancer", "simple")
    assert problem.message == (
        "`ROUND_ROBINN` is not a valid `simple`; expected one of `UNSPECIFIED`, `LEAST_CONN`, `RANDOM`, "
        "`PASSTHROUGH`, `ROUND_ROBIN`, `LEAST_REQUEST`"
    )
    assert problem.help == "did you mean `ROUND_ROBIN`?"


def test_enum_error_points_out_case_sensitivity() -> None:
    (problem,) = check("PeerAuthentication", {"mtls": {"mode": "strict"}})
    assert problem.help == "did you mean `STRICT`? (values are case-sensitive)"


def test_port_given_as_string_is_rejected_with_a_hint() -> None:
    (problem,) = check("ServiceEntry", {"hosts": ["a.com"], "ports": [{"number": "80", "name": "http"}]})
    assert problem.loc == ("spec", "ports", 0, "number")
    assert problem.message == '`number` must be an integer, got string `"80"`'
    assert problem.help == "remove the quotes"


def test_boolean_is_not_accepted_for_an_integer() -> None:
    (problem,) = check(
        "DestinationRule",
        {"host": "r", "subsets": [], "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": True}}}},
    )
    assert problem.message == "`maxConnections` must be an integer, got boolean `true`"


def test_number_for_a_string_label_suggests_quoting() -> None:
    (problem,) = check("DestinationRule", {"host": "r", "subsets": [{"name": "v1", "labels": {"version": 1.0}}]})
    assert problem.loc == ("spec", "subsets", 0, "labels", "version")
    assert problem.message == "`labels[version]` must be a string, got number `1.0`"
    assert problem.help == "quote the value"


def test_port_range_message_gives_both_bounds() -> None:
    spec = vs_spec(route=[{"destination": {"host": "r", "port": {"number": 70000}}}])
    (problem,) = check("VirtualService", spec)
    assert problem.loc == ("spec", "http", 0, "route", 0, "destination", "port", "number")
    assert problem.message == "`number` must be between 1 and 65535, got 70000"


def test_union_type_errors_merge_into_one_clean_problem() -> None:
    document = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "targetPort": 1.5}]},
    }
    (problem,) = validate(lookup("v1", "Service").model, document)[1]
    assert problem.loc == ("spec", "ports", 0, "targetPort")
    assert problem.message == "`targetPort` must be an integer or a string, got number `1.5`"


def test_bad_map_key_is_reported_at_the_key() -> None:
    spec = {"selector": {"matchLabels": {"app": "a"}}, "portLevelMtls": {"0": {"mode": "STRICT"}}}
    (problem,) = check("PeerAuthentication", spec)
    assert problem == Problem(
        ("spec", "portLevelMtls", "0"),
        "key `0` of `portLevelMtls` must be between 1 and 65535, got 0",
        None,
        True,
    )


def test_port_level_mtls_accepts_string_and_integer_port_keys() -> None:
    spec = {
        "selector": {"matchLabels": {"app": "a"}},
        "portLevelMtls": {"8080": {"mode": "DISABLE"}, 9090: {}},
    }
    assert check("PeerAuthentication", spec) == []


def test_document_that_is_not_a_mapping() -> None:
    assert validate(lookup("v1", "Service").model, ["x"])[1] == [
        Problem((), "a document must be a mapping, got a list")
    ]


def test_no_message_leaks_pydantic_phrasing_or_urls() -> None:
    bad = vs_spec(timeout=5, route=[{"destination": {"host": 3, "port": []}, "weight": -1}])
    bad["http"][0]["match"] = [{"uri": {"exact": 1}, "port": "x", "ignoreUriCase": "yes"}]
    problems = check("VirtualService", bad)
    assert len(problems) >= 5
    for problem in problems:
        assert "pydantic" not in problem.message and "errors.pydantic.dev" not in problem.message
        assert "Input should" not in problem.message
        assert not problem.message.endswith(".")
        assert all(isinstance(s, (str, int)) and not str(s).startswith(("function-", "lax-")) for s in problem.loc)
