"""End-to-end tests of Tessera's STS foundation.

Covers the bootstrap admin, SigV4 verification (header and presigned),
GetCallerIdentity, GetSessionToken, GetAccessKeyInfo, persistence across
restarts and signing-key rotation, and the error contract.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import re
import secrets
import shutil
import stat
import subprocess

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tessera_testlib import (
    ACCOUNT_RE,
    AKIA_RE,
    STS_VERSION,
    UUID_RE,
    Creds,
    admin_credentials_path,
    assert_expires_in,
    assert_raw_caller_identity,
    assert_raw_error,
    botocore_clock,
    expect_client_error,
    form,
    http_get_url,
    random_akia,
    random_secret,
    run_aws_cli,
    send,
    send_large,
    signed_request,
    sts_client,
    utcnow,
)

IDENTITY_KEYS = ("Account", "Arn", "UserId")


def identity_of(response: dict) -> dict:
    return {k: response[k] for k in IDENTITY_KEYS}


def mint_session(client, duration: int = 3600) -> Creds:
    return Creds.from_sts(client.get_session_token(DurationSeconds=duration)["Credentials"])


def assert_temporary_credentials_shape(credentials: dict) -> None:
    akid = credentials["AccessKeyId"]
    assert akid.startswith("ASIA") and len(akid) == 20, akid
    assert len(credentials["SecretAccessKey"]) == 40
    token = credentials["SessionToken"]
    assert token, "empty SessionToken"
    assert len(token.encode()) <= 4096, f"SessionToken is {len(token.encode())} bytes"


def flip_char(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1:]


def random_token(like: str) -> str:
    return base64.b64encode(secrets.token_bytes(max(48, len(like) * 3 // 4))).decode()


@pytest.fixture
def admin_sts_unvalidated(server, admin):
    """Admin client with botocore's client-side parameter validation off."""
    return sts_client(server, admin, config=Config(parameter_validation=False))


# ---------------------------------------------------------------------------
# bootstrap and GetCallerIdentity
# ---------------------------------------------------------------------------


def test_admin_credentials_file_is_private_and_well_formed(server, admin):
    path = admin_credentials_path(server.data_dir)
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, f"{path} has mode {oct(mode)}"
    assert AKIA_RE.fullmatch(admin.access_key), admin.access_key
    assert len(admin.secret_key) == 40


def test_get_caller_identity_as_admin(admin_sts):
    resp = admin_sts.get_caller_identity()
    account = resp["Account"]
    assert ACCOUNT_RE.fullmatch(account), account
    assert resp["Arn"] == f"arn:aws:iam::{account}:user/admin"
    assert resp["UserId"].startswith("AIDA") and len(resp["UserId"]) == 21, resp["UserId"]


def test_get_caller_identity_with_aws_cli(server, identity, tmp_path):
    out = run_aws_cli(server, ["sts", "get-caller-identity"],
                      credentials_file=admin_credentials_path(server.data_dir), home=tmp_path)
    assert identity_of(out) == identity


def test_success_response_carries_request_id_and_date(admin_sts):
    first = admin_sts.get_caller_identity()["ResponseMetadata"]
    second = admin_sts.get_caller_identity()["ResponseMetadata"]
    for meta in (first, second):
        rid = meta["RequestId"]
        assert UUID_RE.fullmatch(rid), rid
        assert meta["HTTPHeaders"].get("x-amzn-requestid") == rid
        date = meta["HTTPHeaders"].get("date")
        assert date, "no Date header"
        skew = (email.utils.parsedate_to_datetime(date) - utcnow()).total_seconds()
        assert abs(skew) < 300, f"Date header {date!r} is {skew:.0f}s off"
    assert first["RequestId"] != second["RequestId"]


# ---------------------------------------------------------------------------
# GetSessionToken
# ---------------------------------------------------------------------------


def test_get_session_token_default_duration_is_12_hours(admin_sts):
    credentials = admin_sts.get_session_token()["Credentials"]
    assert_temporary_credentials_shape(credentials)
    assert_expires_in(credentials["Expiration"], 43200)


@pytest.mark.parametrize("duration", [900, 129600])
def test_get_session_token_explicit_duration(admin_sts, duration):
    credentials = admin_sts.get_session_token(DurationSeconds=duration)["Credentials"]
    assert_temporary_credentials_shape(credentials)
    assert_expires_in(credentials["Expiration"], duration)


def test_get_session_token_mints_distinct_credentials(admin_sts):
    first, second = mint_session(admin_sts), mint_session(admin_sts)
    assert first.access_key != second.access_key
    assert first.secret_key != second.secret_key
    assert first.token != second.token


def test_session_credentials_act_as_the_admin_user(server, session_creds, identity):
    assert identity_of(sts_client(server, session_creds).get_caller_identity()) == identity


def test_get_session_token_with_aws_cli(server, identity, tmp_path):
    out = run_aws_cli(server, ["sts", "get-session-token", "--duration-seconds", "900"],
                      credentials_file=admin_credentials_path(server.data_dir), home=tmp_path)
    credentials = out["Credentials"]
    assert_temporary_credentials_shape(credentials)
    expiration = dt.datetime.fromisoformat(credentials["Expiration"].replace("Z", "+00:00"))
    assert_expires_in(expiration, 900)
    resp = sts_client(server, Creds.from_sts(credentials)).get_caller_identity()
    assert identity_of(resp) == identity


def test_session_credentials_cannot_call_get_session_token(server, session_creds):
    expect_client_error(sts_client(server, session_creds).get_session_token,
                        code="AccessDenied", status=403,
                        message="Cannot call GetSessionToken with session credentials")


# ---------------------------------------------------------------------------
# GetAccessKeyInfo
# ---------------------------------------------------------------------------


def test_get_access_key_info_for_long_term_key(admin_sts, admin, identity):
    resp = admin_sts.get_access_key_info(AccessKeyId=admin.access_key)
    assert resp["Account"] == identity["Account"]


def test_get_access_key_info_for_temporary_key(admin_sts, session_creds, identity):
    resp = admin_sts.get_access_key_info(AccessKeyId=session_creds.access_key)
    assert resp["Account"] == identity["Account"]


@pytest.mark.parametrize("key_kind", ["long-term", "temporary"])
def test_get_access_key_info_with_aws_cli(server, admin, session_creds, identity, tmp_path,
                                          key_kind):
    key = admin.access_key if key_kind == "long-term" else session_creds.access_key
    out = run_aws_cli(server, ["sts", "get-access-key-info", "--access-key-id", key],
                      credentials_file=admin_credentials_path(server.data_dir), home=tmp_path)
    assert out["Account"] == identity["Account"]


# ---------------------------------------------------------------------------
# presigned URLs and raw signed requests
# ---------------------------------------------------------------------------


def presign_caller_identity(client) -> str:
    # HttpMethod="GET": the method is part of the canonical request, and
    # botocore would otherwise sign for the operation's POST.
    return client.generate_presigned_url("get_caller_identity", ExpiresIn=900, HttpMethod="GET")


def test_presigned_get_caller_identity(admin_sts, identity):
    url = presign_caller_identity(admin_sts)
    assert "X-Amz-Signature=" in url and "X-Amz-Security-Token" not in url
    assert_raw_caller_identity(http_get_url(url), arn=identity["Arn"])


def test_presigned_get_caller_identity_with_session_token(server, session_creds, identity):
    url = presign_caller_identity(sts_client(server, session_creds))
    assert "X-Amz-Security-Token=" in url
    assert_raw_caller_identity(http_get_url(url), arn=identity["Arn"])


def test_presigned_url_with_altered_signature_is_rejected(admin_sts):
    url = presign_caller_identity(admin_sts)
    match = re.search(r"X-Amz-Signature=([0-9a-f]{64})", url)
    assert match, url
    altered = url[:match.start(1)] + flip_hex(match.group(1), 17) + url[match.end(1):]
    assert_raw_error(http_get_url(altered), status=403, code="SignatureDoesNotMatch")


def flip_hex(hex_text: str, index: int) -> str:
    replacement = "0" if hex_text[index] != "0" else "1"
    return hex_text[:index] + replacement + hex_text[index + 1:]


@pytest.mark.parametrize("creds_kind", ["long-term", "temporary"])
@pytest.mark.parametrize("transport", ["post-form-body", "get-query-string"])
def test_signed_raw_get_caller_identity(server, admin, session_creds, identity, creds_kind,
                                        transport):
    creds = admin if creds_kind == "long-term" else session_creds
    if transport == "post-form-body":
        request = signed_request(server, creds, body=form())
    else:
        request = signed_request(server, creds, query=form())
    assert_raw_caller_identity(send(request), arn=identity["Arn"])


# ---------------------------------------------------------------------------
# regions
# ---------------------------------------------------------------------------


def test_region_flag_adds_server_region_and_keeps_us_east_1(start_server):
    srv = start_server("eu-west-1", extra_args=["--region", "eu-west-1"])
    admin = srv.admin_credentials()
    for region in ("eu-west-1", "us-east-1"):
        resp = sts_client(srv, admin, region=region).get_caller_identity()
        assert resp["Arn"] == f"arn:aws:iam::{resp['Account']}:user/admin"
    expect_client_error(sts_client(srv, admin, region="eu-west-3").get_caller_identity,
                        code="SignatureDoesNotMatch", status=403,
                        contains="Credential should be scoped to a valid region")


# ---------------------------------------------------------------------------
# persistence: restart and signing-key rotation
# ---------------------------------------------------------------------------


def test_restart_keeps_admin_and_outstanding_session_tokens(start_server):
    srv = start_server("restart")
    cred_path = admin_credentials_path(srv.data_dir)
    cred_file_before = cred_path.read_bytes()
    admin = srv.admin_credentials()
    identity = identity_of(sts_client(srv, admin).get_caller_identity())
    temporary = mint_session(sts_client(srv, admin))

    assert srv.stop() == 0, "tessera should exit 0 on SIGTERM"
    srv.start()

    assert cred_path.read_bytes() == cred_file_before, "admin-credentials changed on restart"
    assert stat.S_IMODE(cred_path.stat().st_mode) == 0o600
    for creds in (admin, temporary):
        assert identity_of(sts_client(srv, creds).get_caller_identity()) == identity


def test_key_rotation_keeps_old_session_tokens_valid(start_server, tessera_bin):
    srv = start_server("rotate")
    admin = srv.admin_credentials()
    identity = identity_of(sts_client(srv, admin).get_caller_identity())
    before = mint_session(sts_client(srv, admin))

    assert srv.stop() == 0, "tessera should exit 0 on SIGTERM"
    rotate = subprocess.run(
        [str(tessera_bin), "keys", "rotate", "--data-dir", str(srv.data_dir)],
        capture_output=True, text=True, timeout=60)
    assert rotate.returncode == 0, (
        f"`tessera keys rotate` exited {rotate.returncode}\n"
        f"stdout:\n{rotate.stdout}\nstderr:\n{rotate.stderr}")
    srv.start()

    after = mint_session(sts_client(srv, admin))
    assert after.token != before.token
    for creds in (before, after):
        assert identity_of(sts_client(srv, creds).get_caller_identity()) == identity


# ---------------------------------------------------------------------------
# signature time window
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("minutes, prefix", [
    (-20, "Signature expired:"),
    (20, "Signature not yet current:"),
], ids=["20-minutes-old", "20-minutes-ahead"])
def test_signature_outside_time_window(admin_sts, minutes, prefix):
    with botocore_clock(dt.timedelta(minutes=minutes)):
        expect_client_error(admin_sts.get_caller_identity, code="SignatureDoesNotMatch",
                            status=403, startswith=prefix)


def test_signature_inside_time_window(server, admin, identity):
    client = sts_client(server, admin)
    sent_dates = []
    client.meta.events.register(
        "before-send.sts.GetCallerIdentity",
        lambda request, **_: sent_dates.append(request.headers.get("X-Amz-Date")))
    with botocore_clock(dt.timedelta(minutes=-10)):
        assert identity_of(client.get_caller_identity()) == identity
    # the request really was signed ten minutes in the past
    assert len(sent_dates) == 1
    stamp = sent_dates[0]
    stamp = stamp.decode() if isinstance(stamp, bytes) else stamp
    signed_at = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    assert abs((utcnow() - signed_at).total_seconds() - 600) < 60, stamp


# ---------------------------------------------------------------------------
# authentication failures
# ---------------------------------------------------------------------------


def test_unsigned_request(server):
    client = sts_client(server, None, config=Config(signature_version=UNSIGNED))
    expect_client_error(client.get_caller_identity,
                        code="MissingAuthenticationToken", status=403)


def test_unknown_access_key(server):
    client = sts_client(server, Creds(random_akia(), random_secret()))
    expect_client_error(client.get_caller_identity, code="InvalidClientTokenId", status=403)


def test_wrong_secret_key(server, admin):
    client = sts_client(server, admin.replace(secret_key=flip_char(admin.secret_key, 0)))
    expect_client_error(client.get_caller_identity, code="SignatureDoesNotMatch", status=403)


def test_body_changed_after_signing(server, admin):
    request = signed_request(server, admin, body=form())
    tampered = (form() + "&Foo=bar").encode()
    assert_raw_error(send(request, body=tampered), status=403, code="SignatureDoesNotMatch")


@pytest.mark.parametrize("service, region, fragment", [
    ("s3", "us-east-1", "Credential should be scoped to correct service: 'sts'"),
    ("sts", "eu-west-3", "Credential should be scoped to a valid region"),
    # eu-west-1 is only valid on a server started with --region eu-west-1
    ("sts", "eu-west-1", "Credential should be scoped to a valid region"),
], ids=["service-s3", "region-eu-west-3", "region-eu-west-1"])
def test_wrong_credential_scope(server, admin, service, region, fragment):
    request = signed_request(server, admin, body=form(), service=service, region=region)
    assert_raw_error(send(request), status=403, code="SignatureDoesNotMatch", contains=fragment)


def test_malformed_credential_in_authorization_header(server, admin):
    request = signed_request(server, admin, body=form())
    authorization = request.headers["Authorization"]
    # AKID/date/region/service/aws4_request -> AKID/date/region
    broken = re.sub(r"Credential=([^/,\s]+)/([^/,\s]+)/([^/,\s]+)/[^,\s]+",
                    r"Credential=\1/\2/\3", authorization)
    assert broken != authorization
    resp = send(request, headers={"Authorization": broken})
    assert_raw_error(resp, status=400, code="IncompleteSignature")


@pytest.mark.parametrize("garble", ["one-char-changed", "random-base64"])
def test_garbled_session_token(server, session_creds, garble):
    token = session_creds.token
    if garble == "one-char-changed":
        bad = flip_char(token, len(token) // 2)
    else:
        bad = random_token(token)
    assert bad != token
    client = sts_client(server, session_creds.replace(token=bad))
    expect_client_error(client.get_caller_identity, code="InvalidClientTokenId", status=403)


def test_temporary_key_without_session_token(server, session_creds):
    client = sts_client(server, session_creds.replace(token=None))
    expect_client_error(client.get_caller_identity, code="InvalidClientTokenId", status=403)


def test_session_token_of_other_credentials(server, admin_sts, identity):
    first, second = mint_session(admin_sts), mint_session(admin_sts)
    assert identity_of(sts_client(server, first).get_caller_identity()) == identity
    client = sts_client(server, first.replace(token=second.token))
    expect_client_error(client.get_caller_identity, code="InvalidClientTokenId", status=403)


@pytest.mark.parametrize("token_kind", ["real-session-token", "random-base64"])
def test_long_term_key_with_session_token(server, admin, session_creds, token_kind):
    token = session_creds.token if token_kind == "real-session-token" else random_token("x" * 300)
    client = sts_client(server, admin.replace(token=token))
    expect_client_error(client.get_caller_identity, code="InvalidClientTokenId", status=403)


def test_expired_session_token(start_server):
    faketime = shutil.which("faketime")
    if faketime is None:
        pytest.fail("this test needs the `faketime` command (Debian package `faketime`: "
                    "apt-get install faketime)", pytrace=False)
    srv = start_server("expired", wrapper=[faketime, "-f", "-2d"],
                       env_extra={"FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    admin = srv.admin_credentials()
    two_days = dt.timedelta(days=2)

    # Mint a 15-minute session while server and signer both live two days ago.
    try:
        with botocore_clock(-two_days):
            resp = sts_client(srv, admin).get_session_token(DurationSeconds=900)
    except ClientError as exc:
        pytest.fail(
            f"GetSessionToken signed at now-2d was refused by the server running under "
            f"faketime: {exc}; server Date header: "
            f"{exc.response['ResponseMetadata']['HTTPHeaders'].get('date')!r}. "
            f"Does faketime affect this binary (it cannot affect a static binary)?",
            pytrace=False)
    server_date = email.utils.parsedate_to_datetime(
        resp["ResponseMetadata"]["HTTPHeaders"]["date"])
    assert abs((utcnow() - two_days - server_date).total_seconds()) < 600, (
        f"server Date {server_date} is not two days ago: faketime did not take effect")
    assert resp["Credentials"]["Expiration"] < utcnow()
    expired = Creds.from_sts(resp["Credentials"])

    srv.stop()
    srv.start(wrapper=[], env_extra={})  # same data dir, real clock

    assert sts_client(srv, admin).get_caller_identity()["Arn"].endswith(":user/admin")
    expect_client_error(sts_client(srv, expired).get_caller_identity,
                        code="ExpiredToken", status=403,
                        message="The security token included in the request is expired")


# ---------------------------------------------------------------------------
# protocol errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("body, code", [
    (form(action="NoSuchThing"), "InvalidAction"),
    (form(action=None), "MissingAction"),
    (form(version="2010-05-08"), "InvalidAction"),
], ids=["unknown-action", "missing-action", "wrong-version"])
def test_action_and_version_errors(server, admin, body, code):
    assert_raw_error(send(signed_request(server, admin, body=body)), status=400, code=code)


def test_duplicate_parameter(server, admin):
    body = form() + f"&Version={STS_VERSION}"
    assert_raw_error(send(signed_request(server, admin, body=body)),
                     status=400, code="ValidationError")


def test_oversized_body(server, admin, identity):
    body = form(Padding="a" * (1024 * 1024 + 4096))
    resp = send_large(signed_request(server, admin, body=body))
    assert_raw_error(resp, status=413, code="RequestEntityTooLarge")
    # and the server is still fine afterwards
    assert_raw_caller_identity(send(signed_request(server, admin, body=form())),
                               arn=identity["Arn"])


# ---------------------------------------------------------------------------
# parameter validation
# ---------------------------------------------------------------------------


def test_get_access_key_info_without_access_key_id(server, admin):
    resp = send(signed_request(server, admin, body=form("GetAccessKeyInfo")))
    assert_raw_error(
        resp, status=400, code="ValidationError",
        message="1 validation error detected: Value null at 'accessKeyId' failed to "
                "satisfy constraint: Member must not be null")


def test_get_access_key_info_with_short_access_key_id(admin_sts_unvalidated):
    expect_client_error(lambda: admin_sts_unvalidated.get_access_key_info(AccessKeyId="AKIA1"),
                        code="ValidationError", status=400,
                        contains="Member must have length greater than or equal to 16")


@pytest.mark.parametrize("duration, constraint", [
    (899, "Member must have value greater than or equal to 900"),
    (129601, "Member must have value less than or equal to 129600"),
], ids=["899", "129601"])
def test_get_session_token_duration_out_of_range(admin_sts_unvalidated, duration, constraint):
    expect_client_error(
        lambda: admin_sts_unvalidated.get_session_token(DurationSeconds=duration),
        code="ValidationError", status=400,
        message=f"1 validation error detected: Value '{duration}' at 'durationSeconds' "
                f"failed to satisfy constraint: {constraint}")


def test_get_session_token_duration_not_a_number(server, admin):
    resp = send(signed_request(server, admin, body=form("GetSessionToken", DurationSeconds="abc")))
    assert_raw_error(resp, status=400, code="ValidationError")


def test_get_session_token_token_code_too_short(admin_sts_unvalidated, identity):
    serial = f"arn:aws:iam::{identity['Account']}:mfa/admin"
    expect_client_error(
        lambda: admin_sts_unvalidated.get_session_token(SerialNumber=serial, TokenCode="12345"),
        code="ValidationError", status=400,
        contains=("'tokenCode'", "Member must have length greater than or equal to 6"))


def test_get_session_token_reports_every_validation_error(admin_sts_unvalidated, identity):
    serial = f"arn:aws:iam::{identity['Account']}:mfa/admin"
    expect_client_error(
        lambda: admin_sts_unvalidated.get_session_token(
            DurationSeconds=1, SerialNumber=serial, TokenCode="12"),
        code="ValidationError", status=400, startswith="2 validation errors detected:")


def test_get_session_token_with_unknown_mfa_device(admin_sts, identity):
    serial = f"arn:aws:iam::{identity['Account']}:mfa/no-such-device-{secrets.token_hex(4)}"
    expect_client_error(
        lambda: admin_sts.get_session_token(SerialNumber=serial, TokenCode="123456"),
        code="AccessDenied", status=403, contains="MultiFactorAuthentication failed")
