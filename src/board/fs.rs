//! Which filesystem a board lives on, because WAL on a network filesystem corrupts boards
//! (Hermes #22032): SQLite's WAL index is shared memory, which NFS, SMB and FUSE mounts do
//! not provide coherently across hosts.

use std::path::{Component, Path, PathBuf};

/// Undo the octal escapes `/proc/self/mounts` uses for spaces, tabs and backslashes.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let digits: String = chars.clone().take(3).collect();
            if digits.len() == 3
                && let Ok(n) = u8::from_str_radix(&digits, 8)
            {
                out.push(char::from(n));
                for _ in 0..3 {
                    chars.next();
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The filesystem type of the mount holding `path`, from a mounts table's text: the
/// longest mount point that is a whole-component prefix of the path.
pub fn fstype_in(mounts: &str, path: &Path) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for line in mounts.lines() {
        let mut fields = line.split(' ');
        let (Some(_dev), Some(mnt), Some(fstype)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let mnt = PathBuf::from(unescape(mnt));
        if path.starts_with(&mnt) {
            let depth = mnt
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .count();
            if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
                best = Some((depth, fstype.to_string()));
            }
        }
    }
    best.map(|(_, t)| t)
}

/// The filesystem type of the board at `path`, where the platform tells (Linux).
pub fn fstype(path: &Path) -> Option<String> {
    let abs = std::fs::canonicalize(path).ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    fstype_in(&mounts, &abs)
}

/// Network and userspace filesystems, on which WAL is unsafe.
pub fn is_network(fstype: &str) -> bool {
    matches!(
        fstype,
        "nfs"
            | "nfs4"
            | "cifs"
            | "smb3"
            | "smbfs"
            | "9p"
            | "ceph"
            | "glusterfs"
            | "afs"
            | "lustre"
            | "fuse"
    ) || fstype.starts_with("fuse.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS: &str = "/dev/sda1 / ext4 rw 0 0\n\
                          server:/export /mnt/boards nfs4 rw 0 0\n\
                          /dev/sdb1 /mnt/boards\\040local ext4 rw 0 0\n\
                          sshfs#me@h: /home/me/remote fuse.sshfs rw 0 0\n";

    #[test]
    fn the_longest_whole_component_mount_wins() {
        assert_eq!(
            fstype_in(MOUNTS, Path::new("/mnt/boards/kanban.db")).as_deref(),
            Some("nfs4")
        );
        assert_eq!(
            fstype_in(MOUNTS, Path::new("/mnt/boards local/kanban.db")).as_deref(),
            Some("ext4")
        );
        assert_eq!(
            fstype_in(MOUNTS, Path::new("/mnt/boardsx/kanban.db")).as_deref(),
            Some("ext4")
        );
        assert_eq!(
            fstype_in(MOUNTS, Path::new("/home/me/remote/k.db")).as_deref(),
            Some("fuse.sshfs")
        );
    }

    #[test]
    fn network_filesystems_are_recognised() {
        assert!(is_network("nfs4") && is_network("fuse.sshfs") && is_network("cifs"));
        assert!(!is_network("ext4") && !is_network("overlay") && !is_network("tmpfs"));
    }
}
