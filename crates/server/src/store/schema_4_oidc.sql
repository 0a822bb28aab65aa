CREATE TABLE IF NOT EXISTS oidc_providers (
    arn TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    url TEXT NOT NULL,
    client_ids TEXT NOT NULL,
    thumbprints TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, url)
);
CREATE TABLE IF NOT EXISTS oidc_provider_tags (
    provider_arn TEXT NOT NULL REFERENCES oidc_providers(arn) ON DELETE CASCADE,
    key TEXT NOT NULL,
    key_folded TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (provider_arn, key_folded)
);
