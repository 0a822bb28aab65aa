CREATE TABLE IF NOT EXISTS saml_providers (
    arn TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    uuid TEXT NOT NULL UNIQUE,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
);
CREATE TABLE IF NOT EXISTS saml_provider_tags (
    provider_arn TEXT NOT NULL REFERENCES saml_providers(arn) ON DELETE CASCADE,
    key TEXT NOT NULL,
    key_folded TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (provider_arn, key_folded)
);
CREATE TABLE IF NOT EXISTS single_use (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS single_use_expiry ON single_use (expires_at);
