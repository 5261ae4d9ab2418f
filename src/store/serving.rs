//! Which processes serve from a SQLite store: each service holds a shared lock on the file
//! while it runs, so `migrate-store` can refuse a store in use, and no service starts
//! during a copy. The kernel drops the lock when the process ends, a crash included.
//! (flock(2) through std's `File::try_lock*`: independent of SQLite's own POSIX locks.)
//! Postgres needs none: replicas are many by design.

use std::fs::{File, TryLockError};
use std::path::Path;

use super::StoreError;

/// Held for as long as the lock should last.
#[derive(Debug)]
pub struct ServingLock {
    _file: File,
}

impl ServingLock {
    /// Taken by a service: several may serve from one file, but not during a copy.
    pub fn shared(path: &Path) -> Result<ServingLock, StoreError> {
        let file = open(path)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(ServingLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::InUse(format!(
                "{} is being copied by migrate-store: start the service when it is done",
                path.display()
            ))),
            Err(TryLockError::Error(error)) => Err(lock_error(path, error)),
        }
    }

    /// Taken by `migrate-store` for the whole copy: refused while any service serves.
    pub fn exclusive(path: &Path) -> Result<ServingLock, StoreError> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(ServingLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::InUse(format!(
                "a service is using {}: stop every service on it first",
                path.display()
            ))),
            Err(TryLockError::Error(error)) => Err(lock_error(path, error)),
        }
    }
}

fn open(path: &Path) -> Result<File, StoreError> {
    File::open(path).map_err(|error| lock_error(path, error))
}

fn lock_error(path: &Path, error: std::io::Error) -> StoreError {
    StoreError::InUse(format!("cannot lock {}: {error}", path.display()))
}
