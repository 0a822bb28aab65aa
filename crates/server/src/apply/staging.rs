//! The rehearsal: a copy of the store that the file's calls run on, and a store wrapper that
//! keeps every write they made, to commit to the real store in one transaction.

use crate::keyring::StoredRingKey;
use crate::store::{SqliteStore, Store, StoreData, StoreError, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The copy's file in the data directory (private to its owner, like the store), removed with
/// its journal files when the rehearsal ends.
pub(crate) struct StagingFile(PathBuf);

impl StagingFile {
    /// A fresh path; a copy left by an interrupted run is removed first.
    pub(crate) fn new(dir: &Path) -> Self {
        let file = Self(dir.join(format!("apply-staging-{}.db", std::process::id())));
        file.remove();
        file
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.0.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

impl Drop for StagingFile {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A store that remembers the writes applied to it.
pub(crate) struct Recording {
    inner: SqliteStore,
    writes: Mutex<Vec<Write>>,
}

impl Recording {
    pub(crate) fn new(inner: SqliteStore) -> Self {
        Self {
            inner,
            writes: Mutex::new(Vec::new()),
        }
    }

    /// Every write applied so far, in order.
    pub(crate) fn take(&self) -> Vec<Write> {
        std::mem::take(&mut *self.writes.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Store for Recording {
    async fn is_empty(&self) -> Result<bool, StoreError> {
        self.inner.is_empty().await
    }

    async fn bootstrap(&self, b: &crate::store::Bootstrap) -> Result<(), StoreError> {
        self.inner.bootstrap(b).await
    }

    async fn apply(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.inner.apply(writes).await?;
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(writes);
        Ok(())
    }

    async fn load(&self) -> Result<StoreData, StoreError> {
        self.inner.load().await
    }

    async fn claim_once(
        &self,
        kind: &str,
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.inner.claim_once(kind, id, expires_at, now).await
    }

    async fn ring_keys(&self) -> Result<Vec<StoredRingKey>, StoreError> {
        self.inner.ring_keys().await
    }

    async fn rotate_ring(&self, new_key: &StoredRingKey, now: i64) -> Result<(), StoreError> {
        self.inner.rotate_ring(new_key, now).await
    }
}
