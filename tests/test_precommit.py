"""The pre-commit hook (`.pre-commit-hooks.yaml`), run for real through `pre-commit try-repo`.

`try-repo` builds a virtual environment and pip-installs this repository into it, with the
machine's pip configuration (PyPI and the local indexes of `/etc/pip.conf`); pip's cache makes
later runs offline. Each run is bounded by `TIMEOUT`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600

GOOD = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
"""
BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviewz}
"""


def test_hook_manifest() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = hooks
    assert hook["id"] == "meshc"
    assert hook["entry"] == "meshc lint"
    assert hook["language"] == "python"
    assert hook["types"] == ["yaml"]
    assert hook["require_serial"] is True


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=test@example.com", "-c", "user.name=test", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "NO_COLOR": "1"}
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    try:
        return subprocess.run(
            [pre_commit, "try-repo", str(ROOT), "meshc", "--all-files"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:  # pragma: no cover - environment problem, reported plainly
        pytest.fail(f"pre-commit try-repo did not finish in {TIMEOUT} s: {exc.stdout}{exc.stderr}")


@pytest.mark.slow  # pre-commit builds an environment and installs meshc into it: about 60 s
def test_hook_fails_on_the_bad_file_and_passes_once_fixed(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is required to run pre-commit")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "good.yaml").write_text(GOOD, encoding="utf-8")
    (repo / "bad.yaml").write_text(BAD, encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "init")
    home = tmp_path / "pre-commit-home"

    failed = _try_repo(repo, home)
    output = failed.stdout + failed.stderr
    if "Installing environment" in output and "meshc...." not in output:
        pytest.fail(f"pre-commit could not install meshc (pip needs PyPI or a local index):\n{output}")
    assert failed.returncode == 1, output
    assert "Failed" in output
    assert "bad.yaml:8:27: MC101 [error] host `reviewz` matches no Service or ServiceEntry" in output
    assert "good.yaml:" not in output

    (repo / "bad.yaml").write_text(BAD.replace("reviewz", "reviews"), encoding="utf-8")
    _git(repo, "commit", "-q", "-am", "fix")
    passed = _try_repo(repo, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
