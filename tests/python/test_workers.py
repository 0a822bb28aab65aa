"""The worker threads that serve connections (``workers`` / ``TESSERA_WORKERS``).

Each connection is dealt to one of N single-threaded runtimes for its whole life.  These tests
check what an operator can observe: the number of threads follows the setting, an invalid
setting stops the start, many concurrent connections are all served (across every worker), an
idle keep-alive connection does not hold up shutdown, and every request is audited before exit.
"""

from __future__ import annotations

import concurrent.futures
import json
import socket
import subprocess
import time
from pathlib import Path

from tessera_testlib import sts_client


def identity_of_response(response: dict) -> dict:
    return {k: response[k] for k in ("Account", "Arn", "UserId")}


def worker_threads(pid: int) -> list[str]:
    names = []
    for comm in Path(f"/proc/{pid}/task").glob("*/comm"):
        try:
            name = comm.read_text().strip()
        except FileNotFoundError:  # a thread that ended while we looked
            continue
        if name.startswith("tessera-w"):
            names.append(name)
    return sorted(names)


def test_the_number_of_worker_threads_follows_the_setting(start_server):
    srv = start_server("three", env_extra={"TESSERA_WORKERS": "3"})
    assert worker_threads(srv.proc.pid) == ["tessera-w0", "tessera-w1", "tessera-w2"]
    one = start_server("one", env_extra={"TESSERA_WORKERS": "1"})
    assert worker_threads(one.proc.pid) == ["tessera-w0"]


def test_an_invalid_worker_count_stops_the_start(tessera_bin, tmp_path):
    for value, message in [("0", "TESSERA_WORKERS"), ("many", "TESSERA_WORKERS"),
                           ("1025", "workers must be between 1 and 1024")]:
        result = subprocess.run(
            [str(tessera_bin), "serve", "--listen", "127.0.0.1:0",
             "--data-dir", str(tmp_path / f"data-{value}")],
            env={"TESSERA_WORKERS": value, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=60)
        assert result.returncode != 0, f"workers={value} was accepted"
        assert message in result.stderr, result.stderr
        assert not (tmp_path / f"data-{value}" / "tessera.db").exists()


def test_many_concurrent_connections_are_all_served(start_server):
    srv = start_server("busy", env_extra={"TESSERA_WORKERS": "2"})
    admin = srv.admin_credentials()
    expected = identity_of_response(sts_client(srv, admin).get_caller_identity())

    def call(_: int) -> list[dict]:
        # A client per thread: each has its own connection pool, so 24 connections are open.
        client = sts_client(srv, admin)
        return [identity_of_response(client.get_caller_identity()) for _ in range(5)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        results = [r for batch in pool.map(call, range(24)) for r in batch]
    assert len(results) == 120
    assert all(r == expected for r in results)


def test_an_idle_keep_alive_connection_does_not_hold_up_shutdown(start_server):
    srv = start_server("idle")
    admin = srv.admin_credentials()
    sts = sts_client(srv, admin)
    sts.get_caller_identity()
    idle = socket.create_connection(("127.0.0.1", srv.port))
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle.recv(4096).startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    assert srv.stop() == 0
    assert time.monotonic() - started < 5, "shutdown waited on an idle connection"
    assert idle.recv(4096) == b"", "the idle connection was closed by the server"
    idle.close()
    audit = (srv.data_dir / "audit.log").read_text().splitlines()
    names = [json.loads(line)["eventName"] for line in audit]
    assert names.count("GetCallerIdentity") >= 1, "the request before shutdown was audited"
