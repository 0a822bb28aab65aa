CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 12),
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    unique_id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name_folded)
);
CREATE TABLE IF NOT EXISTS user_policies (
    user_id TEXT NOT NULL REFERENCES users(unique_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
CREATE TABLE IF NOT EXISTS access_keys (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    user_id TEXT REFERENCES users(unique_id) ON DELETE CASCADE,
    secret_sealed BLOB NOT NULL,
    active INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ring_keys (
    id INTEGER PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL,
    demoted_at INTEGER,
    sealed BLOB NOT NULL
);
