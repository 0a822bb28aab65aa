"""Fixtures for the Tessera end-to-end tests.

The server binary comes from the TESSERA_BIN environment variable.  One
server (``server``) is shared by the whole session; tests that restart a
server or need special flags get their own through ``start_server``.

When a test fails, the output that each server involved wrote while the test
ran is attached to the failure report as a "tessera server log" section.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tessera_testlib import (
    ALL_SERVERS,
    Creds,
    TesseraServer,
    iam_client,
    sts_client,
)

_LOG_MARKS = pytest.StashKey[dict]()


# ---------------------------------------------------------------------------
# environment isolation
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _isolated_aws_environment():
    """Keep the developer's AWS configuration and proxies out of the tests."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.upper().startswith("AWS_"):
                mp.delenv(name)
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for name in ("no_proxy", "NO_PROXY"):
            current = os.environ.get(name)
            mp.setenv(name, f"{current},127.0.0.1,localhost" if current else "127.0.0.1,localhost")
        yield


# ---------------------------------------------------------------------------
# attach server logs to failure reports
# ---------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[_LOG_MARKS] = {id(s): s.log_size() for s in ALL_SERVERS}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    marks = item.stash.get(_LOG_MARKS, {})
    for server in ALL_SERVERS:
        text = server.read_log(marks.get(id(server), 0))
        if text.strip():
            report.sections.append(
                (f"tessera server log ({server.log_path}, during this test)", text))


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tessera_bin() -> Path:
    value = os.environ.get("TESSERA_BIN")
    if not value:
        pytest.fail("TESSERA_BIN is not set: point it at the tessera server binary, e.g. "
                    "TESSERA_BIN=target/debug/tessera python -m pytest tests/python",
                    pytrace=False)
    path = Path(value).resolve()
    if not path.is_file():
        pytest.fail(f"TESSERA_BIN={value!r}: no such file", pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail(f"TESSERA_BIN={value!r} is not executable", pytrace=False)
    return path


@pytest.fixture(scope="session")
def server(tessera_bin, tmp_path_factory) -> TesseraServer:
    """The server shared by the session; its data dir starts out empty."""
    base = tmp_path_factory.mktemp("shared-server")
    data_dir = base / "data"
    data_dir.mkdir()
    srv = TesseraServer(tessera_bin, data_dir, base / "server.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def start_server(tessera_bin, tmp_path):
    """Factory: ``start_server(name, extra_args=(), wrapper=(), env_extra=None)``.

    Each name gets its own empty data dir under the test's tmp_path.  The
    returned server is running; tests may stop()/start() it again.  Servers
    still running at teardown are stopped.
    """
    created: list[TesseraServer] = []

    def factory(name: str = "own", *, extra_args=(), wrapper=(), env_extra=None) -> TesseraServer:
        base = tmp_path / name
        data_dir = base / "data"
        data_dir.mkdir(parents=True)
        srv = TesseraServer(tessera_bin, data_dir, base / "server.log",
                            extra_args=extra_args, wrapper=wrapper, env_extra=env_extra)
        created.append(srv)
        return srv.start()

    yield factory
    errors = []
    for srv in created:
        try:
            srv.stop()
        except AssertionError as exc:
            errors.append(str(exc))
    assert not errors, "\n\n".join(errors)


# ---------------------------------------------------------------------------
# credentials and clients for the shared server
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def admin(server) -> Creds:
    """Long-term credentials of the bootstrap ``admin`` user."""
    return server.admin_credentials()


@pytest.fixture(scope="session")
def admin_sts(server, admin):
    return sts_client(server, admin)


@pytest.fixture(scope="session")
def admin_iam(server, admin):
    return iam_client(server, admin)


@pytest.fixture(scope="session")
def identity(admin_sts) -> dict:
    """GetCallerIdentity of the admin user: Account, Arn, UserId."""
    resp = admin_sts.get_caller_identity()
    return {k: resp[k] for k in ("Account", "Arn", "UserId")}


@pytest.fixture
def session_creds(admin_sts) -> Creds:
    """Fresh temporary credentials (GetSessionToken, 1 hour) of the admin."""
    return Creds.from_sts(admin_sts.get_session_token(DurationSeconds=3600)["Credentials"])
