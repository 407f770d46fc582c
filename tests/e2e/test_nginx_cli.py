"""`meshc compile --target nginx` from the command line: stderr diagnostics, --strict, -o, options."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshc.cli import main
from tests.e2e import nginx as ngx

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = str(ROOT / "examples" / "bookinfo")


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_gaps_are_warnings_with_file_and_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "nginx.conf"
    code, out, err = _run(
        ["compile", BOOKINFO, "--target", "nginx", "--upstream", "*=127.0.0.1:9", "-o", str(out_file)], capsys
    )
    assert code == 0 and out == ""
    assert "virtual-services.yaml:63:1: MC450 [warning] fault delay 2s (100%)" in err
    assert "request-authentication.yaml:12:1: MC452 [warning]" in err
    assert ngx.validate(out_file.read_text(encoding="utf-8")).ok


def test_strict_fails_and_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "nginx.conf"
    code, out, err = _run(
        ["compile", BOOKINFO, "--target", "nginx", "--strict", "--upstream", "*=127.0.0.1:9", "-o", str(out_file)],
        capsys,
    )
    assert code == 1 and out == ""
    assert "MC450 [warning]" in err and "gaps: --strict: nothing written" in err
    assert not out_file.exists()


def test_unsafe_value_is_an_error_without_strict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "vs.yaml"
    src.write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r, namespace: default}\n"
        'spec:\n  hosts: [r.example.com]\n  http:\n  - redirect: {uri: "/a b"}\n',
        encoding="utf-8",
    )
    out_file = tmp_path / "nginx.conf"
    code, _, err = _run(["compile", str(src), "--target", "nginx", "-o", str(out_file)], capsys)
    assert code == 1 and "MC490 [error]" in err and not out_file.exists()


def test_bad_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["compile", BOOKINFO, "--target", "nginx", "--port-map", "80:8080"], capsys)
    assert code == 2 and "bad port mapping" in err


def test_listen_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        [
            "compile",
            BOOKINFO,
            "--target",
            "nginx",
            "--bind",
            "127.0.0.1",
            "--port-offset",
            "10000",
            "--port-map",
            "80=18080",
            "--context",
            "mesh",
            "--endpoint",
            "reviews.default.svc.cluster.local=127.0.0.1:9",
        ],
        capsys,
    )
    assert code == 0
    assert "listen 127.0.0.1:19080;" in out and "listen 127.0.0.1:18080" not in out  # gateway context left out
    assert "server 127.0.0.1:9 max_fails=0;" in out


def test_missing_nginx_fails_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHC_NGINX", "")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(ngx.shutil, "which", lambda *a, **k: None)
    with pytest.raises(pytest.fail.Exception, match="nginx` command is missing"):
        ngx.nginx_binary()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resolver", "dns.example.com"], "bad resolver"),
        (["--resolver", "10.0.0.1:99999"], "port must be 1-65535"),
        (["--resolver", "10.0.0.1", "--resolver-valid", "10 s"], "bad duration"),
    ],
)
def test_bad_resolver_is_a_usage_error(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["compile", BOOKINFO, "--target", "nginx", *args], capsys)
    assert code == 2 and message in err


def test_resolver_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        [
            "compile",
            BOOKINFO,
            "--target",
            "nginx",
            "--resolver",
            "10.96.0.10",
            "--resolver",
            "[fd00::a]:5353",
            "--resolver-valid",
            "30s",
        ],
        capsys,
    )
    assert code == 0
    assert "    resolver 10.96.0.10:53 [fd00::a]:5353 valid=30s;" in out
    assert "server reviews.default.svc.cluster.local" not in out
    assert "MC466 [warning] cluster `outbound|9080|v2|reviews.default.svc.cluster.local` has DNS endpoints" in err
    assert "no --resolver given" not in err
    assert ngx.validate(out).ok
