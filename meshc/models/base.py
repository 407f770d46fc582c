"""Base model class and the value types shared by every resource model."""

import functools
import inspect
import math
import re
from typing import Annotated, Any, NoReturn, TypeVar

import msgspec
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError, core_schema

SHARED_SETS_KEPT = 4096
"""Most distinct sets `shared_set` keeps at once (a hostile input may make one per object)."""

_SHARED_SETS: dict[frozenset[str], frozenset[str]] = {}
_fields_set_slot = BaseModel.__dict__["__pydantic_fields_set__"]
_store_fields_set = _fields_set_slot.__set__


def shared_set(values: frozenset[str]) -> frozenset[str]:
    """`values`, or the equal set already shared: one object per distinct set of names.

    A frozenset takes 216 bytes even when empty, and the same few sets (the fields a model was given,
    a resource's `exportTo`) repeat in every resource.
    """
    found = _SHARED_SETS.get(values)
    if found is None:
        found = values
        if len(_SHARED_SETS) < SHARED_SETS_KEPT:
            _SHARED_SETS[values] = values
    return found


def _share_fields_set(model: BaseModel, fields: set[str]) -> None:
    """Store the fields a model was given as a frozen set shared by every model given the same ones.

    pydantic keeps a new `set` per instance (216 bytes, even empty): at 9,000 documents, 108,000
    instances had 29 distinct sets and 24 MiB of them. Assigning a field goes through `_assign`;
    nothing in meshc copies a model with an update (`model_copy` would add to the frozen set, and raise).
    """
    key = frozenset(fields)
    _store_fields_set(model, _SHARED_SETS.get(key) or shared_set(key))  # the lookup inline: once per model


def _assign(model: BaseModel, name: str, value: Any) -> None:
    """Pydantic's assignment of a field (not validated: `validate_assignment` is off), without changing a shared set.

    pydantic adds the name to the model's set of given fields in place; that set is shared, so the
    model gets the shared set with the name added instead. Conversion renames what it translated
    this way (istiod's names hold `~`, which validation refuses).
    """
    if name not in type(model).__pydantic_fields__:
        BaseModel.__setattr__(model, name, value)
        return
    model.__dict__[name] = value
    given = model.__pydantic_fields_set__
    if name not in given:
        _share_fields_set(model, given | {name})


_SHARED_FIELDS_SET = property(_fields_set_slot.__get__, _share_fields_set)
"""`__pydantic_fields_set__` of the models: read from pydantic's own slot, written through `_share_fields_set`."""


def empty_list() -> list[Any]:
    """A new empty list: the `default_factory` of every list field of the models (for `list` itself).

    pydantic asks each factory's signature whether it takes the validated data; for the builtin
    `list` that parses its text signature with the tokenizer (about 15 ms when the VirtualService
    validator is built by a one-file lint, most of it compiling the tokenizer's patterns); for a
    Python function it is a lookup. The value is the same: a new `[]` per instance, not in
    `model_fields_set`.
    """
    return []


def empty_dict() -> dict[Any, Any]:
    """A new empty dict: the `default_factory` of every map field of the models (as `empty_list`)."""
    return {}


# pydantic reads a factory's signature for every field that has it (39 fields in the VirtualService
# validator); `inspect.signature` returns a function's `__signature__` when it has one, instead of
# building it again from the code object.
empty_list.__signature__ = inspect.signature(empty_list)  # type: ignore[attr-defined]
empty_dict.__signature__ = inspect.signature(empty_dict)  # type: ignore[attr-defined]


class Model(BaseModel):
    """Base of every Istio model: strict types, unknown fields rejected.

    Attribute names are exactly the YAML field names (camelCase), so a pydantic error location
    is the field path in the document. A Python keyword gets a trailing underscore and an alias
    (`from_` for `from`).
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        populate_by_name=True,
        validate_default=False,
        revalidate_instances="never",
        # Build validators on first use: a pre-commit run on one file builds only what it needs.
        defer_build=True,
    )

    __pydantic_fields_set__ = _SHARED_FIELDS_SET
    __setattr__ = _assign


class LooseModel(BaseModel):
    """Base of the Kubernetes models: the fields meshc reads are typed, the rest are tolerated."""

    model_config = ConfigDict(
        extra="ignore",
        strict=True,
        populate_by_name=True,
        validate_default=False,
        revalidate_instances="never",
        # Build validators on first use: a pre-commit run on one file builds only what it needs.
        defer_build=True,
    )

    __pydantic_fields_set__ = _SHARED_FIELDS_SET
    __setattr__ = _assign


# --- durations -------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
"""One number and its unit; a duration is one or more of them, back to back."""
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
DURATION_PATTERN = r"^((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$"


class Duration(msgspec.Struct, frozen=True):
    """A duration as written (`1.5s`, `100ms`, `1h30m`) and its value in seconds."""

    text: str
    seconds: float

    @property
    def envoy(self) -> str:
        """The protobuf JSON form Envoy expects: seconds with an `s` suffix (`0.1s`, `180s`)."""
        return format_seconds(self.seconds)

    def __str__(self) -> str:
        return self.text

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        # pydantic does not know a Struct; `DurationField` parses and serialises it (`_ParsedDuration`)
        # and describes it (WithJsonSchema), so all the schema has to do is accept what the parser returns.
        # The ref keeps the JSON schema as it was for the dataclass: a referenced type gets no field title.
        return core_schema.is_instance_schema(cls, ref=f"{cls.__module__}.{cls.__qualname__}")


def format_seconds(seconds: float) -> str:
    """Render seconds as the shortest protobuf JSON duration (`2s`, `0.25s`)."""
    nanos = round(seconds * 1e9)
    whole, frac = divmod(nanos, 1_000_000_000)
    if not frac:
        return f"{whole}s"
    return f"{whole}.{frac:09d}".rstrip("0") + "s"


def parse_duration(value: Any) -> Duration:
    """Parse a Go-style duration string (what Istio accepts): `2s`, `1.5s`, `100ms`, `1h`."""
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "duration_type",
            "expected a duration string such as `5s` or `100ms`, got {kind} `{value}`",
            {"kind": type(value).__name__, "value": value},
        )
    return _parse_duration_text(value)


@functools.lru_cache(maxsize=8192)
def _parse_duration_text(value: str) -> Duration:
    # The parts found must cover the whole text (disjoint, so back to back): the same answer as a full
    # match of `(part)+`, with one pattern compiled instead of two (tests/models: every short text).
    parts = _DURATION_PART.findall(value)
    if not parts or sum(len(n) + len(u) for n, u in parts) != len(value):
        raise PydanticCustomError(
            "duration_format",
            "`{value}` is not a duration; write a number and a unit (ns, us, ms, s, m, h), e.g. `5s`, `1.5s`, `100ms`",
            {"value": value},
        )
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if not math.isfinite(seconds):
        raise PydanticCustomError("duration_range", "duration `{value}` is too large", {"value": value})
    return Duration(value, seconds)


def _duration_text(duration: Duration) -> str:
    return duration.text


class _ParsedDuration:
    """A duration field's validation and serialisation, as a core schema built directly.

    It is the schema pydantic made of `BeforeValidator(parse_duration)` and
    `PlainSerializer(..., return_type=str)`; pydantic built that for every duration field (six in
    a VirtualService) by reading both functions' signatures and generating the return type's schema.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            parse_duration,
            handler(source),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _duration_text, info_arg=False, return_schema=core_schema.str_schema()
            ),
        )


DurationField = Annotated[
    Duration,
    _ParsedDuration(),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "description": "Duration, e.g. `5s`"}),
]
"""A duration field: validated from a string, serialised back to the text the user wrote."""

# --- numbers ---------------------------------------------------------------------------------

PortNumber = Annotated[int, Field(ge=1, le=65535)]
"""A TCP/UDP port number, 1 to 65535."""

UInt32 = Annotated[int, Field(ge=0, le=4294967295)]
"""A protobuf uint32."""

Int32 = Annotated[int, Field(ge=-2147483648, le=2147483647)]
"""A protobuf int32."""

PercentValue = Annotated[float, Field(ge=0, le=100)]
"""A percentage, 0 to 100."""


class Percent(Model):
    """Istio's `Percent` message: `{value: 0..100}`."""

    value: PercentValue | None = None


MatchPort = Annotated[int, Field(ge=0, le=65535)]
"""A port in a match condition: 1 to 65535, or 0 meaning "any port" (proto3 unset)."""

Weight = Annotated[int, Field(ge=0, le=2147483647)]
"""A route weight: a non-negative int32 (Istio `validateWeight`)."""

NonNegativeInt32 = Annotated[int, Field(ge=0, le=2147483647)]
"""An int32 that Istio requires to be non-negative (connection pool limits, retry attempts)."""


# --- errors raised by the models --------------------------------------------------------------


def fail(
    kind: str,
    message: str,
    help: str | None = None,
    at: tuple[str | int, ...] = (),
    key: bool = False,
) -> NoReturn:
    """Raise a validation error whose message is already user-facing.

    Args:
        kind: the error type (a short snake_case name, e.g. `one_of`).
        message: one sentence, identifiers in backticks, no final period.
        help: an optional hint shown under the message.
        at: a path below the validated object where the problem is (YAML names), e.g.
            `("exportTo", 1)`; `meshc.models.errors` appends it to the error location.
        key: point at the key of `at` (a map key that is not allowed) rather than at its value.
    """
    ctx: dict[str, Any] = {}
    if help:
        ctx["help"] = help
    if at:
        ctx["at"] = at
    if key:
        ctx["key"] = True
    raise PydanticCustomError(kind, message, ctx or None)


def ticks(names: tuple[str, ...] | list[str]) -> str:
    """Render names as a comma-separated list of backticked identifiers."""
    return ", ".join(f"`{n}`" for n in names)


def and_list(names: list[str]) -> str:
    """Render backticked names joined by commas and a final `and`."""
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def one_of(model: BaseModel, names: tuple[str, ...], required: bool = False) -> None:
    """Enforce a protobuf `oneof`: at most one of `names` is set (exactly one when `required`).

    Args:
        model: the validated model.
        names: the YAML names of the group's fields, in declaration order.
        required: whether one of them must be set.
    """
    fields_set = model.model_fields_set
    if len(fields_set) < 2 and not required:
        return
    found = [n for n in names if n in fields_set and getattr(model, n) is not None]
    if len(found) > 1:
        fail("one_of", f"set only one of {ticks(names)} (found {and_list(found)})")
    if required and not found:
        fail("one_of_missing", f"set one of {ticks(names)}")


# --- durations with Istio's bounds -----------------------------------------------------------


def _at_least_1ms(value: Duration) -> Duration:
    # agent.ValidateDuration: "duration must be greater than 1ms", "only durations to ms precision".
    millis = value.seconds * 1000
    if millis < 1 - 1e-9:
        fail("duration_min", f"duration `{value.text}` is too short; it must be at least `1ms`")
    if abs(millis - round(millis)) > 1e-6:
        fail(
            "duration_precision",
            f"duration `{value.text}` is more precise than a millisecond; Istio supports ms precision",
        )
    return value


def _zero_or_at_least_1ms(value: Duration) -> Duration:
    return value if value.seconds == 0 else _at_least_1ms(value)


def _whole_seconds(value: Duration) -> Duration:
    _at_least_1ms(value)
    if abs(value.seconds - round(value.seconds)) > 1e-9:
        fail(
            "duration_precision",
            f"duration `{value.text}` must be whole seconds (CORS `maxAge` has second precision)",
        )
    return value


PositiveDuration = Annotated[DurationField, AfterValidator(_at_least_1ms)]
"""A duration Istio validates with `ValidateDuration`: at least 1ms, millisecond precision."""

ZeroOrPositiveDuration = Annotated[DurationField, AfterValidator(_zero_or_at_least_1ms)]
"""A duration where `0s` means "disabled", otherwise at least 1ms (TCP `idleTimeout`)."""

SecondsDuration = Annotated[DurationField, AfterValidator(_whole_seconds)]
"""A duration of whole seconds, at least 1s (CORS `maxAge`)."""


# --- null-tolerant collections (Kubernetes treats `null` as "unset") -------------------------

T = TypeVar("T")


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


def _none_to_dict(value: Any) -> Any:
    return {} if value is None else value


NullableList = Annotated[list[T], BeforeValidator(_none_to_list)]
"""A list where an explicit `null` reads as empty (for the loose Kubernetes models)."""

NullableDict = Annotated[dict[str, T], BeforeValidator(_none_to_dict)]
"""A string-keyed map where an explicit `null` reads as empty (for the loose Kubernetes models)."""
