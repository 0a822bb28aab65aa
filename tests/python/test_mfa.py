"""End-to-end tests of Tessera's virtual MFA devices (IAM) and MFA sign-in (STS).

Covers the IAM API of virtual MFA devices (CreateVirtualMFADevice with its
seed and QR code, EnableMFADevice with two consecutive codes, ListMFADevices,
ListVirtualMFADevices by assignment status, DeactivateMFADevice,
ResyncMFADevice, DeleteVirtualMFADevice, device tags, DeleteUser's conflict
with an enabled device, authorization of self-service), MFA sign-in with
GetSessionToken and AssumeRole (codes, the drift allowed, serials that are not
the caller's enabled device), what MFA does to authorization
(aws:MultiFactorAuthPresent with Bool and BoolIfExists, aws:MultiFactorAuthAge,
IAM calls from GetSessionToken sessions, trust conditions, role sessions
carrying MFA, AssumeRole from an MFA session) and a restart.

The tests compute the one-time codes themselves (RFC 6238 with HMAC-SHA1,
30-second steps, 6 digits) from the Base32 seed the server returns, as an
authenticator app does. The server accepts a sign-in code of the step before
or after now, so a code computed just before a step boundary still works;
tests that depend on an exact step wait out the last seconds of a step first.

The tests share the session server and keep out of each other's way with
unique user, device and role names; no device is ever enabled for ``admin``.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import struct
import time
import uuid
from typing import Optional

import boto3
import pytest
from botocore.config import Config

from tessera_testlib import (
    DEFAULT_REGION,
    NO_RETRIES,
    Creds,
    expect_client_error,
    utcnow,
)

STEP = 30
BASE32_RE = r"[A-Z2-7]{32}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOT_VALIDATED = Config(parameter_validation=False)

DEVICE_EXISTS = "MFADevice entity at the same path and name already exists."
INVALID_CODE = "Authentication code for device is not valid."
DEVICE_IN_USE = "MFA Device is already in use."
DELETE_ENABLED_DEVICE = "MFA VirtualDevice in use. Must deactivate first."
DELETE_USER_WITH_DEVICE = "Cannot delete entity, must delete MFA device first."
IAM_WITHOUT_MFA = ("Cannot call IAM APIs with session credentials that were not authenticated "
                   "with MFA.")
BAD_OTP = "MultiFactorAuthentication failed with invalid MFA one time pass code."
NOT_CALLERS_DEVICE = ("MultiFactorAuthentication failed, unable to validate MFA code.  Please "
                      "verify your MFA serial number is valid and associated with this user.")
MFA_PRESENT = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
MFA_ABSENT_IF_EXISTS = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
FRESH_MFA = {"NumericLessThan": {"aws:MultiFactorAuthAge": "300"}}
EXPLICIT_DENY = "with an explicit deny in an identity-based policy"


# ---------------------------------------------------------------------------
# TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits)
# ---------------------------------------------------------------------------


def totp(key: bytes, unix_time: float) -> str:
    """The 6-digit code of the step ``unix_time`` falls in."""
    counter = int(unix_time // STEP)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    word = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{word % 1_000_000:06d}"


def base32_key(text: str) -> bytes:
    """The key of a Base32 seed as the server gives it (RFC 4648, no padding)."""
    return base64.b32decode(text + "=" * (-len(text) % 8))


def settle(margin: float = 2.5) -> None:
    """Wait out the end of the current step if fewer than ``margin`` seconds are left,
    so that codes computed now are checked by the server in the same step."""
    left = STEP - time.time() % STEP
    if left < margin:
        time.sleep(left + 0.2)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def unique(prefix: str = "mfa") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_path() -> str:
    return f"/{unique('p')}/"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal: str, **statement) -> str:
    return policy({"Effect": "Allow", "Principal": {"AWS": principal},
                   "Action": "sts:AssumeRole", **statement})


def serial_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:mfa{path}{name}"


def not_authorized(caller: str, action: str, resource: str, reason: Optional[str] = None) -> str:
    because = reason or f"because no identity-based policy allows the {action} action"
    return (f"User: {caller} is not authorized to perform: {action} on resource: "
            f"{resource} {because}")


def not_authorized_to_assume(caller: str, arn: str) -> str:
    return f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {arn}"


def users_resource(account: str) -> str:
    return f"arn:aws:iam::{account}:user/"


def roles_resource(account: str) -> str:
    return f"arn:aws:iam::{account}:role/"


def assert_recent(when: dt.datetime, slack: float = 300) -> None:
    assert when.tzinfo is not None, f"naive timestamp {when!r}"
    age = (utcnow() - when).total_seconds()
    assert -slack < age < slack, f"timestamp {when.isoformat()} is {age:.0f}s from now"


def tag_dict(tags) -> dict:
    return {t["Key"]: t["Value"] for t in tags}


@functools.lru_cache(maxsize=None)
def _boto_session() -> boto3.session.Session:
    return boto3.session.Session()


def client_for(service: str, server, creds: Creds, *, unvalidated: bool = False):
    """A never-retrying boto3 client like tessera_testlib's sts_client/iam_client."""
    config = NO_RETRIES.merge(NOT_VALIDATED) if unvalidated else NO_RETRIES
    return _boto_session().client(
        service, endpoint_url=server.endpoint, region_name=DEFAULT_REGION,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token, config=config)


def sts_for(server, creds: Creds, **kwargs):
    return client_for("sts", server, creds, **kwargs)


def iam_for(server, creds: Creds, **kwargs):
    return client_for("iam", server, creds, **kwargs)


def creds_of(response: dict) -> Creds:
    return Creds.from_sts(response["Credentials"])


@dataclasses.dataclass
class Device:
    """A virtual MFA device as CreateVirtualMFADevice returned it."""
    name: str
    path: str
    serial: str
    seed: str  # the Base32 text
    qr_png: bytes

    @property
    def key(self) -> bytes:
        return base32_key(self.seed)

    def code(self, offset: float = 0) -> str:
        """The code of now + ``offset`` seconds."""
        return totp(self.key, time.time() + offset)

    def pair(self) -> tuple[str, str]:
        """Two consecutive codes for Enable/ResyncMFADevice: the previous step's and now's."""
        settle()
        now = time.time()
        return totp(self.key, now - STEP), totp(self.key, now)

    def wrong_code(self) -> str:
        """A 6-digit code that is none of the codes of the steps around now."""
        now = time.time()
        near = {totp(self.key, now + k * STEP) for k in range(-12, 4)}
        candidate = (int(self.code()) + 500_000) % 1_000_000
        while f"{candidate:06d}" in near:
            candidate = (candidate + 1) % 1_000_000
        return f"{candidate:06d}"


@dataclasses.dataclass
class User:
    name: str
    arn: str
    user_id: str
    creds: Optional[Creds] = None


def create_device(iam, name: str, path: Optional[str] = None, tags=None) -> Device:
    kwargs = {"VirtualMFADeviceName": name}
    if path is not None:
        kwargs["Path"] = path
    if tags:
        kwargs["Tags"] = tags
    got = iam.create_virtual_mfa_device(**kwargs)["VirtualMFADevice"]
    seed = got["Base32StringSeed"]
    assert isinstance(seed, bytes), f"Base32StringSeed is {type(seed)}"
    return Device(name, path or "/", got["SerialNumber"], seed.decode("ascii"), got["QRCodePNG"])


def enable_device(iam, user_name: str, device: Device) -> None:
    first, second = device.pair()
    iam.enable_mfa_device(UserName=user_name, SerialNumber=device.serial,
                          AuthenticationCode1=first, AuthenticationCode2=second)


def virtual_devices(iam, status: Optional[str] = None) -> dict:
    """{SerialNumber: entry} of ListVirtualMFADevices (every page)."""
    kwargs = {"AssignmentStatus": status} if status else {}
    return {d["SerialNumber"]: d
            for page in iam.get_paginator("list_virtual_mfa_devices").paginate(**kwargs)
            for d in page["VirtualMFADevices"]}


def user_devices(iam, user_name: Optional[str] = None) -> list:
    kwargs = {"UserName": user_name} if user_name else {}
    return iam.list_mfa_devices(**kwargs)["MFADevices"]


def mfa_session(server, user: User, device: Device, **kwargs) -> Creds:
    return creds_of(sts_for(server, user.creds).get_session_token(
        SerialNumber=device.serial, TokenCode=device.code(), **kwargs))


def mfa_session_with_code(server, user: User, device: Device, code: str) -> Creds:
    return creds_of(sts_for(server, user.creds).get_session_token(SerialNumber=device.serial,
                                                                  TokenCode=code))


def plain_session(server, user: User) -> Creds:
    return creds_of(sts_for(server, user.creds).get_session_token())


def assume(server, creds: Creds, arn: str, session: str = "sess", **kwargs) -> dict:
    return sts_for(server, creds).assume_role(RoleArn=arn, RoleSessionName=session, **kwargs)


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def account(identity) -> str:
    return identity["Account"]


@pytest.fixture
def admin_iam_unvalidated(server, admin):
    return iam_for(server, admin, unvalidated=True)


@pytest.fixture
def make_user(admin_iam):
    """Factory: a user ``<prefix>-<random>`` (as admin), by default with an access key,
    with inline ``policies`` {name: document}."""

    def factory(prefix: str = "mfa-user", *, key: bool = True,
                policies: Optional[dict] = None) -> User:
        name = unique(prefix)
        got = admin_iam.create_user(UserName=name)["User"]
        for policy_name, document in (policies or {}).items():
            admin_iam.put_user_policy(UserName=name, PolicyName=policy_name,
                                      PolicyDocument=document)
        creds = None
        if key:
            access_key = admin_iam.create_access_key(UserName=name)["AccessKey"]
            creds = Creds(access_key["AccessKeyId"], access_key["SecretAccessKey"])
        return User(name, got["Arn"], got["UserId"], creds)

    return factory


@pytest.fixture
def make_device(admin_iam):
    """Factory: a new (unassigned) virtual MFA device, created by admin."""

    def factory(prefix: str = "dev", *, path: Optional[str] = None, tags=None) -> Device:
        return create_device(admin_iam, unique(prefix), path, tags)

    return factory


@pytest.fixture
def mfa_user(make_user, make_device, admin_iam):
    """Factory: a user with an access key, ``policies`` and an enabled virtual device;
    returns ``(user, device)``."""

    def factory(prefix: str = "mfa-user", *, policies: Optional[dict] = None):
        user = make_user(prefix, policies=policies)
        device = make_device()
        enable_device(admin_iam, user.name, device)
        return user, device

    return factory


@pytest.fixture
def make_role(admin_iam):
    """Factory: a role with trust policy ``trust`` and inline ``policies``."""

    def factory(trust_policy: str, *, policies: Optional[dict] = None) -> dict:
        name = unique("mfa-role")
        role = admin_iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy)["Role"]
        for policy_name, document in (policies or {}).items():
            admin_iam.put_role_policy(RoleName=name, PolicyName=policy_name,
                                      PolicyDocument=document)
        return role

    return factory


# ---------------------------------------------------------------------------
# the TOTP implementation of these tests
# ---------------------------------------------------------------------------


def test_totp_matches_rfc_6238_vectors():
    # RFC 6238 appendix B gives 8-digit SHA-1 codes; 6-digit codes are their last six.
    key = b"12345678901234567890"
    assert totp(key, 59) == "287082"
    assert totp(key, 1111111109) == "081804"
    assert totp(key, 1111111111) == "050471"
    assert totp(key, 1234567890) == "005924"
    assert totp(key, 2000000000) == "279037"
    assert totp(key, 60) != "287082"  # the next step
    assert base32_key("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") == key
    assert base32_key("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOI") == key[:-1]  # unpadded, short


# ---------------------------------------------------------------------------
# CreateVirtualMFADevice
# ---------------------------------------------------------------------------


def test_create_virtual_mfa_device_returns_serial_seed_and_qr_code(admin_iam, account):
    name = unique("dev")
    got = admin_iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    assert got["SerialNumber"] == serial_arn(account, name)
    seed = got["Base32StringSeed"]
    assert isinstance(seed, bytes)
    assert re.fullmatch(BASE32_RE, seed.decode("ascii")), seed
    assert len(base32_key(seed.decode("ascii"))) == 20
    assert got["QRCodePNG"].startswith(PNG_SIGNATURE), got["QRCodePNG"][:16]
    assert len(got["QRCodePNG"]) > 100
    assert "User" not in got and "EnableDate" not in got

    other = create_device(admin_iam, unique("dev"))
    assert other.seed != seed.decode("ascii"), "two devices share a seed"


def test_create_virtual_mfa_device_with_a_path(admin_iam, account):
    path = unique_path()
    device = create_device(admin_iam, unique("dev"), path)
    assert device.serial == serial_arn(account, device.name, path)
    listed = virtual_devices(admin_iam, "Unassigned")
    assert device.serial in listed


def test_create_virtual_mfa_device_twice_conflicts(admin_iam, make_user):
    first = create_device(admin_iam, unique("dev"))
    expect_client_error(
        lambda: admin_iam.create_virtual_mfa_device(VirtualMFADeviceName=first.name),
        code="EntityAlreadyExists", status=409, message=DEVICE_EXISTS)
    # the device and its seed are unchanged: codes of the first seed enable it
    user = make_user(key=False)
    enable_device(admin_iam, user.name, first)
    assert [d["SerialNumber"] for d in user_devices(admin_iam, user.name)] == [first.serial]


def test_create_virtual_mfa_device_name_with_a_space_is_invalid(admin_iam, account):
    name = unique("bad") + " name"
    expect_client_error(lambda: admin_iam.create_virtual_mfa_device(VirtualMFADeviceName=name),
                        code="ValidationError", status=400)
    assert serial_arn(account, name) not in virtual_devices(admin_iam)


def test_create_virtual_mfa_device_name_with_allowed_punctuation(admin_iam, account):
    name = unique("ok") + "+=,.@_-"
    device = create_device(admin_iam, name)
    assert device.serial == serial_arn(account, name)
    assert device.serial in virtual_devices(admin_iam, "Unassigned")


def test_create_virtual_mfa_device_with_tags(admin_iam):
    tags = [{"Key": "team", "Value": "blue"}, {"Key": "cost-center", "Value": ""}]
    device = create_device(admin_iam, unique("dev"), tags=tags)
    assert tag_dict(admin_iam.list_mfa_device_tags(SerialNumber=device.serial)["Tags"]) == (
        tag_dict(tags))
    untagged = create_device(admin_iam, unique("dev"))
    assert admin_iam.list_mfa_device_tags(SerialNumber=untagged.serial)["Tags"] == []


# ---------------------------------------------------------------------------
# EnableMFADevice and ListMFADevices
# ---------------------------------------------------------------------------


def test_enable_mfa_device_with_consecutive_codes(admin_iam, make_user, make_device):
    user = make_user(key=False)
    device = make_device()
    assert user_devices(admin_iam, user.name) == []
    enable_device(admin_iam, user.name, device)
    [listed] = user_devices(admin_iam, user.name)
    assert (listed["UserName"], listed["SerialNumber"]) == (user.name, device.serial)
    assert_recent(listed["EnableDate"])


def test_enable_mfa_device_with_wrong_codes_fails(admin_iam, make_user, make_device):
    user = make_user(key=False)
    device = make_device()
    wrong = device.wrong_code()
    second = f"{(int(wrong) + 1) % 1_000_000:06d}"
    expect_client_error(
        lambda: admin_iam.enable_mfa_device(UserName=user.name, SerialNumber=device.serial,
                                            AuthenticationCode1=wrong,
                                            AuthenticationCode2=second),
        code="InvalidAuthenticationCode", status=403, message=INVALID_CODE)
    assert user_devices(admin_iam, user.name) == []
    assert device.serial in virtual_devices(admin_iam, "Unassigned")


def test_enable_mfa_device_with_codes_in_the_wrong_order_fails(admin_iam, make_user,
                                                                make_device):
    user = make_user(key=False)
    device = make_device()
    first, second = device.pair()
    expect_client_error(
        lambda: admin_iam.enable_mfa_device(UserName=user.name, SerialNumber=device.serial,
                                            AuthenticationCode1=second,
                                            AuthenticationCode2=first),
        code="InvalidAuthenticationCode", status=403, message=INVALID_CODE)
    assert user_devices(admin_iam, user.name) == []
    # the same codes in the right order work
    admin_iam.enable_mfa_device(UserName=user.name, SerialNumber=device.serial,
                                AuthenticationCode1=first, AuthenticationCode2=second)
    assert len(user_devices(admin_iam, user.name)) == 1


def test_enable_mfa_device_with_one_code_twice_fails(admin_iam, make_user, make_device):
    user = make_user(key=False)
    device = make_device()
    _, now = device.pair()
    expect_client_error(
        lambda: admin_iam.enable_mfa_device(UserName=user.name, SerialNumber=device.serial,
                                            AuthenticationCode1=now, AuthenticationCode2=now),
        code="InvalidAuthenticationCode", status=403, message=INVALID_CODE)
    assert user_devices(admin_iam, user.name) == []


def test_enable_mfa_device_with_codes_from_an_hour_ago_fails(admin_iam, make_user, make_device):
    user = make_user(key=False)
    device = make_device()
    first, second = device.code(-3600 - STEP), device.code(-3600)
    expect_client_error(
        lambda: admin_iam.enable_mfa_device(UserName=user.name, SerialNumber=device.serial,
                                            AuthenticationCode1=first,
                                            AuthenticationCode2=second),
        code="InvalidAuthenticationCode", status=403, message=INVALID_CODE)
    assert user_devices(admin_iam, user.name) == []


def test_enable_unknown_device_fails(admin_iam, make_user, account):
    user = make_user(key=False)
    expect_client_error(
        lambda: admin_iam.enable_mfa_device(UserName=user.name,
                                            SerialNumber=serial_arn(account, unique("none")),
                                            AuthenticationCode1="123456",
                                            AuthenticationCode2="654321"),
        code="NoSuchEntity", status=404)
    assert user_devices(admin_iam, user.name) == []


def test_enable_device_for_an_unknown_user_fails(admin_iam, make_device):
    device = make_device()
    first, second = device.pair()
    expect_client_error(
        lambda: admin_iam.enable_mfa_device(UserName=unique("nobody"), SerialNumber=device.serial,
                                            AuthenticationCode1=first,
                                            AuthenticationCode2=second),
        code="NoSuchEntity", status=404)
    assert device.serial in virtual_devices(admin_iam, "Unassigned")


def test_enable_device_twice_for_the_same_user_conflicts(admin_iam, make_user, make_device):
    user = make_user(key=False)
    device = make_device()
    enable_device(admin_iam, user.name, device)
    expect_client_error(lambda: enable_device(admin_iam, user.name, device),
                        code="EntityAlreadyExists", status=409, message=DEVICE_IN_USE)
    assert len(user_devices(admin_iam, user.name)) == 1


def test_enable_device_of_another_user_conflicts(admin_iam, make_user, make_device):
    owner, other = make_user(key=False), make_user(key=False)
    device = make_device()
    enable_device(admin_iam, owner.name, device)
    expect_client_error(lambda: enable_device(admin_iam, other.name, device),
                        code="EntityAlreadyExists", status=409, message=DEVICE_IN_USE)
    assert user_devices(admin_iam, other.name) == []
    assert [d["SerialNumber"] for d in user_devices(admin_iam, owner.name)] == [device.serial]
    assert virtual_devices(admin_iam, "Assigned")[device.serial]["User"]["UserName"] == (
        owner.name)


@pytest.mark.parametrize("codes, unvalidated", [
    (("abcdef", "ghijkl"), False),
    (("12345", "123456"), True),
    (("123456", "1234567"), True),
    (("12 456", "123456"), False),
], ids=["letters", "five-digits", "seven-digits", "space"])
def test_enable_codes_must_be_six_digits(server, admin, make_user, make_device, codes,
                                         unvalidated):
    iam = iam_for(server, admin, unvalidated=unvalidated)
    user = make_user(key=False)
    device = make_device()
    expect_client_error(
        lambda: iam.enable_mfa_device(UserName=user.name, SerialNumber=device.serial,
                                      AuthenticationCode1=codes[0],
                                      AuthenticationCode2=codes[1]),
        code="ValidationError", status=400)
    assert user_devices(iam, user.name) == []


def test_list_mfa_devices_defaults_to_the_calling_user(server, admin_iam, make_user, make_device):
    listing = {"list": policy(allow("iam:ListMFADevices"))}
    owner = make_user(policies=listing)
    bystander = make_user(policies=listing)
    device = make_device()
    enable_device(admin_iam, owner.name, device)
    [mine] = user_devices(iam_for(server, owner.creds))
    assert (mine["UserName"], mine["SerialNumber"]) == (owner.name, device.serial)
    assert user_devices(iam_for(server, bystander.creds)) == []
    # and another user's devices by name
    [theirs] = user_devices(iam_for(server, bystander.creds), owner.name)
    assert theirs["SerialNumber"] == device.serial


def test_list_mfa_devices_of_an_unknown_user_fails(admin_iam):
    expect_client_error(lambda: admin_iam.list_mfa_devices(UserName=unique("nobody")),
                        code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# ListVirtualMFADevices
# ---------------------------------------------------------------------------


def test_list_virtual_mfa_devices_by_assignment_status(admin_iam, make_user, make_device):
    user = make_user(key=False)
    assigned, unassigned = make_device(), make_device()
    enable_device(admin_iam, user.name, assigned)
    mine = {assigned.serial, unassigned.serial}

    by_status = {status: virtual_devices(admin_iam, status)
                 for status in ("Assigned", "Unassigned", "Any", None)}
    assert mine & set(by_status["Assigned"]) == {assigned.serial}
    assert mine & set(by_status["Unassigned"]) == {unassigned.serial}
    assert mine <= set(by_status["Any"])
    assert mine <= set(by_status[None])  # Any is the default

    entry = by_status["Assigned"][assigned.serial]
    assert entry["User"]["UserName"] == user.name
    assert entry["User"]["UserId"] == user.user_id
    assert entry["User"]["Arn"] == user.arn
    assert_recent(entry["EnableDate"])
    assert by_status["Any"][assigned.serial]["User"]["UserName"] == user.name

    entry = by_status["Unassigned"][unassigned.serial]
    assert "User" not in entry and "EnableDate" not in entry


def test_list_virtual_mfa_devices_never_reveals_seeds(admin_iam, make_user, make_device):
    user = make_user(key=False)
    assigned, unassigned = make_device(), make_device()
    enable_device(admin_iam, user.name, assigned)
    for status in ("Assigned", "Unassigned", "Any"):
        for serial, entry in virtual_devices(admin_iam, status).items():
            assert "Base32StringSeed" not in entry, (status, serial)
            assert "QRCodePNG" not in entry, (status, serial)


# ---------------------------------------------------------------------------
# DeactivateMFADevice
# ---------------------------------------------------------------------------


def test_deactivate_unassigns_and_the_device_can_be_enabled_again(server, admin_iam, mfa_user):
    user, device = mfa_user()
    admin_iam.deactivate_mfa_device(UserName=user.name, SerialNumber=device.serial)
    assert user_devices(admin_iam, user.name) == []
    assert device.serial in virtual_devices(admin_iam, "Unassigned")
    assert device.serial not in virtual_devices(admin_iam, "Assigned")
    expect_client_error(lambda: mfa_session(server, user, device),
                        code="AccessDenied", status=403, message=NOT_CALLERS_DEVICE)

    enable_device(admin_iam, user.name, device)  # fresh codes
    assert [d["SerialNumber"] for d in user_devices(admin_iam, user.name)] == [device.serial]
    mfa_session(server, user, device)


def test_deactivate_unassigned_device_fails(admin_iam, make_user, make_device):
    user = make_user(key=False)
    device = make_device()
    expect_client_error(
        lambda: admin_iam.deactivate_mfa_device(UserName=user.name, SerialNumber=device.serial),
        code="NoSuchEntity", status=404)
    assert device.serial in virtual_devices(admin_iam, "Unassigned")


def test_deactivate_device_of_another_user_fails(server, admin_iam, make_user, mfa_user):
    owner, device = mfa_user()
    other = make_user(key=False)
    expect_client_error(
        lambda: admin_iam.deactivate_mfa_device(UserName=other.name, SerialNumber=device.serial),
        code="NoSuchEntity", status=404)
    expect_client_error(
        lambda: admin_iam.deactivate_mfa_device(UserName=unique("nobody"),
                                                SerialNumber=device.serial),
        code="NoSuchEntity", status=404)
    assert [d["SerialNumber"] for d in user_devices(admin_iam, owner.name)] == [device.serial]
    mfa_session(server, owner, device)


# ---------------------------------------------------------------------------
# ResyncMFADevice
# ---------------------------------------------------------------------------


def test_resync_with_consecutive_codes(server, admin_iam, mfa_user):
    user, device = mfa_user()
    first, second = device.pair()
    admin_iam.resync_mfa_device(UserName=user.name, SerialNumber=device.serial,
                                AuthenticationCode1=first, AuthenticationCode2=second)
    assert [d["SerialNumber"] for d in user_devices(admin_iam, user.name)] == [device.serial]
    mfa_session(server, user, device)


def test_resync_with_wrong_codes_fails(server, admin_iam, mfa_user):
    user, device = mfa_user()
    wrong = device.wrong_code()
    expect_client_error(
        lambda: admin_iam.resync_mfa_device(UserName=user.name, SerialNumber=device.serial,
                                            AuthenticationCode1=wrong,
                                            AuthenticationCode2=wrong),
        code="InvalidAuthenticationCode", status=403, message=INVALID_CODE)
    # the device still works
    mfa_session(server, user, device)


def test_resync_with_codes_in_the_wrong_order_fails(admin_iam, mfa_user):
    user, device = mfa_user()
    first, second = device.pair()
    expect_client_error(
        lambda: admin_iam.resync_mfa_device(UserName=user.name, SerialNumber=device.serial,
                                            AuthenticationCode1=second,
                                            AuthenticationCode2=first),
        code="InvalidAuthenticationCode", status=403, message=INVALID_CODE)


# ---------------------------------------------------------------------------
# DeleteVirtualMFADevice, DeleteUser
# ---------------------------------------------------------------------------


def test_delete_enabled_device_conflicts(server, admin_iam, mfa_user):
    user, device = mfa_user()
    expect_client_error(lambda: admin_iam.delete_virtual_mfa_device(SerialNumber=device.serial),
                        code="DeleteConflict", status=409, message=DELETE_ENABLED_DEVICE)
    assert device.serial in virtual_devices(admin_iam, "Assigned")
    mfa_session(server, user, device)


def test_delete_device_after_deactivation(admin_iam, mfa_user, make_user):
    user, device = mfa_user()
    admin_iam.deactivate_mfa_device(UserName=user.name, SerialNumber=device.serial)
    admin_iam.delete_virtual_mfa_device(SerialNumber=device.serial)
    assert device.serial not in virtual_devices(admin_iam)
    expect_client_error(lambda: enable_device(admin_iam, user.name, device),
                        code="NoSuchEntity", status=404)
    expect_client_error(lambda: admin_iam.delete_virtual_mfa_device(SerialNumber=device.serial),
                        code="NoSuchEntity", status=404)
    # the name is free again, with a new seed
    again = create_device(admin_iam, device.name)
    assert again.serial == device.serial
    assert again.seed != device.seed


def test_delete_unassigned_device(admin_iam, make_device):
    device = make_device()
    admin_iam.delete_virtual_mfa_device(SerialNumber=device.serial)
    assert device.serial not in virtual_devices(admin_iam)


def test_delete_unknown_device_fails(admin_iam, account):
    expect_client_error(
        lambda: admin_iam.delete_virtual_mfa_device(SerialNumber=serial_arn(account,
                                                                            unique("none"))),
        code="NoSuchEntity", status=404)


def test_delete_user_with_an_enabled_device_conflicts(admin_iam, make_user, make_device):
    user = make_user(key=False)
    device = make_device()
    enable_device(admin_iam, user.name, device)
    expect_client_error(lambda: admin_iam.delete_user(UserName=user.name),
                        code="DeleteConflict", status=409, message=DELETE_USER_WITH_DEVICE)
    assert admin_iam.get_user(UserName=user.name)["User"]["UserId"] == user.user_id

    admin_iam.deactivate_mfa_device(UserName=user.name, SerialNumber=device.serial)
    admin_iam.delete_user(UserName=user.name)
    expect_client_error(lambda: admin_iam.get_user(UserName=user.name),
                        code="NoSuchEntity", status=404)
    assert device.serial in virtual_devices(admin_iam, "Unassigned")


# ---------------------------------------------------------------------------
# device tags
# ---------------------------------------------------------------------------


def test_tag_untag_and_list_mfa_device_tags(admin_iam, make_device):
    device = make_device(tags=[{"Key": "team", "Value": "blue"}])
    admin_iam.tag_mfa_device(SerialNumber=device.serial,
                             Tags=[{"Key": "team", "Value": "red"},
                                   {"Key": "owner", "Value": "ops"}])
    got = admin_iam.list_mfa_device_tags(SerialNumber=device.serial)["Tags"]
    assert tag_dict(got) == {"team": "red", "owner": "ops"}
    admin_iam.untag_mfa_device(SerialNumber=device.serial, TagKeys=["team", "absent"])
    got = admin_iam.list_mfa_device_tags(SerialNumber=device.serial)["Tags"]
    assert tag_dict(got) == {"owner": "ops"}


def test_tags_of_an_unknown_device_fail(admin_iam, account):
    serial = serial_arn(account, unique("none"))
    expect_client_error(lambda: admin_iam.list_mfa_device_tags(SerialNumber=serial),
                        code="NoSuchEntity", status=404)
    expect_client_error(
        lambda: admin_iam.tag_mfa_device(SerialNumber=serial,
                                         Tags=[{"Key": "k", "Value": "v"}]),
        code="NoSuchEntity", status=404)
    expect_client_error(lambda: admin_iam.untag_mfa_device(SerialNumber=serial, TagKeys=["k"]),
                        code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# authorization of the device API
# ---------------------------------------------------------------------------


def test_device_api_needs_permission(server, admin_iam, make_user, make_device):
    user = make_user()
    iam = iam_for(server, user.creds)
    name = unique("dev")
    expect_client_error(lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName=name),
                        code="AccessDenied", status=403,
                        startswith=f"User: {user.arn} is not authorized to perform: "
                                   f"iam:CreateVirtualMFADevice on resource: ")
    assert all(not serial.endswith(f"/{name}") for serial in virtual_devices(admin_iam))
    device = make_device()
    expect_client_error(lambda: enable_device(iam, user.name, device),
                        code="AccessDenied", status=403,
                        startswith=f"User: {user.arn} is not authorized to perform: "
                                   f"iam:EnableMFADevice on resource: ")
    expect_client_error(lambda: iam.list_virtual_mfa_devices(), code="AccessDenied", status=403)
    assert device.serial in virtual_devices(admin_iam, "Unassigned")


def test_self_service_device_setup(server, admin_iam, make_user):
    user = make_user(policies={"self": policy(allow([
        "iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices",
        "iam:ListVirtualMFADevices"]))})
    iam = iam_for(server, user.creds)
    device = create_device(iam, unique("self"))
    enable_device(iam, user.name, device)
    assert [d["SerialNumber"] for d in user_devices(iam)] == [device.serial]
    assert virtual_devices(iam, "Assigned")[device.serial]["User"]["UserName"] == user.name
    assert sts_for(server, mfa_session(server, user, device)).get_caller_identity()["Arn"] == (
        user.arn)


# ---------------------------------------------------------------------------
# GetSessionToken with MFA
# ---------------------------------------------------------------------------


def test_get_session_token_with_mfa(server, mfa_user):
    user, device = mfa_user(policies={"get": policy(allow("iam:GetUser"))})
    resp = sts_for(server, user.creds).get_session_token(SerialNumber=device.serial,
                                                         TokenCode=device.code())
    session = creds_of(resp)
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", session.access_key)
    assert sts_for(server, session).get_caller_identity()["Arn"] == user.arn
    # an MFA session may call IAM as far as the user's policies allow
    got = iam_for(server, session).get_user(UserName=user.name)["User"]
    assert got["UserId"] == user.user_id


def test_session_without_mfa_cannot_call_iam(server, mfa_user):
    user, _ = mfa_user(policies={"get": policy(allow("iam:GetUser"))})
    session = plain_session(server, user)
    expect_client_error(lambda: iam_for(server, session).get_user(UserName=user.name),
                        code="AccessDenied", status=403, message=IAM_WITHOUT_MFA)
    # the long-term keys may
    assert iam_for(server, user.creds).get_user(UserName=user.name)["User"]["Arn"] == user.arn


def test_mfa_present_condition(server, account, mfa_user):
    user, device = mfa_user(policies={"mfa": policy(allow("iam:ListUsers",
                                                          Condition=MFA_PRESENT))})
    expect_client_error(
        lambda: iam_for(server, user.creds).list_users(), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:ListUsers", users_resource(account)))
    expect_client_error(lambda: iam_for(server, plain_session(server, user)).list_users(),
                        code="AccessDenied", status=403)
    # The shared server holds more users than one page: walk every page.
    pages = iam_for(server, mfa_session(server, user, device)).get_paginator("list_users")
    names = {u["UserName"] for page in pages.paginate() for u in page["Users"]}
    assert user.name in names


def test_mfa_age_condition_with_get_session_token(server, account, mfa_user):
    user, device = mfa_user(policies={"fresh": policy(allow("iam:ListUsers",
                                                            Condition=FRESH_MFA))})
    expect_client_error(
        lambda: iam_for(server, user.creds).list_users(), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:ListUsers", users_resource(account)))
    iam_for(server, mfa_session(server, user, device)).list_users()


def test_bool_if_exists_deny_without_mfa(server, account, mfa_user):
    user, device = mfa_user(policies={"p": policy(
        allow("iam:ListUsers"), deny("iam:ListUsers", Condition=MFA_ABSENT_IF_EXISTS))})
    # long-term keys carry no aws:MultiFactorAuthPresent: BoolIfExists matches
    expect_client_error(
        lambda: iam_for(server, user.creds).list_users(), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:ListUsers", users_resource(account),
                               EXPLICIT_DENY))
    expect_client_error(lambda: iam_for(server, plain_session(server, user)).list_users(),
                        code="AccessDenied", status=403)
    iam_for(server, mfa_session(server, user, device)).list_users()


def test_bool_if_exists_deny_of_assume_role(server, mfa_user, make_role):
    user, device = mfa_user(policies={"p": policy(
        deny("sts:AssumeRole", Condition=MFA_ABSENT_IF_EXISTS))})
    role = make_role(trust(user.arn))
    denied = not_authorized_to_assume(user.arn, role["Arn"]) + " " + EXPLICIT_DENY
    expect_client_error(lambda: assume(server, plain_session(server, user), role["Arn"]),
                        code="AccessDenied", status=403, message=denied)
    expect_client_error(lambda: assume(server, user.creds, role["Arn"]),
                        code="AccessDenied", status=403, message=denied)
    assume(server, mfa_session(server, user, device), role["Arn"])
    assume(server, user.creds, role["Arn"], SerialNumber=device.serial, TokenCode=device.code())


def test_get_session_token_with_a_wrong_code_fails(server, mfa_user):
    user, device = mfa_user()
    expect_client_error(
        lambda: sts_for(server, user.creds).get_session_token(SerialNumber=device.serial,
                                                              TokenCode=device.wrong_code()),
        code="AccessDenied", status=403, message=BAD_OTP)


def test_get_session_token_with_another_users_device_fails(server, mfa_user):
    _, device = mfa_user()
    other, _ = mfa_user()
    expect_client_error(
        lambda: sts_for(server, other.creds).get_session_token(SerialNumber=device.serial,
                                                               TokenCode=device.code()),
        code="AccessDenied", status=403, message=NOT_CALLERS_DEVICE)


def test_get_session_token_with_an_unassigned_device_fails(server, make_user, make_device):
    user = make_user()
    device = make_device()
    expect_client_error(
        lambda: sts_for(server, user.creds).get_session_token(SerialNumber=device.serial,
                                                              TokenCode=device.code()),
        code="AccessDenied", status=403, message=NOT_CALLERS_DEVICE)


def test_get_session_token_with_an_unknown_serial_fails(server, account, mfa_user):
    user, _ = mfa_user()
    expect_client_error(
        lambda: sts_for(server, user.creds).get_session_token(
            SerialNumber=serial_arn(account, unique("none")), TokenCode="123456"),
        code="AccessDenied", status=403, message=NOT_CALLERS_DEVICE)


@pytest.mark.parametrize("steps", [-1, 1], ids=["previous-step", "next-step"])
def test_codes_of_adjacent_steps_are_accepted(server, mfa_user, steps):
    user, device = mfa_user()
    settle()
    session = mfa_session_with_code(server, user, device, device.code(steps * STEP))
    assert sts_for(server, session).get_caller_identity()["Arn"] == user.arn


@pytest.mark.parametrize("seconds", [120, -120], ids=["two-minutes-old", "two-minutes-ahead"])
def test_codes_two_minutes_off_are_refused(server, mfa_user, seconds):
    user, device = mfa_user()
    code = device.code(-seconds)
    expect_client_error(lambda: mfa_session_with_code(server, user, device, code),
                        code="AccessDenied", status=403, message=BAD_OTP)


# ---------------------------------------------------------------------------
# AssumeRole with MFA
# ---------------------------------------------------------------------------


def test_assume_role_with_mfa(server, account, mfa_user, make_role):
    user, device = mfa_user()
    role = make_role(trust(user.arn, Condition=MFA_PRESENT), policies={
        "mfa": policy(allow("iam:ListRoles", Condition=MFA_PRESENT))})
    resp = assume(server, user.creds, role["Arn"], SerialNumber=device.serial,
                  TokenCode=device.code())
    session = creds_of(resp)
    pages = iam_for(server, session).get_paginator("list_roles")
    names = {r["RoleName"] for page in pages.paginate() for r in page["Roles"]}
    assert role["RoleName"] in names


def test_assume_role_requiring_mfa_without_mfa_fails(server, mfa_user, make_role):
    user, _ = mfa_user()
    role = make_role(trust(user.arn, Condition=MFA_PRESENT))
    expect_client_error(lambda: assume(server, user.creds, role["Arn"]),
                        code="AccessDenied", status=403,
                        message=not_authorized_to_assume(user.arn, role["Arn"]))
    expect_client_error(lambda: assume(server, plain_session(server, user), role["Arn"]),
                        code="AccessDenied", status=403,
                        message=not_authorized_to_assume(user.arn, role["Arn"]))


def test_assume_role_with_a_wrong_code_fails(server, mfa_user, make_role):
    user, device = mfa_user()
    role = make_role(trust(user.arn, Condition=MFA_PRESENT))
    expect_client_error(
        lambda: assume(server, user.creds, role["Arn"], SerialNumber=device.serial,
                       TokenCode=device.wrong_code()),
        code="AccessDenied", status=403, message=BAD_OTP)


def test_assume_role_with_another_users_device_fails(server, mfa_user, make_role):
    _, device = mfa_user()
    other, _ = mfa_user()
    role = make_role(trust(other.arn, Condition=MFA_PRESENT))
    expect_client_error(
        lambda: assume(server, other.creds, role["Arn"], SerialNumber=device.serial,
                       TokenCode=device.code()),
        code="AccessDenied", status=403, message=NOT_CALLERS_DEVICE)


def test_assume_role_with_an_unassigned_device_fails(server, make_user, make_device, make_role):
    user = make_user()
    device = make_device()
    role = make_role(trust(user.arn))
    expect_client_error(
        lambda: assume(server, user.creds, role["Arn"], SerialNumber=device.serial,
                       TokenCode=device.code()),
        code="AccessDenied", status=403, message=NOT_CALLERS_DEVICE)


def test_assume_role_with_mfa_age_condition(server, mfa_user, make_role):
    user, device = mfa_user()
    role = make_role(trust(user.arn, Condition=FRESH_MFA))
    assume(server, user.creds, role["Arn"], SerialNumber=device.serial, TokenCode=device.code())
    expect_client_error(lambda: assume(server, user.creds, role["Arn"]),
                        code="AccessDenied", status=403,
                        message=not_authorized_to_assume(user.arn, role["Arn"]))


def test_role_session_without_mfa_is_not_mfa_authenticated(server, account, mfa_user,
                                                            make_role):
    user, device = mfa_user()
    role = make_role(trust(user.arn), policies={
        "mfa": policy(allow("iam:ListRoles", Condition=MFA_PRESENT))})
    plain = creds_of(assume(server, user.creds, role["Arn"], "plain"))
    plain_arn = f"arn:aws:sts::{account}:assumed-role/{role['RoleName']}/plain"
    expect_client_error(
        lambda: iam_for(server, plain).list_roles(), code="AccessDenied", status=403,
        message=not_authorized(plain_arn, "iam:ListRoles", roles_resource(account)))
    with_mfa = creds_of(assume(server, user.creds, role["Arn"], "mfa",
                               SerialNumber=device.serial, TokenCode=device.code()))
    iam_for(server, with_mfa).list_roles()


def test_role_session_bool_if_exists_deny(server, account, mfa_user, make_role):
    user, device = mfa_user()
    role = make_role(trust(user.arn), policies={"p": policy(
        allow("iam:ListRoles"), deny("iam:ListRoles", Condition=MFA_ABSENT_IF_EXISTS))})
    plain = creds_of(assume(server, user.creds, role["Arn"], "plain"))
    plain_arn = f"arn:aws:sts::{account}:assumed-role/{role['RoleName']}/plain"
    expect_client_error(
        lambda: iam_for(server, plain).list_roles(), code="AccessDenied", status=403,
        message=not_authorized(plain_arn, "iam:ListRoles", roles_resource(account),
                               EXPLICIT_DENY))
    with_mfa = creds_of(assume(server, user.creds, role["Arn"], "mfa",
                               SerialNumber=device.serial, TokenCode=device.code()))
    iam_for(server, with_mfa).list_roles()


def test_assume_role_from_an_mfa_session(server, mfa_user, make_role):
    user, device = mfa_user()
    role = make_role(trust(user.arn, Condition=MFA_PRESENT), policies={
        "mfa": policy(allow("iam:ListRoles", Condition=MFA_PRESENT))})
    resp = assume(server, mfa_session(server, user, device), role["Arn"])
    iam_for(server, creds_of(resp)).list_roles()


def test_assume_role_from_a_session_without_mfa_is_not_mfa(server, mfa_user, make_role):
    user, _ = mfa_user()
    role = make_role(trust(user.arn, Condition=MFA_PRESENT))
    expect_client_error(lambda: assume(server, plain_session(server, user), role["Arn"]),
                        code="AccessDenied", status=403,
                        message=not_authorized_to_assume(user.arn, role["Arn"]))


# ---------------------------------------------------------------------------
# restart
# ---------------------------------------------------------------------------


def test_mfa_devices_survive_a_restart(start_server):
    srv = start_server("mfa-restart")
    admin = srv.admin_credentials()
    iam = iam_for(srv, admin)
    iam.create_user(UserName="keeper")
    key = iam.create_access_key(UserName="keeper")["AccessKey"]
    user_creds = Creds(key["AccessKeyId"], key["SecretAccessKey"])
    device = create_device(iam, "keeper-phone", tags=[{"Key": "team", "Value": "blue"}])
    spare = create_device(iam, "spare", "/spares/")
    enable_device(iam, "keeper", device)
    [before] = user_devices(iam, "keeper")

    assert srv.stop() == 0, "tessera should exit 0 on SIGTERM"
    srv.start()

    iam = iam_for(srv, admin)
    assert user_devices(iam, "keeper") == [before]
    assert set(virtual_devices(iam, "Assigned")) == {device.serial}
    assert set(virtual_devices(iam, "Unassigned")) == {spare.serial}
    assert tag_dict(iam.list_mfa_device_tags(SerialNumber=device.serial)["Tags"]) == {
        "team": "blue"}

    sts = sts_for(srv, user_creds)
    expect_client_error(
        lambda: sts.get_session_token(SerialNumber=device.serial, TokenCode=device.wrong_code()),
        code="AccessDenied", status=403, message=BAD_OTP)
    session = creds_of(sts.get_session_token(SerialNumber=device.serial,
                                             TokenCode=device.code()))
    assert sts_for(srv, session).get_caller_identity()["Arn"].endswith(":user/keeper")
    # the unassigned device's seed survived too
    enable_device(iam, "keeper", spare)
    assert {d["SerialNumber"] for d in user_devices(iam, "keeper")} == {device.serial,
                                                                         spare.serial}
