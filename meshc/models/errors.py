"""Turn pydantic validation errors into user-facing problems located by YAML path.

`validate(model, data)` returns the model or a list of `Problem`s. Each problem has a clean
location (field names, list indexes and map keys only: pydantic's union and validator segments
are removed), one sentence with identifiers in backticks, and an optional hint.
"""

from __future__ import annotations

import datetime
import re
import types
import typing
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

import annotated_types
import msgspec
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from meshc.diagnostics import close_matches
from meshc.patterns import lazy

Loc = tuple[str | int, ...]

MAX_FIELDS_LISTED = 12
"""An unknown-field problem lists the valid fields when there are at most this many."""


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong in a document.

    Attributes:
        loc: the field path inside the document, YAML names, e.g.
            `("spec", "http", 0, "route", 0, "destination", "subset")`.
        message: one sentence, identifiers in backticks, no final period.
        help: an optional hint, e.g. "did you mean `labels`?".
        at_key: True when the position should be the key (an unknown field, a bad map key),
            False when it should be the value.
        code: `unknown` (a field the schema does not define), `missing` (a required field is
            absent) or `invalid` (a value, or a map key, that is not allowed).
    """

    loc: Loc
    message: str
    help: str | None = None
    at_key: bool = False
    code: str = "invalid"


def validate(model: type[BaseModel], data: object) -> tuple[BaseModel | None, list[Problem]]:
    """Validate a document against a model.

    Args:
        model: the model class (e.g. `KINDS[...].model`).
        data: the document as loaded from YAML or JSON.

    Returns:
        `(instance, [])` when the document is valid, else `(None, problems)`. Never raises.
    """
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, problems(model, exc)
    except RecursionError:
        return None, [Problem((), "the document is nested too deeply to validate")]
    except Exception as exc:  # a bug in a validator must not crash the lint
        return None, [Problem((), f"internal error while validating ({type(exc).__name__}: {exc}); please report it")]


def problems(model: type[BaseModel], exc: ValidationError) -> list[Problem]:
    """Translate every error of `exc`, raised while validating `model`, into problems."""
    errors = cast("list[dict[str, Any]]", exc.errors(include_url=False))
    translated: list[Problem] = []
    by_loc: dict[Loc, list[dict[str, Any]]] = {}
    resolved: list[tuple[dict[str, Any], _Resolved]] = []
    for error in errors:
        res = _resolve(model, error["loc"])
        resolved.append((error, res))
        if error["type"] in _TYPE_NAMES:
            by_loc.setdefault(res.loc, []).append(error)
    done: set[Loc] = set()
    seen: set[Problem] = set()
    for error, res in resolved:
        if error["type"] in _TYPE_NAMES:
            if res.loc in done:
                continue
            done.add(res.loc)
            problem = _type_problem(res, by_loc[res.loc])
        else:
            problem = _problem(error, res)
        if problem not in seen:  # a set: a document with 100,000 unknown fields must not take quadratic time
            seen.add(problem)
            translated.append(problem)
    return translated


# --- resolving a pydantic location against the model's types -------------------------------------


class _Resolved(msgspec.Struct):
    loc: Loc  # the clean YAML path
    kinds: tuple[str, ...]  # per clean segment: "field", "index", "key" or "extra"
    parent: type[BaseModel] | None  # the model that holds the last field (or the unknown key)
    leaf: Any  # the type at the end of the path (None when unknown)
    meta: tuple[Any, ...]  # constraints (annotated_types) on the leaf
    at_key: bool  # the error is about a map key


def _unwrap(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    """Strip Annotated and Optional; return (type or list of union members, constraints)."""
    meta: list[Any] = []
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            base, *extra = get_args(tp)
            for item in extra:
                if isinstance(item, FieldInfo):
                    meta.extend(item.metadata)
                else:
                    meta.append(item)
            tp = base
        elif origin is Union or origin is types.UnionType:
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
            else:
                return members, tuple(meta)
        else:
            return tp, tuple(meta)


_SCALAR_TAGS = {
    int: "int",
    str: "str",
    float: "float",
    bool: "bool",
    bytes: "bytes",
    datetime.datetime: "datetime",
}
_TAG_RE = lazy(  # pydantic's own location segments: read only for errors
    r"(function-(after|before|wrap|plain)|lax-or-strict|json-or-python|literal|list|dict|set|tuple|"
    r"nullable|chain|tagged-union|union|constrained-\w+|is-instance|default)(\[.*\])?\Z"
    r"|(int|str|float|bool|bytes|datetime|date|none)\Z"
)


def _tag_member(members: list[Any], tag: str) -> Any:
    for member in members:
        base, _ = _unwrap(member)
        if isinstance(base, type):
            name = base.__name__ if issubclass(base, BaseModel) else _SCALAR_TAGS.get(base, base.__name__.lower())
            if tag == name:
                return member
        else:
            origin = get_origin(base)
            prefix = {Literal: "literal[", list: "list[", dict: "dict["}.get(origin)
            if prefix and tag.startswith(prefix):
                return member
    for member in members:
        if get_origin(member) is Annotated and tag.startswith("function-"):
            return member
    return None


def _field(model: type[BaseModel], name: str) -> tuple[str, FieldInfo] | None:
    fields = model.model_fields
    for attr, info in fields.items():
        if (info.alias or attr) == name:
            return info.alias or attr, info
    if name in fields:
        info = fields[name]
        return info.alias or name, info
    return None


def _resolve(model: type[BaseModel], raw: Loc) -> _Resolved:
    loc: list[str | int] = []
    kinds: list[str] = []
    parent: type[BaseModel] | None = model
    current: Any = model
    meta: tuple[Any, ...] = ()
    at_key = False
    raw = tuple(raw)
    for i, seg in enumerate(raw):
        base = _unwrap(current)[0] if current is not None else None
        if isinstance(base, list):  # a union: this segment names the member
            member = _tag_member(base, str(seg))
            if member is not None:
                current = member
                continue
            if isinstance(seg, str) and _TAG_RE.match(seg):
                current = None
                continue
            current = base[0]
            base, _ = _unwrap(current)
        origin = get_origin(base)
        if isinstance(base, type) and issubclass(base, BaseModel) and isinstance(seg, str):
            found = _field(base, seg)
            parent = base
            if found:
                name, info = found
                loc.append(name)
                kinds.append("field")
                current, meta = info.annotation, tuple(info.metadata)
            else:
                loc.append(seg)
                kinds.append("extra")
                current, meta = None, ()
        elif origin in (list, tuple, set) and isinstance(seg, int):
            loc.append(seg)
            kinds.append("index")
            current, meta = (get_args(base) or (None,))[0], ()
        elif origin is dict:
            args = get_args(base) or (None, None)
            loc.append(seg)
            kinds.append("key")
            if i + 1 < len(raw) and raw[i + 1] == "[key]":
                at_key = True
                current, meta = args[0], ()
            else:
                current, meta = args[1], ()
        elif seg == "[key]":
            at_key = True
        elif isinstance(seg, str) and _TAG_RE.match(seg) and current is not None:
            continue
        else:
            loc.append(seg)
            kinds.append("extra")
            current, meta = None, ()
    leaf, leaf_meta = _unwrap(current) if current is not None else (None, ())
    return _Resolved(tuple(loc), tuple(kinds), parent, leaf, (*meta, *leaf_meta), at_key)


# --- messages ------------------------------------------------------------------------------------


def _label(res: _Resolved) -> str:
    """The name of the value at the end of the path: `port`, `hosts[0]`, `labels[app]`."""
    text = ""
    for seg, kind in zip(reversed(res.loc), reversed(res.kinds), strict=True):
        if kind == "index" or kind == "key":
            text = f"[{seg}]{text}"
        else:
            return f"{seg}{text}"
    return text or "document"


def _key_label(res: _Resolved) -> str:
    """`key `k` of `field`` for a problem about a map key."""
    owner = _label(_Resolved(res.loc[:-1], res.kinds[:-1], res.parent, None, (), False))
    return f"key `{res.loc[-1]}` of `{owner}`" if res.loc else "key"


def _owner(loc: Loc) -> str | None:
    """The last field name of `loc` (the object an unknown or missing field belongs to)."""
    for seg in reversed(loc):
        if isinstance(seg, str):
            return seg
    return None


def _field_name(res: _Resolved) -> str:
    return _owner(res.loc) or "document"


def describe(value: Any) -> str:
    """Describe a YAML value for a message: type and value, e.g. ``string `"80"` ``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"number `{value}`"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f'string `"{shown}"`'
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"timestamp `{value.isoformat()}`"
    return f"a {type(value).__name__}"


_TYPE_NAMES = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "string_type": "a string",
    "bool_type": "a boolean (`true` or `false`)",
    "bool_parsing": "a boolean (`true` or `false`)",
    "float_type": "a number",
    "float_parsing": "a number",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "datetime_type": "a timestamp",
    "datetime_parsing": "a timestamp",
    "is_instance_of": "a value of another type",
}


def _type_problem(res: _Resolved, errors: list[dict[str, Any]]) -> Problem:
    expected: list[str] = []
    for error in errors:
        name = _TYPE_NAMES[error["type"]]
        if name not in expected:
            expected.append(name)
    value = errors[0]["input"]
    if not res.loc and not res.at_key:
        return Problem((), f"a document must be a mapping, got {describe(value)}")
    label = _key_label(res) if res.at_key else f"`{_label(res)}`"
    message = f"{label} must be {' or '.join(expected)}, got {describe(value)}"
    help_ = None
    if isinstance(value, str) and any(e in ("an integer", "a number") for e in expected):
        if value.strip().lstrip("-").replace(".", "", 1).isdigit():
            help_ = "remove the quotes"
    elif isinstance(value, (int, float, bool)) and expected == ["a string"]:
        help_ = "quote the value"
    return Problem(res.loc, message, help_, res.at_key)


def _bounds(meta: tuple[Any, ...]) -> tuple[Any, Any]:
    low: Any = None
    high: Any = None
    for item in meta:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low = item.gt
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Lt):
            high = item.lt
        elif isinstance(item, annotated_types.Interval):
            low = item.ge if item.ge is not None else item.gt
            high = item.le if item.le is not None else item.lt
    return low, high


def _number(value: Any) -> Any:
    """Show `100.0` as `100`: bounds come back as floats for float fields."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _range_problem(error: dict[str, Any], res: _Resolved) -> Problem:
    low, high = _bounds(res.meta)
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "greater_than_equal":
        low = ctx.get("ge", low)
    elif kind == "greater_than":
        low = ctx.get("gt", low)
    elif kind == "less_than_equal":
        high = ctx.get("le", high)
    elif kind == "less_than":
        high = ctx.get("lt", high)
    value = error["input"]
    low, high = _number(low), _number(high)
    label = _key_label(res) if res.at_key else f"`{_label(res)}`"
    if low is not None and high is not None:
        message = f"{label} must be between {low} and {high}, got {value}"
    elif low is not None:
        strict = kind == "greater_than"
        message = f"{label} must be {'greater than' if strict else 'at least'} {low}, got {value}"
    else:
        strict = kind == "less_than"
        message = f"{label} must be {'less than' if strict else 'at most'} {high}, got {value}"
    return Problem(res.loc, message, None, res.at_key)


def _literal_values(res: _Resolved, error: dict[str, Any]) -> list[str]:
    if get_origin(res.leaf) is Literal:
        return [str(v) for v in get_args(res.leaf)]
    expected = (error.get("ctx") or {}).get("expected", "")
    return re.findall(r"'([^']*)'", expected)


def _literal_problem(error: dict[str, Any], res: _Resolved) -> Problem:
    values = _literal_values(res, error)
    name = _field_name(res)
    value = error["input"]
    expected = ", ".join(f"`{v}`" for v in values)
    if len(values) == 1:
        if isinstance(value, str):
            return Problem(res.loc, f"`{value}` is not a valid `{name}`; expected `{values[0]}`")
        return Problem(res.loc, f"`{name}` must be `{values[0]}`, got {describe(value)}")
    if not isinstance(value, str):
        return Problem(res.loc, f"`{name}` must be one of {expected}, got {describe(value)}")
    help_ = None
    by_upper = {v.upper(): v for v in values}
    if value.upper() in by_upper:
        help_ = f"did you mean `{by_upper[value.upper()]}`? (values are case-sensitive)"
    else:
        close = close_matches(value, values, n=1, cutoff=0.6)
        if close:
            help_ = f"did you mean `{close[0]}`?"
    return Problem(res.loc, f"`{value}` is not a valid `{name}`; expected one of {expected}", help_)


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _unknown_field_problem(res: _Resolved) -> Problem:
    key = res.loc[-1] if res.loc else ""
    owner = _owner(res.loc[:-1])
    where = f" in `{owner}`" if owner else ""
    names = _field_names(res.parent)
    close = close_matches(str(key), names, n=1, cutoff=0.6)
    if not close:
        lowered = {n.lower(): n for n in names}
        flat = str(key).lower().replace("_", "").replace("-", "")
        close = [lowered[flat]] if flat in lowered else []
    if close:
        help_: str | None = f"did you mean `{close[0]}`?"
    elif names and len(names) <= MAX_FIELDS_LISTED:
        help_ = "valid fields: " + ", ".join(f"`{n}`" for n in names)
    else:
        help_ = None
    return Problem(res.loc, f"unknown field `{key}`{where}", help_, at_key=True, code="unknown")


def _missing_problem(res: _Resolved) -> Problem:
    name = res.loc[-1] if res.loc else "?"
    return Problem(res.loc[:-1], f"missing required field `{name}`", code="missing")


def _problem(error: dict[str, Any], res: _Resolved) -> Problem:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_field_problem(res)
    if kind == "missing":
        return _missing_problem(res)
    if kind == "literal_error":
        return _literal_problem(error, res)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _range_problem(error, res)
    ctx = error.get("ctx") or {}
    loc = res.loc + tuple(ctx.get("at", ()))
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if message.startswith("Input should be"):
        message = f"`{_label(res)}` must be" + message[len("Input should be") :]
    elif message.startswith("Input"):
        message = f"`{_label(res)}`" + message[len("Input") :]
    message = message.rstrip(".")
    code = "missing" if message.startswith("missing required field") else "invalid"
    return Problem(loc, message, ctx.get("help"), res.at_key or bool(ctx.get("key")), code)


# Keep `typing` referenced for the Union check on Python 3.10 (types.UnionType covers `X | Y`).
assert typing.Union is Union
