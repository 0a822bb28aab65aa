"""End-to-end tests of the ``tessera`` command-line client: the STS client
commands of the tessera binary (TESSERA_BIN), run as a user would run them.

Covers ``tessera sts <command>`` for every STS action (the success path of
each action the server implements, NotImplemented for the others, modeled
errors), the output formats (json, text and table) against what the aws CLI
prints for the same call, the exit statuses (254 service error, 255 other
failure, 252 usage error), where credentials come from (environment
variables, the shared credentials file, the config file, a profile with
role_arn + source_profile, external_id, duration_seconds,
role_session_name, endpoint_url), the region and endpoint precedence,
``tessera credential-process`` (output, cache location, file mode, reuse,
refresh within five minutes of expiry, --no-cache, use by the aws CLI through
credential_process), ``tessera env``, ``tessera exec``, ``tessera
completions`` and ``--help``.

The client is meant to be a drop-in for ``aws sts``, so where the output is
deterministic (GetCallerIdentity, GetAccessKeyInfo, error lines) the tests
demand byte-for-byte the aws CLI's stdout/stderr, and where it is not (fresh
credentials) they compare both outputs with the credential values masked:
same members in the same order, same indentation, same text lines.  The aws
CLI is v1 (from the test virtualenv): it exits 255 for a service error where
tessera exits 254 (aws CLI v2's code), and it prints timestamps as they come
over the wire (``cli_timestamp_format`` defaults to ``wire`` in v1).

Every command runs with a clean environment: HOME, XDG_CACHE_HOME,
AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE point into the test's
tmp_path, and no other AWS_* variable is set unless a test sets it.

Servers: most tests use the session's shared server (admin credentials in the
[default] and [admin] profiles); the web-identity tests use a module server
started with TESSERA_OIDC_INSECURE_HTTP=true and a plain-HTTP test IdP
(oidc_idp.py); the credential-process cache tests that stop the server or
read its audit log start their own.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python/test_cli_client.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob
import itertools
import json
import os
import re
import shlex
import stat
import subprocess
import time
from pathlib import Path
from typing import Optional, Sequence

import pytest

from oidc_idp import TestIdP
from tessera_testlib import (
    DEFAULT_REGION,
    Creds,
    TesseraServer,
    assert_expires_in,
    aws_cli_path,
    expect_client_error,
    free_port,
    iam_client,
    random_akia,
    random_secret,
    sts_client,
)
from test_assume_role import (  # helpers (no tests)
    ASIA_RE,
    MAX_SESSION_LIMIT,
    SECRET_RE,
    TOKEN_RE,
    session_arn,
    trust,
)
from test_iam_roles import make_role  # noqa: F401  (the fixture; no tests)
from test_iam_users import (  # helpers and the fixtures account and make_user (no tests)
    INVALID_TOKEN,
    account,  # noqa: F401
    allow,
    make_user,  # noqa: F401
    policy,
    unique,
)

SERVICE_ERROR = 254   # tessera: the service answered with an error (aws CLI v2's code)
OTHER_FAILURE = 255   # tessera: no credentials, connection refused, ...
USAGE_ERROR = 252     # tessera: unknown option, missing required option, ...
AWS_CLI_FAILURE = 255  # aws CLI v1: every failure

# How the aws CLI v1 prints a timestamp by default: as the server sent it.
WIRE_TIMESTAMP_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
ANY_TIMESTAMP_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"
CREDENTIAL_MEMBERS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
ALL_ROLE_ACTIONS = ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")
EXPORTED = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_CREDENTIAL_EXPIRATION")
MFA_FAILED = ("MultiFactorAuthentication failed, unable to validate MFA code.  Please verify "
              "your MFA serial number is valid and associated with this user.")
OIDC_CLIENT_ID = "tessera-test"  # the default aud of TestIdP.claims()
OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
NOT_A_JWT = ("The ID Token provided is not a valid JWT. "
             "(You may see this error if you sent an Access Token)")
BOGUS = Creds(random_akia(), random_secret())


# ---------------------------------------------------------------------------
# running tessera and the aws CLI
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Cli:
    """How to run ``tessera`` (and the aws CLI, for comparison) against ``server``
    with an isolated environment: its own HOME, XDG_CACHE_HOME (None: unset),
    shared credentials file and config file."""

    binary: Path
    server: TesseraServer
    home: Path
    credentials: Path
    config: Path
    cache: Optional[Path]

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def env(self, extra: Optional[dict] = None, unset: Sequence[str] = ()) -> dict:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials),
            "AWS_CONFIG_FILE": str(self.config),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        if self.cache is not None:
            env["XDG_CACHE_HOME"] = str(self.cache)
        env.update(extra or {})
        for name in unset:
            env.pop(name, None)
        return env

    def run(self, *args, env: Optional[dict] = None, unset: Sequence[str] = (),
            timeout: float = 60) -> subprocess.CompletedProcess:
        """``tessera <args>``, whatever its exit status."""
        cmd = [str(self.binary), *map(str, args)]
        return subprocess.run(cmd, env=self.env(env, unset), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)

    def sts(self, command: str, *args, **kwargs) -> subprocess.CompletedProcess:
        """``tessera sts <command> --endpoint-url <server> <args>``."""
        return self.run("sts", command, "--endpoint-url", self.endpoint, *args, **kwargs)

    def aws(self, *args, env: Optional[dict] = None, unset: Sequence[str] = ()
            ) -> subprocess.CompletedProcess:
        """``aws <args>`` (region us-east-1 unless ``env`` says otherwise; no retries)."""
        extra = {"AWS_DEFAULT_REGION": DEFAULT_REGION, "AWS_MAX_ATTEMPTS": "1", **(env or {})}
        cmd = [str(aws_cli_path()), *map(str, args)]
        return subprocess.run(cmd, env=self.env(extra, unset), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120)

    def aws_sts(self, command: str, *args, **kwargs) -> subprocess.CompletedProcess:
        """``aws --endpoint-url <server> sts <command> <args>``."""
        return self.aws("--endpoint-url", self.endpoint, "sts", command, *args, **kwargs)

    def write_credentials(self, **profiles: Creds) -> None:
        write_profiles(self.credentials, **profiles)

    def write_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")


def write_profiles(path: Path, **profiles: Creds) -> Path:
    """An AWS shared credentials file with one section per profile."""
    lines = []
    for name, creds in profiles.items():
        lines += [f"[{name}]", f"aws_access_key_id = {creds.access_key}",
                  f"aws_secret_access_key = {creds.secret_key}"]
        if creds.token:
            lines.append(f"aws_session_token = {creds.token}")
        lines.append("")
    path = Path(path)
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o600)
    return path


def describe(proc: subprocess.CompletedProcess) -> str:
    return (f"{shlex.join(map(str, proc.args))} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")


def ok(proc: subprocess.CompletedProcess) -> str:
    """Assert exit status 0; return stdout."""
    assert proc.returncode == 0, describe(proc)
    return proc.stdout


def ok_json(proc: subprocess.CompletedProcess) -> dict:
    out = ok(proc)
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not JSON\n{describe(proc)}") from None


def error_line(code: str, operation: str, message: str) -> str:
    """What the aws CLI writes to stderr for a service error."""
    return f"\nAn error occurred ({code}) when calling the {operation} operation: {message}\n"


def assert_service_error(proc: subprocess.CompletedProcess, code: str, operation: str,
                         message: str) -> None:
    """tessera failed with exit 254, nothing on stdout and exactly the aws-CLI-style
    error line on stderr."""
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        SERVICE_ERROR, "", error_line(code, operation, message)), describe(proc)


def assert_same_service_error(tessera: subprocess.CompletedProcess,
                              aws: subprocess.CompletedProcess, code: str, operation: str,
                              message: str) -> None:
    """Both failed with the same stderr, the expected error line: tessera with 254, the
    aws CLI v1 with 255."""
    assert aws.returncode == AWS_CLI_FAILURE, describe(aws)
    assert aws.stderr == error_line(code, operation, message), (
        f"the aws CLI's own line differs from the expected one\n{describe(aws)}")
    assert_service_error(tessera, code, operation, message)


def assert_usage_error(proc: subprocess.CompletedProcess, mentions: str) -> None:
    assert proc.returncode == USAGE_ERROR, describe(proc)
    assert proc.stdout == "", describe(proc)
    assert mentions in proc.stderr, describe(proc)


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def creds_from_json(out: dict) -> Creds:
    return Creds.from_sts(out["Credentials"])


def caller(server: TesseraServer, creds: Creds) -> str:
    return sts_client(server, creds).get_caller_identity()["Arn"]


def assert_credentials(credentials: dict, seconds: float) -> None:
    """A Credentials member as the JSON output prints it: model order, valid values,
    the Expiration as the aws CLI v1 prints it, ``seconds`` from now."""
    assert list(credentials) == list(CREDENTIAL_MEMBERS), credentials
    assert re.fullmatch(ASIA_RE, credentials["AccessKeyId"]), credentials["AccessKeyId"]
    assert re.fullmatch(SECRET_RE, credentials["SecretAccessKey"])
    assert re.fullmatch(TOKEN_RE, credentials["SessionToken"])
    assert re.fullmatch(WIRE_TIMESTAMP_RE, credentials["Expiration"]), credentials["Expiration"]
    assert_expires_in(parse_time(credentials["Expiration"]), seconds, tolerance=60)


# Masking the values that differ between two calls (fresh credentials), so that two
# outputs can be compared whole: member names, order, indentation, text lines.
_JSON_CREDENTIAL_RE = re.compile(
    r'("(AccessKeyId|SecretAccessKey|SessionToken|Expiration)": )"[^"\n]*"')


def mask_json(text: str) -> str:
    return _JSON_CREDENTIAL_RE.sub(lambda m: f'{m.group(1)}"<{m.group(2)}>"', text)


def mask_text(text: str) -> str:
    """Mask the fields of the CREDENTIALS line of text output (the aws CLI sorts a
    structure's scalar members by name: AccessKeyId, Expiration, SecretAccessKey,
    SessionToken); a line whose fields do not look like that stays as it is."""
    patterns = ("CREDENTIALS", ASIA_RE, ANY_TIMESTAMP_RE, SECRET_RE, TOKEN_RE)
    lines = []
    for line in text.split("\n"):
        fields = line.split("\t")
        if len(fields) == 5 and all(re.fullmatch(p, f) for p, f in zip(patterns, fields)):
            line = "CREDENTIALS\t<AccessKeyId>\t<Expiration>\t<SecretAccessKey>\t<SessionToken>"
        lines.append(line)
    return "\n".join(lines)


def text_credentials(text: str) -> dict:
    """The CREDENTIALS line of text output as a dict."""
    rows = [line.split("\t") for line in text.splitlines() if line.startswith("CREDENTIALS\t")]
    assert len(rows) == 1, text
    assert len(rows[0]) == 5, rows[0]
    return dict(zip(("AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken"),
                    rows[0][1:]))


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture
def cli_for(tessera_bin, tmp_path):
    """Factory: ``cli_for(server, profiles={name: Creds}, config='', xdg_cache=True)``, a
    Cli with its own HOME, credentials file, config file and XDG_CACHE_HOME."""
    counter = itertools.count()

    def factory(server: TesseraServer, profiles: Optional[dict] = None, config: str = "",
                xdg_cache: bool = True) -> Cli:
        base = tmp_path / f"cli-{next(counter)}"
        home = base / "home"
        home.mkdir(parents=True)
        credentials = write_profiles(base / "credentials", **(profiles or {}))
        config_path = base / "config"
        config_path.write_text(config, encoding="utf-8")
        return Cli(tessera_bin, server, home, credentials, config_path,
                   base / "xdg-cache" if xdg_cache else None)

    return factory


@pytest.fixture
def cli(cli_for, server, admin) -> Cli:
    """The shared server; the admin's keys in the [default] and [admin] profiles."""
    return cli_for(server, {"default": admin, "admin": admin})


@pytest.fixture
def admin_arn(identity) -> str:
    return identity["Arn"]


@pytest.fixture
def admin_role(make_role, admin_arn):
    """Factory: a role (``make_role`` keyword arguments) whose trust policy names the
    admin for sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity, plus any
    ``condition``."""

    def factory(prefix: str = "cli", *, condition: Optional[dict] = None, **kwargs) -> dict:
        extra = {"Condition": condition} if condition else {}
        return make_role(prefix, trust=trust(admin_arn, ALL_ROLE_ACTIONS, **extra), **kwargs)

    return factory


@dataclasses.dataclass
class WebIdentity:
    server: TesseraServer
    idp: TestIdP
    provider_arn: str
    role: dict
    account: str


@pytest.fixture(scope="module")
def web(tessera_bin, tmp_path_factory) -> WebIdentity:
    """A server that accepts plain-HTTP issuers, a plain-HTTP test IdP registered on it,
    and a role that trusts that IdP for AssumeRoleWithWebIdentity."""
    base = tmp_path_factory.mktemp("cli-web-identity")
    data_dir = base / "data"
    data_dir.mkdir()
    srv = TesseraServer(tessera_bin, data_dir, base / "server.log",
                        env_extra={"TESSERA_OIDC_INSECURE_HTTP": "true"})
    srv.start()
    idp = TestIdP()
    try:
        admin = srv.admin_credentials()
        iam = iam_client(srv, admin)
        provider = iam.create_open_id_connect_provider(
            Url=idp.issuer, ClientIDList=[OIDC_CLIENT_ID],
            ThumbprintList=[OIDC_THUMBPRINT])["OpenIDConnectProviderArn"]
        role = iam.create_role(RoleName=unique("cli-web"), AssumeRolePolicyDocument=policy({
            "Effect": "Allow", "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity"}))["Role"]
        account = sts_client(srv, admin).get_caller_identity()["Account"]
        yield WebIdentity(srv, idp, provider, role, account)
    finally:
        idp.close()
        srv.stop()


@pytest.fixture
def web_cli(cli_for, web) -> Cli:
    """The web-identity server and no credentials anywhere."""
    return cli_for(web.server)


def faketime_env(offset: str) -> dict:
    """Environment that runs a program ``offset`` (e.g. '+4m') in the future.

    libfaketime is preloaded directly: the ``faketime`` wrapper now and then fails at
    start-up ("sem_open: File exists") when run many times in a row."""
    candidates = [*sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")),
                  "/usr/lib/faketime/libfaketime.so.1",
                  "/usr/local/lib/faketime/libfaketime.so.1"]
    library = next((c for c in candidates if os.path.isfile(c)), None)
    if library is None:
        pytest.fail("this test needs libfaketime (Debian package `faketime`: "
                    "apt-get install faketime)", pytrace=False)
    return {"LD_PRELOAD": library, "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


# ---------------------------------------------------------------------------
# help, completions, usage errors
# ---------------------------------------------------------------------------


def test_assume_role_help_shows_the_options_and_an_example(cli):
    out = ok(cli.run("sts", "assume-role", "--help"))
    for option in ("--role-arn", "--role-session-name", "--duration-seconds", "--policy",
                   "--policy-arns", "--tags", "--transitive-tag-keys", "--external-id",
                   "--serial-number", "--token-code", "--source-identity"):
        assert option in out, f"{option} missing from the help:\n{out}"
    assert "example" in out.lower(), out
    # an example invocation with a real value, not the usage line's placeholder
    assert re.search(r"tessera sts assume-role .*--role-arn[ =](?!<)\S+", out), out


def test_help_lists_the_commands(cli):
    top = ok(cli.run("--help"))
    for command in ("sts", "credential-process", "env", "exec", "completions"):
        assert re.search(rf"^\s+{command}\b", top, re.M), f"{command} not listed:\n{top}"
    sts = ok(cli.run("sts", "--help"))
    for command in ("get-caller-identity", "get-session-token", "get-access-key-info",
                    "assume-role", "get-federation-token", "assume-role-with-web-identity",
                    "assume-role-with-saml", "decode-authorization-message", "assume-root",
                    "get-delegated-access-token", "get-web-identity-token"):
        assert re.search(rf"^\s+{command}\b", sts, re.M), f"{command} not listed:\n{sts}"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completions(cli, shell):
    proc = cli.run("completions", shell)
    out = ok(proc)
    assert out.strip(), describe(proc)
    assert "tessera" in out, describe(proc)


def test_bash_completions_register_for_tessera(cli):
    # Sourcing the script must work and define a completion for the command name.
    script = ok(cli.run("completions", "bash"))
    proc = subprocess.run(["bash", "-c", 'source /dev/stdin && complete -p tessera'],
                          input=script, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout.rstrip().endswith(" tessera"), describe(proc)


@pytest.mark.parametrize("args, mentions", [
    (["sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/r"],
     "--role-session-name"),
    (["sts", "get-access-key-info"], "--access-key-id"),
    (["sts", "get-caller-identity", "--no-such-option"], "--no-such-option"),
    (["sts", "no-such-command"], "no-such-command"),
    (["sts", "get-caller-identity", "--output", "xml"], "xml"),
], ids=["missing-required", "missing-required-only", "unknown-option", "unknown-command",
        "bad-output"])
def test_usage_errors_exit_252(cli, args, mentions):
    # A usage error is found before any request: a dead endpoint changes nothing.
    dead = f"http://127.0.0.1:{free_port()}"
    assert_usage_error(cli.run(*args, "--endpoint-url", dead), mentions)


# ---------------------------------------------------------------------------
# GetCallerIdentity and GetAccessKeyInfo: byte-for-byte the aws CLI's output
# ---------------------------------------------------------------------------


def test_get_caller_identity_json_is_the_aws_clis(cli, identity):
    # No --output: json is the default of both.
    out = ok(cli.sts("get-caller-identity"))
    assert out == ok(cli.aws_sts("get-caller-identity"))
    # the members in the service model's order, indented by 4
    expected = {k: identity[k] for k in ("UserId", "Account", "Arn")}
    assert out == json.dumps(expected, indent=4) + "\n"


def test_get_caller_identity_text_is_the_aws_clis(cli, identity):
    out = ok(cli.sts("get-caller-identity", "--output", "text"))
    assert out == ok(cli.aws_sts("get-caller-identity", "--output", "text"))
    # scalar members sorted by name, tab-separated
    assert out == f"{identity['Account']}\t{identity['Arn']}\t{identity['UserId']}\n"


def test_get_caller_identity_table_contains_the_values(cli, identity):
    proc = cli.sts("get-caller-identity", "--output", "table")
    out = ok(proc)
    for value in identity.values():
        assert value in out, describe(proc)


@pytest.mark.parametrize("placement", ["before-sts", "before-command", "after-command"])
def test_global_options_before_or_after_the_subcommand(cli_for, server, admin, identity,
                                                       placement):
    # [default] is unusable: the output proves that --profile admin was applied.
    # before-sts is where the aws CLI documents them: aws --profile P sts ...
    cli = cli_for(server, {"default": BOGUS, "admin": admin})
    options = ["--profile", "admin", "--region", DEFAULT_REGION,
               "--endpoint-url", server.endpoint, "--output", "text"]
    args = {"before-sts": [*options, "sts", "get-caller-identity"],
            "before-command": ["sts", *options, "get-caller-identity"],
            "after-command": ["sts", "get-caller-identity", *options]}[placement]
    proc = cli.run(*args)
    assert ok(proc) == f"{identity['Account']}\t{identity['Arn']}\t{identity['UserId']}\n"


@pytest.mark.parametrize("output", ["json", "text"])
def test_get_access_key_info_is_the_aws_clis(cli, admin, account, output):
    args = ["--access-key-id", admin.access_key, "--output", output]
    out = ok(cli.sts("get-access-key-info", *args))
    assert out == ok(cli.aws_sts("get-access-key-info", *args))
    expected = {"json": json.dumps({"Account": account}, indent=4) + "\n",
                "text": f"{account}\n"}[output]
    assert out == expected


# ---------------------------------------------------------------------------
# GetSessionToken
# ---------------------------------------------------------------------------


def test_get_session_token_json(cli, server, admin_arn):
    proc = cli.sts("get-session-token", "--duration-seconds", "900")
    out = ok_json(proc)
    assert list(out) == ["Credentials"], out
    assert_credentials(out["Credentials"], 900)
    assert mask_json(proc.stdout) == mask_json(
        ok(cli.aws_sts("get-session-token", "--duration-seconds", "900")))
    assert caller(server, creds_from_json(out)) == admin_arn


def test_get_session_token_text(cli, server, admin_arn):
    proc = cli.sts("get-session-token", "--output", "text")
    aws = cli.aws_sts("get-session-token", "--output", "text")
    assert mask_text(ok(proc)) == mask_text(ok(aws))
    assert mask_text(proc.stdout) == (
        "CREDENTIALS\t<AccessKeyId>\t<Expiration>\t<SecretAccessKey>\t<SessionToken>\n")
    values = text_credentials(proc.stdout)
    assert_expires_in(parse_time(values["Expiration"]), 43200, tolerance=60)
    assert caller(server, Creds(values["AccessKeyId"], values["SecretAccessKey"],
                                values["SessionToken"])) == admin_arn


def test_get_session_token_table_contains_the_values(cli):
    proc = cli.sts("get-session-token", "--output", "table")
    out = ok(proc)
    assert re.search(ASIA_RE, out), describe(proc)
    for member in CREDENTIAL_MEMBERS:
        assert member in out, describe(proc)


@pytest.mark.parametrize("output", ["json", "text"])
def test_timestamps_are_printed_as_the_aws_cli_prints_them(cli, output):
    # The aws CLI v1 prints a timestamp as it came over the wire
    # (cli_timestamp_format = wire), e.g. 2026-11-24T15:37:17Z: no reformatting
    # to +00:00 (that is aws CLI v2's iso8601 default).
    def expiration(proc):
        out = ok(proc)
        return (json.loads(out)["Credentials"]["Expiration"] if output == "json"
                else text_credentials(out)["Expiration"])

    mine = expiration(cli.sts("get-session-token", "--output", output))
    theirs = expiration(cli.aws_sts("get-session-token", "--output", output))
    assert re.fullmatch(WIRE_TIMESTAMP_RE, theirs), theirs
    assert re.sub(r"\d", "9", mine) == re.sub(r"\d", "9", theirs), (mine, theirs)


def test_get_session_token_mfa_parameters_are_sent(cli, account):
    args = ["--serial-number", f"arn:aws:iam::{account}:mfa/admin", "--token-code", "123456"]
    assert_same_service_error(cli.sts("get-session-token", *args),
                              cli.aws_sts("get-session-token", *args),
                              "AccessDenied", "GetSessionToken", MFA_FAILED)


# ---------------------------------------------------------------------------
# AssumeRole
# ---------------------------------------------------------------------------


def test_assume_role_json(cli, server, account, admin_role):
    role = admin_role()
    args = ["--role-arn", role["Arn"], "--role-session-name", "cli-session"]
    proc = cli.sts("assume-role", *args)
    out = ok_json(proc)
    expected_arn = session_arn(account, role["RoleName"], "cli-session")
    assert list(out) == ["Credentials", "AssumedRoleUser"], out
    assert_credentials(out["Credentials"], 3600)
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:cli-session",
                                      "Arn": expected_arn}
    assert list(out["AssumedRoleUser"]) == ["AssumedRoleId", "Arn"]
    assert mask_json(proc.stdout) == mask_json(ok(cli.aws_sts("assume-role", *args)))
    assert caller(server, creds_from_json(out)) == expected_arn


def test_assume_role_text(cli, account, admin_role):
    role = admin_role()
    args = ["--role-arn", role["Arn"], "--role-session-name", "cli-text", "--output", "text"]
    out = ok(cli.sts("assume-role", *args))
    assert mask_text(out) == mask_text(ok(cli.aws_sts("assume-role", *args)))
    assert mask_text(out) == (
        f"ASSUMEDROLEUSER\t{session_arn(account, role['RoleName'], 'cli-text')}\t"
        f"{role['RoleId']}:cli-text\n"
        "CREDENTIALS\t<AccessKeyId>\t<Expiration>\t<SecretAccessKey>\t<SessionToken>\n")


def test_assume_role_table_contains_the_values(cli, account, admin_role):
    role = admin_role()
    proc = cli.sts("assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli-table",
                   "--output", "table")
    out = ok(proc)
    assert session_arn(account, role["RoleName"], "cli-table") in out, describe(proc)
    assert re.search(ASIA_RE, out), describe(proc)


def test_assume_role_with_tags_policy_and_source_identity(cli, server, account, admin_role):
    role = admin_role(policies={"read": policy(allow(["iam:GetRole", "iam:ListRoles"]))})
    session_policy = policy(allow("iam:GetRole"))
    args = ["--role-arn", role["Arn"], "--role-session-name", "tagged",
            "--duration-seconds", "900", "--policy", session_policy,
            "--tags", "Key=team,Value=blue", "Key=project,Value=apollo",
            "--transitive-tag-keys", "team", "project",
            "--source-identity", "alice@example"]
    proc = cli.sts("assume-role", *args)
    out = ok_json(proc)
    assert list(out) == ["Credentials", "AssumedRoleUser", "PackedPolicySize",
                         "SourceIdentity"], out
    assert_credentials(out["Credentials"], 900)
    assert isinstance(out["PackedPolicySize"], int) and 0 <= out["PackedPolicySize"] <= 100
    assert out["SourceIdentity"] == "alice@example"
    assert mask_json(proc.stdout) == mask_json(ok(cli.aws_sts("assume-role", *args)))

    text_args = [*args, "--output", "text"]
    text = ok(cli.sts("assume-role", *text_args))
    assert mask_text(text) == mask_text(ok(cli.aws_sts("assume-role", *text_args)))
    assert text.splitlines()[0] == f"{out['PackedPolicySize']}\talice@example"

    # the session policy reached the server: the session may GetRole but not ListRoles
    session = iam_client(server, creds_from_json(out))
    assert session.get_role(RoleName=role["RoleName"])["Role"]["Arn"] == role["Arn"]
    expect_client_error(session.list_roles, code="AccessDenied", status=403)


def test_assume_role_tags_reach_the_trust_policy(cli, admin_role, account):
    role = admin_role(condition={"StringEquals": {"aws:RequestTag/team": "blue"}})
    base = ["--role-arn", role["Arn"], "--role-session-name", "tags"]
    denied = (f"User: {cli_admin_arn(account)} is not authorized to perform: sts:AssumeRole "
              f"on resource: {role['Arn']}")
    assert_service_error(cli.sts("assume-role", *base), "AccessDenied", "AssumeRole", denied)
    assert_service_error(cli.sts("assume-role", *base, "--tags", "Key=team,Value=red"),
                         "AccessDenied", "AssumeRole", denied)
    out = ok_json(cli.sts("assume-role", *base, "--tags", "Key=team,Value=blue"))
    assert out["AssumedRoleUser"]["Arn"] == session_arn(account, role["RoleName"], "tags")


def cli_admin_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:user/admin"


@pytest.mark.parametrize("external_id, allowed", [
    (None, False), ("wrong-id", False), ("ext-id:42", True),
], ids=["missing", "wrong", "right"])
def test_assume_role_external_id(cli, account, admin_role, external_id, allowed):
    role = admin_role(condition={"StringEquals": {"sts:ExternalId": "ext-id:42"}})
    args = ["--role-arn", role["Arn"], "--role-session-name", "ext"]
    if external_id is not None:
        args += ["--external-id", external_id]
    proc = cli.sts("assume-role", *args)
    if allowed:
        assert ok_json(proc)["AssumedRoleUser"]["Arn"] == session_arn(
            account, role["RoleName"], "ext")
    else:
        assert_service_error(
            proc, "AccessDenied", "AssumeRole",
            f"User: {cli_admin_arn(account)} is not authorized to perform: sts:AssumeRole "
            f"on resource: {role['Arn']}")


@pytest.mark.parametrize("case", [
    "transitive-not-a-tag", "policy-arns", "malformed-policy", "mfa", "duration",
])
def test_assume_role_parameters_reach_the_server(cli, account, admin_role, case):
    # Each parameter makes the server answer with an error that names it; tessera and
    # the aws CLI must send the same request and print the same line.
    role = admin_role()
    managed = f"arn:aws:iam::{account}:policy/{unique('managed')}"
    args, code, message = {
        "transitive-not-a-tag": (
            ["--tags", "Key=team,Value=blue", "--transitive-tag-keys", "project"],
            "ValidationError",
            "The transitive tag key 'project' is not among the session tags of the request."),
        "policy-arns": (["--policy-arns", f"arn={managed}"], "ValidationError",
                        f"Policy {managed} does not exist or is not attachable."),
        "malformed-policy": (
            ["--policy", '{"Version": "2012-10-17", "Statement": '
                         '[{"Action": "iam:GetRole", "Resource": "*"}]}'],
            "MalformedPolicyDocument", "Missing required field Effect"),
        "mfa": (["--serial-number", f"arn:aws:iam::{account}:mfa/admin",
                 "--token-code", "123456"], "AccessDenied", MFA_FAILED),
        "duration": (["--duration-seconds", "7200"], "ValidationError", MAX_SESSION_LIMIT),
    }[case]
    full = ["--role-arn", role["Arn"], "--role-session-name", "params", *args]
    assert_same_service_error(cli.sts("assume-role", *full), cli.aws_sts("assume-role", *full),
                              code, "AssumeRole", message)


def test_assume_role_access_denied_is_the_aws_clis_line(cli, account, make_user, make_role):
    # The role trusts another user only.
    role = make_role("cli-denied", trust=trust(make_user("other").arn))
    args = ["--role-arn", role["Arn"], "--role-session-name", "denied"]
    assert_same_service_error(
        cli.sts("assume-role", *args), cli.aws_sts("assume-role", *args), "AccessDenied",
        "AssumeRole",
        f"User: {cli_admin_arn(account)} is not authorized to perform: sts:AssumeRole on "
        f"resource: {role['Arn']}")


def test_invalid_credentials_are_a_service_error(cli):
    cli.write_credentials(default=BOGUS)
    assert_same_service_error(cli.sts("get-caller-identity"), cli.aws_sts("get-caller-identity"),
                              "InvalidClientTokenId", "GetCallerIdentity", INVALID_TOKEN)


# ---------------------------------------------------------------------------
# GetFederationToken
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["json", "text"])
def test_get_federation_token(cli, server, account, output):
    name = f"cli-{unique('f')[-10:]}"
    args = ["--name", name, "--duration-seconds", "900",
            "--policy", policy(allow("sts:GetCallerIdentity")),
            "--tags", "Key=team,Value=blue", "--output", output]
    proc = cli.sts("get-federation-token", *args)
    aws = cli.aws_sts("get-federation-token", *args)
    federated = f"arn:aws:sts::{account}:federated-user/{name}"
    if output == "json":
        out = ok_json(proc)
        assert list(out) == ["Credentials", "FederatedUser", "PackedPolicySize"], out
        assert_credentials(out["Credentials"], 900)
        assert out["FederatedUser"] == {"FederatedUserId": f"{account}:{name}",
                                        "Arn": federated}
        assert list(out["FederatedUser"]) == ["FederatedUserId", "Arn"]
        assert mask_json(proc.stdout) == mask_json(ok(aws))
        assert caller(server, creds_from_json(out)) == federated
    else:
        out = ok(proc)
        assert mask_text(out) == mask_text(ok(aws))
        lines = mask_text(out).splitlines()
        assert lines[1:] == [
            "CREDENTIALS\t<AccessKeyId>\t<Expiration>\t<SecretAccessKey>\t<SessionToken>",
            f"FEDERATEDUSER\t{federated}\t{account}:{name}"], out
        assert re.fullmatch(r"\d+", lines[0]), out  # PackedPolicySize


# ---------------------------------------------------------------------------
# actions the server does not implement yet
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("command, operation, args, aws_only", [
    ("decode-authorization-message", "DecodeAuthorizationMessage",
     ["--encoded-message", "an-encoded-message"], []),
    ("assume-root", "AssumeRoot",
     ["--target-principal", "{account}",
      "--task-policy-arn", "arn=arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"],
     []),
    ("get-delegated-access-token", "GetDelegatedAccessToken",
     ["--trade-in-token", "a-trade-in-token"], []),
    # (the audience is not a URL: the aws CLI v1 would fetch an http(s):// parameter value)
    ("get-web-identity-token", "GetWebIdentityToken",
     ["--audience", "tessera-test-audience", "--signing-algorithm", "RS256"], []),
], ids=["decode-authorization-message", "assume-root", "delegated-access-token",
        "web-identity-token"])
def test_not_implemented_actions(cli, account, command, operation, args, aws_only):
    args = [a.format(account=account) for a in args]
    assert_same_service_error(
        cli.sts(command, *args), cli.aws_sts(command, *args, *aws_only),
        "NotImplemented", operation, f"{operation} is not implemented by this server yet.")


def test_assume_role_with_saml_unknown_provider(cli, account):
    # Unsigned, like the aws CLI: both reach the server's SAML checks and get its error.
    args = ["--role-arn", f"arn:aws:iam::{account}:role/saml-role",
            "--principal-arn", f"arn:aws:iam::{account}:saml-provider/no-such-idp",
            "--saml-assertion", "PHNhbWxwOlJlc3BvbnNlLz4="]
    assert_same_service_error(
        cli.sts("assume-role-with-saml", *args), cli.aws_sts("assume-role-with-saml", *args),
        "InvalidIdentityToken", "AssumeRoleWithSAML",
        f"The SAML provider arn:aws:iam::{account}:saml-provider/no-such-idp does not exist.")


def test_get_web_identity_token_requires_the_signing_algorithm(cli):
    # The STS model requires SigningAlgorithm as well as Audience, so the aws CLI refuses
    # the call without it before sending anything: a usage error.
    assert_usage_error(
        cli.sts("get-web-identity-token", "--audience", "tessera-test-audience"),
        "--signing-algorithm")


# ---------------------------------------------------------------------------
# AssumeRoleWithWebIdentity: unsigned, works without any credentials
# ---------------------------------------------------------------------------


def test_assume_role_with_web_identity_without_credentials(web, web_cli):
    # The credentials file is empty and no AWS_* credential variable is set.
    idp = web.idp
    args = ["--role-arn", web.role["Arn"], "--role-session-name", "cli-web"]
    proc = web_cli.sts("assume-role-with-web-identity", *args,
                       "--web-identity-token", idp.mint(idp.claims(sub="cli-subject")))
    out = ok_json(proc)
    expected_arn = session_arn(web.account, web.role["RoleName"], "cli-web")
    assert list(out) == ["Credentials", "SubjectFromWebIdentityToken", "AssumedRoleUser",
                         "Provider", "Audience"], out
    assert_credentials(out["Credentials"], 3600)
    assert out["SubjectFromWebIdentityToken"] == "cli-subject"
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{web.role['RoleId']}:cli-web",
                                      "Arn": expected_arn}
    assert out["Provider"] == web.provider_arn
    assert out["Audience"] == OIDC_CLIENT_ID
    aws = web_cli.aws_sts("assume-role-with-web-identity", *args, "--web-identity-token",
                          idp.mint(idp.claims(sub="cli-subject")))
    assert mask_json(proc.stdout) == mask_json(ok(aws))
    assert caller(web.server, creds_from_json(out)) == expected_arn


def test_assume_role_with_web_identity_text(web, web_cli):
    idp = web.idp
    args = ["--role-arn", web.role["Arn"], "--role-session-name", "cli-web-text",
            "--output", "text"]
    out = ok(web_cli.sts("assume-role-with-web-identity", *args,
                         "--web-identity-token", idp.mint()))
    aws = web_cli.aws_sts("assume-role-with-web-identity", *args,
                          "--web-identity-token", idp.mint())
    assert mask_text(out) == mask_text(ok(aws))
    assert mask_text(out) == (
        f"{OIDC_CLIENT_ID}\t{web.provider_arn}\tuser-1\n"
        f"ASSUMEDROLEUSER\t{session_arn(web.account, web.role['RoleName'], 'cli-web-text')}"
        f"\t{web.role['RoleId']}:cli-web-text\n"
        "CREDENTIALS\t<AccessKeyId>\t<Expiration>\t<SecretAccessKey>\t<SessionToken>\n")


def test_assume_role_with_web_identity_duration_and_policy(web, web_cli):
    out = ok_json(web_cli.sts(
        "assume-role-with-web-identity", "--role-arn", web.role["Arn"],
        "--role-session-name", "cli-web-opts", "--web-identity-token", web.idp.mint(),
        "--duration-seconds", "900", "--policy", policy(allow("iam:GetRole"))))
    assert_credentials(out["Credentials"], 900)
    assert isinstance(out["PackedPolicySize"], int), out  # only with a session policy


def test_assume_role_with_web_identity_token_error(web, web_cli):
    args = ["--role-arn", web.role["Arn"], "--role-session-name", "cli-web",
            "--web-identity-token", "abc.def"]
    assert_same_service_error(
        web_cli.sts("assume-role-with-web-identity", *args),
        web_cli.aws_sts("assume-role-with-web-identity", *args),
        "InvalidIdentityToken", "AssumeRoleWithWebIdentity", NOT_A_JWT)


# ---------------------------------------------------------------------------
# failures that are not service errors
# ---------------------------------------------------------------------------


def test_no_credentials_exit_255(cli_for, server):
    cli = cli_for(server)  # empty credentials and config files, no AWS_* credentials
    proc = cli.sts("get-caller-identity")
    assert proc.returncode == OTHER_FAILURE, describe(proc)
    assert proc.stdout == "", describe(proc)
    assert proc.stderr.strip(), describe(proc)


def test_connection_refused_exit_255(cli):
    proc = cli.run("sts", "get-caller-identity",
                   "--endpoint-url", f"http://127.0.0.1:{free_port()}")
    assert proc.returncode == OTHER_FAILURE, describe(proc)
    assert proc.stdout == "", describe(proc)
    assert proc.stderr.strip(), describe(proc)


def test_unknown_profile_exit_255(cli):
    proc = cli.sts("get-caller-identity", "--profile", "no-such-profile")
    assert proc.returncode == OTHER_FAILURE, describe(proc)
    assert proc.stdout == "", describe(proc)
    assert "no-such-profile" in proc.stderr, describe(proc)


# ---------------------------------------------------------------------------
# where credentials come from
# ---------------------------------------------------------------------------


def test_environment_credentials_win_over_the_profile(cli, server, make_user, admin_role,
                                                      account):
    # [default] holds the admin's keys; the environment names another user.
    user = make_user("cli-env", key=True)
    env = {"AWS_ACCESS_KEY_ID": user.creds.access_key,
           "AWS_SECRET_ACCESS_KEY": user.creds.secret_key}
    out = ok(cli.sts("get-caller-identity", env=env))
    assert json.loads(out)["Arn"] == user.arn
    assert out == ok(cli.aws_sts("get-caller-identity", env=env))

    # temporary credentials: AWS_SESSION_TOKEN is sent
    role = admin_role()
    session = sts_client(server, server.admin_credentials()).assume_role(
        RoleArn=role["Arn"], RoleSessionName="from-env")["Credentials"]
    env = {"AWS_ACCESS_KEY_ID": session["AccessKeyId"],
           "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
           "AWS_SESSION_TOKEN": session["SessionToken"]}
    out = ok(cli.sts("get-caller-identity", env=env))
    assert json.loads(out)["Arn"] == session_arn(account, role["RoleName"], "from-env")
    assert out == ok(cli.aws_sts("get-caller-identity", env=env))


@pytest.mark.parametrize("how", ["--profile", "AWS_PROFILE"])
def test_profile_selection(cli_for, server, admin, identity, how):
    cli = cli_for(server, {"default": BOGUS, "admin": admin})
    # [default] is the default: its unknown key is refused
    assert_service_error(cli.sts("get-caller-identity"), "InvalidClientTokenId",
                         "GetCallerIdentity", INVALID_TOKEN)
    if how == "--profile":
        proc = cli.sts("get-caller-identity", "--profile", "admin")
    else:
        proc = cli.sts("get-caller-identity", env={"AWS_PROFILE": "admin"})
    assert ok_json(proc) == identity


def test_credentials_in_the_config_file(cli_for, server, admin, identity):
    # A [profile NAME] section of the config file may hold keys, too.
    cli = cli_for(server, config=(
        "[profile cfgkeys]\n"
        f"aws_access_key_id = {admin.access_key}\n"
        f"aws_secret_access_key = {admin.secret_key}\n"))
    assert ok_json(cli.sts("get-caller-identity", "--profile", "cfgkeys")) == identity


def test_session_token_in_the_credentials_file(cli_for, server, admin, admin_arn):
    session = Creds.from_sts(sts_client(server, admin).get_session_token(
        DurationSeconds=900)["Credentials"])
    cli = cli_for(server, {"default": session})
    assert ok_json(cli.sts("get-caller-identity"))["Arn"] == admin_arn


def role_profile(name: str, role: dict, *, source: str = "admin", endpoint: Optional[str],
                 **settings: str) -> str:
    lines = [f"[profile {name}]", f"role_arn = {role['Arn']}", f"source_profile = {source}"]
    if endpoint is not None:
        lines.append(f"endpoint_url = {endpoint}")
    lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def test_profile_with_role_arn_and_source_profile(cli, account, admin_role):
    # endpoint_url in the profile reaches both the AssumeRole call and the command's own
    # call (no --endpoint-url), for tessera as for the aws CLI.
    role = admin_role(condition={"StringEquals": {"sts:ExternalId": "profile-ext"}})
    cli.write_config(role_profile("assumed", role, endpoint=cli.endpoint,
                                  role_session_name="profile-session",
                                  external_id="profile-ext", duration_seconds="900"))
    out = ok(cli.run("sts", "get-caller-identity", "--profile", "assumed"))
    assert json.loads(out) == {
        "UserId": f"{role['RoleId']}:profile-session", "Account": account,
        "Arn": session_arn(account, role["RoleName"], "profile-session")}
    assert out == ok(cli.aws("sts", "get-caller-identity", "--profile", "assumed"))


def assert_profile_assume_role_error(cli: Cli, profile: str, code: str, message: str) -> None:
    """GetCallerIdentity through a role_arn profile whose AssumeRole fails: like the aws
    CLI, tessera prints the AssumeRole error line (exit 254 or 255: the contract names
    no status for a failure while resolving credentials)."""
    aws = cli.aws("sts", "get-caller-identity", "--profile", profile)
    assert (aws.returncode, aws.stderr) == (
        AWS_CLI_FAILURE, error_line(code, "AssumeRole", message)), describe(aws)
    proc = cli.run("sts", "get-caller-identity", "--profile", profile)
    assert proc.returncode in (SERVICE_ERROR, OTHER_FAILURE), describe(proc)
    assert proc.stdout == "", describe(proc)
    assert proc.stderr == aws.stderr, describe(proc)


def test_profile_external_id_is_sent(cli, account, admin_role):
    # without external_id in the profile the trust policy's condition fails
    role = admin_role(condition={"StringEquals": {"sts:ExternalId": "profile-ext"}})
    cli.write_config(role_profile("noext", role, endpoint=cli.endpoint,
                                  role_session_name="noext"))
    assert_profile_assume_role_error(
        cli, "noext", "AccessDenied",
        f"User: {cli_admin_arn(account)} is not authorized to perform: sts:AssumeRole on "
        f"resource: {role['Arn']}")


def test_profile_duration_seconds_is_sent(cli, admin_role):
    # 7200 seconds exceed the role's MaxSessionDuration (3600): the server says so.
    role = admin_role()
    cli.write_config(role_profile("long", role, endpoint=cli.endpoint,
                                  duration_seconds="7200"))
    assert_profile_assume_role_error(cli, "long", "ValidationError", MAX_SESSION_LIMIT)


# ---------------------------------------------------------------------------
# region and endpoint precedence
# ---------------------------------------------------------------------------


def wrong_region(proc: subprocess.CompletedProcess, region: str) -> None:
    """The server refused a signature scoped to ``region`` (it accepts us-east-1 only)."""
    assert proc.returncode == SERVICE_ERROR, describe(proc)
    assert proc.stderr.startswith(
        "\nAn error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity "
        "operation: "), describe(proc)
    assert f"not '{region}'" in proc.stderr, describe(proc)


@pytest.mark.parametrize("winner", ["--region", "AWS_REGION", "AWS_DEFAULT_REGION", "profile"])
def test_region_precedence(cli_for, server, admin, identity, winner):
    # The shared server accepts signatures for us-east-1 only and names the region it
    # refused: each source in turn holds a region that the server refuses while every
    # source below it holds another one; then the same with us-east-1 as the winner.
    levels = ["--region", "AWS_REGION", "AWS_DEFAULT_REGION", "profile"]
    below = levels[levels.index(winner) + 1:]
    others = {"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "eu-west-3",
              "profile": "ap-southeast-2"}

    def attempt(region: str):
        values = {winner: region, **{level: others[level] for level in below}}
        cli = cli_for(server, {"default": admin, "regional": admin},
                      config=(f"[profile regional]\nregion = {values['profile']}\n"
                              if "profile" in values else ""))
        args = ["--profile", "regional"]
        if "--region" in values:
            args += ["--region", values["--region"]]
        env = {k: v for k, v in values.items() if k.startswith("AWS_")}
        return cli.sts("get-caller-identity", *args, env=env)

    wrong_region(attempt("eu-west-1"), "eu-west-1")
    assert ok_json(attempt(DEFAULT_REGION)) == identity


def test_default_region_is_us_east_1(cli, identity):
    # the shared server refuses any other region
    assert ok_json(cli.sts("get-caller-identity")) == identity


ENDPOINT_LEVELS = ["--endpoint-url", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "profile"]


@pytest.mark.parametrize("winner", ENDPOINT_LEVELS)
@pytest.mark.parametrize("winner_is_live", [True, False], ids=["live", "dead"])
def test_endpoint_precedence(cli_for, server, admin, identity, winner, winner_is_live):
    # The source that wins holds the live endpoint and every source below it a dead
    # one (nothing listens there), or the other way round.
    live, dead = server.endpoint, f"http://127.0.0.1:{free_port()}"
    below = ENDPOINT_LEVELS[ENDPOINT_LEVELS.index(winner) + 1:]
    values = {winner: live if winner_is_live else dead,
              **{level: dead if winner_is_live else live for level in below}}
    config = (f"[profile ep]\nendpoint_url = {values['profile']}\n" if "profile" in values
              else "")
    cli = cli_for(server, {"default": admin, "ep": admin}, config=config)
    args = ["sts", "get-caller-identity", "--profile", "ep"]
    if "--endpoint-url" in values:
        args += ["--endpoint-url", values["--endpoint-url"]]
    proc = cli.run(*args, env={k: v for k, v in values.items() if k.startswith("AWS_")})
    if winner_is_live:
        assert ok_json(proc) == identity
    else:
        assert proc.returncode == OTHER_FAILURE, describe(proc)
        assert proc.stdout == "", describe(proc)


def test_aws_endpoint_url_sts_is_the_aws_clis(cli):
    # the aws CLI honours AWS_ENDPOINT_URL_STS as well: same output
    env = {"AWS_ENDPOINT_URL_STS": cli.endpoint}
    out = ok(cli.run("sts", "get-caller-identity", env=env))
    assert out == ok(cli.aws("sts", "get-caller-identity", env=env))


# ---------------------------------------------------------------------------
# credential-process
# ---------------------------------------------------------------------------

CREDENTIAL_PROCESS_MEMBERS = {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken",
                              "Expiration"}


def credential_process(cli: Cli, *args, **kwargs) -> subprocess.CompletedProcess:
    return cli.run("credential-process", "--endpoint-url", cli.endpoint, *args, **kwargs)


def process_output(proc: subprocess.CompletedProcess, seconds: float) -> dict:
    """The credential_process JSON document, checked: its members, Version 1, valid
    values, an Expiration (RFC 3339, UTC, 'Z') ``seconds`` from now."""
    out = ok_json(proc)
    assert set(out) == CREDENTIAL_PROCESS_MEMBERS, out
    assert out["Version"] == 1 and isinstance(out["Version"], int), out
    assert re.fullmatch(ASIA_RE, out["AccessKeyId"]), out["AccessKeyId"]
    assert re.fullmatch(SECRET_RE, out["SecretAccessKey"])
    assert re.fullmatch(TOKEN_RE, out["SessionToken"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", out["Expiration"]), out
    assert_expires_in(parse_time(out["Expiration"]), seconds, tolerance=60)
    return out


def process_creds(out: dict) -> Creds:
    return Creds(out["AccessKeyId"], out["SecretAccessKey"], out["SessionToken"])


def cache_files(directory: Path) -> list:
    """The regular files under ``<directory>/tessera/credential-process``."""
    base = directory / "tessera" / "credential-process"
    assert base.is_dir(), f"{base} does not exist"
    return sorted(p for p in base.rglob("*") if p.is_file())


def assert_private(files: list) -> None:
    assert files, "no cache file was written"
    for path in files:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, f"{path} has mode {mode:o}, want 600"


def test_credential_process_assumes_the_role(cli, server, account, admin_role):
    role = admin_role()
    out = process_output(credential_process(
        cli, "--role-arn", role["Arn"], "--role-session-name", "cp-session",
        "--duration-seconds", "900"), 900)
    assert caller(server, process_creds(out)) == session_arn(account, role["RoleName"],
                                                            "cp-session")


def test_credential_process_without_role_arn_gets_a_session_token(cli, server, admin_arn):
    out = process_output(credential_process(cli, "--duration-seconds", "900"), 900)
    assert caller(server, process_creds(out)) == admin_arn


def test_credential_process_external_id(cli, account, admin_role):
    role = admin_role(condition={"StringEquals": {"sts:ExternalId": "cp-ext"}})
    args = ["--role-arn", role["Arn"], "--role-session-name", "cp-ext"]
    denied = credential_process(cli, *args)
    assert denied.returncode != 0, describe(denied)
    assert denied.stdout == "", describe(denied)
    assert "AccessDenied" in denied.stderr, describe(denied)
    process_output(credential_process(cli, *args, "--external-id", "cp-ext"), 3600)


def test_credential_process_profile_option(cli_for, server, admin, admin_role, account):
    # [default] is unusable: --profile admin supplies the caller's credentials
    cli = cli_for(server, {"default": BOGUS, "admin": admin})
    role = admin_role()
    out = process_output(credential_process(cli, "--role-arn", role["Arn"],
                                            "--role-session-name", "cp-profile",
                                            "--profile", "admin"), 3600)
    assert caller(server, process_creds(out)) == session_arn(account, role["RoleName"],
                                                            "cp-profile")


def test_credential_process_region_option(cli, admin_role):
    # The shared server accepts signatures for us-east-1 only and names the region it
    # refused: --region reaches the signature.
    role = admin_role()
    proc = credential_process(cli, "--role-arn", role["Arn"], "--region", "eu-west-1")
    assert proc.returncode != 0, describe(proc)
    assert proc.stdout == "", describe(proc)
    assert "SignatureDoesNotMatch" in proc.stderr, describe(proc)
    assert "not 'eu-west-1'" in proc.stderr, describe(proc)
    process_output(credential_process(cli, "--role-arn", role["Arn"],
                                      "--region", DEFAULT_REGION), 3600)


def test_credential_process_cache_file_is_private(cli, admin_role):
    role = admin_role()
    process_output(credential_process(cli, "--role-arn", role["Arn"]), 3600)
    assert_private(cache_files(cli.cache))
    assert not (cli.home / ".cache" / "tessera").exists(), "ignored XDG_CACHE_HOME"


def test_credential_process_default_cache_dir(cli_for, server, admin, admin_role):
    cli = cli_for(server, {"default": admin}, xdg_cache=False)  # XDG_CACHE_HOME unset
    role = admin_role()
    process_output(credential_process(cli, "--role-arn", role["Arn"]), 3600)
    assert_private(cache_files(cli.home / ".cache"))


def test_credential_process_cache_tells_roles_apart(cli, server, account, admin_role):
    first, second = admin_role("cp-one"), admin_role("cp-two")
    one = process_output(credential_process(cli, "--role-arn", first["Arn"],
                                            "--role-session-name", "cp"), 3600)
    two = process_output(credential_process(cli, "--role-arn", second["Arn"],
                                            "--role-session-name", "cp"), 3600)
    assert one["AccessKeyId"] != two["AccessKeyId"]
    assert caller(server, process_creds(one)) == session_arn(account, first["RoleName"], "cp")
    assert caller(server, process_creds(two)) == session_arn(account, second["RoleName"], "cp")
    again = process_output(credential_process(cli, "--role-arn", first["Arn"],
                                              "--role-session-name", "cp"), 3600)
    assert again == one


def audit_events(server: TesseraServer) -> list:
    path = server.data_dir / "audit.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def settled_audit(server: TesseraServer) -> list:
    """The audit log once every earlier request is in it: the writer keeps request
    order, so once a marker request's record is there, so is everything before it."""
    marker = sts_client(server, server.admin_credentials()).get_caller_identity()
    request_id = marker["ResponseMetadata"]["RequestId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = audit_events(server)
        if any(e.get("requestID") == request_id for e in events):
            return events
        time.sleep(0.05)
    raise AssertionError(f"the audit log never recorded request {request_id}")


def assume_role_count(server: TesseraServer) -> int:
    return sum(1 for e in settled_audit(server) if e.get("eventName") == "AssumeRole")


def test_credential_process_reuses_its_cache(start_server, cli_for):
    # Proved twice: the server's audit log records no second AssumeRole, and the cached
    # answer still comes when the server is down.
    srv = start_server("cli-credential-process")
    admin = srv.admin_credentials()
    admin_user = sts_client(srv, admin).get_caller_identity()["Arn"]
    role = iam_client(srv, admin).create_role(
        RoleName=unique("cp-cache"), AssumeRolePolicyDocument=trust(admin_user))["Role"]
    cli = cli_for(srv, {"default": admin})
    args = ["--role-arn", role["Arn"], "--role-session-name", "cached",
            "--duration-seconds", "900"]

    first = credential_process(cli, *args)
    out = process_output(first, 900)
    assert assume_role_count(srv) == 1
    second = credential_process(cli, *args)
    assert process_output(second, 900) == out
    assert assume_role_count(srv) == 1, "the second call asked the server again"

    srv.stop()
    third = credential_process(cli, *args)
    assert process_output(third, 900) == out
    # --no-cache does not read the cache: with the server down it fails
    uncached = credential_process(cli, *args, "--no-cache")
    assert uncached.returncode == OTHER_FAILURE, describe(uncached)
    assert uncached.stdout == "", describe(uncached)


def test_credential_process_no_cache_asks_the_server(start_server, cli_for):
    srv = start_server("cli-credential-process-no-cache")
    admin = srv.admin_credentials()
    admin_user = sts_client(srv, admin).get_caller_identity()["Arn"]
    role = iam_client(srv, admin).create_role(
        RoleName=unique("cp-nocache"), AssumeRolePolicyDocument=trust(admin_user))["Role"]
    cli = cli_for(srv, {"default": admin})
    args = ["--role-arn", role["Arn"], "--role-session-name", "uncached"]

    cached = process_output(credential_process(cli, *args), 3600)
    assert assume_role_count(srv) == 1
    fresh = process_output(credential_process(cli, *args, "--no-cache"), 3600)
    assert fresh["AccessKeyId"] != cached["AccessKeyId"]
    assert assume_role_count(srv) == 2
    fresher = process_output(credential_process(cli, *args, "--no-cache"), 3600)
    assert fresher["AccessKeyId"] not in (cached["AccessKeyId"], fresh["AccessKeyId"])
    assert assume_role_count(srv) == 3


def test_credential_process_refreshes_within_five_minutes_of_expiry(cli, admin_role):
    # 900-second credentials: 4 minutes later 11 minutes are left (reused); 11 minutes
    # later 4 are left, less than 5 (refreshed).  faketime moves tessera's clock only;
    # the server accepts signatures up to 15 minutes ahead.
    role = admin_role()
    args = ["--role-arn", role["Arn"], "--role-session-name", "refresh",
            "--duration-seconds", "900"]
    first = process_output(credential_process(cli, *args), 900)

    later = credential_process(cli, *args, env=faketime_env("+4m"))
    assert ok_json(later) == first, describe(later)

    near_expiry = credential_process(cli, *args, env=faketime_env("+11m"))
    refreshed = ok_json(near_expiry)
    assert refreshed["AccessKeyId"] != first["AccessKeyId"], describe(near_expiry)


def test_aws_cli_uses_tessera_as_credential_process(cli_for, server, admin, account,
                                                     admin_role, tessera_bin):
    # [default] is unusable: the process must use --profile admin; the aws CLI itself
    # has no other credentials.
    role = admin_role()
    cli = cli_for(server, {"default": BOGUS, "admin": admin})
    command = shlex.join([str(tessera_bin), "credential-process", "--role-arn", role["Arn"],
                          "--endpoint-url", server.endpoint, "--profile", "admin"])
    cli.write_config(f"[profile viarole]\ncredential_process = {command}\n"
                     f"region = {DEFAULT_REGION}\n")
    proc = cli.aws("--profile", "viarole", "--endpoint-url", server.endpoint,
                   "sts", "get-caller-identity")
    out = ok_json(proc)
    assert out["Arn"].startswith(f"arn:aws:sts::{account}:assumed-role/{role['RoleName']}/"), out
    assert out["UserId"].startswith(f"{role['RoleId']}:"), out

    # a session name, and the second run is served from tessera's cache
    named = shlex.join([str(tessera_bin), "credential-process", "--role-arn", role["Arn"],
                        "--role-session-name", "via-aws", "--endpoint-url", server.endpoint,
                        "--profile", "admin"])
    cli.write_config(f"[profile viarole]\ncredential_process = {named}\n")
    for _ in range(2):
        out = ok_json(cli.aws("--profile", "viarole", "--endpoint-url", server.endpoint,
                              "sts", "get-caller-identity"))
        assert out["Arn"] == session_arn(account, role["RoleName"], "via-aws")
    assert_private(cache_files(cli.cache))


# ---------------------------------------------------------------------------
# env and exec
# ---------------------------------------------------------------------------


def parse_exports(text: str) -> dict:
    """``export NAME=VALUE`` lines (VALUE shell-quoted) as a dict; nothing else allowed."""
    result = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        words = shlex.split(line)
        assert len(words) == 2 and words[0] == "export" and "=" in words[1], (
            f"not an export line: {line!r}")
        name, _, value = words[1].partition("=")
        assert name not in result, f"{name} exported twice"
        result[name] = value
    return result


def shell_values(exports: str, names: Sequence[str]) -> list:
    """What ``sh`` sees in ``names`` after evaluating ``exports``."""
    script = 'eval "$1"; shift; for n in "$@"; do printenv "$n" || echo "<unset $n>"; done'
    proc = subprocess.run(["sh", "-c", script, "sh", exports, *names], capture_output=True,
                          text=True, timeout=30, env={"PATH": os.environ.get("PATH", "")})
    assert proc.returncode == 0, describe(proc)
    return proc.stdout.splitlines()


def assert_exported_credentials(values: dict, seconds: float) -> Creds:
    assert set(values) == set(EXPORTED), values
    missing = [name for name in EXPORTED if values[name] is None]
    assert not missing, f"not set: {missing}"
    assert re.fullmatch(ASIA_RE, values["AWS_ACCESS_KEY_ID"]), values
    assert re.fullmatch(SECRET_RE, values["AWS_SECRET_ACCESS_KEY"]), values
    assert re.fullmatch(TOKEN_RE, values["AWS_SESSION_TOKEN"]), values
    assert_expires_in(parse_time(values["AWS_CREDENTIAL_EXPIRATION"]), seconds, tolerance=60)
    return Creds(values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"],
                 values["AWS_SESSION_TOKEN"])


def test_env_prints_exports_for_the_role(cli, server, account, admin_role):
    role = admin_role()
    out = ok(cli.run("env", "--role-arn", role["Arn"], "--role-session-name", "env-session",
                     "--duration-seconds", "900", "--endpoint-url", server.endpoint))
    values = parse_exports(out)
    creds = assert_exported_credentials(values, 900)
    assert caller(server, creds) == session_arn(account, role["RoleName"], "env-session")
    # the output is valid shell: evaluated by sh, it sets exactly these values
    assert shell_values(out, EXPORTED) == [values[name] for name in EXPORTED]


def test_env_without_role_arn_gets_a_session_token(cli, server, admin_arn):
    out = ok(cli.run("env", "--duration-seconds", "900", "--endpoint-url", server.endpoint))
    creds = assert_exported_credentials(parse_exports(out), 900)
    assert caller(server, creds) == admin_arn


def test_exec_runs_the_aws_cli_as_the_role(cli, server, account, admin_role):
    role = admin_role()
    proc = cli.run("exec", "--role-arn", role["Arn"], "--role-session-name", "exec-session",
                   "--endpoint-url", server.endpoint, "--",
                   str(aws_cli_path()), "sts", "get-caller-identity",
                   "--endpoint-url", server.endpoint, "--region", DEFAULT_REGION)
    assert ok_json(proc) == {"UserId": f"{role['RoleId']}:exec-session", "Account": account,
                             "Arn": session_arn(account, role["RoleName"], "exec-session")}


def test_exec_sets_the_credentials_and_unsets_aws_profile(cli_for, server, admin, account,
                                                          admin_role):
    # tessera itself uses AWS_PROFILE=admin ([default] is unusable); the child must not
    # see AWS_PROFILE, which would make SDKs ignore the exported keys.
    cli = cli_for(server, {"default": BOGUS, "admin": admin})
    role = admin_role()
    proc = cli.run("exec", "--role-arn", role["Arn"], "--role-session-name", "exec-env",
                   "--endpoint-url", server.endpoint, "--", "env",
                   env={"AWS_PROFILE": "admin", "TESSERA_TEST_MARKER": "kept"})
    child = dict(line.split("=", 1) for line in ok(proc).splitlines() if "=" in line)
    assert "AWS_PROFILE" not in child, child.get("AWS_PROFILE")
    assert child.get("TESSERA_TEST_MARKER") == "kept", "the rest of the environment is kept"
    creds = assert_exported_credentials({k: child.get(k) for k in EXPORTED}, 3600)
    assert caller(server, creds) == session_arn(account, role["RoleName"], "exec-env")


def test_exec_replaces_credentials_from_the_environment(cli, server, account, admin, admin_role):
    # tessera's own call uses the admin's keys from the environment; the child gets the
    # role's temporary credentials in their place.
    role = admin_role()
    env = {"AWS_ACCESS_KEY_ID": admin.access_key, "AWS_SECRET_ACCESS_KEY": admin.secret_key}
    proc = cli.run("exec", "--role-arn", role["Arn"], "--role-session-name", "exec-replace",
                   "--endpoint-url", server.endpoint, "--", "env", env=env)
    child = dict(line.split("=", 1) for line in ok(proc).splitlines() if "=" in line)
    creds = assert_exported_credentials({k: child.get(k) for k in EXPORTED}, 3600)
    assert creds.access_key != admin.access_key
    assert caller(server, creds) == session_arn(account, role["RoleName"], "exec-replace")


@pytest.mark.parametrize("status", [0, 1, 7, 254])
def test_exec_exits_with_the_commands_status(cli, server, admin_role, status):
    role = admin_role()
    proc = cli.run("exec", "--role-arn", role["Arn"], "--endpoint-url", server.endpoint, "--",
                   "sh", "-c", f'echo out; echo err >&2; exit {status}')
    assert proc.returncode == status, describe(proc)
    assert proc.stdout == "out\n", describe(proc)
    assert proc.stderr.endswith("err\n"), describe(proc)


def test_exec_without_role_arn_uses_a_session_token(cli, server, admin_arn):
    proc = cli.run("exec", "--endpoint-url", server.endpoint, "--", "env")
    child = dict(line.split("=", 1) for line in ok(proc).splitlines() if "=" in line)
    creds = assert_exported_credentials({k: child.get(k) for k in EXPORTED}, 43200)
    assert caller(server, creds) == admin_arn
