"""The compose topology without Docker: deploy/nginx.conf in front of two real
`accord serve` processes sharing one PostgreSQL, all on loopback.

Shows what deploy/README.md claims: the proxy passes websockets; an account
made on one replica signs in on the other; a websocket client, on whichever
replica the proxy picked, gets the updates that commands on either replica
made (no sticky sessions); and when one replica goes away the proxy keeps
answering from the other.

Needs the nginx binary (`apt-get install nginx-light`) and PostgreSQL (as the
rest of the suite); skipped without nginx, saying so.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import free_port

from .deployfiles import DEPLOY, REPO, nginx_binary

pytestmark = pytest.mark.postgres

STARTUP_TIMEOUT = 60.0
FRAME_TIMEOUT = 15.0


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _post(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait_healthy(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{base} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if _get(base + "/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{base} did not become healthy:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class Topology:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.replicas: dict[str, tuple[str, subprocess.Popen]] = {}
        self.proxy: subprocess.Popen | None = None
        self.proxy_url = ""

    def start_replica(self, name: str, dsn: str) -> str:
        port = free_port()
        log = self.tmp / f"{name}.log"
        env = {
            **os.environ,
            "ACCORD_DATABASE_URL": dsn,
            "ACCORD_SECRET": "topology-test-secret",
            "ACCORD_PASSWORD_HASHING": "cheapest",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "warning"],
                cwd=self.tmp, env={**env, "PYTHONPATH": str(REPO)}, stdout=out, stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        self.replicas[name] = (base, process)
        _wait_healthy(base, process, log)
        return base

    def start_proxy(self, nginx: str) -> str:
        """deploy/nginx.conf as is, but for addresses and writable paths."""
        text = (DEPLOY / "nginx.conf").read_text()
        for name, (base, _) in self.replicas.items():
            text, count = re.subn(rf"\b{re.escape(name)}:\d+", base.removeprefix("http://"), text)
            assert count == 1, f"nginx.conf should name {name} once as an upstream server"
        port = free_port()
        text, count = re.subn(r"\blisten\s+\d+;", f"listen 127.0.0.1:{port};", text)
        assert count == 1
        text = text.replace("/tmp/", f"{self.tmp}/")
        text = text.replace("/dev/stderr", str(self.tmp / "nginx-error.log"))
        text = text.replace("/dev/stdout", str(self.tmp / "nginx-access.log"))
        conf = self.tmp / "nginx.conf"
        conf.write_text(text)
        self.proxy = subprocess.Popen(
            [nginx, "-p", str(self.tmp), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.proxy_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proxy.poll() is not None:
                pytest.fail(f"nginx exited: {self.proxy.stderr.read().decode(errors='replace')}")
            try:
                if _get(self.proxy_url + "/health", timeout=2)[0] == 200:
                    return self.proxy_url
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail("nginx did not answer /health")

    def stop(self) -> None:
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.send_signal(signal.SIGQUIT)  # nginx's graceful stop
            try:
                self.proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proxy.kill()
                self.proxy.wait(timeout=10)
        for _, process in self.replicas.values():
            _stop(process)


@pytest.fixture
def topology(tmp_path_factory: pytest.TempPathFactory, new_pg_database: Callable[[], str]) -> Iterator[Topology]:
    nginx = nginx_binary("the proxy topology")
    dsn = new_pg_database()
    tmp = tmp_path_factory.mktemp("topology")
    world = Topology(tmp)
    try:
        world.start_replica("accord-1", dsn)
        world.start_replica("accord-2", dsn)
        world.start_proxy(nginx)
        yield world
    finally:
        world.stop()


def _frames_until(ws, wanted: Callable[[dict], bool], what: str) -> list[dict]:
    seen: list[dict] = []
    deadline = time.monotonic() + FRAME_TIMEOUT
    while time.monotonic() < deadline:
        try:
            raw = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        frame = json.loads(raw)
        seen.append(frame)
        if wanted(frame):
            return seen
    pytest.fail(f"no {what} within {FRAME_TIMEOUT}s; frames seen: {seen}")


def test_proxy_passes_websockets_and_replicas_share_one_log(topology: Topology):
    from websockets.sync.client import connect

    one, two = (topology.replicas[name][0] for name in ("accord-1", "accord-2"))
    proxy = topology.proxy_url

    # Accounts live in PostgreSQL: register on one replica, sign in on the other.
    status, _ = _post(one + "/api/accounts", {"handle": "mina", "display_name": "Mina", "password": "a long passphrase"})
    assert status == 201
    status, session = _post(two + "/api/sessions", {"handle": "mina", "password": "a long passphrase"})
    assert status in (200, 201), session
    token = session["token"]

    # A websocket through the proxy, on whichever replica nginx picks.
    ws_url = proxy.replace("http://", "ws://") + "/api/live"
    with connect(ws_url, open_timeout=10, close_timeout=5) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        _frames_until(ws, lambda f: f.get("type") == "ready", "ready frame")
        # Commands on each replica directly: the client sees both.
        created = []
        for base in (one, two):
            status, agreement = _post(base + "/api/agreements", {"title": f"made on {base}"}, token)
            assert status == 201, agreement
            created.append(agreement["agreement_id"])
        for agreement_id in created:
            _frames_until(ws, lambda f, a=agreement_id: a in json.dumps(f), f"update for agreement {agreement_id}")


def test_proxy_refuses_bad_websocket_auth_with_the_services_own_close(topology: Topology):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    ws_url = topology.proxy_url.replace("http://", "ws://") + "/api/live"
    with connect(ws_url, open_timeout=10, close_timeout=5) as ws:
        ws.send(json.dumps({"type": "auth", "token": "not-a-token"}))
        frame = json.loads(ws.recv(timeout=FRAME_TIMEOUT))
        assert frame["type"] == "error" and frame["code"] == "unauthorized"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=FRAME_TIMEOUT)
    assert ws.close_code == 4401, "the service's close code crosses the proxy"


def test_proxy_keeps_answering_when_one_replica_stops(topology: Topology):
    _stop(topology.replicas["accord-1"][1])
    for _ in range(6):
        status, body = _get(topology.proxy_url + "/health")
        assert status == 200, body
        assert json.loads(body)["store"] == "postgresql"
