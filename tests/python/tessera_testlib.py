"""Helpers shared by the Tessera end-to-end tests.

Everything here talks to a real ``tessera serve`` process over loopback HTTP:
starting/stopping it, reading the bootstrap admin credentials, building boto3
clients (STS and IAM), signing raw requests with botocore's SigV4 signer,
checking the STS/IAM error envelope and running the aws CLI.
"""

from __future__ import annotations

import atexit
import base64
import configparser
import contextlib
import dataclasses
import datetime as dt
import http.client
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union
from unittest import mock
from urllib.parse import quote, urlsplit

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
STS_VERSION = "2011-06-15"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
IAM_VERSION = "2010-05-08"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
DEFAULT_REGION = "us-east-1"

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
AKIA_RE = re.compile(r"AKIA[A-Z2-7]{16}")
ACCOUNT_RE = re.compile(r"[0-9]{12}")
BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 30.0


# ---------------------------------------------------------------------------
# credentials
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Creds:
    access_key: str
    secret_key: str
    token: Optional[str] = None

    def botocore(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key, self.token)

    def replace(self, **changes) -> "Creds":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_sts(cls, credentials: dict) -> "Creds":
        """From the ``Credentials`` member of a GetSessionToken response."""
        return cls(
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        )


def admin_credentials_path(data_dir: Path) -> Path:
    return Path(data_dir) / "admin-credentials"


def read_admin_credentials(data_dir: Path) -> Creds:
    path = admin_credentials_path(data_dir)
    if not path.is_file():
        pytest.fail(f"the server did not write {path} (data dir contents: "
                    f"{sorted(p.name for p in Path(data_dir).iterdir())})")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    assert parser.has_section("default"), f"{path} has no [default] profile"
    section = parser["default"]
    for key in ("aws_access_key_id", "aws_secret_access_key"):
        assert key in section, f"{path} lacks {key}"
    return Creds(section["aws_access_key_id"].strip(),
                 section["aws_secret_access_key"].strip())


def random_akia() -> str:
    """A well-formed long-term key id that no server has ever issued."""
    return "AKIA" + "".join(secrets.choice(BASE32_ALPHABET) for _ in range(16))


def random_secret() -> str:
    return base64.b64encode(secrets.token_bytes(30)).decode()  # 40 chars


# ---------------------------------------------------------------------------
# server process management
# ---------------------------------------------------------------------------

ALL_SERVERS: list["TesseraServer"] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _live_group_members(pgid: int) -> list[int]:
    """Pids of non-zombie processes in process group ``pgid`` (Linux /proc).

    Wrappers such as ``faketime`` fork the real program, so after the
    wrapper exits the server may still be running (re-parented); and a
    re-parented zombie may never be reaped if pid 1 does not reap, hence
    the zombie filter.
    """
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) < 3:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in (b"Z", b"X"):
            members.append(int(name))
    return members


class TesseraServer:
    """One ``tessera serve`` process (restartable) on a given data dir."""

    def __init__(self, binary: Path, data_dir: Path, log_path: Path, *,
                 extra_args: Sequence[str] = (), wrapper: Sequence[str] = (),
                 env_extra: Optional[dict] = None):
        self.binary = Path(binary)
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.extra_args = list(extra_args)
        self.wrapper = list(wrapper)
        self.env_extra = dict(env_extra or {})
        self.port: Optional[int] = None
        self.proc: Optional[subprocess.Popen] = None
        self.returncode: Optional[int] = None
        self._log_fh = None
        ALL_SERVERS.append(self)

    # -- properties -------------------------------------------------------
    @property
    def endpoint(self) -> str:
        assert self.port is not None, "server was never started"
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        return [*self.wrapper, str(self.binary), "serve",
                "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", str(self.data_dir), *self.extra_args]

    # -- log --------------------------------------------------------------
    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def read_log(self, start: int = 0, limit: int = 40_000) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(start)
                data = fh.read()
        except FileNotFoundError:
            return ""
        text = data.decode("utf-8", errors="replace")
        if len(text) > limit:
            text = f"[... {len(text) - limit} earlier characters omitted ...]\n" + text[-limit:]
        return text

    def _note(self, line: str) -> None:
        with open(self.log_path, "ab") as fh:
            fh.write(f"\n===== [test harness {time.strftime('%H:%M:%S')}] {line} =====\n".encode())

    # -- lifecycle --------------------------------------------------------
    def start(self, *, timeout: float = STARTUP_TIMEOUT, wrapper: Optional[Sequence[str]] = None,
              env_extra: Optional[dict] = None) -> "TesseraServer":
        assert not self.running, "server already running"
        if wrapper is not None:
            self.wrapper = list(wrapper)
        if env_extra is not None:
            self.env_extra = dict(env_extra)
        self.port = free_port()
        self.returncode = None
        cmd = self.command()
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        env.update(self.env_extra)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        extra_env = " ".join(f"{k}={v}" for k, v in self.env_extra.items())
        self._note(f"starting: {extra_env + ' ' if extra_env else ''}{shlex.join(cmd)}")
        self._log_fh = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log_fh, stderr=subprocess.STDOUT,
            env=env, start_new_session=True)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no attempt made"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                self._close_log()
                pytest.fail(
                    f"tessera exited with code {self.proc.returncode} during startup.\n"
                    f"command: {shlex.join(self.command())}\n"
                    f"--- server output ({self.log_path}) ---\n{self.read_log()}",
                    pytrace=False)
            try:
                resp = http_request(self.host, "GET", "/healthz", timeout=1.0)
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}: {resp.body[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                last = repr(exc)
            time.sleep(0.1)
        try:
            self.stop()
        except AssertionError:
            pass
        pytest.fail(
            f"tessera did not answer GET /healthz with 200 within {timeout:.0f}s "
            f"(last result: {last}).\ncommand: {shlex.join(self.command())}\n"
            f"--- server output ({self.log_path}) ---\n{self.read_log()}",
            pytrace=False)

    def stop(self, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """SIGTERM the server's process group, wait, return the exit code.

        Raises AssertionError (after SIGKILL) when the server does not exit
        within ``timeout`` seconds.
        """
        if self.proc is None:
            return self.returncode
        proc, pgid = self.proc, self.proc.pid  # start_new_session: pgid == pid
        deadline = time.monotonic() + timeout
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        problem = None
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            problem = f"did not exit within {timeout:.0f}s of SIGTERM"
        while problem is None and _live_group_members(pgid):
            if time.monotonic() >= deadline:
                problem = (f"left processes {_live_group_members(pgid)} running "
                           f"{timeout:.0f}s after SIGTERM")
                break
            time.sleep(0.05)
        if problem is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.returncode = proc.returncode
        self.proc = None
        self._close_log()
        self._note(f"stopped, exit code {self.returncode}"
                   + (f" ({problem}; killed)" if problem else ""))
        if problem is not None:
            raise AssertionError(f"tessera {problem}.\n--- server output ---\n{self.read_log()}")
        return self.returncode

    def kill_quietly(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(Exception):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=5)
            self.proc = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None

    # -- conveniences -----------------------------------------------------
    def admin_credentials(self) -> Creds:
        return read_admin_credentials(self.data_dir)

    def client(self, creds: Optional[Creds], **kwargs):
        return sts_client(self, creds, **kwargs)

    def iam(self, creds: Optional[Creds], **kwargs):
        return iam_client(self, creds, **kwargs)


@atexit.register
def _kill_leftover_servers() -> None:
    for server in ALL_SERVERS:
        server.kill_quietly()


# ---------------------------------------------------------------------------
# boto3
# ---------------------------------------------------------------------------

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                    connect_timeout=5, read_timeout=HTTP_TIMEOUT)


def _client(service: str, server: TesseraServer, creds: Optional[Creds], region: str,
            config: Optional[Config]):
    cfg = NO_RETRIES.merge(config) if config is not None else NO_RETRIES
    if creds is None:  # only sensible together with signature_version=UNSIGNED
        creds = Creds(random_akia(), random_secret())
    return boto3.session.Session().client(
        service, endpoint_url=server.endpoint, region_name=region,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token, config=cfg)


def sts_client(server: TesseraServer, creds: Optional[Creds], *,
               region: str = DEFAULT_REGION, config: Optional[Config] = None):
    """A boto3 STS client for ``server``; never retries."""
    return _client("sts", server, creds, region, config)


def iam_client(server: TesseraServer, creds: Optional[Creds], *,
               region: str = DEFAULT_REGION, config: Optional[Config] = None):
    """A boto3 IAM client for ``server`` (signs for service ``iam``); never retries."""
    return _client("iam", server, creds, region, config)


def expect_client_error(call: Callable[[], object], *, code: str, status: int,
                        message: Optional[str] = None, startswith: Optional[str] = None,
                        contains: Union[str, Sequence[str], None] = None) -> dict:
    """Run ``call`` and assert it fails with the given STS error."""
    with pytest.raises(ClientError) as excinfo:
        call()
    response = excinfo.value.response
    error = response.get("Error", {})
    meta = response.get("ResponseMetadata", {})
    got = (error.get("Code"), meta.get("HTTPStatusCode"))
    assert got == (code, status), (
        f"expected {code}/{status}, got {got[0]}/{got[1]}: {error.get('Message')!r}")
    assert error.get("Type") == "Sender", f"error Type {error.get('Type')!r}, want 'Sender'"
    _check_message(error.get("Message"), message, startswith, contains)
    request_id = meta.get("RequestId")
    assert request_id and UUID_RE.fullmatch(request_id), f"bad RequestId in body: {request_id!r}"
    assert meta.get("HTTPHeaders", {}).get("x-amzn-requestid") == request_id, (
        "x-amzn-RequestId header differs from the body's RequestId")
    return response


def _check_message(actual: Optional[str], exact: Optional[str], startswith: Optional[str],
                   contains: Union[str, Sequence[str], None]) -> None:
    if exact is not None:
        assert actual == exact
    if startswith is not None:
        assert actual is not None and actual.startswith(startswith), (
            f"message {actual!r} does not start with {startswith!r}")
    if contains is not None:
        for fragment in ([contains] if isinstance(contains, str) else contains):
            assert actual is not None and fragment in actual, (
                f"message {actual!r} does not contain {fragment!r}")


@contextlib.contextmanager
def botocore_clock(offset: dt.timedelta) -> Iterator[None]:
    """Make botocore's SigV4 signer believe the time is now + ``offset``.

    botocore.auth does ``from botocore.compat import get_current_datetime``
    and calls it (naive UTC datetime) whenever it signs a request.
    """
    if not hasattr(botocore.auth, "get_current_datetime"):
        pytest.fail("this botocore has no botocore.auth.get_current_datetime; "
                    "the clock-skew tests need updating for it")
    real = botocore.auth.get_current_datetime

    def shifted(*args, **kwargs):
        return real(*args, **kwargs) + offset

    with mock.patch.object(botocore.auth, "get_current_datetime", side_effect=shifted):
        yield


# ---------------------------------------------------------------------------
# raw HTTP
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class HttpResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name)

    def xml(self) -> ET.Element:
        try:
            return ET.fromstring(self.body)
        except ET.ParseError as exc:
            raise AssertionError(
                f"HTTP {self.status} body is not XML ({exc}): {self.body[:500]!r}") from None


def http_request(host: str, method: str, path: str, *, headers: Optional[dict] = None,
                 body: Optional[bytes] = None, timeout: float = HTTP_TIMEOUT) -> HttpResponse:
    hostname, _, port = host.partition(":")
    conn = http.client.HTTPConnection(hostname, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return HttpResponse(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def http_get_url(url: str) -> HttpResponse:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return http_request(parts.netloc, "GET", path)


def signed_request(server: TesseraServer, creds: Creds, *, body: Optional[str] = None,
                   query: Optional[str] = None, method: Optional[str] = None,
                   service: str = "sts", region: str = DEFAULT_REGION) -> AWSRequest:
    """Build and SigV4-sign (Authorization header) a request to ``server``.

    ``body`` is a form-encoded string sent as-is (POST by default);
    ``query`` is a raw query string appended to ``/`` (GET by default).
    """
    if method is None:
        method = "POST" if body is not None else "GET"
    url = f"{server.endpoint}/" + (f"?{query}" if query is not None else "")
    headers = {"Host": server.host}
    if body is not None:
        headers["Content-Type"] = FORM_CONTENT_TYPE
    request = AWSRequest(method=method, url=url, headers=headers,
                         data=body.encode() if body is not None else b"")
    SigV4Auth(creds.botocore(), service, region).add_auth(request)
    return request


def send(request: AWSRequest, *, body: Optional[bytes] = None,
         headers: Optional[dict] = None) -> HttpResponse:
    """Send a (signed) AWSRequest as it is, or tampered with after signing:
    ``body`` replaces the body, ``headers`` replace/add header values."""
    parts = urlsplit(request.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    data = request.body if body is None else body
    final = dict(request.headers.items())
    for name, value in (headers or {}).items():
        for existing in [k for k in final if k.lower() == name.lower()]:
            del final[existing]
        final[name] = value
    return http_request(parts.netloc, request.method, path, headers=final, body=data or None)


def send_large(request: AWSRequest, *, timeout: float = HTTP_TIMEOUT) -> HttpResponse:
    """Send a request with a big body while concurrently reading the reply.

    A server may answer 413 and close the connection before it has read the
    whole body; writing from a thread keeps that from looking like a client
    error (broken pipe / reset while still sending).
    """
    parts = urlsplit(request.url)
    body = request.body or b""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = [f"{request.method} {path} HTTP/1.1"]
    headers = dict(request.headers.items())
    headers["Content-Length"] = str(len(body))
    headers["Connection"] = "close"
    head += [f"{k}: {v}" for k, v in headers.items()]
    payload = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    hostname, _, port = parts.netloc.partition(":")
    sock = socket.create_connection((hostname, int(port)), timeout=timeout)
    send_error: list[BaseException] = []

    def writer():
        try:
            sock.sendall(payload)
        except OSError as exc:  # expected if the server stops reading
            send_error.append(exc)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        resp = http.client.HTTPResponse(sock, method=request.method)
        resp.begin()
        result = HttpResponse(resp.status, resp.headers, resp.read())
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        thread.join(timeout=10)
    return result


def assert_raw_error(resp: HttpResponse, *, status: int, code: str,
                     message: Optional[str] = None, startswith: Optional[str] = None,
                     contains: Union[str, Sequence[str], None] = None,
                     namespace: str = STS_NS) -> dict:
    """Assert an ErrorResponse envelope (STS namespace unless ``namespace``
    says otherwise, e.g. ``IAM_NS``); returns its fields."""
    root = resp.xml()
    ns = {"s": namespace}
    fields = {
        "Type": root.findtext("s:Error/s:Type", namespaces=ns),
        "Code": root.findtext("s:Error/s:Code", namespaces=ns),
        "Message": root.findtext("s:Error/s:Message", namespaces=ns),
        "RequestId": root.findtext("s:RequestId", namespaces=ns),
    }
    assert (fields["Code"], resp.status) == (code, status), (
        f"expected {code}/{status}, got {fields['Code']}/{resp.status}: {resp.body[:500]!r}")
    assert root.tag == f"{{{namespace}}}ErrorResponse", f"unexpected root element {root.tag}"
    assert fields["Type"] == "Sender", f"error Type {fields['Type']!r}, want 'Sender'"
    _check_message(fields["Message"], message, startswith, contains)
    rid = fields["RequestId"]
    assert rid and UUID_RE.fullmatch(rid), f"bad RequestId in body: {rid!r}"
    assert resp.header("x-amzn-RequestId") == rid, (
        f"x-amzn-RequestId header {resp.header('x-amzn-RequestId')!r} != body RequestId {rid!r}")
    return fields


def assert_raw_caller_identity(resp: HttpResponse, *, arn: str) -> None:
    """Assert a successful GetCallerIdentity XML response for ``arn``."""
    assert resp.status == 200, f"HTTP {resp.status}: {resp.body[:500]!r}"
    root = resp.xml()
    ns = {"s": STS_NS}
    assert root.tag == f"{{{STS_NS}}}GetCallerIdentityResponse", root.tag
    assert root.findtext("s:GetCallerIdentityResult/s:Arn", namespaces=ns) == arn
    rid = root.findtext("s:ResponseMetadata/s:RequestId", namespaces=ns)
    assert rid and UUID_RE.fullmatch(rid), f"bad RequestId {rid!r}"
    assert resp.header("x-amzn-RequestId") == rid


def form(action: Optional[str] = "GetCallerIdentity", version: Optional[str] = STS_VERSION,
         **params: str) -> str:
    """A form body in a fixed order: Action, Version, then ``params``."""
    pairs = []
    if action is not None:
        pairs.append(("Action", action))
    if version is not None:
        pairs.append(("Version", version))
    pairs += list(params.items())
    return "&".join(f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in pairs)


# ---------------------------------------------------------------------------
# misc
# ---------------------------------------------------------------------------


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def assert_expires_in(expiration: dt.datetime, seconds: float, tolerance: float = 120) -> None:
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=dt.timezone.utc)
    remaining = (expiration - utcnow()).total_seconds()
    assert abs(remaining - seconds) <= tolerance, (
        f"Expiration {expiration.isoformat()} is {remaining:.0f}s from now, "
        f"want {seconds}s ± {tolerance}s")


def aws_cli_path() -> Path:
    """The aws CLI (v1) installed next to the running interpreter."""
    candidate = Path(sys.executable).parent / "aws"
    if not candidate.exists():
        pytest.fail(f"aws CLI not found at {candidate}; install tests/python/requirements.txt "
                    f"into the virtualenv that runs pytest", pytrace=False)
    return candidate


def write_credentials_file(path: Path, creds: Creds) -> Path:
    """Write ``creds`` as the [default] profile of an AWS shared credentials file."""
    lines = ["[default]", f"aws_access_key_id = {creds.access_key}",
             f"aws_secret_access_key = {creds.secret_key}"]
    if creds.token:
        lines.append(f"aws_session_token = {creds.token}")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def run_aws_cli_process(server: TesseraServer, args: Sequence[str], *, credentials_file: Path,
                        home: Path) -> subprocess.CompletedProcess:
    """Run ``aws --endpoint-url <server> <args> --output json``; whatever its exit status."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AWS_")}
    env.update({
        "HOME": str(home),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_DEFAULT_REGION": DEFAULT_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    })
    cmd = [str(aws_cli_path()), "--endpoint-url", server.endpoint, *args, "--output", "json"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def run_aws_cli(server: TesseraServer, args: Sequence[str], *, credentials_file: Path,
                home: Path) -> dict:
    """Run ``aws --endpoint-url <server> <args> --output json`` and parse stdout.

    A command whose operation has no output (e.g. ``iam put-user-policy``)
    prints nothing; that gives ``{}``.
    """
    proc = run_aws_cli_process(server, args, credentials_file=credentials_file, home=home)
    assert proc.returncode == 0, (
        f"{shlex.join(proc.args)} exited {proc.returncode}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    if not proc.stdout.strip():
        return {}
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"aws CLI printed non-JSON output:\n{proc.stdout}") from None
