ALTER TABLE users ADD COLUMN boundary TEXT;
ALTER TABLE roles ADD COLUMN boundary TEXT;
CREATE TABLE IF NOT EXISTS managed_policies (
    arn TEXT PRIMARY KEY NOT NULL,
    unique_id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    path TEXT NOT NULL,
    description TEXT,
    default_version INTEGER NOT NULL,
    next_version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, name_folded)
);
CREATE TABLE IF NOT EXISTS policy_versions (
    policy_arn TEXT NOT NULL REFERENCES managed_policies(arn) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (policy_arn, version)
);
CREATE TABLE IF NOT EXISTS policy_tags (
    policy_arn TEXT NOT NULL REFERENCES managed_policies(arn) ON DELETE CASCADE,
    key TEXT NOT NULL,
    key_folded TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (policy_arn, key_folded)
);
CREATE TABLE IF NOT EXISTS iam_groups (
    unique_id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name_folded)
);
CREATE TABLE IF NOT EXISTS group_members (
    group_id TEXT NOT NULL REFERENCES iam_groups(unique_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(unique_id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE TABLE IF NOT EXISTS group_policies (
    group_id TEXT NOT NULL REFERENCES iam_groups(unique_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (group_id, name)
);
-- AWS managed policies are built in, not stored, so the policy ARN is not a foreign key.
CREATE TABLE IF NOT EXISTS policy_attachments (
    policy_arn TEXT NOT NULL,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('user', 'role', 'group')),
    owner_id TEXT NOT NULL,
    PRIMARY KEY (policy_arn, owner_kind, owner_id)
);
