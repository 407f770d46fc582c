"""Output files are written atomically; inputs are never touched; empty input is a usage error."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshc import render
from meshc.diagnostics import Diagnostic, Related, ResourceRef, Severity, Span
from meshc.output import OutputError, Spool, write_atomic
from meshc.render import indented_json
from tests.test_cli import BROKEN, run


def test_write_replaces_the_file_in_one_step_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OutputError, match="No space left on device"):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_an_interrupted_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.yaml"

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new\n")
    assert list(tmp_path.iterdir()) == []


def test_pieces_are_written_in_order_and_a_failure_midway_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    write_atomic(target, ["a: 1\n", "b: 2\n", "c: 3\n"])
    assert target.read_text() == "a: 1\nb: 2\nc: 3\n"

    def pieces() -> object:
        yield "x: 1\n"
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device"):
        write_atomic(target, pieces())  # type: ignore[arg-type]
    assert target.read_text() == "a: 1\nb: 2\nc: 3\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


SPOOLED = ["a: 1\n", "é: ü\n" * 3, "ß" * 10, "\n", "z: 26\n"]


@pytest.mark.parametrize("limit", [0, 5, 1 << 20])
def test_a_spool_gives_back_its_text_from_memory_or_its_file(limit: int) -> None:
    spool = Spool(limit)
    for piece in SPOOLED:
        spool.write(piece)
    assert "".join(spool.pieces(size=3)) == "".join(SPOOLED)  # blocks that split UTF-8 sequences
    assert "".join(spool.pieces()) == "".join(SPOOLED)


def test_a_spool_without_a_temporary_file_keeps_its_text_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_file(*args: object, **kwargs: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_file)
    spool = Spool(0)
    for piece in SPOOLED:
        spool.write(piece)
    assert "".join(spool.pieces()) == "".join(SPOOLED)


def test_a_spool_whose_file_fills_up_goes_back_to_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write
    calls = 0

    def write(fd: int, data: bytes) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            return real(fd, bytes(data)[:1])  # a short write, cutting "é" in two
        if calls > 2:
            raise OSError(28, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    spool = Spool(0)
    for piece in SPOOLED:
        spool.write(piece)
    assert "".join(spool.pieces()) == "".join(SPOOLED)


@pytest.mark.parametrize("where", ["missing-folder/out.json", "."])
def test_unwritable_targets_are_one_line_errors(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = str(tmp_path / where)
    code, out, err = run(["lint", "--no-config", "-f", "json", "-o", target, BROKEN], monkeypatch)
    assert code == 2
    assert out == ""
    assert err.startswith("meshc: error: cannot write `") and err.count("\n") == 1


def test_lint_never_modifies_its_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import ROOT

    files = sorted((ROOT / BROKEN).iterdir())
    before = {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in files}
    for fmt in ("text", "full", "json", "sarif"):
        run(["lint", "--no-config", "-f", fmt, BROKEN], monkeypatch)
    assert {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in files} == before


def test_a_folder_without_yaml_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    code, _, err = run(["lint", str(tmp_path)], monkeypatch)
    assert code == 2
    assert err == f"meshc: error: no .yaml, .yml or .json files under `{tmp_path}`\n"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=250, deadline=None)
@given(_JSON)
def test_indented_json_is_byte_for_byte_json_dumps(value: object) -> None:
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


_WORD = st.text(max_size=8)
_SPAN = st.builds(
    Span,
    _WORD,
    st.integers(min_value=0),
    st.integers(min_value=0),
    st.none() | st.integers(min_value=0),
    st.none() | st.integers(min_value=0),
)
_DIAGNOSTIC = st.builds(
    Diagnostic,
    _WORD,
    _WORD,
    st.sampled_from(Severity),
    st.text(),
    _SPAN,
    st.none() | st.builds(ResourceRef, _WORD, st.none() | _WORD, st.none() | _WORD),
    st.none() | _WORD,
    st.none() | _WORD,
    st.none() | st.text(),
    st.lists(st.builds(Related, _SPAN, st.text()), max_size=2).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_DIAGNOSTIC, max_size=3))
def test_json_report_is_byte_for_byte_json_dumps_of_the_diagnostics(diags: list[Diagnostic]) -> None:
    """Proves: `render.json_`, which writes a diagnostic's fixed shape directly, writes what json writes."""
    expected = json.dumps([d.to_dict() for d in diags], indent=2, ensure_ascii=False) + "\n"
    assert render.json_(diags) == expected


def test_a_large_json_report_is_rendered_in_memory_close_to_its_size() -> None:
    """Found by the fuzz bombs: json.dumps(indent=2) needed ~10 bytes per byte of a 26 MB report."""
    diags = [
        Diagnostic("MC005", "unknown-field", Severity.ERROR, f"unknown field `f{i}` in `spec`", Span("a.yaml", i, 3))
        for i in range(5_000)
    ]
    tracemalloc.start()
    try:
        text = render.json_(diags)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert json.loads(text)[4_999]["line"] == 4_999
    assert peak < 4 * len(text)


# --- every command that writes: -o goes through a temporary file and a rename -------------------------

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class Workspace:
    """A private copy of the examples (the inputs), an output folder, a current folder and TMPDIR."""

    def __init__(self, root: Path) -> None:
        import shutil

        self.root = root
        self.inputs = root / "inputs"
        shutil.copytree(EXAMPLES / "bookinfo", self.inputs / "bookinfo")
        shutil.copytree(EXAMPLES / "bookinfo-tests", self.inputs / "tests")
        (self.inputs / "broken.yaml").write_text(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hostz: [x]}\n"
        )
        (self.inputs / "bad-tests.yaml").write_text("tests: [\n")
        self.out = root / "out"
        self.cwd = root / "cwd"
        self.tmp = root / "tmp"
        for folder in (self.out, self.cwd, self.tmp):
            folder.mkdir()

    def snapshot(self) -> dict[str, tuple[bytes, int, int, int]]:
        """Every file under the workspace: content, mode, inode and modification time."""
        files = {}
        for p in sorted(self.root.rglob("*")):
            if p.is_file():
                st_ = p.stat()
                files[str(p.relative_to(self.root))] = (p.read_bytes(), st_.st_mode, st_.st_ino, st_.st_mtime_ns)
        return files


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    import tempfile

    w = Workspace(tmp_path)
    monkeypatch.chdir(w.cwd)
    monkeypatch.setenv("TMPDIR", str(w.tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return w


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    import io
    import sys

    from meshc.cli import main

    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = main(args)
    return code, out.getvalue(), err.getvalue()


# name: (arguments writing to {out}, arguments that fail before writing, exit code of that failure)
WRITERS: dict[str, tuple[list[str], list[str], int]] = {
    "lint": (
        ["lint", "--no-config", "-f", "json", "-o", "{out}", "{in}/bookinfo"],
        ["lint", "--no-config", "-f", "json", "-o", "{out}", "{in}/missing"],
        2,
    ),
    "compile ir": (
        ["compile", "--no-config", "-t", "ir", "-o", "{out}", "{in}/bookinfo"],
        ["compile", "--no-config", "-t", "ir", "-o", "{out}", "{in}/broken.yaml"],
        2,
    ),
    "compile envoy": (
        ["compile", "--no-config", "-t", "envoy", "-o", "{out}", "{in}/bookinfo"],
        ["compile", "--no-config", "-t", "envoy", "-o", "{out}", "{in}/broken.yaml"],
        2,
    ),
    "compile nginx": (
        ["compile", "--no-config", "-t", "nginx", "-o", "{out}", "{in}/bookinfo"],
        ["compile", "--no-config", "-t", "nginx", "--strict", "-o", "{out}", "{in}/bookinfo"],  # gaps: nothing written
        1,
    ),
    "test": (
        ["test", "{in}/tests", "--config", "{in}/bookinfo", "-f", "junit", "-o", "{out}"],
        ["test", "{in}/bad-tests.yaml", "--config", "{in}/bookinfo", "-o", "{out}"],
        2,
    ),
}


OUTPUT = "result.yaml"
"""The output file's name (an Envoy bootstrap must end in .yaml, .yml or .json)."""


def _fill(args: list[str], ws: Workspace, out: Path) -> list[str]:
    return [a.replace("{out}", str(out)).replace("{in}", str(ws.inputs)) for a in args]


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_output_is_renamed_into_place(name: str, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The output equals stdout's, arrives by one rename from the same folder, keeps the old mode."""
    args, _, _ = WRITERS[name]
    target = ws.out / OUTPUT
    to_stdout = [a for a in _fill(args, ws, target) if a not in ("-o", str(target))]
    code, expected, _ = invoke(to_stdout, monkeypatch)
    target.write_text("old\n")
    target.chmod(0o640)
    inode = target.stat().st_ino
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        renames.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert invoke(_fill(args, ws, target), monkeypatch)[0] == code
    assert target.read_text() == expected
    assert target.stat().st_mode & 0o777 == 0o640
    assert target.stat().st_ino != inode  # a new file took the name: never rewritten in place
    [(src, dst)] = renames
    assert Path(src).parent == ws.out and dst == str(target)
    assert [p.name for p in ws.out.iterdir()] == [OUTPUT]


@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("failure", ["rename fails", "interrupted", "error before writing"])
def test_a_failure_leaves_the_old_file_and_nothing_else(
    name: str, failure: str, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    args, failing, failing_code = WRITERS[name]
    target = ws.out / OUTPUT
    target.write_text("old\n")
    before = ws.snapshot()
    if failure == "rename fails":

        def replace(src: str, dst: str) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", replace)
        code, out, err = invoke(_fill(args, ws, target), monkeypatch)
        assert code == 2 and err.endswith(f"meshc: error: cannot write `{target}`: No space left on device\n")
    elif failure == "interrupted":

        def fsync(fd: int) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(os, "fsync", fsync)
        code, out, err = invoke(_fill(args, ws, target), monkeypatch)
        assert code == 130  # Ctrl-C while writing
    else:
        code, out, err = invoke(_fill(failing, ws, target), monkeypatch)
        assert code == failing_code, err
    assert out == ""
    assert ws.snapshot() == before  # the old output, the inputs, the folders: all as they were


ALL_COMMANDS = {
    **{name: args for name, (args, _, _) in WRITERS.items()},
    "route": ["route", "--no-config", "--host", "reviews", "--header", "end-user=jason", "{in}/bookinfo"],
    "graph": ["graph", "--no-config", "{in}/bookinfo"],
    "diff": ["diff", "--no-config", "{in}/bookinfo", "{in}/broken.yaml"],
    "diff --base": ["diff", "--no-config", "--base", "HEAD", "bookinfo"],
}


@pytest.mark.parametrize("name", sorted(ALL_COMMANDS))
def test_nothing_is_written_but_the_named_output(name: str, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs, the current folder and TMPDIR are left as they were (diff --base cleans its checkout)."""
    import subprocess

    args = _fill(ALL_COMMANDS[name], ws, ws.out / OUTPUT)
    if name == "diff --base":
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(ws.inputs)]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
        (ws.inputs / "bookinfo" / "gateway.yaml").write_text("# emptied\n")
        monkeypatch.chdir(ws.inputs)
    before = ws.snapshot()
    code, _, err = invoke(args, monkeypatch)
    assert code in (0, 1), err
    after = ws.snapshot()
    written = {k for k in after if before.get(k) != after[k]}
    assert written == ({f"out/{OUTPUT}"} if "-o" in args else set())


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_an_output_that_is_one_of_the_inputs_is_refused(
    name: str, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    args, _, _ = WRITERS[name]
    victim = ws.inputs / "bookinfo" / "gateway.yaml"
    before = ws.snapshot()
    code, out, err = invoke(_fill(args, ws, victim), monkeypatch)
    assert code == 2 and out == ""
    assert err == f"meshc: error: the output file `{victim}` is one of the inputs; meshc never overwrites its inputs\n"
    assert ws.snapshot() == before


# --- -o and links, special files, modes (issue 20, point 5) -------------------------------------------


def test_a_symlink_is_refused_and_neither_it_nor_its_target_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proves: `-o link` never writes through the link (a pull request could point it at ~/.bashrc)."""
    target = tmp_path / "bashrc"
    target.write_text("secret\n")
    target.chmod(0o600)
    link = tmp_path / "envoy.yaml"
    link.symlink_to(target)
    code, out, err = run(["lint", "--no-config", "-f", "json", "-o", str(link), BROKEN], monkeypatch)
    assert (code, out) == (2, "")
    assert err == (
        f"meshc: error: cannot write `{link}`: it is a symbolic link (to `{target}`); meshc does not write "
        "through links: remove it or give the file it points to\n"
    )
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "secret\n" and target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bashrc", "envoy.yaml"]


def test_a_dangling_symlink_is_refused_too(tmp_path: Path) -> None:
    link = tmp_path / "out.txt"
    link.symlink_to(tmp_path / "nowhere" / "x")
    with pytest.raises(OutputError, match="it is a symbolic link"):
        write_atomic(link, "x")
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()


def test_special_files_are_written_in_place(tmp_path: Path) -> None:
    """Proves: a FIFO, /dev/null and /dev/stdout are written as they are: never replaced, mode untouched."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    fifo.chmod(0o620)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_atomic(fifo, "through the pipe\n")
        assert os.read(reader, 100) == b"through the pipe\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.lstat(fifo).st_mode & 0o777 == 0o620
    before = os.stat("/dev/null")
    write_atomic("/dev/null", "nothing\n")
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_mode, stat.S_ISCHR(after.st_mode)) == (before.st_ino, before.st_mode, True)


def test_dev_stdout_reaches_the_caller_s_stdout(tmp_path: Path) -> None:
    """Proves: `-o /dev/stdout` prints (into a pipe and into a file), and /dev/stdout stays what it was."""
    from tests.conftest import ROOT

    args = [sys.executable, "-m", "meshc", "lint", "--no-config", "-f", "json", "-o", "/dev/stdout", BROKEN]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout)[0]["code"]
    log = tmp_path / "log.json"
    with open(log, "w") as handle:
        proc = subprocess.run(args, cwd=ROOT, stdout=handle, stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and json.loads(log.read_text())[0]["code"]


def test_a_new_file_gets_the_umask_and_an_old_one_keeps_its_bits_but_never_set_id(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "new.txt").stat().st_mode & 0o7777 == 0o640
    existing = tmp_path / "setuid.txt"
    existing.write_text("x")
    existing.chmod(0o4755)
    write_atomic(existing, "y")
    assert existing.stat().st_mode & 0o7777 == 0o755


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner, max_size=4).map(tuple) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
        max_leaves=30,
    ),
    st.integers(min_value=0, max_value=5),
)
def test_indented_json_nested_matches_json_dumps_with_nan_and_tuples(value: object, depth: int) -> None:
    """Proves: at any depth, with NaN, the infinities and tuples, the fast encoder writes json's exact bytes."""
    expected = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * depth)
    assert indented_json(value, depth) == expected


def test_indented_json_keeps_json_for_keys_that_are_not_strings() -> None:
    """Proves: objects with int, float, bool or None keys are written as json.dumps writes them."""
    value = {"a": {1: "x", 2.5: [True], None: {}, False: []}}
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)
