"""IAM listings that Terraform reads on every refresh and destroy (groups, managed-policy
attachments, MFA devices, instance profiles): for a new entity they answer an empty list,
NoSuchEntity for an unknown one, and they are authorized like every IAM call (their non-empty
forms are tested in test_iam_managed_policies.py and test_mfa.py; instance profiles do not exist
here). Also UpdateRoleDescription, which returns the updated role."""

from __future__ import annotations

import pytest

from tessera_testlib import expect_client_error
from test_iam_roles import make_role  # noqa: F401  fixture
from test_iam_users import (  # noqa: F401  fixtures
    account,
    allow,
    make_user,
    not_authorized,
    policy,
    unique,
)


@pytest.mark.parametrize("operation, key", [
    ("list_groups_for_user", "Groups"),
    ("list_attached_user_policies", "AttachedPolicies"),
    ("list_mfa_devices", "MFADevices"),
])
def test_user_listings_are_empty(admin_iam, make_user, operation, key):
    user = make_user()
    result = getattr(admin_iam, operation)(UserName=user.name)
    assert result[key] == []
    assert result["IsTruncated"] is False
    expect_client_error(lambda: getattr(admin_iam, operation)(UserName=unique("missing")),
                        code="NoSuchEntity", status=404)


@pytest.mark.parametrize("operation, key", [
    ("list_attached_role_policies", "AttachedPolicies"),
    ("list_instance_profiles_for_role", "InstanceProfiles"),
])
def test_role_listings_are_empty(admin_iam, make_role, operation, key):
    role = make_role()
    result = getattr(admin_iam, operation)(RoleName=role["RoleName"])
    assert result[key] == []
    assert result["IsTruncated"] is False
    expect_client_error(lambda: getattr(admin_iam, operation)(RoleName=unique("missing")),
                        code="NoSuchEntity", status=404)


def test_list_mfa_devices_defaults_to_the_caller(admin_iam):
    assert admin_iam.list_mfa_devices()["MFADevices"] == []


def test_listings_are_authorized(server, make_user, account):
    user = make_user("lister", key=True)
    client = user.iam(server)
    expect_client_error(
        lambda: client.list_groups_for_user(UserName=user.name), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:ListGroupsForUser",
                               f"arn:aws:iam::{account}:user/{user.name}"))


def test_update_role_description_returns_the_role(admin_iam, make_role):
    role = make_role(Description="before")
    updated = admin_iam.update_role_description(RoleName=role["RoleName"],
                                                Description="after")["Role"]
    assert updated["Description"] == "after"
    assert updated["RoleId"] == role["RoleId"]
    assert admin_iam.get_role(RoleName=role["RoleName"])["Role"]["Description"] == "after"
    expect_client_error(
        lambda: admin_iam.update_role_description(RoleName=unique("missing"), Description="x"),
        code="NoSuchEntity", status=404)
