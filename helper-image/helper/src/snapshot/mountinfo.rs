//! `/proc/<pid>/mountinfo`: the container's mounts, and its root mount's overlay upper
//! directory. Pure parsing.

use super::doc::MountEntry;

/// One line of mountinfo (`36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountLine {
    /// The mounted directory inside its filesystem (field 4).
    pub root: String,
    pub mount_point: String,
    pub fstype: String,
    pub source: String,
    /// Filesystem options (after the source), octal escapes kept.
    pub super_options: String,
}

/// The kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash,
/// `\054` comma in overlay options) undone.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (u32::from(b[i + 1] - b'0') << 6)
                | (u32::from(b[i + 2] - b'0') << 3)
                | u32::from(b[i + 3] - b'0');
            if let Ok(byte) = u8::try_from(v) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_line(line: &str) -> Option<MountLine> {
    let (left, right) = line.split_once(" - ")?;
    let f: Vec<&str> = left.split(' ').collect();
    let r: Vec<&str> = right.split(' ').collect();
    Some(MountLine {
        root: unescape(f.get(3)?),
        mount_point: unescape(f.get(4)?),
        fstype: unescape(r.first()?),
        source: unescape(r.get(1)?),
        super_options: r.get(2).map(|s| s.to_string()).unwrap_or_default(),
    })
}

pub fn parse(text: &str) -> Vec<MountLine> {
    text.lines().filter_map(parse_line).collect()
}

/// The mount at `/` (the last one: a later mount hides an earlier one).
pub fn root_mount(lines: &[MountLine]) -> Option<&MountLine> {
    lines.iter().rev().find(|m| m.mount_point == "/")
}

/// An option's value in the filesystem options (`upperdir=/var/lib/...`), unescaped.
pub fn option(line: &MountLine, key: &str) -> Option<String> {
    line.super_options
        .split(',')
        .find_map(|o| o.strip_prefix(key)?.strip_prefix('='))
        .map(unescape)
}

/// The overlay upper directory holding the root's changes: `upperdir`, joined with the root
/// mount's own root when the container's `/` is a subdirectory of the overlay.
pub fn overlay_upper(lines: &[MountLine]) -> Option<String> {
    let root = root_mount(lines)?;
    if root.fstype != "overlay" {
        return None;
    }
    let upper = option(root, "upperdir")?;
    let sub = root.root.trim_matches('/');
    Some(if sub.is_empty() {
        upper
    } else {
        format!("{}/{sub}", upper.trim_end_matches('/'))
    })
}

pub fn entries(lines: &[MountLine]) -> Vec<MountEntry> {
    lines
        .iter()
        .map(|m| MountEntry {
            destination: m.mount_point.clone(),
            source: m.source.clone(),
            type_: m.fstype.clone(),
            root: m.root.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTAINERD: &str = "\
1203 1011 0:312 / / rw,relatime master:365 - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/41/fs:/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/40/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/52/fs,workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/52/work
1204 1203 0:314 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1210 1203 253:1 /var/lib/kubelet/pods/8a3f/volumes/kubernetes.io~empty-dir/data /data rw,relatime - ext4 /dev/vda1 rw
1211 1203 0:55 / /var/run/secrets/kubernetes.io/serviceaccount ro,relatime - tmpfs tmpfs rw,size=65536k
";

    #[test]
    fn containerd_root_and_mounts() {
        let lines = parse(CONTAINERD);
        assert_eq!(lines.len(), 4);
        assert_eq!(
            overlay_upper(&lines).as_deref(),
            Some("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/52/fs")
        );
        let e = entries(&lines);
        assert_eq!(e[2].destination, "/data");
        assert_eq!(e[2].source, "/dev/vda1");
        assert_eq!(e[2].type_, "ext4");
        assert_eq!(
            e[2].root,
            "/var/lib/kubelet/pods/8a3f/volumes/kubernetes.io~empty-dir/data"
        );
        assert_eq!(e[3].type_, "tmpfs");
    }

    #[test]
    fn escapes_subdirectories_and_non_overlay_roots() {
        let line = r"76 48 0:40 /sub\040dir / rw - overlay overlay rw,lowerdir=/l,upperdir=/tmp/a\054b\040c,workdir=/w";
        let lines = parse(line);
        assert_eq!(lines[0].root, "/sub dir");
        assert_eq!(overlay_upper(&lines).as_deref(), Some("/tmp/a,b c/sub dir"));
        let ext4 = parse("22 1 253:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
        assert_eq!(overlay_upper(&ext4), None);
        // The last mount on / wins.
        let stacked = format!("22 1 253:1 / / rw - ext4 /dev/vda1 rw\n{line}\n");
        assert!(overlay_upper(&parse(&stacked)).is_some());
        assert_eq!(parse_line("garbage"), None);
        assert_eq!(unescape(r"a\134b\0"), r"a\b\0");
    }
}
