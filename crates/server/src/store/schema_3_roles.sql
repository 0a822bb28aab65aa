CREATE TABLE IF NOT EXISTS roles (
    unique_id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    path TEXT NOT NULL,
    trust_policy TEXT NOT NULL,
    description TEXT,
    max_session_duration INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name_folded)
);
CREATE TABLE IF NOT EXISTS role_policies (
    role_id TEXT NOT NULL REFERENCES roles(unique_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (role_id, name)
);
CREATE TABLE IF NOT EXISTS role_tags (
    role_id TEXT NOT NULL REFERENCES roles(unique_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    key_folded TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (role_id, key_folded)
);
