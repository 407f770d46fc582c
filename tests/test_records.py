"""The record classes a lint defines are msgspec Structs, with the semantics the dataclasses had."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from pydantic import BaseModel, ValidationError

from meshc import ir
from meshc.diagnostics import Span
from meshc.matching import HeaderMatch, PathMatch, RouteMatch, StringMatch
from meshc.matchspace import Str
from meshc.meshconfig import MeshConfig
from meshc.models import KINDS
from meshc.models.base import Duration, DurationField, PositiveDuration
from meshc.rules.base import RULES
from tests.lint_probe import lint_then

_DATACLASSES = (
    "f'{name}.{value.__qualname__}' for name, module in sorted(sys.modules.items())"
    " if name == 'meshc' or name.startswith('meshc.')"
    " for value in list(vars(module).values())"
    " if isinstance(value, type) and value.__module__ == name and '__dataclass_fields__' in vars(value)"
)
"""The meshc classes that are dataclasses, in the modules a run imported."""

_VS = (
    "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a, namespace: ns}\n"
    "spec:\n  hosts: [a]\n  http:\n  - match:\n    - uri: {prefix: /x}\n    route:\n    - destination: {host: a}\n"
    "  - route:\n    - destination: {host: a}\n"
)
_SERVICE_RULE_GATEWAY = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: ns}\n"
    "spec:\n  selector: {app: a}\n  ports: [{name: http, port: 80}]\n---\n"
    "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a, namespace: ns}\n"
    "spec:\n  host: a\n  subsets: [{name: v1, labels: {version: v1}}]\n---\n"
    "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g, namespace: ns}\n"
    "spec:\n  selector: {istio: ingressgateway}\n"
    "  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]\n"
)


@pytest.mark.parametrize("text", [_VS, _SERVICE_RULE_GATEWAY], ids=["virtual-service", "service-rule-gateway"])
def test_a_lint_defines_no_meshc_dataclass(tmp_path: Path, text: str) -> None:
    """Proves: the modules a lint imports define their records as msgspec Structs, not dataclasses.

    A guard for the start-up time of the pre-commit case (issue 18): Python 3.11 builds each
    dataclass by compiling its generated methods (about 1 ms a class: 45-50 ms of a one-file lint
    for 47 classes); a Struct is built in C in microseconds.
    """
    small = tmp_path / "input.yaml"
    small.write_text(text, encoding="utf-8")
    _code, found, _run = lint_then(small, _DATACLASSES)
    assert found == []


def test_str_compares_without_its_lead() -> None:
    """Proves: `matchspace.Str` equality and hash ignore `lead`, as `field(compare=False)` did."""
    a, b = Str("regex", "/a.*", False, "/a"), Str("regex", "/a.*", False, None)
    assert a == b and (a != b) is False and hash(a) == hash(b) and len({a, b}) == 1
    assert hash(a) == hash(("regex", "/a.*", False))  # the dataclass hash: the compared fields' tuple
    for other in (
        Str("prefix", "/a.*", False, "/a"),
        Str("regex", "/b.*", False, "/a"),
        Str("regex", "/a.*", True, "/a"),
    ):
        assert a != other and (a == other) is False
    assert a != ("regex", "/a.*", False)


def test_mesh_config_compares_without_where_it_came_from() -> None:
    """Proves: `MeshConfig` equality and hash ignore `problems` and `configmap`, as `field(compare=False)` did."""
    span = Span("mesh.yaml", 1, 1)
    a = MeshConfig("REGISTRY_ONLY", source="mesh.yaml")
    b = MeshConfig("REGISTRY_ONLY", source="mesh.yaml", problems=((span, "bad"),), configmap=object())
    assert a == b and (a != b) is False and hash(a) == hash(b)
    assert a != MeshConfig("REGISTRY_ONLY", source="other.yaml")
    assert a != MeshConfig("ALLOW_ANY", source="mesh.yaml")
    assert MeshConfig() == MeshConfig() and MeshConfig() != MeshConfig(root_namespace="x")
    assert msgspec.structs.replace(b, configmap=None).problems == ((span, "bad"),)


def test_mesh_config_compares_every_setting() -> None:
    """Proves: every MeshConfig field but `problems` and `configmap` is compared, a field added later too."""
    base = MeshConfig()
    for f in msgspec.structs.fields(MeshConfig):
        changed = msgspec.structs.replace(base, **{f.name: object()})
        if f.name in ("problems", "configmap"):
            assert changed == base and hash(changed) == hash(base), f.name
        else:
            assert changed != base, f.name


def test_frozen_records_refuse_assignment_and_compare_by_value() -> None:
    """Proves: frozen records raise AttributeError on assignment (as FrozenInstanceError did) and compare by value."""
    span = Span("a.yaml", 1, 2)
    with pytest.raises(AttributeError):
        span.line = 3  # type: ignore[misc]
    assert span == Span("a.yaml", 1, 2) and hash(span) == hash(Span("a.yaml", 1, 2))
    assert span != Span("a.yaml", 1, 3)
    assert repr(span) == "Span(path='a.yaml', line=1, column=2, end_line=None, end_column=None)"


def test_mutable_records_are_unhashable_and_identity_records_are_not_equal() -> None:
    """Proves: records without `frozen` keep `eq`'s value equality and no hash; `eq=False` ones compare by identity."""
    m = RouteMatch()
    assert m == RouteMatch() and m.path == PathMatch("prefix", "/")
    assert m.headers is not RouteMatch().headers  # a new list each (default_factory)
    with pytest.raises(TypeError):
        hash(m)
    from meshc.resolve import Client

    a, b = Client("ns"), Client("ns")
    assert a != b and a == a and hash(a) != hash(b)


def test_reprs_leave_out_what_the_dataclasses_left_out() -> None:
    """Proves: `Rule` leaves `text` and `KindInfo` leaves `module` out of their repr (`field(repr=False)`)."""
    rule = next(iter(RULES.values()))
    assert repr(rule).startswith(f"Rule(code={rule.code!r}, ") and "text=" not in repr(rule)
    info = next(iter(KINDS.values()))
    assert repr(info) == (
        f"KindInfo(group={info.group!r}, kind={info.kind!r}, versions={info.versions!r}, istio={info.istio!r})"
    )


def test_a_duration_field_validates_serialises_and_describes_itself_as_before() -> None:
    """Proves: pydantic keeps a `Duration` it parsed (the same object), its errors and its JSON schema."""

    class M(BaseModel):
        d: DurationField
        e: PositiveDuration | None = None

    m = M(d="1.5s", e="100ms")
    assert isinstance(m.d, Duration) and m.d == Duration("1.5s", 1.5) and m.d is M(d="1.5s").d
    assert m.model_dump() == {"d": "1.5s", "e": "100ms"} and m.model_dump_json() == '{"d":"1.5s","e":"100ms"}'
    d_schema = M.model_json_schema()["properties"]["d"]
    assert d_schema == {"description": "Duration, e.g. `5s`", "pattern": d_schema["pattern"], "type": "string"}
    with pytest.raises(ValidationError, match="duration_type"):
        M(d=3)
    with pytest.raises(ValidationError, match="duration_format"):
        M(d="5")


def test_the_ir_writes_and_reads_match_structs() -> None:
    """Proves: `ir.to_dict` leaves out a Struct field at its default, and `ir.from_dict` rebuilds the Struct."""
    m = RouteMatch(
        PathMatch("exact", "/a", True),
        [HeaderMatch("x", StringMatch("prefix", "v"), True, True)],
        method=StringMatch("exact", "GET"),
    )
    data = ir.to_dict(m)
    assert data == {
        "path": {"kind": "exact", "value": "/a", "ignore_case": True},
        "headers": [
            {"name": "x", "match": {"kind": "prefix", "value": "v"}, "invert": True, "treat_missing_as_empty": True}
        ],
        "method": {"kind": "exact", "value": "GET"},
    }
    assert ir.from_dict(RouteMatch, data) == m
    assert ir.to_dict(RouteMatch()) == {}
