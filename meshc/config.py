"""Options for a run: `[tool.meshc]` in pyproject.toml or `.meshc.toml`, then command-line flags."""

from __future__ import annotations

import fnmatch
import posixpath
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from meshc.diagnostics import Severity


def _toml() -> Any:
    """The TOML parser, imported when a configuration file is read (`--no-config` never needs it)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib


class ConfigError(Exception):
    """A configuration file or flag that cannot be used; the CLI exits with code 2."""


class Options(msgspec.Struct, frozen=True):
    """Everything that changes what meshc reports; immutable, built once per run."""

    select: tuple[str, ...] = ()
    """Selectors (code, code prefix, rule name or istioctl code) of the rules to run; empty = all."""
    ignore: tuple[str, ...] = ()
    """Selectors of rules not to run."""
    severity: Mapping[str, Severity] = msgspec.field(default_factory=dict)
    """Severity overrides by rule code."""
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(glob, selectors) pairs: diagnostics in matching files are dropped."""
    fail_on: Severity = Severity.ERROR
    """Lowest severity that makes the exit code 1."""
    cluster_domain: str = "cluster.local"
    """Kubernetes cluster domain used to build FQDNs (`name.ns.svc.<domain>`)."""
    default_namespace: str = "default"
    """Namespace of resources that do not name one (what `kubectl apply` would use)."""
    root_namespace: str = "istio-system"
    """Istio's root namespace (meshConfig.rootNamespace): mesh-wide policies live there."""
    complete_registry: bool = False
    """The input is the whole registry: run the checks that need Services, workloads, Namespaces or
    Secrets even when the input has none of them (then "not found" is a finding, not a skipped check)."""
    config_file: str | None = None
    """The configuration file that was read, if any."""
    clusters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(cluster name, globs) pairs: files matching a glob hold that cluster's resources (multicluster checks)."""
    mesh_config_file: str | None = None
    """`mesh-config` of the configuration file (relative to it): where the CLI reads `mesh_config` from."""
    mesh_config: Any = None
    """Mesh settings (a `meshc.meshconfig.MeshConfig`, which sits above this module) from
    `--mesh-config` or `mesh_config_file`; None: the `istio` ConfigMap of the input, else Istio's
    defaults (`Mesh.settings`)."""

    def with_flags(self, **flags: Any) -> Options:
        """Return a copy with the given flags applied (None means "not given")."""
        changes = {k: v for k, v in flags.items() if v is not None and v != ()}
        return msgspec.structs.replace(self, **changes)

    def cluster_of(self, path: str) -> str | None:
        """The cluster whose globs match a file (the first that does), or None."""
        norm = posixpath.normpath(path.replace("\\", "/"))
        for name, globs in self.clusters:
            if any(fnmatch.fnmatch(norm, g) for g in globs):
                return name
        return None

    def path_ignores(self, path: str) -> tuple[str, ...]:
        """Selectors ignored for one file."""
        out: list[str] = []
        # `./mesh/vs.yaml` and `mesh/vs.yaml` are the same file for a glob such as `mesh/*.yaml`.
        norm = posixpath.normpath(path.replace("\\", "/"))
        for pattern, selectors in self.per_path_ignores:
            if fnmatch.fnmatch(norm, pattern) or fnmatch.fnmatch(Path(norm).name, pattern):
                out.extend(selectors)
        return tuple(out)


_KEYS = {
    "select",
    "ignore",
    "severity",
    "per-path-ignores",
    "fail-on",
    "cluster-domain",
    "default-namespace",
    "root-namespace",
    "complete-registry",
    "clusters",
    "mesh-config",
}


def discover(start: Path | None = None) -> Path | None:
    """The nearest `.meshc.toml`, or `pyproject.toml` with a `[tool.meshc]` table, from start up."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".meshc.toml"
        if candidate.is_file():
            return candidate
        py = folder / "pyproject.toml"
        if py.is_file():
            tomllib = _toml()
            try:
                data = tomllib.loads(py.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            if "meshc" in data.get("tool", {}):
                return py
    return None


def load(path: Path | None = None, *, search: bool = True) -> Options:
    """Read options from `path`, or from the discovered file, or return the defaults."""
    if path is None and search:
        path = discover()
    if path is None:
        return Options()
    tomllib = _toml()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file `{path}` does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file `{path}`: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"`{path}` is not valid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("meshc", {})
    else:
        table = data
        if "tool" in table:
            raise ConfigError(
                f"{path}: unknown option `tool`: in `{path.name}` the options are top-level keys; "
                "remove the `[tool.meshc]` header (it belongs in pyproject.toml)"
            )
    return from_table(table, str(path))


def from_table(table: Mapping[str, Any], origin: str) -> Options:
    """Build Options from a `[tool.meshc]` table; unknown keys and bad values are errors."""
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{origin}: unknown option `{unknown[0]}`; known options: {', '.join(sorted(_KEYS))}")
    opts: dict[str, Any] = {"config_file": origin}
    for key in ("select", "ignore"):
        if key in table:
            opts[key] = _strings(table[key], f"{origin}: `{key}`")
    if "severity" in table:
        sev = table["severity"]
        if not isinstance(sev, Mapping):
            raise ConfigError(f'{origin}: `severity` must be a table such as {{MC201 = "warning"}}')
        out: dict[str, Severity] = {}
        for code, level in sev.items():
            try:
                out[str(code).upper()] = Severity.parse(str(level))
            except ValueError as exc:
                raise ConfigError(f"{origin}: severity of `{code}`: {exc}") from None
        opts["severity"] = out
    if "per-path-ignores" in table:
        ppi = table["per-path-ignores"]
        if not isinstance(ppi, Mapping):
            raise ConfigError(f"{origin}: `per-path-ignores` must be a table of glob = [codes]")
        opts["per_path_ignores"] = tuple(
            (str(glob), _strings(codes, f"{origin}: per-path-ignores `{glob}`")) for glob, codes in ppi.items()
        )
    if "fail-on" in table:
        try:
            opts["fail_on"] = Severity.parse(str(table["fail-on"]))
        except ValueError as exc:
            raise ConfigError(f"{origin}: `fail-on`: {exc}") from None
    for key, attr in (
        ("cluster-domain", "cluster_domain"),
        ("default-namespace", "default_namespace"),
        ("root-namespace", "root_namespace"),
    ):
        if key in table:
            value = table[key]
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{origin}: `{key}` must be a non-empty string")
            opts[attr] = value
    if "clusters" in table:
        clusters = table["clusters"]
        if not isinstance(clusters, Mapping):
            raise ConfigError(f'{origin}: `clusters` must be a table such as {{east = ["clusters/east/**"]}}')
        opts["clusters"] = tuple(
            (str(name), _strings(globs, f"{origin}: clusters `{name}`")) for name, globs in clusters.items()
        )
    if "complete-registry" in table:
        if not isinstance(table["complete-registry"], bool):
            raise ConfigError(f"{origin}: `complete-registry` must be true or false")
        opts["complete_registry"] = table["complete-registry"]
    if "mesh-config" in table:
        value = table["mesh-config"]
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{origin}: `mesh-config` must be the path of a MeshConfig file")
        # A relative path is relative to the configuration file, wherever meshc runs.
        opts["mesh_config_file"] = str(Path(origin).parent / value)
    return Options(**opts)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise ConfigError(f"{what} must be a list of strings")
