"""`meshc completion bash|zsh|fish`: the scripts, run in the real shells, complete what the README says.

bash: the completion function is called with COMP_WORDS/COMP_CWORD, as readline would.
fish: `complete -C LINE` prints the candidates.
zsh: an interactive zsh on a pseudo-terminal (compinit, the script), `compadd` wrapped to record
the candidates, the line typed and TAB pressed; TAB is bound to a widget that completes, then
writes a marker, so the test knows when zsh is done without sleeping.

The shells are needed (`apt-get install bash zsh fish`; CI installs them): a missing one fails.
"""

from __future__ import annotations

import contextlib
import io
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from meshc.cli import main
from meshc.rules import RULES
from tests.conftest import ROOT

CODES_MC10 = [f"MC10{i}" for i in range(1, 10)]


def shell(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"`{name}` is missing: the completion tests run the real shell (apt-get install -y {name})")
    return found


def script(tmp: Path, kind: str) -> Path:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["completion", kind]) == 0
    path = tmp / f"meshc.{kind}"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("completion")
    return {kind: script(tmp, kind) for kind in ("bash", "zsh", "fish")}


SEP = "----"


def bash_complete(path: Path, lines: list[str]) -> list[list[str]]:
    program = [f"source {path}"]
    for line in lines:
        words = line.split(" ")
        program.append(
            f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; COMPREPLY=(); "
            f'_meshc_complete; printf "%s\\n" "${{COMPREPLY[@]}}" {SEP}'
        )
    proc = subprocess.run(
        [shell("bash"), "-c", "\n".join(program)], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    return _split(proc.stdout.splitlines())


def fish_complete(path: Path, lines: list[str]) -> list[list[str]]:
    program = [f"source {path}"] + [f"complete -C {line!r}; echo {SEP}" for line in lines]
    proc = subprocess.run(
        [shell("fish"), "-c", "; ".join(program)], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    return _split(row.split("\t")[0] for row in proc.stdout.splitlines())


def _split(rows: Iterable[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for row in rows:
        if row == SEP:
            out.append([])
        elif row:
            out[-1].append(row)
    return out[:-1]


def zsh_complete(path: Path, lines: list[str], tmp: Path) -> list[list[str]]:
    hits, done, ready = tmp / "hits", tmp / "done", tmp / "ready"
    for f in (hits, done, ready):
        f.unlink(missing_ok=True)
    (tmp / ".zshrc").write_text(
        f"""autoload -U compinit && compinit -u -D
source {path}
setopt no_beep
compadd () {{
  if [[ ${{@[1,(i)(-|--)]}} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  print -rl -- $__hits >> {hits}
  builtin compadd "$@"
}}
zle-line-init() {{ print -r ready > {ready} }}  # ZLE reads keys from now on
zle -N zle-line-init
complete-and-mark() {{ zle complete-word; print -r -- {SEP} >> {hits}; print -r done > {done} }}
zle -N complete-and-mark
bindkey '^I' complete-and-mark
""",
        encoding="utf-8",
    )
    master, slave = pty.openpty()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "ZDOTDIR": str(tmp), "TERM": "xterm"}
    proc = subprocess.Popen(
        [shell("zsh"), "-i"], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True
    )
    os.close(slave)

    def wait_for(path: Path) -> None:
        deadline = time.monotonic() + 30
        while not path.exists():
            assert time.monotonic() < deadline, f"zsh did not write {path.name}"
            if select.select([master], [], [], 0.05)[0]:
                os.read(master, 65536)  # keep the terminal drained

    try:
        wait_for(ready)
        for line in lines:
            # TAB completes, then writes the separator and `done`; nothing is typed ahead of it (zsh
            # completes differently with typeahead); Ctrl-U then clears the line.
            done.unlink(missing_ok=True)
            os.write(master, f"{line}\t".encode())
            wait_for(done)
            os.write(master, b"\x15")
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    return _split(hits.read_text(encoding="utf-8").split())


@pytest.fixture
def complete(scripts: dict[str, Path], tmp_path: Path):
    def run(kind: str, *lines: str) -> list[list[str]]:
        if kind == "bash":
            return bash_complete(scripts["bash"], list(lines))
        if kind == "fish":
            return fish_complete(scripts["fish"], list(lines))
        return zsh_complete(scripts["zsh"], list(lines), tmp_path)

    return run


SHELLS = ["bash", "zsh", "fish"]


@pytest.mark.parametrize("kind", SHELLS)
def test_commands_options_rule_codes_and_files(kind: str, complete) -> None:
    expected = {
        "meshc li": ["lint"],
        "meshc lint --for": ["--format"],
        "meshc lint --format ": ["text", "full", "json", "github", "sarif", "junit"],
        "meshc compile --target ": ["ir", "envoy", "nginx"],
        "meshc lint --select MC10": CODES_MC10,
        "meshc lint --ignore MC10": CODES_MC10,
        # bash and fish give the whole word, zsh's _values the item after the comma.
        "meshc lint --select MC101,MC20": [c for c in sorted(RULES) if c.startswith("MC20")],
        "meshc rule MC00": [c for c in sorted(RULES) if c.startswith("MC00")],
        # bash and fish give the path, zsh's _files the last component.
        "meshc lint exam": ["examples"],
        "meshc lint --config exam": ["examples"],
        "meshc route examples/book": [
            "bookinfo",
            "bookinfo-gateway-api",
            "bookinfo-gateway-api-tests",
            "bookinfo-tests",
        ],
        "meshc test examples/bookinfo-tests/ro": ["routes-icv.yaml", "routes.yaml"],
    }
    got = complete(kind, *expected)
    assert len(got) == len(expected)
    for (line, want), words in zip(expected.items(), got, strict=True):
        shown = sorted({w.rstrip("/").rpartition("/")[2].rpartition(",")[2] for w in words})
        assert shown == sorted(want), (line, words)


def test_unknown_shell_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "meshc", "completion", "tcsh"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr == "meshc: error: invalid value for SHELL: 'tcsh' (choose from bash, zsh, fish)\n"
