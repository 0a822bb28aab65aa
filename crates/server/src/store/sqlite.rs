//! The embedded SQLite adapter: one file, WAL journal, `synchronous=FULL` so a write is on disk
//! when its call returns.

use super::{
    AccessKeyRow, AccountRow, AttachmentRow, Bootstrap, GroupRow, ManagedPolicyRow, MfaDeviceRow,
    OidcProviderRow, OwnedRow, OwnerTable, PolicyVersionRow, RoleRow, SamlProviderRow, Store,
    StoreData, StoreError, UserRow, Write,
};
use crate::keyring::StoredRingKey;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("schema.sql"),
    include_str!("schema_2_tags.sql"),
    include_str!("schema_3_roles.sql"),
    include_str!("schema_4_oidc.sql"),
    include_str!("schema_5_managed.sql"),
    include_str!("schema_6_mfa.sql"),
    include_str!("schema_7_saml.sql"),
];

/// Lists are stored as JSON arrays: they are read and written whole.
fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn parse_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt(format!("list {text}")))
}

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Writes a consistent copy of the whole database to `path` (which must not exist), even
    /// while a server is writing: `tessera apply` rehearses a bootstrap file on such a copy so a
    /// file that fails half-way changes nothing.
    pub async fn copy_to(&self, path: &Path) -> Result<(), StoreError> {
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Corrupt(format!("path {} is not UTF-8", path.display())))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let applied: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut *tx)
            .await?;
        for (index, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(applied).unwrap_or(0))
        {
            sqlx::raw_sql(*sql).execute(&mut *tx).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA user_version = {}",
                index + 1
            )))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Maps a uniqueness violation to [`StoreError::Conflict`].
fn conflict_or(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(e),
    }
}

async fn apply_one(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    w: &Write,
) -> Result<(), StoreError> {
    let result = match w {
        Write::InsertAccount(a) => {
            sqlx::query("INSERT INTO accounts (id, created_at) VALUES (?, ?)")
                .bind(&a.id)
                .bind(a.created_at)
                .execute(&mut **tx)
                .await
        }
        Write::InsertUser(u) => {
            sqlx::query("INSERT INTO users (unique_id, account_id, name, name_folded, path, boundary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(&u.unique_id)
                .bind(&u.account_id)
                .bind(&u.name)
                .bind(u.name.to_lowercase())
                .bind(&u.path)
                .bind(&u.boundary)
                .bind(u.created_at)
                .execute(&mut **tx)
                .await
        }
        Write::Rename { table, unique_id, name, path } => {
            let sql = match table {
                OwnerTable::User => "UPDATE users SET name = ?, name_folded = ?, path = ? WHERE unique_id = ?",
                OwnerTable::Group => "UPDATE iam_groups SET name = ?, name_folded = ?, path = ? WHERE unique_id = ?",
                OwnerTable::Role | OwnerTable::OidcProvider | OwnerTable::Policy | OwnerTable::MfaDevice | OwnerTable::SamlProvider => {
                    return Err(corrupt("only users and groups are renamed"));
                }
            };
            sqlx::query(sql)
                .bind(name)
                .bind(name.to_lowercase())
                .bind(path)
                .bind(unique_id)
                .execute(&mut **tx)
                .await
        }
        Write::DeleteUser { unique_id } => {
            sqlx::query("DELETE FROM users WHERE unique_id = ?").bind(unique_id).execute(&mut **tx).await
        }
        Write::InsertRole(r) => {
            sqlx::query("INSERT INTO roles (unique_id, account_id, name, name_folded, path, trust_policy, description, max_session_duration, boundary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(&r.unique_id)
                .bind(&r.account_id)
                .bind(&r.name)
                .bind(r.name.to_lowercase())
                .bind(&r.path)
                .bind(&r.trust_policy)
                .bind(&r.description)
                .bind(i64::from(r.max_session_duration))
                .bind(&r.boundary)
                .bind(r.created_at)
                .execute(&mut **tx)
                .await
        }
        Write::DeleteRole { unique_id } => {
            sqlx::query("DELETE FROM roles WHERE unique_id = ?").bind(unique_id).execute(&mut **tx).await
        }
        Write::UpdateRole { unique_id, description, max_session_duration, trust_policy } => {
            sqlx::query("UPDATE roles SET description = ?, max_session_duration = ?, trust_policy = ? WHERE unique_id = ?")
                .bind(description)
                .bind(i64::from(*max_session_duration))
                .bind(trust_policy)
                .bind(unique_id)
                .execute(&mut **tx)
                .await
        }
        Write::SetTags { table, owner_id, tags } => {
            let (delete, insert) = match table {
                OwnerTable::User => ("DELETE FROM user_tags WHERE user_id = ?", "INSERT INTO user_tags (user_id, key, key_folded, value) VALUES (?, ?, ?, ?)"),
                OwnerTable::Role => ("DELETE FROM role_tags WHERE role_id = ?", "INSERT INTO role_tags (role_id, key, key_folded, value) VALUES (?, ?, ?, ?)"),
                OwnerTable::OidcProvider => ("DELETE FROM oidc_provider_tags WHERE provider_arn = ?", "INSERT INTO oidc_provider_tags (provider_arn, key, key_folded, value) VALUES (?, ?, ?, ?)"),
                OwnerTable::Policy => ("DELETE FROM policy_tags WHERE policy_arn = ?", "INSERT INTO policy_tags (policy_arn, key, key_folded, value) VALUES (?, ?, ?, ?)"),
                OwnerTable::MfaDevice => ("DELETE FROM mfa_device_tags WHERE serial = ?", "INSERT INTO mfa_device_tags (serial, key, key_folded, value) VALUES (?, ?, ?, ?)"),
                OwnerTable::SamlProvider => ("DELETE FROM saml_provider_tags WHERE provider_arn = ?", "INSERT INTO saml_provider_tags (provider_arn, key, key_folded, value) VALUES (?, ?, ?, ?)"),
                OwnerTable::Group => return Err(corrupt("groups have no tags")),
            };
            sqlx::query(delete).bind(owner_id).execute(&mut **tx).await.map_err(conflict_or)?;
            for (key, value) in tags {
                sqlx::query(insert)
                    .bind(owner_id)
                    .bind(key)
                    .bind(key.to_lowercase())
                    .bind(value)
                    .execute(&mut **tx)
                    .await
                    .map_err(conflict_or)?;
            }
            return Ok(());
        }
        Write::PutPolicy { table, owner_id, name, document } => {
            let sql = match table {
                OwnerTable::User => "INSERT INTO user_policies (user_id, name, document) VALUES (?, ?, ?) ON CONFLICT (user_id, name) DO UPDATE SET document = excluded.document",
                OwnerTable::Role => "INSERT INTO role_policies (role_id, name, document) VALUES (?, ?, ?) ON CONFLICT (role_id, name) DO UPDATE SET document = excluded.document",
                OwnerTable::Group => "INSERT INTO group_policies (group_id, name, document) VALUES (?, ?, ?) ON CONFLICT (group_id, name) DO UPDATE SET document = excluded.document",
                OwnerTable::OidcProvider | OwnerTable::Policy | OwnerTable::MfaDevice | OwnerTable::SamlProvider => return Err(corrupt("only users, groups and roles have inline policies")),
            };
            sqlx::query(sql).bind(owner_id).bind(name).bind(document).execute(&mut **tx).await
        }
        Write::DeletePolicy { table, owner_id, name } => {
            let sql = match table {
                OwnerTable::User => "DELETE FROM user_policies WHERE user_id = ? AND name = ?",
                OwnerTable::Role => "DELETE FROM role_policies WHERE role_id = ? AND name = ?",
                OwnerTable::Group => "DELETE FROM group_policies WHERE group_id = ? AND name = ?",
                OwnerTable::OidcProvider | OwnerTable::Policy | OwnerTable::MfaDevice | OwnerTable::SamlProvider => return Err(corrupt("only users, groups and roles have inline policies")),
            };
            sqlx::query(sql).bind(owner_id).bind(name).execute(&mut **tx).await
        }
        Write::InsertOidcProvider(p) => {
            sqlx::query("INSERT INTO oidc_providers (arn, account_id, url, client_ids, thumbprints, created_at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(&p.arn)
                .bind(&p.account_id)
                .bind(&p.url)
                .bind(json_list(&p.client_ids))
                .bind(json_list(&p.thumbprints))
                .bind(p.created_at)
                .execute(&mut **tx)
                .await
        }
        Write::UpdateOidcProvider { arn, client_ids, thumbprints } => {
            sqlx::query("UPDATE oidc_providers SET client_ids = ?, thumbprints = ? WHERE arn = ?")
                .bind(json_list(client_ids))
                .bind(json_list(thumbprints))
                .bind(arn)
                .execute(&mut **tx)
                .await
        }
        Write::DeleteOidcProvider { arn } => {
            sqlx::query("DELETE FROM oidc_providers WHERE arn = ?").bind(arn).execute(&mut **tx).await
        }
        Write::InsertSamlProvider(p) => {
            sqlx::query("INSERT INTO saml_providers (arn, account_id, name, uuid, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(&p.arn)
                .bind(&p.account_id)
                .bind(&p.name)
                .bind(&p.uuid)
                .bind(&p.metadata)
                .bind(p.created_at)
                .execute(&mut **tx)
                .await
        }
        Write::UpdateSamlProvider { arn, metadata } => {
            sqlx::query("UPDATE saml_providers SET metadata = ? WHERE arn = ?")
                .bind(metadata)
                .bind(arn)
                .execute(&mut **tx)
                .await
        }
        Write::DeleteSamlProvider { arn } => {
            sqlx::query("DELETE FROM saml_providers WHERE arn = ?").bind(arn).execute(&mut **tx).await
        }
        Write::InsertManagedPolicy(p) => {
            sqlx::query("INSERT INTO managed_policies (arn, unique_id, account_id, name, name_folded, path, description, default_version, next_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(&p.arn)
                .bind(&p.unique_id)
                .bind(&p.account_id)
                .bind(&p.name)
                .bind(p.name.to_lowercase())
                .bind(&p.path)
                .bind(&p.description)
                .bind(i64::from(p.default_version))
                .bind(i64::from(p.next_version))
                .bind(p.created_at)
                .bind(p.updated_at)
                .execute(&mut **tx)
                .await
        }
        Write::UpdateManagedPolicy { arn, default_version, next_version, updated_at } => {
            sqlx::query("UPDATE managed_policies SET default_version = ?, next_version = ?, updated_at = ? WHERE arn = ?")
                .bind(i64::from(*default_version))
                .bind(i64::from(*next_version))
                .bind(updated_at)
                .bind(arn)
                .execute(&mut **tx)
                .await
        }
        Write::DeleteManagedPolicy { arn } => {
            sqlx::query("DELETE FROM managed_policies WHERE arn = ?").bind(arn).execute(&mut **tx).await
        }
        Write::InsertPolicyVersion(v) => {
            sqlx::query("INSERT INTO policy_versions (policy_arn, version, document, created_at) VALUES (?, ?, ?, ?)")
                .bind(&v.policy_arn)
                .bind(i64::from(v.version))
                .bind(&v.document)
                .bind(v.created_at)
                .execute(&mut **tx)
                .await
        }
        Write::DeletePolicyVersion { arn, version } => {
            sqlx::query("DELETE FROM policy_versions WHERE policy_arn = ? AND version = ?")
                .bind(arn)
                .bind(i64::from(*version))
                .execute(&mut **tx)
                .await
        }
        Write::InsertGroup(g) => {
            sqlx::query("INSERT INTO iam_groups (unique_id, account_id, name, name_folded, path, created_at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(&g.unique_id)
                .bind(&g.account_id)
                .bind(&g.name)
                .bind(g.name.to_lowercase())
                .bind(&g.path)
                .bind(g.created_at)
                .execute(&mut **tx)
                .await
        }
        Write::DeleteGroup { unique_id } => {
            sqlx::query("DELETE FROM iam_groups WHERE unique_id = ?").bind(unique_id).execute(&mut **tx).await
        }
        Write::AddMember { group_id, user_id } => {
            sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .bind(group_id)
                .bind(user_id)
                .execute(&mut **tx)
                .await
        }
        Write::RemoveMember { group_id, user_id } => {
            sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
                .bind(group_id)
                .bind(user_id)
                .execute(&mut **tx)
                .await
        }
        Write::Attach(a) => {
            sqlx::query("INSERT INTO policy_attachments (policy_arn, owner_kind, owner_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                .bind(&a.policy_arn)
                .bind(a.table.attachment_kind())
                .bind(&a.owner_id)
                .execute(&mut **tx)
                .await
        }
        Write::Detach(a) => {
            sqlx::query("DELETE FROM policy_attachments WHERE policy_arn = ? AND owner_kind = ? AND owner_id = ?")
                .bind(&a.policy_arn)
                .bind(a.table.attachment_kind())
                .bind(&a.owner_id)
                .execute(&mut **tx)
                .await
        }
        Write::SetBoundary { table, owner_id, arn } => {
            let sql = match table {
                OwnerTable::User => "UPDATE users SET boundary = ? WHERE unique_id = ?",
                OwnerTable::Role => "UPDATE roles SET boundary = ? WHERE unique_id = ?",
                OwnerTable::Group | OwnerTable::OidcProvider | OwnerTable::Policy | OwnerTable::MfaDevice | OwnerTable::SamlProvider => {
                    return Err(corrupt("only users and roles have permissions boundaries"));
                }
            };
            sqlx::query(sql).bind(arn).bind(owner_id).execute(&mut **tx).await
        }
        Write::InsertMfaDevice(d) => {
            sqlx::query("INSERT INTO mfa_devices (serial, account_id, name, path, seed_sealed, user_id, enabled_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(&d.serial)
                .bind(&d.account_id)
                .bind(&d.name)
                .bind(&d.path)
                .bind(&d.seed_sealed)
                .bind(&d.user_id)
                .bind(d.enabled_at)
                .bind(d.created_at)
                .execute(&mut **tx)
                .await
        }
        Write::AssignMfaDevice { serial, assignment } => {
            let (user_id, enabled_at) = assignment.clone().unzip();
            sqlx::query("UPDATE mfa_devices SET user_id = ?, enabled_at = ? WHERE serial = ?")
                .bind(user_id)
                .bind(enabled_at)
                .bind(serial)
                .execute(&mut **tx)
                .await
        }
        Write::DeleteMfaDevice { serial } => {
            sqlx::query("DELETE FROM mfa_devices WHERE serial = ?").bind(serial).execute(&mut **tx).await
        }
        Write::InsertAccessKey(k) => {
            sqlx::query("INSERT INTO access_keys (id, account_id, user_id, secret_sealed, active, created_at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(&k.id)
                .bind(&k.account_id)
                .bind(&k.user_id)
                .bind(&k.secret_sealed)
                .bind(k.active)
                .bind(k.created_at)
                .execute(&mut **tx)
                .await
        }
        Write::SetAccessKeyActive { id, active } => {
            sqlx::query("UPDATE access_keys SET active = ? WHERE id = ?").bind(active).bind(id).execute(&mut **tx).await
        }
        Write::DeleteAccessKey { id } => {
            sqlx::query("DELETE FROM access_keys WHERE id = ?").bind(id).execute(&mut **tx).await
        }
    };
    result.map(|_| ()).map_err(conflict_or)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn version_number(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| corrupt("policy version number out of range"))
}

impl Store for SqliteStore {
    async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(n == 0)
    }

    async fn bootstrap(&self, b: &Bootstrap) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO accounts (id, created_at) VALUES (?, ?)")
            .bind(&b.account.id)
            .bind(b.account.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO users (unique_id, account_id, name, name_folded, path, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&b.admin.unique_id)
            .bind(&b.admin.account_id)
            .bind(&b.admin.name)
            .bind(b.admin.name.to_lowercase())
            .bind(&b.admin.path)
            .bind(b.admin.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO user_policies (user_id, name, document) VALUES (?, ?, ?)")
            .bind(&b.admin_policy.user_id)
            .bind(&b.admin_policy.name)
            .bind(&b.admin_policy.document)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO access_keys (id, account_id, user_id, secret_sealed, active, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&b.admin_key.id)
            .bind(&b.admin_key.account_id)
            .bind(&b.admin_key.user_id)
            .bind(&b.admin_key.secret_sealed)
            .bind(b.admin_key.active)
            .bind(b.admin_key.created_at)
            .execute(&mut *tx)
            .await?;
        insert_ring_key(&mut tx, &b.ring_key).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn apply(&self, writes: &[Write]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for w in writes {
            apply_one(&mut tx, w).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load(&self) -> Result<StoreData, StoreError> {
        let mut tx = self.pool.begin().await?;
        let accounts = sqlx::query("SELECT id, created_at FROM accounts")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                Ok(AccountRow {
                    id: r.try_get(0)?,
                    created_at: r.try_get(1)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let users = sqlx::query(
            "SELECT unique_id, account_id, name, path, created_at, boundary FROM users",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(UserRow {
                unique_id: r.try_get(0)?,
                account_id: r.try_get(1)?,
                name: r.try_get(2)?,
                path: r.try_get(3)?,
                created_at: r.try_get(4)?,
                boundary: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let access_keys = sqlx::query(
            "SELECT id, account_id, user_id, secret_sealed, active, created_at FROM access_keys",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(AccessKeyRow {
                id: r.try_get(0)?,
                account_id: r.try_get(1)?,
                user_id: r.try_get(2)?,
                secret_sealed: r.try_get(3)?,
                active: r.try_get(4)?,
                created_at: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let roles = sqlx::query("SELECT unique_id, account_id, name, path, trust_policy, description, max_session_duration, created_at, boundary FROM roles")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                let max: i64 = r.try_get(6)?;
                Ok(RoleRow {
                    unique_id: r.try_get(0)?,
                    account_id: r.try_get(1)?,
                    name: r.try_get(2)?,
                    path: r.try_get(3)?,
                    trust_policy: r.try_get(4)?,
                    description: r.try_get(5)?,
                    max_session_duration: u32::try_from(max).unwrap_or(3600),
                    created_at: r.try_get(7)?,
                    boundary: r.try_get(8)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let oidc_providers = sqlx::query(
            "SELECT arn, account_id, url, client_ids, thumbprints, created_at FROM oidc_providers",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            let client_ids: String = r.try_get(3)?;
            let thumbprints: String = r.try_get(4)?;
            Ok(OidcProviderRow {
                arn: r.try_get(0)?,
                account_id: r.try_get(1)?,
                url: r.try_get(2)?,
                client_ids: parse_list(&client_ids)?,
                thumbprints: parse_list(&thumbprints)?,
                created_at: r.try_get(5)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
        let saml_providers = sqlx::query(
            "SELECT arn, account_id, name, uuid, metadata, created_at FROM saml_providers",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(SamlProviderRow {
                arn: r.try_get(0)?,
                account_id: r.try_get(1)?,
                name: r.try_get(2)?,
                uuid: r.try_get(3)?,
                metadata: r.try_get(4)?,
                created_at: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let managed_policies = sqlx::query("SELECT arn, unique_id, account_id, name, path, description, default_version, next_version, created_at, updated_at FROM managed_policies")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                let default: i64 = r.try_get(6)?;
                let next: i64 = r.try_get(7)?;
                Ok(ManagedPolicyRow {
                    arn: r.try_get(0)?,
                    unique_id: r.try_get(1)?,
                    account_id: r.try_get(2)?,
                    name: r.try_get(3)?,
                    path: r.try_get(4)?,
                    description: r.try_get(5)?,
                    default_version: version_number(default)?,
                    next_version: version_number(next)?,
                    created_at: r.try_get(8)?,
                    updated_at: r.try_get(9)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let policy_versions =
            sqlx::query("SELECT policy_arn, version, document, created_at FROM policy_versions")
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| {
                    let version: i64 = r.try_get(1)?;
                    Ok(PolicyVersionRow {
                        policy_arn: r.try_get(0)?,
                        version: version_number(version)?,
                        document: r.try_get(2)?,
                        created_at: r.try_get(3)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?;
        let groups =
            sqlx::query("SELECT unique_id, account_id, name, path, created_at FROM iam_groups")
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| {
                    Ok(GroupRow {
                        unique_id: r.try_get(0)?,
                        account_id: r.try_get(1)?,
                        name: r.try_get(2)?,
                        path: r.try_get(3)?,
                        created_at: r.try_get(4)?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?;
        let memberships = sqlx::query("SELECT group_id, user_id FROM group_members")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let attachments = sqlx::query(
            "SELECT policy_arn, owner_kind, owner_id FROM policy_attachments ORDER BY rowid",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.try_get(1)?;
            let table = match kind.as_str() {
                "user" => OwnerTable::User,
                "role" => OwnerTable::Role,
                "group" => OwnerTable::Group,
                other => return Err(corrupt(&format!("attachment owner kind {other}"))),
            };
            Ok(AttachmentRow {
                policy_arn: r.try_get(0)?,
                table,
                owner_id: r.try_get(2)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
        let mfa_devices = sqlx::query("SELECT serial, account_id, name, path, seed_sealed, user_id, enabled_at, created_at FROM mfa_devices")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                Ok(MfaDeviceRow {
                    serial: r.try_get(0)?,
                    account_id: r.try_get(1)?,
                    name: r.try_get(2)?,
                    path: r.try_get(3)?,
                    seed_sealed: r.try_get(4)?,
                    user_id: r.try_get(5)?,
                    enabled_at: r.try_get(6)?,
                    created_at: r.try_get(7)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let mut policies = Vec::new();
        let mut tags = Vec::new();
        for (table, sql) in [
            (
                OwnerTable::OidcProvider,
                "SELECT provider_arn, key, value FROM oidc_provider_tags ORDER BY rowid",
            ),
            (
                OwnerTable::Policy,
                "SELECT policy_arn, key, value FROM policy_tags ORDER BY rowid",
            ),
            (
                OwnerTable::MfaDevice,
                "SELECT serial, key, value FROM mfa_device_tags ORDER BY rowid",
            ),
            (
                OwnerTable::SamlProvider,
                "SELECT provider_arn, key, value FROM saml_provider_tags ORDER BY rowid",
            ),
        ] {
            for r in sqlx::query(sql).fetch_all(&mut *tx).await? {
                tags.push(OwnedRow {
                    table,
                    owner_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    value: r.try_get(2)?,
                });
            }
        }
        for (table, policy_sql, tag_sql) in [
            (
                OwnerTable::User,
                "SELECT user_id, name, document FROM user_policies",
                Some("SELECT user_id, key, value FROM user_tags ORDER BY rowid"),
            ),
            (
                OwnerTable::Role,
                "SELECT role_id, name, document FROM role_policies",
                Some("SELECT role_id, key, value FROM role_tags ORDER BY rowid"),
            ),
            (
                OwnerTable::Group,
                "SELECT group_id, name, document FROM group_policies",
                None,
            ),
        ] {
            let queries = std::iter::once((policy_sql, &mut policies))
                .chain(tag_sql.map(|sql| (sql, &mut tags)));
            for (sql, out) in queries {
                for r in sqlx::query(sql).fetch_all(&mut *tx).await? {
                    out.push(OwnedRow {
                        table,
                        owner_id: r.try_get(0)?,
                        name: r.try_get(1)?,
                        value: r.try_get(2)?,
                    });
                }
            }
        }
        tx.commit().await?;
        Ok(StoreData {
            accounts,
            users,
            roles,
            access_keys,
            oidc_providers,
            managed_policies,
            policy_versions,
            groups,
            memberships,
            attachments,
            mfa_devices,
            saml_providers,
            policies,
            tags,
        })
    }

    async fn claim_once(
        &self,
        kind: &str,
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM single_use WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO single_use (kind, id, expires_at) VALUES (?, ?, ?) ON CONFLICT (kind, id) DO NOTHING",
        )
        .bind(kind)
        .bind(id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(inserted == 1)
    }

    async fn ring_keys(&self) -> Result<Vec<StoredRingKey>, StoreError> {
        sqlx::query("SELECT id, created_at, demoted_at, sealed FROM ring_keys ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let id: i64 = r.try_get(0)?;
                Ok(StoredRingKey {
                    id: u32::try_from(id).map_err(|_| corrupt("ring key id out of range"))?,
                    created_at: r.try_get(1)?,
                    demoted_at: r.try_get(2)?,
                    sealed: r.try_get(3)?,
                })
            })
            .collect()
    }

    async fn rotate_ring(&self, new_key: &StoredRingKey, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE ring_keys SET demoted_at = ? WHERE demoted_at IS NULL")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        insert_ring_key(&mut tx, new_key).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_ring_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    k: &StoredRingKey,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ring_keys (id, created_at, demoted_at, sealed) VALUES (?, ?, ?, ?)")
        .bind(i64::from(k.id))
        .bind(k.created_at)
        .bind(k.demoted_at)
        .bind(&k.sealed)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserPolicyRow;

    fn sample() -> Bootstrap {
        Bootstrap {
            account: AccountRow {
                id: "123456789012".into(),
                created_at: 1,
            },
            admin: UserRow {
                unique_id: "AIDAX".into(),
                account_id: "123456789012".into(),
                name: "admin".into(),
                path: "/".into(),
                boundary: None,
                created_at: 1,
            },
            admin_policy: UserPolicyRow {
                user_id: "AIDAX".into(),
                name: "AdministratorAccess".into(),
                document: "{}".into(),
            },
            admin_key: AccessKeyRow {
                id: "AKIAX".into(),
                account_id: "123456789012".into(),
                user_id: Some("AIDAX".into()),
                secret_sealed: vec![1, 2],
                active: true,
                created_at: 1,
            },
            ring_key: StoredRingKey {
                id: 1,
                created_at: 1,
                demoted_at: None,
                sealed: vec![3],
            },
        }
    }

    #[tokio::test]
    async fn bootstrap_is_durable_across_reopen_and_rotation_demotes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path).await.unwrap();
        assert!(store.is_empty().await.unwrap());
        store.bootstrap(&sample()).await.unwrap();
        assert!(
            store.bootstrap(&sample()).await.is_err(),
            "a second bootstrap conflicts"
        );
        drop(store);
        let store = SqliteStore::open(&path).await.unwrap();
        assert!(!store.is_empty().await.unwrap());
        let data = store.load().await.unwrap();
        assert_eq!(data.users, vec![sample().admin]);
        assert_eq!(data.access_keys, vec![sample().admin_key]);
        let admin_policy = sample().admin_policy;
        assert_eq!(
            data.policies,
            vec![OwnedRow {
                table: OwnerTable::User,
                owner_id: admin_policy.user_id,
                name: admin_policy.name,
                value: admin_policy.document,
            }]
        );
        store
            .rotate_ring(
                &StoredRingKey {
                    id: 2,
                    created_at: 5,
                    demoted_at: None,
                    sealed: vec![4],
                },
                5,
            )
            .await
            .unwrap();
        let ring = store.ring_keys().await.unwrap();
        assert_eq!(ring.len(), 2);
        assert_eq!(ring[0].demoted_at, Some(5));
        assert_eq!(ring[1].demoted_at, None);
    }

    #[tokio::test]
    async fn user_names_are_unique_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
        store.bootstrap(&sample()).await.unwrap();
        let dup = sqlx::query("INSERT INTO users (unique_id, account_id, name, name_folded, path, created_at) VALUES ('AIDAY', '123456789012', 'ADMIN', 'admin', '/', 1)")
            .execute(&store.pool)
            .await;
        assert!(dup.is_err());
    }
}
