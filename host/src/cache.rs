//! The compiled-component cache: compiling a component takes 0.1-1 s, loading
//! the compiled code a millisecond.
//!
//! Loading compiled code (`Component::deserialize`) is `unsafe`: wasmtime
//! runs the machine code in it as is. The invariant this module keeps is
//! that it only deserializes bytes that this host produced with
//! `Engine::precompile_component` for the same component and a compatible
//! engine:
//! - entries live in one directory that must be ours and writable by no one
//!   else (checked before use; otherwise the cache is not used);
//! - an entry is opened without following symlinks and must be a regular file
//!   of ours, writable by no one else;
//! - its name and its header carry the key: a SHA-256 of the component's
//!   bytes and `Engine::precompile_compatibility_hash()` (which covers
//!   wasmtime's exact version, the target, and the engine's settings);
//! - its header carries a SHA-256 of the compiled code, checked on every
//!   load, so a truncated, corrupt or foreign file is ignored and rewritten.
//!
//! Entries are written to a temporary file in the same directory, then
//! renamed into place: concurrent runs see a whole entry or none.

use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::options::CachePolicy;

/// What the host says about the cache when asked to be verbose.
pub type Log<'a> = &'a dyn Fn(&str);

const MAGIC: &[u8] = b"component-host-cwasm-v2\n";
const HEADER_LEN: usize = MAGIC.len() + 32 + 32;
/// No compiled connector comes near this; a bigger file is not ours.
const MAX_ENTRY_BYTES: u64 = 1 << 30;

type Key = [u8; 32];

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The cache a policy asks for; `None` when disabled or when there is no
    /// user cache directory.
    pub fn for_policy(policy: &CachePolicy) -> Option<Self> {
        match policy {
            CachePolicy::Disabled => None,
            CachePolicy::Dir(dir) => Some(Self::new(dir)),
            CachePolicy::UserCacheDir => user_cache_dir().map(Self::new),
        }
    }

    /// The compiled component, from the cache if a valid entry is there,
    /// otherwise compiled now and stored (best effort: a cache that cannot
    /// be used never fails the run).
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        log: Log<'_>,
    ) -> anyhow::Result<Component> {
        let key = key(engine, wasm);
        let path = self.path_of(&key);
        let usable = match check_dir(&self.dir) {
            Ok(()) => true,
            Err(why) => {
                log(&format!("not using the cache: {why}"));
                false
            }
        };
        if usable {
            match load(engine, &key, &path) {
                Ok(Some(component)) => {
                    log(&format!(
                        "loaded the compiled component from {}",
                        path.display()
                    ));
                    return Ok(component);
                }
                Ok(None) => log(&format!("no compiled component at {}", path.display())),
                Err(why) => log(&format!("ignoring {}: {why}", path.display())),
            }
        }
        let artifact = engine
            .precompile_component(wasm)
            .map_err(anyhow::Error::from)
            .context("compiling the component")?;
        // SAFETY: `artifact` was produced just now by this very engine.
        let component = unsafe { Component::deserialize(engine, &artifact) }
            .map_err(anyhow::Error::from)
            .context("loading the compiled component")?;
        if usable {
            match store(&self.dir, &key, &path, &artifact) {
                Ok(()) => log(&format!(
                    "cached the compiled component at {}",
                    path.display()
                )),
                Err(why) => log(&format!("could not cache the compiled component: {why}")),
            }
        }
        Ok(component)
    }

    fn path_of(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}.cwasm", hex(key)))
    }
}

/// `$XDG_CACHE_HOME/component-host`, else `$HOME/.cache/component-host`. Relative
/// values are ignored, as the XDG spec says.
pub fn user_cache_dir() -> Option<PathBuf> {
    let absolute = |name| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("component-host"))
}

/// SHA-256 of the engine's compatibility hash and the component's bytes.
fn key(engine: &Engine, wasm: &[u8]) -> Key {
    let mut hasher = ShaHasher(Sha256::new());
    b"component-host compiled component\0".hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    wasm.hash(&mut hasher);
    hasher.0.finalize().into()
}

/// Feeds a `Hash` value into SHA-256 (std's hashers are 64-bit and not
/// meant to be stable).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates the directory (private) if needed, and refuses one that someone
/// else could write into.
fn check_dir(dir: &Path) -> Result<(), String> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let meta = fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    private(&meta).map_err(|why| format!("the directory {} {why}", dir.display()))
}

/// Owned by this user and writable by no one else.
#[cfg(unix)]
fn private(meta: &fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!("belongs to uid {}, not {me}", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "is writable by others (mode {:o})",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn private(_meta: &fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// `Ok(None)` when there is no entry; `Err` says why an entry is not used.
fn load(engine: &Engine, key: &Key, path: &Path) -> Result<Option<Component>, String> {
    let file = match open_no_follow(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    // The handle's own metadata: what we checked is what we read.
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    private(&meta).map_err(|why| format!("the file {why}"))?;
    if meta.len() > MAX_ENTRY_BYTES {
        return Err(format!("too large ({} bytes)", meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_ENTRY_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    let artifact = verify(key, &bytes)?;
    // SAFETY: `verify` checked that these bytes are what `store` wrote for
    // this key, in a directory and file only this user can write: the output
    // of `precompile_component` by an engine with the same compatibility
    // hash (see the module comment).
    let component = unsafe { Component::deserialize(engine, artifact) }
        .map_err(|e| format!("wasmtime rejected it: {e}"))?;
    Ok(Some(component))
}

/// The compiled code in an entry, if its header matches the key and the code.
fn verify<'a>(key: &Key, bytes: &'a [u8]) -> Result<&'a [u8], String> {
    if bytes.len() < HEADER_LEN || !bytes.starts_with(MAGIC) {
        return Err("not a cache entry of this host".into());
    }
    let (header, artifact) = bytes.split_at(HEADER_LEN);
    let (stored_key, digest) = header[MAGIC.len()..].split_at(32);
    if stored_key != key {
        return Err("the entry is for another component or engine".into());
    }
    if digest != Sha256::digest(artifact).as_slice() {
        return Err("the compiled code does not match its checksum (corrupt)".into());
    }
    Ok(artifact)
}

fn open_no_follow(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let no_follow = rustix::fs::OFlags::NOFOLLOW.bits();
        options.custom_flags(i32::try_from(no_follow).unwrap_or(0));
    }
    options.open(path)
}

fn store(dir: &Path, key: &Key, path: &Path, artifact: &[u8]) -> io::Result<()> {
    // Created with mode 0600, removed if anything below fails.
    let mut file = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".cwasm")
        .tempfile_in(dir)?;
    file.write_all(MAGIC)?;
    file.write_all(key)?;
    file.write_all(&Sha256::digest(artifact))?;
    file.write_all(artifact)?;
    file.flush()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &Key, artifact: &[u8]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(&Sha256::digest(artifact));
        bytes.extend_from_slice(artifact);
        bytes
    }

    #[test]
    fn verify_accepts_only_a_matching_entry() {
        let key = [7u8; 32];
        let good = entry(&key, b"compiled code");
        assert_eq!(verify(&key, &good), Ok(&b"compiled code"[..]));
        assert!(verify(&[8u8; 32], &good).is_err());
        let mut flipped = good.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(verify(&key, &flipped).unwrap_err().contains("corrupt"));
        assert!(verify(&key, &good[..HEADER_LEN - 1]).is_err());
        assert!(verify(&key, b"\x7fELF not ours").is_err());
    }

    #[test]
    fn the_key_depends_on_the_component_and_the_engine() {
        let plain = Engine::default();
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let epochs = Engine::new(&config).expect("engine");
        assert_eq!(key(&plain, b"a"), key(&plain, b"a"));
        assert_ne!(key(&plain, b"a"), key(&plain, b"b"));
        assert_ne!(key(&plain, b"a"), key(&epochs, b"a"));
    }

    #[test]
    fn store_then_load_the_raw_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache_dir = dir.path().join("cache");
        check_dir(&cache_dir).expect("dir");
        let key = [1u8; 32];
        let path = cache_dir.join("x.cwasm");
        store(&cache_dir, &key, &path, b"code").expect("store");
        let bytes = fs::read(&path).expect("read");
        assert_eq!(verify(&key, &bytes), Ok(&b"code"[..]));
        // Only the entry is left: the temporary file was renamed.
        assert_eq!(fs::read_dir(&cache_dir).expect("ls").count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_directory_others_can_write() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
        let error = check_dir(dir.path()).expect_err("world-writable");
        assert!(error.contains("writable by others"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn does_not_follow_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target");
        fs::write(&target, b"x").expect("write");
        let link = dir.path().join("link.cwasm");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(open_no_follow(&link).is_err());
    }
}
