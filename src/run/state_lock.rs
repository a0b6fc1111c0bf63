//! Terraform's own lock on an S3 state (`use_lockfile=true`), taken by lambda-gitops: the
//! object `<key>.tflock` holding terraform's lock info, written only if absent — exactly
//! what terraform writes, so a terraform run (or `force-unlock`) on the same state sees it
//! and waits, and lambda-gitops's lock reads as any other in terraform's messages. Held
//! while lambda-gitops reads and checks the state and terraform (run with `-lock=false`)
//! plans and applies against it; released once terraform has exited, interrupted or not.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::backend_objects::{ObjectError, S3Home};

/// Appended to the state's key.
pub const SUFFIX: &str = ".tflock";

/// Terraform's lock info (`statemgr.LockInfo`), as it writes it into the lock file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LockInfo {
    #[serde(rename = "ID")]
    pub id: String,
    pub operation: String,
    pub info: String,
    pub who: String,
    pub version: String,
    pub created: String,
    pub path: String,
}

/// A lock this run holds.
#[derive(Debug)]
pub struct StateLock {
    pub id: String,
}

impl StateLock {
    /// Takes the lock of `home`'s state for an apply of `service`; `Ok(None)`: someone
    /// holds it (terraform, run as usual, waits for it).
    pub async fn take(
        home: &S3Home,
        service: &str,
        terraform_version: &str,
    ) -> Result<Option<Self>, ObjectError> {
        let info = LockInfo {
            id: new_id(service),
            operation: "OperationTypeApply".into(),
            info: format!("lambda-gitops apply of {service}"),
            who: who(),
            version: terraform_version.to_owned(),
            created: now(),
            path: home.path(),
        };
        let body = serde_json::to_vec(&info).expect("lock info serializes");
        Ok(home
            .write(SUFFIX, body, true)
            .await?
            .then_some(Self { id: info.id }))
    }

    /// Releases the lock, if it is still this run's (a `force-unlock` and another run's
    /// lock since are left alone).
    pub async fn release(self, home: &S3Home) -> Result<(), ObjectError> {
        let held = home.read(SUFFIX).await?;
        let ours = held
            .and_then(|bytes| serde_json::from_slice::<LockInfo>(&bytes).ok())
            .is_some_and(|info| info.id == self.id);
        if !ours {
            tracing::warn!(
                "the state lock {} was released by someone else while held",
                self.id
            );
            return Ok(());
        }
        home.remove(SUFFIX).await
    }
}

/// A UUID-shaped ID no other lock has: this process, this instant, this service, the
/// how-manieth lock of this run.
fn new_id(service: &str) -> String {
    static TAKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let count = TAKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let digest = Sha256::digest(format!("{}:{nanos}:{count}:{service}", std::process::id()));
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `lambda-gitops@<host>`, as terraform's `user@host`.
fn who() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    format!("lambda-gitops@{host}")
}

/// Now, as terraform writes `Created` (RFC 3339, UTC).
fn now() -> String {
    use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
    DateTime::from(std::time::SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_info_is_written_as_terraform_writes_and_reads_it() {
        let info = LockInfo {
            id: new_id("svc"),
            operation: "OperationTypeApply".into(),
            info: String::new(),
            who: who(),
            version: "1.11.4".into(),
            created: now(),
            path: "b/k".into(),
        };
        let json = serde_json::to_value(&info).unwrap();
        for key in [
            "ID",
            "Operation",
            "Info",
            "Who",
            "Version",
            "Created",
            "Path",
        ] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
        assert_eq!(info.id.len(), 36);
        assert_ne!(new_id("svc"), new_id("svc"));
        assert!(info.created.ends_with('Z'), "{}", info.created);
    }
}
