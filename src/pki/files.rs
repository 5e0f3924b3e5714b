//! Where the PKI lives on disk and how it is written there. Every file is written whole
//! to a temporary sibling and renamed into place, so a crash never leaves half a key or a
//! truncated kubeconfig; private keys and the kubeconfig are 0600, the directory 0700.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::PkiError;

/// Mode of private keys and of the admin kubeconfig (which embeds a key).
pub(super) const PRIVATE: u32 = 0o600;
/// Mode of certificates, which are public.
pub(super) const PUBLIC: u32 = 0o644;

/// The certificate and key file of one identity, e.g. `pki/ca.crt` and `pki/ca.key`.
#[derive(Debug, Clone)]
pub(super) struct PairPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The PKI's files under a data directory.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub pki_dir: PathBuf,
    pub ca: PairPaths,
    pub serving: PairPaths,
    pub peer: PairPaths,
    pub admin: PairPaths,
    pub kubeconfig: PathBuf,
}

impl Layout {
    pub fn new(data_dir: &Path) -> Layout {
        let pki_dir = data_dir.join("pki");
        let pair = |stem: &str| PairPaths {
            cert: pki_dir.join(format!("{stem}.crt")),
            key: pki_dir.join(format!("{stem}.key")),
        };
        Layout {
            ca: pair("ca"),
            serving: pair("apiserver"),
            peer: pair("peer"),
            admin: pair("admin"),
            kubeconfig: data_dir.join("admin.kubeconfig"),
            pki_dir,
        }
    }
}

/// Creates `dir` (and its parents) if needed and makes it private to the owner.
pub(super) fn ensure_private_dir(dir: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(dir).map_err(|e| PkiError::io(dir, e))?;
    fs::set_permissions(dir, Permissions::from_mode(0o700)).map_err(|e| PkiError::io(dir, e))
}

/// Reads a text file, or `None` when it does not exist.
pub(super) fn read_optional(path: &Path) -> Result<Option<String>, PkiError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PkiError::io(path, e)),
    }
}

/// Reads a private key file, first narrowing its mode to 0600 if it was readable by others.
pub(super) fn read_private(path: &Path) -> Result<Option<String>, PkiError> {
    match fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            tracing::warn!(path = %path.display(), "private key was readable by others; setting mode 0600");
            fs::set_permissions(path, Permissions::from_mode(PRIVATE))
                .map_err(|e| PkiError::io(path, e))?;
        }
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PkiError::io(path, e)),
    }
    read_optional(path)
}

/// Replaces `path` with `contents` atomically: write a temporary sibling with `mode`,
/// flush it to disk, rename it over `path`, then flush the directory entry.
pub(super) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = write_synced(&tmp, contents, mode).and_then(|()| {
        fs::rename(&tmp, path).map_err(|e| PkiError::io(path, e))?;
        sync_dir(dir)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_synced(tmp: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    let io = |e| PkiError::io(tmp, e);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(tmp)
        .map_err(io)?;
    // A stale temporary file keeps its old mode through open(); set it explicitly.
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}

fn sync_dir(dir: &Path) -> Result<(), PkiError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| PkiError::io(dir, e))
}
