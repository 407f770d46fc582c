"""Base model class and the value types shared by every resource model."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError


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
    )


class LooseModel(BaseModel):
    """Base of the Kubernetes models: the fields meshc reads are typed, the rest are tolerated."""

    model_config = ConfigDict(
        extra="ignore",
        strict=True,
        populate_by_name=True,
        validate_default=False,
        revalidate_instances="never",
    )


# --- durations -------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION = re.compile(r"(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+")
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


@dataclass(frozen=True, slots=True)
class Duration:
    """A duration as written (`1.5s`, `100ms`, `1h30m`) and its value in seconds."""

    text: str
    seconds: float

    @property
    def envoy(self) -> str:
        """The protobuf JSON form Envoy expects: seconds with an `s` suffix (`0.1s`, `180s`)."""
        return format_seconds(self.seconds)

    def __str__(self) -> str:
        return self.text


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
    if not _DURATION.fullmatch(value):
        raise PydanticCustomError(
            "duration_format",
            "`{value}` is not a duration; write a number and a unit (ns, us, ms, s, m, h), e.g. `5s`, `1.5s`, `100ms`",
            {"value": value},
        )
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(value))
    if not math.isfinite(seconds):
        raise PydanticCustomError("duration_range", "duration `{value}` is too large", {"value": value})
    return Duration(value, seconds)


DurationField = Annotated[
    Duration,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda d: d.text, return_type=str),
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
