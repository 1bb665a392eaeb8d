//! The durable-write discipline every file in the data directory follows:
//! write to a temporary name, fsync the file, rename it into place, fsync
//! the directory. A crash at any point leaves either the old state or the
//! new one, plus at most a temporary file that the next open removes.

use std::fs;
use std::io;
use std::path::Path;

/// Makes a rename or a new entry in `dir` survive power loss.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Creates `dir` (mode 0700) if missing, and makes its entry durable.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            // A relative name like "data" has the empty path as parent.
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            sync_dir(parent)?;
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
