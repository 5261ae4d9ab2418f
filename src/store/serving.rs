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
        let held = "is being copied by migrate-store: start the service when it is done";
        take(path, false, held)
    }

    /// Taken by `migrate-store` for the whole copy: refused while any service serves.
    pub fn exclusive(path: &Path) -> Result<ServingLock, StoreError> {
        take(
            path,
            true,
            "is in use by a service: stop every service on it first",
        )
    }
}

/// The lock on `path`; refused, saying the file `held`, while another process holds it in
/// a way that excludes this one.
fn take(path: &Path, exclusive: bool, held: &str) -> Result<ServingLock, StoreError> {
    let refused = |why: String| StoreError::InUse(format!("{} {why}", path.display()));
    let cannot = |error: std::io::Error| refused(format!("cannot be locked: {error}"));
    let file = File::open(path).map_err(cannot)?;
    let locked = match exclusive {
        true => file.try_lock(),
        false => file.try_lock_shared(),
    };
    match locked {
        Ok(()) => Ok(ServingLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(refused(held.to_string())),
        Err(TryLockError::Error(error)) => Err(cannot(error)),
    }
}
