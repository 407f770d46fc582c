"""What meshc reads (meshc/inputs.py): empty input, special files, symlinks, the size limit; exact messages.

Each reproduction of issues 15 and 20 (files that are not what they seem) is a case here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from meshc import inputs
from tests.conftest import ROOT
from tests.test_cli import run

SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\nspec: {ports: [{name: http, port: 80}]}\n"
)
TESTS = str(ROOT / "examples" / "bookinfo-tests")

# Every command that reads configuration, called on `{}` (a list of paths).
COMMANDS = {
    "lint": lambda p: ["lint", "--no-config", "--format", "text", *p],
    "route": lambda p: ["route", "--no-config", *p, "--host", "a"],
    "compile": lambda p: ["compile", "--no-config", "-t", "ir", *p],
    "graph": lambda p: ["graph", "--no-config", *p],
    "test": lambda p: ["test", *p],
}


def one_error(code: int, out: str, err: str, message: str) -> None:
    assert (code, out) == (2, ""), (code, out, err)
    assert err.endswith(f"meshc: error: {message}\n"), err
    assert "Traceback" not in err and "internal error" not in err


# --- nothing is never a pass (issue 15, point 2) ---------------------------------------------------


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_dev_null_is_empty_input_in_every_command(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(COMMANDS[command](["/dev/null"]), monkeypatch)
    one_error(code, out, err, "the input is empty: no YAML document in `/dev/null`")


def _fifo(tmp_path: Path, name: str, content: bytes) -> str:
    """A named pipe with a writer that writes `content` and closes (like `<(helm template ...)`)."""
    path = tmp_path / name
    os.mkfifo(path)

    def write() -> None:
        with open(path, "wb") as pipe:
            pipe.write(content)

    threading.Thread(target=write, daemon=True).start()
    return str(path)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("content", [b"", b"# only a comment\n---\n"], ids=["empty", "comments"])
def test_an_empty_pipe_is_empty_input_in_every_command(
    command: str, content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = _fifo(tmp_path, "p.yaml", content)
    code, out, err = run(COMMANDS[command]([pipe]), monkeypatch)
    one_error(code, out, err, f"the input is empty: no YAML document in `{pipe}`")


def test_a_pipe_with_yaml_is_read_once_and_linted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = _fifo(tmp_path, "p.yaml", SERVICE.encode())
    code, out, err = run(["lint", "--no-config", "--format", "text", pipe], monkeypatch)
    assert code == 0 and "in 1 file" in out and err == "", (out, err)


def test_process_substitution_of_nothing_fails(tmp_path: Path) -> None:
    """`meshc lint <(true)`: the shell's /dev/fd/N, a pipe through a symlink."""
    bash = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m meshc lint --no-config <(true); echo rc=$?"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert bash.stdout == "rc=2\n"
    assert bash.stderr.startswith("meshc: error: the input is empty: no YAML document in `/dev/fd/")


def test_diff_still_compares_with_one_empty_side(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(["diff", "--no-config", "/dev/null", str(ROOT / "examples" / "bookinfo")], monkeypatch)
    assert code == 1 and out and "Traceback" not in err


def test_diff_refuses_two_empty_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(["diff", "--no-config", "/dev/null", "/dev/null"], monkeypatch)
    one_error(code, out, err, "the input is empty: no YAML document in `/dev/null`, `/dev/null`")


# --- files that are not what they seem (issue 20, point 4) -----------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A folder with every trap of issue 20: /proc and /dev through symlinks, a FIFO, loops, a linked folder."""
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a.yaml").write_text(SERVICE)
    (d / "sub" / "b.yaml").write_text(SERVICE.replace("name: a", "name: b"))
    (d / "env.yaml").symlink_to("/proc/self/environ")
    (d / "z.yaml").symlink_to("/dev/zero")
    os.mkfifo(d / "f.yaml")
    (d / "loop1.yaml").symlink_to("loop2.yaml")
    (d / "loop2.yaml").symlink_to("loop1.yaml")
    (d / "sub" / "up").symlink_to("..")
    (tmp_path / "outside.yaml").write_text(SERVICE.replace("name: a", "name: outside"))
    (d / "outside.yaml").symlink_to(tmp_path / "outside.yaml")
    linked = tmp_path / "elsewhere"
    linked.mkdir()
    (linked / "c.yaml").write_text(SERVICE.replace("name: a", "name: c"))
    (d / "inside").mkdir()
    (d / "inside" / "c.yaml").write_text(SERVICE.replace("name: a", "name: c"))
    (d / "linked").symlink_to(d / "inside")
    return d


def test_a_folder_reads_only_its_own_regular_files_and_says_what_it_skipped(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.environ["MESHC_TEST_SECRET"] = "s3cr3t-value"
    try:
        code, out, err = run(["lint", "--no-config", "--format", "full", str(tree)], monkeypatch)
    finally:
        del os.environ["MESHC_TEST_SECRET"]
    d = str(tree)
    assert err.splitlines() == [
        f"meshc: warning: skipped `{d}/env.yaml`: a symlink to `/proc/self/environ`, outside `{d}`",
        f"meshc: warning: skipped `{d}/f.yaml`: not a regular file: a FIFO",
        f"meshc: warning: skipped `{d}/loop1.yaml`: a symlink loop",
        f"meshc: warning: skipped `{d}/loop2.yaml`: a symlink loop",
        f"meshc: warning: skipped `{d}/outside.yaml`: a symlink to `{tree.parent}/outside.yaml`, outside `{d}`",
        f"meshc: warning: skipped `{d}/sub/up`: a symlink loop (`..` leads back to a folder it is in)",
        f"meshc: warning: skipped `{d}/z.yaml`: a symlink to `/dev/zero`, outside `{d}`",
    ]
    assert code == 0
    assert "in 3 files" in out  # a.yaml, inside/c.yaml (also reached as linked/), sub/b.yaml
    assert "s3cr3t-value" not in out + err


def test_a_symlinked_folder_inside_the_tree_is_linted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20: a symlinked folder was skipped silently (its errors vanished)."""
    d = tmp_path / "d"
    (tmp_path / "d" / "real").mkdir(parents=True)
    bad = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\n"
    bad += "spec: {host: r, subsetz: []}\n"
    (d / "real" / "bad.yaml").write_text(bad)
    (d / "view").symlink_to("real")
    # Only the symlinked name is given a place in the listing when the real folder is hidden.
    (d / ".hidden").mkdir()
    (d / ".hidden" / "bad2.yaml").write_text(bad.replace("name: r", "name: r2"))
    (d / "shown").symlink_to(".hidden")
    code, out, _ = run(["lint", "--no-config", "--format", "text", str(d)], monkeypatch)
    assert code == 1
    assert f"{d}/real/bad.yaml:4:17: MC005 [error] unknown field `subsetz` in `spec`" in out
    assert f"{d}/shown/bad2.yaml:4:17: MC005 [error] unknown field `subsetz` in `spec`" in out


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/dev/zero", "cannot read `{p}`: not a regular file but a device"),
        ("/proc/self/environ", "cannot read `{p}`: a file of the kernel's /proc or /sys, not a regular file"),
    ],
)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_special_file_named_explicitly_is_an_error(
    command: str, target: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(COMMANDS[command]([target]), monkeypatch)
    one_error(code, out, err, message.format(p=target))


@pytest.mark.parametrize("target", ["/proc/self/environ", "/dev/zero"])
def test_a_special_file_reached_through_a_named_symlink_is_skipped(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "env.yaml"
    link.symlink_to(target)
    good = tmp_path / "good.yaml"
    good.write_text(SERVICE)
    code, out, err = run(["lint", "--no-config", "--format", "full", str(link), str(good)], monkeypatch)
    kind = "a device" if target.startswith("/dev") else "a file of the kernel's /proc or /sys"
    assert err == f"meshc: warning: skipped `{link}`: a symlink to {kind} (`{target}`)\n"
    assert code == 0 and "in 1 file" in out
    code, out, err = run(["lint", "--no-config", str(link)], monkeypatch)
    assert code == 2 and err.endswith(f"meshc: error: the input is empty: no YAML document in `{link}`\n")


def test_a_symlink_loop_named_explicitly_is_reported_as_a_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    code, out, err = run(["lint", "--no-config", str(tmp_path / "a.yaml")], monkeypatch)
    one_error(code, out, err, f"cannot read `{tmp_path}/a.yaml`: a symlink loop")


def test_z_yaml_to_dev_zero_does_not_read_forever(tree: Path) -> None:
    """Issue 20: `z.yaml -> /dev/zero` read until memory ran out; a FIFO named f.yaml hung forever."""
    done = subprocess.run(
        [sys.executable, "-m", "meshc", "lint", "--no-config", "--format", "text", str(tree)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# --- the size limit ----------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_and_the_flag_raises_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "big.yaml"
    f.write_text(SERVICE + "# " + "x" * 2000 + "\n")
    code, out, err = run(["lint", "--no-config", "--max-file-size", "1K", str(f)], monkeypatch)
    one_error(
        code,
        out,
        err,
        f"`{f}` is larger than 1 KiB, the size limit of an input; raise it with --max-file-size if the file is "
        "really that large",
    )
    code, out, err = run(["lint", "--no-config", "--max-file-size", "4K", "--format", "text", str(f)], monkeypatch)
    assert code == 0, err
    assert inputs.max_bytes == 4096
    code, out, err = run(["lint", "--no-config", "--format", "text", str(f)], monkeypatch)
    assert code == 0 and inputs.max_bytes == inputs.DEFAULT_MAX_BYTES == 64 * 1024 * 1024


def test_standard_input_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(["lint", "--no-config", "--max-file-size", "100", "-"], monkeypatch, stdin=b"#" * 101)
    one_error(
        code,
        out,
        err,
        "`standard input` is larger than 100 bytes, the size limit of an input; raise it with --max-file-size if "
        "the file is really that large",
    )


def test_a_bad_size_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(["lint", "--no-config", "--max-file-size", "lots", "x.yaml"], monkeypatch)
    assert code == 2 and "`lots` is not a size (a number of bytes, or with K, M or G: `100M`)" in err


@pytest.mark.parametrize(("text", "size"), [("100", 100), ("64K", 65536), ("64M", 64 << 20), ("1g", 1 << 30)])
def test_sizes(text: str, size: int) -> None:
    assert inputs.parse_size(text) == size


# --- diff --base and links in the base revision --------------------------------------------------------


def test_diff_base_reads_any_link_of_the_base_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 20: an absolute symlink in the base revision was an internal error (tarfile's data filter)."""
    from meshc.cli import main

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "svc.yaml").write_text(SERVICE)
    (repo / "abs.yaml").symlink_to("/etc/passwd")
    (repo / "rel.yaml").symlink_to("svc.yaml")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "one"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)
    (repo / "svc.yaml").write_text(SERVICE.replace("port: 80", "port: 81"))
    monkeypatch.chdir(repo)
    capsys.readouterr()
    code = main(["diff", "--no-config", "--base", "HEAD", "."])
    out, err = capsys.readouterr()
    assert err == "meshc: warning: skipped `abs.yaml`: a symlink to `/etc/passwd`, outside `.`\n"
    assert code in (0, 1) and out.startswith("meshc diff HEAD:. → working tree .")
