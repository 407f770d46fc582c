"""The `meshc compile` command: load, compile, render through one target, and say what differs from Istio.

`compile_target()` does everything but printing and writing: the CLI parses its flags into
`meshc.backends.Flags`, calls it, prints the messages and writes `Compiled.body` when it is not
None. Every target is treated the same way:

- a gap (an `MC4xx` warning: a piece left out or approximated) is reported and the configuration
  is written; with `strict`, nothing is written and the exit code is 1;
- a value the target cannot write safely (an `MC4xx` error) means nothing is written, exit code 1;
- the closing line counts them: `N gaps: ...` or `N errors: ...`, each diagnostic followed by its
  `help:` line.

`Compiled.check(path)` runs the data plane's validator on the written file (`--check`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshc import backends
from meshc.backends.options import OptionError
from meshc.diagnostics import Diagnostic, Severity
from meshc.output import Spool

EXIT_OK = 0
EXIT_FINDINGS = 1


class CompileError(Exception):
    """A usage error or unusable input: one line for the user, exit code 2."""


@dataclass
class Compiled:
    """What `meshc compile` produced: the text to write (None: nothing), what to report, the exit code."""

    target: str
    body: Spool | None
    """The text to write, as the target made it (None: nothing); never whole in memory (`Spool`)."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Lines about the input (`file:line: message`), shown as `meshc: warning: ...`."""
    summary: str | None = None
    """The closing line (`3 gaps: ...`), shown as `meshc: ...`."""
    exit_code: int = EXIT_OK
    _target: backends.Target | None = None

    def check(self, path: Path | None) -> tuple[str, int]:
        """Validate the written file (or, for stdout, the text in a temporary file): (message, exit code).

        The message says what ran and its verdict, or that the validator is not installed (exit
        code unchanged); a rejection is exit code 1.
        """
        target = self._target
        if target is None or not target.validator:
            return f"--check: nothing validates the `{self.target}` target but meshc itself", self.exit_code
        if self.body is None:
            return "--check: nothing was written, nothing to check", self.exit_code
        with tempfile.TemporaryDirectory(prefix="meshc-check-") as tmp:
            file = path
            if file is None or not file.is_file():
                suffix = ".yaml" if self.target == "envoy" else ".conf"
                file = Path(tmp) / f"{self.target}{suffix}"
                with file.open("w", encoding="utf-8") as handle:
                    handle.writelines(self.body.pieces())
            verdict = target.check(file)
        if verdict is None:
            return (
                f"warning: --check: `{target.validator}` is not installed, so the configuration was not validated",
                self.exit_code,
            )
        if verdict.ok:
            return f"--check: `{verdict.command}` accepts it", self.exit_code
        reason = _last_error_line(verdict.output)
        return f"error: --check: `{verdict.command}` rejects it: {reason}", EXIT_FINDINGS


def _last_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if any(w in line for w in ("critical", "[emerg]", "error", "Error")):
            return line
    return lines[-1] if lines else "(no output)"


def compile_target(
    paths: list[str],
    target: str,
    flags: backends.Flags,
    *,
    options: Any,
    source_namespace: str = "default",
    source_labels: dict[str, str] | None = None,
    strict: bool = False,
    stdin: Any = None,
) -> Compiled:
    """Compile `paths` for `target` (see the module docstring); CompileError for a usage or input error."""
    from meshc.compile import Scope, compile_mesh
    from meshc.pipeline import load

    known = list(backends.TARGETS)
    if not target:
        raise CompileError(f"--target is required: one of {', '.join(known)}")
    if target not in backends.TARGETS:
        raise CompileError(f"unknown target `{target}`; expected one of {', '.join(known)}")
    try:
        chosen = backends.get(target)
    except backends.BackendUnavailable as exc:
        raise CompileError(str(exc)) from None
    try:
        target_options = chosen.options(flags)
    except OptionError as exc:
        raise CompileError(str(exc)) from None
    loaded = load(paths, options, stdin=stdin)
    if loaded.errors:
        first = loaded.first_error
        where = (
            f"{first.span.path}:{first.span.line}:{first.span.column}: {first.code} {first.message}; " if first else ""
        )
        more = f" (and {loaded.errors - 1} more)" if loaded.errors > 1 else ""
        raise CompileError(f"{where}the input has errors{more}; run `meshc lint` and fix them before compiling")
    compiled = compile_mesh(loaded.mesh, Scope(source_namespace, dict(source_labels or {})))
    proxies = [c.name for c in compiled.contexts]
    for wanted in getattr(target_options, "contexts", None) or []:
        if wanted not in proxies:
            raise CompileError(
                f"--context `{wanted}` names no proxy of this configuration; its proxies: {', '.join(proxies)}"
            )
    warnings = [note.located() for note in [*loaded.notes, *compiled.notes]]
    # The IR holds all that rendering and its messages need (its origins keep their documents, not
    # the models): the Mesh and its models are dropped before the output is made (peak memory).
    loaded.mesh.forget()
    del loaded
    body = Spool()
    diagnostics = chosen.write(compiled, target_options, body.write)
    del compiled
    result = Compiled(target, body, diagnostics, warnings, _target=chosen)
    errors = [d for d in diagnostics if d.severity >= Severity.ERROR]
    gaps = [d for d in diagnostics if d.severity < Severity.ERROR]
    codes = ", ".join(sorted({d.code for d in diagnostics}))
    if errors:
        result.body = None
        result.exit_code = EXIT_FINDINGS
        result.summary = (
            f"{_count(len(errors), 'error')}: the {target} configuration cannot carry {_it(len(errors))} safely; "
            f"nothing written ({codes}: `meshc rule CODE`)"
        )
    elif gaps and strict:
        result.body = None
        result.exit_code = EXIT_FINDINGS
        result.summary = f"{_count(len(gaps), 'gap')}: --strict: nothing written ({codes}: `meshc rule CODE`)"
    elif gaps:
        result.summary = (
            f"{_count(len(gaps), 'gap')}: the {target} configuration differs from Istio where shown "
            f"({codes}: `meshc rule CODE`)"
        )
    return result


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _it(n: int) -> str:
    return "this value" if n == 1 else "these values"
