CREATE TABLE IF NOT EXISTS mfa_devices (
    serial TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    seed_sealed BLOB NOT NULL,
    user_id TEXT REFERENCES users(unique_id) ON DELETE SET NULL,
    enabled_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mfa_device_tags (
    serial TEXT NOT NULL REFERENCES mfa_devices(serial) ON DELETE CASCADE,
    key TEXT NOT NULL,
    key_folded TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (serial, key_folded)
);
