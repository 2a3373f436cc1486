"""`nasforge dashboard` as a real server in a subprocess: where it listens, its JSON API, its security
headers; and the command's errors and warning."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from dashboard_browser import free_port, start_dashboard, stop

from nasforge.cli.main import cli
from nasforge.dashboard.app import CSP
from nasforge.evaluators.base import Result
from nasforge.storage import Store

pytest.importorskip("starlette", reason="the dashboard extra (starlette, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the dashboard extra (starlette, uvicorn) is not installed")

NAME = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("dash") / "runs.db"
    with Store(db) as store:
        exp = store.create_experiment(NAME, {"space": {"name": "nb201"}, "strategy": {"name": "random"},
                                             "evaluator": {"kind": "benchmark", "name": "nb201"},
                                             "objectives": ["val_acc:max"], "budget": {"trials": 3}})
        for i in range(3):
            tid = store.start_trial(exp.id, i, f"arch-{i}", json.dumps({"x": i}), None)
            store.finish_trial(tid, Result.ok({"val_acc": 50.0 + i}, cost=1.0) if i != 1 else Result.failed("boom"))
    port = free_port()
    proc = start_dashboard(db, port)
    yield f"http://127.0.0.1:{port}", port, proc
    stop(proc)


def _get(url: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6, in hex)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            addr, hexport = fields[1].split(":")
            if fields[3] == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                found.append(addr)
    return found


def _other_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 1))  # no packet is sent: this only picks the outgoing interface
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def test_the_server_listens_on_127_0_0_1_only_by_default(server):
    _, port, proc = server
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc/net/tcp to list listening sockets")
    assert _listening_addresses(port) == ["0100007F"]  # 127.0.0.1, and no IPv6 or wildcard socket
    other = _other_address()
    if other is not None:
        with pytest.raises(OSError):
            socket.create_connection((other, port), timeout=3).close()
    assert proc.stdout is not None and proc.poll() is None


def test_pages_and_api_carry_a_self_only_content_security_policy(server):
    base, _, _ = server
    for path in ("/", "/static/app.js", "/static/uPlot.iife.min.js", "/api/experiments"):
        status, headers, body = _get(base + path)
        assert status == 200, path
        assert headers["content-security-policy"] == CSP and "default-src 'self'" in CSP
        assert headers["x-content-type-options"] == "nosniff"
    _, _, page = _get(base + "/")
    html = page.decode()
    assert "http://" not in html and "https://" not in html and "<script>" not in html.replace(
        '<script src="/static/', "")


def test_json_api_serves_experiments_trials_and_errors(server):
    base, _, _ = server
    quoted = urllib.parse.quote(NAME, safe="")
    status, headers, body = _get(base + "/api/experiments")
    (exp,) = json.loads(body)["experiments"]
    assert exp["name"] == NAME and exp["trials"] == 3 and exp["failed"] == 1
    assert headers["content-type"] == "application/json" and headers["cache-control"] == "no-store"
    _, _, body = _get(f"{base}/api/experiments/{quoted}/trials?after=0")
    assert [t["number"] for t in json.loads(body)["trials"]] == [1, 2]
    _, _, body = _get(f"{base}/api/experiments/{quoted}/trials/1")
    assert json.loads(body)["error"] == "boom"
    _, _, body = _get(f"{base}/api/compare?name={quoted}")
    assert json.loads(body)["trials"]["series"][0]["y"] == [50.0, 50.0, 52.0]
    status, _, body = _get(base + "/api/experiments/nope")
    assert status == 404 and "nope" in json.loads(body)["error"]
    status, _, body = _get(f"{base}/api/experiments/{quoted}/trials?after=x")
    assert status == 400 and "integer" in json.loads(body)["error"]


def test_requests_naming_another_host_are_refused_on_loopback(server):
    base, port, _ = server
    status, _, _ = _get(base + "/api/experiments", host=f"attacker.example:{port}")
    assert status == 400
    assert _get(base + "/api/experiments", host=f"localhost:{port}")[0] == 200


def test_dashboard_command_errors_are_one_line_with_exit_2(tmp_path):
    res = CliRunner().invoke(cli, ["dashboard", "--storage", str(tmp_path / "missing.db")])
    assert res.exit_code == 2 and "does not exist" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "missing.db").exists()


def test_another_host_only_when_asked_and_with_a_warning(tmp_path, monkeypatch):
    import nasforge.dashboard as dash

    Store(tmp_path / "runs.db").close()
    calls = []
    monkeypatch.setattr(dash, "serve", lambda storage, host, port: calls.append((host, port)))
    runner = CliRunner()
    res = runner.invoke(cli, ["dashboard", "--storage", str(tmp_path / "runs.db"), "--port", "9999"])
    assert res.exit_code == 0 and calls[-1] == ("127.0.0.1", 9999) and "warning" not in res.output
    assert "http://127.0.0.1:9999/" in res.output
    res = runner.invoke(cli, ["dashboard", "--storage", str(tmp_path / "runs.db"), "--host", "0.0.0.0"])
    assert res.exit_code == 0 and calls[-1] == ("0.0.0.0", 8080)
    assert "warning: listening on 0.0.0.0" in res.output
