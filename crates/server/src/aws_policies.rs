//! The AWS managed policies this server provides (`arn:<partition>:iam::aws:policy/…`): a small,
//! fixed set that clients and tutorials attach by ARN. They are built in, not stored, and cannot
//! be changed (IAM-ADMIN-SUBSET.md §3.7). Their documents are shortened to what this server's
//! own actions (STS and IAM) need; permissions for other services are granted as written.

/// One built-in policy: name, unique id, description and document.
pub struct AwsPolicy {
    /// The policy's name (the last part of its ARN).
    pub name: &'static str,
    /// Its `ANPA…` id.
    pub id: &'static str,
    /// AWS's description.
    pub description: &'static str,
    /// The document of its single version, `v1`.
    pub document: &'static str,
}

/// The built-in policies.
pub const AWS_POLICIES: &[AwsPolicy] = &[
    AwsPolicy {
        name: "AdministratorAccess",
        id: "ANPAIWMBCKSKIEE64ZLYK",
        description: "Provides full access to AWS services and resources.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "PowerUserAccess",
        id: "ANPAJYRXTHIB4FOVS3ZXS",
        description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions","account:GetAccountInformation"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "ReadOnlyAccess",
        id: "ANPAILL3HVNFSB6DCOWYQ",
        description: "Provides read-only access to AWS services and resources.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:Generate*","iam:Simulate*","sts:GetCallerIdentity","sts:GetAccessKeyInfo","sts:DecodeAuthorizationMessage","s3:Get*","s3:List*","ec2:Describe*","ec2:Get*"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "IAMFullAccess",
        id: "ANPAI7XKCFMBPM3QQRRVQ",
        description: "Provides full access to IAM via the AWS Management Console.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "IAMReadOnlyAccess",
        id: "ANPAJKSO7NDY4T57MWDSQ",
        description: "Provides read only access to IAM via the AWS Management Console.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_policy::{Policy, PolicyKind};

    #[test]
    fn every_built_in_policy_parses_and_has_a_well_formed_id() {
        for p in AWS_POLICIES {
            Policy::parse(p.document, PolicyKind::Identity).expect(p.name);
            assert!(p.id.starts_with("ANPA") && p.id.len() == 21, "{}", p.id);
        }
    }
}
