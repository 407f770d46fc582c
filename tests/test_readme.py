"""The README's examples are run: every `$ meshc ...` line in a code block, with the output shown under it.

Each example runs from the repository root at 100 columns without colour (as the README says) and
its stdout and stderr must be exactly the lines shown. The configuration section's two forms
(`.meshc.toml` and `[tool.meshc]` in `pyproject.toml`) must parse, to the same options.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shlex
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest

from meshc import config
from meshc.cli import main
from tests.conftest import ROOT

README = ROOT / "README.md"
FENCE = re.compile(r"^( *)```[^\n]*\n(.*?)^\1```", re.S | re.M)


@dataclasses.dataclass
class Example:
    line: int
    command: str
    output: str


def blocks() -> list[tuple[int, str]]:
    """(line number of the opening fence, text) of every fenced code block, de-indented."""
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, textwrap.dedent(m.group(2))) for m in FENCE.finditer(text)]


def examples() -> list[Example]:
    out: list[Example] = []
    for start, body in blocks():
        current: Example | None = None
        for i, line in enumerate(body.splitlines(keepends=True), 1):
            if line.startswith("$ "):
                current = Example(start + i, line[2:].strip(), "")
                out.append(current)
            elif current is not None:
                current.output += line
    return out


EXAMPLES = examples()


def test_the_readme_has_its_examples() -> None:
    commands = [e.command.split()[1] for e in EXAMPLES]
    assert len(EXAMPLES) >= 8, [e.command for e in EXAMPLES]
    assert {"lint", "route", "diff", "test", "--version"} <= set(commands)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line {e.line}: {e.command[:50]}" for e in EXAMPLES])
def test_example(example: Example, monkeypatch: pytest.MonkeyPatch) -> None:
    args = shlex.split(example.command)
    assert args[0] == "meshc", example.command
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    main(args[1:])
    assert out.getvalue() + err.getvalue() == example.output, f"README.md:{example.line}: `{example.command}`"


def _config_blocks() -> dict[str, str]:
    found: dict[str, str] = {}
    for _, body in blocks():
        first = body.splitlines()[0] if body else ""
        if first in ("# .meshc.toml", "# pyproject.toml"):
            found[first[2:]] = body
    return found


def test_configuration_section_shows_both_forms_and_they_agree(tmp_path: Path) -> None:
    found = _config_blocks()
    assert set(found) == {".meshc.toml", "pyproject.toml"}
    options = {}
    for name, body in found.items():
        folder = tmp_path / name.strip(".")
        folder.mkdir()
        (folder / name).write_text(body, encoding="utf-8")
        assert config.discover(folder) == folder / name
        options[name] = msgspec.structs.replace(config.load(folder / name), config_file=None)
    assert options[".meshc.toml"] == options["pyproject.toml"] != config.Options()
    assert options[".meshc.toml"].per_path_ignores == (("legacy/*.yaml", ("MC105", "unknown-subset")),)


def test_a_tool_meshc_table_in_meshc_toml_says_where_it_belongs(tmp_path: Path) -> None:
    """Copying the pyproject form into .meshc.toml is an error that says what to do."""
    body = _config_blocks()["pyproject.toml"]
    (tmp_path / ".meshc.toml").write_text(body, encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"remove the `\[tool\.meshc\]` header"):
        config.load(tmp_path / ".meshc.toml")
