//! Walking a container's files without following its symlinks out of it.
//!
//! A path under `/proc/<pid>/root` or an overlay upper directory is resolved by the kernel
//! from the helper's root: a symlink the container planted (or swapped in while the walk
//! runs) would lead the helper into its own or the host's files. So every step goes through
//! an open directory: `/proc/self/fd/<dirfd>/<name>` with `O_NOFOLLOW` resolves `name` inside
//! that very directory and never follows it when it is a symlink.

use std::ffi::{CString, OsStr, OsString};
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Component, Path, PathBuf};

/// An open directory.
#[derive(Debug)]
pub struct DirFd(File);

impl DirFd {
    /// Open `path` as a directory (following it: it is the helper's own choice, not the
    /// container's).
    pub fn open(path: &Path) -> io::Result<DirFd> {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path)
            .map(DirFd)
    }

    /// Open `inner` (an absolute path in another root, like an overlay upper directory in the
    /// host's mount namespace) inside `root` (`/proc/1/root`): its symlinks resolve inside
    /// `root` (openat2 `RESOLVE_IN_ROOT`, Linux 5.6); on older kernels, `root` + `inner`.
    pub fn open_in_root(root: &Path, inner: &str) -> io::Result<DirFd> {
        let base = DirFd::open(root)?;
        let rel = CString::new(inner.trim_start_matches('/'))
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        #[repr(C)]
        struct OpenHow {
            flags: u64,
            mode: u64,
            resolve: u64,
        }
        let how = OpenHow {
            flags: (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
            mode: 0,
            resolve: libc::RESOLVE_IN_ROOT,
        };
        // SAFETY: openat2 reads the NUL-terminated `rel` and `how` (whose layout is the
        // kernel's struct open_how, size passed alongside) during the call only; a
        // non-negative result is a new descriptor we own.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                base.0.as_raw_fd(),
                rel.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            let fd = i32::try_from(fd).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
            // SAFETY: `fd` was just returned by openat2 and nothing else owns it.
            return Ok(DirFd(File::from(unsafe { OwnedFd::from_raw_fd(fd) })));
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ENOSYS) {
            return DirFd::open(&root.join(inner.trim_start_matches('/')));
        }
        Err(err)
    }

    fn child(&self, name: &OsStr) -> PathBuf {
        let mut p = PathBuf::from(format!("/proc/self/fd/{}", self.0.as_raw_fd()));
        p.push(name);
        p
    }

    pub fn metadata(&self) -> io::Result<Metadata> {
        self.0.metadata()
    }

    /// The names in the directory, sorted.
    pub fn list(&self) -> io::Result<Vec<OsString>> {
        let mut names: Vec<OsString> = std::fs::read_dir(self.child(OsStr::new("")))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        Ok(names)
    }

    /// lstat of a name in the directory.
    pub fn lstat(&self, name: &OsStr) -> io::Result<Metadata> {
        std::fs::symlink_metadata(self.child(name))
    }

    pub fn open_dir(&self, name: &OsStr) -> io::Result<DirFd> {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(self.child(name))
            .map(DirFd)
    }

    /// A regular file (never blocking on a FIFO swapped in; anything else is refused).
    pub fn open_file(&self, name: &OsStr) -> io::Result<File> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
            .open(self.child(name))?;
        if !f.metadata()?.is_file() {
            return Err(io::Error::other("not a regular file any more"));
        }
        Ok(f)
    }

    pub fn read_link(&self, name: &OsStr) -> io::Result<PathBuf> {
        std::fs::read_link(self.child(name))
    }

    /// The regular file at `rel` (relative, plain names) below this directory, each
    /// directory on the way opened without following symlinks.
    pub fn open_beneath(&self, rel: &Path) -> io::Result<File> {
        let names: Vec<&OsStr> = rel
            .components()
            .map(|c| match c {
                Component::Normal(n) => Ok(n),
                _ => Err(io::Error::from(io::ErrorKind::InvalidInput)),
            })
            .collect::<io::Result<_>>()?;
        let Some((last, dirs)) = names.split_last() else {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        };
        let mut held: Option<DirFd> = None;
        for d in dirs {
            let next = held.as_ref().unwrap_or(self).open_dir(d)?;
            held = Some(next);
        }
        held.as_ref().unwrap_or(self).open_file(last)
    }
}

/// A name as bytes for messages and archive paths.
pub fn lossy(p: &Path) -> String {
    String::from_utf8_lossy(p.as_os_str().as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_never_followed() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "host file").unwrap();
        std::fs::create_dir(t.path().join("d")).unwrap();
        std::fs::write(t.path().join("d/f"), "inside").unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), t.path().join("d/l")).unwrap();

        let root = DirFd::open(t.path()).unwrap();
        assert_eq!(root.list().unwrap(), ["d", "link"]);
        assert!(
            root.lstat(OsStr::new("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(root.open_dir(OsStr::new("link")).is_err());
        let d = root.open_dir(OsStr::new("d")).unwrap();
        assert!(d.open_file(OsStr::new("l")).is_err());
        assert_eq!(
            d.read_link(OsStr::new("l")).unwrap(),
            outside.path().join("secret")
        );
        let mut s = String::new();
        io::Read::read_to_string(&mut root.open_beneath(Path::new("d/f")).unwrap(), &mut s)
            .unwrap();
        assert_eq!(s, "inside");
        assert!(root.open_beneath(Path::new("link/secret")).is_err());
        assert!(root.open_beneath(Path::new("../x")).is_err());
    }

    #[test]
    fn absolute_symlinks_resolve_inside_the_other_root() {
        let host = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(host.path().join("data/upper")).unwrap();
        std::fs::create_dir_all(host.path().join("var/lib")).unwrap();
        // /var/lib/containerd -> /data in the "host" root, not in ours.
        std::os::unix::fs::symlink("/data", host.path().join("var/lib/containerd")).unwrap();
        let d = DirFd::open_in_root(host.path(), "/var/lib/containerd/upper").unwrap();
        use std::os::unix::fs::MetadataExt as _;
        assert_eq!(
            d.metadata().unwrap().ino(),
            std::fs::metadata(host.path().join("data/upper"))
                .unwrap()
                .ino()
        );
    }
}
