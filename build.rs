//! Embeds the built-in templates (`templates/`) in the binary: each file's
//! path, bytes and executable bit, as a table `src/template/builtin.rs`
//! includes. Files only: a symlink or other special file in `templates/`
//! fails the build (a built-in must generate the same tree everywhere).

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("templates");
    println!("cargo:rerun-if-changed=templates");
    let mut files = Vec::new();
    if root.is_dir() {
        walk(&root, &root, &mut files);
    }
    files.sort();
    let mut table = String::from("&[\n");
    for (rel, abs, executable) in &files {
        println!("cargo:rerun-if-changed={}", abs.display());
        writeln!(
            table,
            "    ({rel:?}, include_bytes!({:?}), {executable}),",
            abs.display().to_string()
        )
        .expect("writing to a String");
    }
    table.push(']');
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("builtin_templates.rs"), table).expect("OUT_DIR is writable");
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf, bool)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("templates/ is readable")
        .map(|e| e.expect("templates/ is readable"))
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).expect("templates/ is readable");
        let rel = path
            .strip_prefix(root)
            .expect("under templates/")
            .to_str()
            .expect("template paths are UTF-8")
            .to_owned();
        if meta.is_dir() {
            walk(root, &path, files);
        } else if meta.is_file() {
            files.push((rel, path, meta.permissions().mode() & 0o111 != 0));
        } else {
            panic!("templates/{rel} is not a regular file or directory");
        }
    }
}
