//! The repository's promises under test (issue 9, items 9, 10 and 12):
//! what `repo add` reported is on the disk before it returns (seen with
//! strace), a truncated pool file is restored by re-adding the identical
//! .deb, by-hash files stay for the whole grace period after the publish
//! that superseded them, and concurrent first publishes all land.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use pretty_assertions::assert_eq;
use sha2::Digest;

use super::{clean_update, Fixture};
use crate::common::{tree_listing, Sandbox};

/// One completed system call of interest, from `strace -f -y`.
#[derive(Debug)]
enum Call {
    /// fsync/fdatasync of the file an fd names.
    Sync(PathBuf),
    /// A name created (open with O_CREAT, mkdir, link, symlink, rename's target).
    Create(PathBuf),
    /// rename(from, to).
    Rename(PathBuf, PathBuf),
}

/// The quoted arguments of a traced call, in order.
fn quoted(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    out
}

/// Parses a trace written with `-f -y -s 4096 -o`: `PID call(args) = result`,
/// with calls of several threads split into `<unfinished ...>` and
/// `<... call resumed>` (a call counts where it completes).
fn parse_trace(text: &str) -> Vec<Call> {
    let mut pending: HashMap<String, String> = HashMap::new();
    let mut calls = Vec::new();
    for line in text.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let whole = if let Some(tail) = rest.strip_prefix("<... ") {
            let Some(start) = pending.remove(pid) else {
                continue;
            };
            let tail = tail.split_once("resumed>").map_or("", |(_, t)| t);
            format!("{start}{tail}")
        } else if let Some(start) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid.to_owned(), start.to_owned());
            continue;
        } else {
            rest.to_owned()
        };
        let Some((name, args)) = whole.split_once('(') else {
            continue;
        };
        let Some((args, result)) = args.rsplit_once(" = ") else {
            continue;
        };
        let Some(args) = args.trim_end().strip_suffix(')') else {
            continue;
        };
        if result.starts_with('-') {
            continue; // failed
        }
        let q = quoted(args);
        let path = |i: usize| q.get(i).map(PathBuf::from);
        let call = match name {
            "fsync" | "fdatasync" => args
                .split_once('<')
                .and_then(|(_, p)| p.rsplit_once('>'))
                .map(|(p, _)| Call::Sync(PathBuf::from(p))),
            "rename" | "renameat" | "renameat2" => match (path(0), path(1)) {
                (Some(from), Some(to)) => Some(Call::Rename(from, to)),
                _ => None,
            },
            "mkdir" | "mkdirat" => path(0).map(Call::Create),
            "link" | "linkat" | "symlink" | "symlinkat" => path(1).map(Call::Create),
            "open" | "openat" if args.contains("O_CREAT") => path(0).map(Call::Create),
            _ => None,
        };
        calls.extend(call);
    }
    calls
}

#[test]
fn add_syncs_pool_generation_and_switch_before_it_returns() {
    let fx = Fixture::new(&[]);
    let first = fx.deb("first", "1", "amd64");
    fx.bk(&["repo", "add", fx.repo_arg(), first.to_str().expect("utf8")])
        .ok();
    let root = std::fs::canonicalize(&fx.repo).expect("canonical");
    let deb = fx.deb("durable", "1.0-1", "amd64");
    let before = tree_listing(&root);
    let trace = fx.sb.path("trace.txt");
    let run = fx.sb.run(
        &fx.sb.path(""),
        "strace",
        &[
            "-f",
            "-y",
            "-qq",
            "-s",
            "4096",
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2,mkdir,mkdirat,link,linkat,symlink,symlinkat,open,openat",
            "-o",
            trace.to_str().expect("utf8"),
            "-E",
            &format!("BUILDKIT_KEY_STORE={}", fx.store.display()),
            Sandbox::bk_path().to_str().expect("utf8"),
            "-q",
            "repo",
            "add",
            root.to_str().expect("utf8"),
            deb.to_str().expect("utf8"),
        ],
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "added durable=1.0-1\n"),
        "{}",
        run.stderr
    );
    let calls = parse_trace(&std::fs::read_to_string(&trace).expect("trace"));

    let dists = root.join("dists");
    let switches: Vec<usize> = (0..calls.len())
        .filter(|&i| matches!(&calls[i], Call::Rename(_, to) if *to == dists))
        .collect();
    assert_eq!(switches.len(), 1, "one rename publishes: {calls:#?}");
    let switch = switches[0];
    let synced_after = |path: &Path, from: usize, to: usize| {
        calls[from..to]
            .iter()
            .any(|c| matches!(c, Call::Sync(p) if p == path))
    };
    // The switch itself is durable before `repo add` returns.
    assert!(
        synced_after(&root, switch, calls.len()),
        "the repository directory is not synced after the switch"
    );

    // Data: every file synced before the switch, under its name or under a
    // temporary name renamed to it, or another name of the same inode.
    let mut data_synced: BTreeSet<PathBuf> = BTreeSet::new();
    for call in &calls[..switch] {
        match call {
            Call::Sync(p) => {
                data_synced.insert(p.clone());
            }
            Call::Rename(from, to) if data_synced.contains(from) => {
                data_synced.insert(to.clone());
            }
            _ => {}
        }
    }
    let inodes: BTreeSet<(u64, u64)> = data_synced
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(p).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let after = tree_listing(&root);
    let old: BTreeSet<_> = before.iter().collect();
    let changed: Vec<&(String, String, Vec<u8>)> = after
        .iter()
        // The lock, and the segment cache: a cache, written unsynced on
        // purpose (its checksum turns a torn one into an empty one).
        .filter(|entry| {
            !old.contains(entry)
                && !entry.0.ends_with("lock")
                && !entry.0.ends_with("segments.cache")
        })
        .collect();
    let mut problems = Vec::new();
    for (rel, kind, _) in &changed {
        let path = root.join(rel);
        if kind.starts_with("file") {
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            if !inodes.contains(&(meta.dev(), meta.ino())) {
                problems.push(format!("{rel}: data not synced before the switch"));
            }
        }
        // Its name: the directory is synced after the name was last created.
        let created = calls[..=switch].iter().rposition(|c| match c {
            Call::Create(p) | Call::Rename(_, p) => *p == path,
            Call::Sync(_) => false,
        });
        let dir = path.parent().expect("parent");
        let end = if path == dists { calls.len() } else { switch };
        match created {
            Some(at) if synced_after(dir, at + 1, end) => {}
            Some(_) => problems.push(format!("{rel}: directory not synced after its creation")),
            None if kind.starts_with("file") && old.iter().any(|(p, _, _)| p == rel) => {
                problems.push(format!("{rel}: changed in place, not replaced"))
            }
            None => problems.push(format!("{rel}: creation not seen in the trace")),
        }
    }
    assert!(
        changed
            .iter()
            .any(|(rel, _, _)| rel == "pool/main/d/durable/durable_1.0-1_amd64.deb"),
        "{changed:#?}"
    );
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn a_truncated_pool_file_is_restored_by_re_adding_the_identical_deb() {
    let fx = Fixture::new(&[]);
    let deb = fx.deb("sturdy", "1.0-1", "amd64");
    let deb_arg = deb.to_str().expect("utf8");
    fx.bk(&["repo", "add", fx.repo_arg(), deb_arg]).ok();
    let bytes = std::fs::read(&deb).expect("deb");
    let rel = "pool/main/s/sturdy/sturdy_1.0-1_amd64.deb";
    let pool = fx.repo.join(rel);
    // What a power loss between writing and syncing would leave.
    std::fs::write(&pool, &bytes[..bytes.len() / 2]).expect("truncate");
    let verify = fx.bk(&["repo", "verify", fx.repo_arg()]);
    assert_eq!(
        (verify.code, verify.stdout, verify.stderr),
        (
            1,
            format!("{rel}: size or SHA256 differs from its Packages entry\n"),
            format!("error: 1 problem(s) found in {}\nhint: a damaged pool file is restored by `git buildkit repo add` of the identical .deb; `git buildkit repo verify --repair` rebuilds the index and republishes\n", fx.repo.display())
        )
    );
    let run = fx.bk(&["repo", "add", fx.repo_arg(), deb_arg]).ok();
    assert_eq!(run.stdout, "restored sturdy=1.0-1\n");
    assert!(
        std::fs::read(&pool).expect("pool") == bytes,
        "pool file not restored"
    );
    fx.bk(&["repo", "verify", fx.repo_arg()]).ok();
    fx.bk(&["repo", "verify", fx.repo_arg(), "--repair"]).ok();

    // A truncated copy that no index lists (an add cut short by a power
    // loss before it published) does not block adding the package.
    let other = fx.deb("later", "2.0-1", "amd64");
    let other_bytes = std::fs::read(&other).expect("deb");
    let left = fx.repo.join("pool/main/l/later/later_2.0-1_amd64.deb");
    std::fs::create_dir_all(left.parent().expect("dir")).expect("mkdir");
    std::fs::write(&left, &other_bytes[..100]).expect("leftover");
    let run = fx
        .bk(&["repo", "add", fx.repo_arg(), other.to_str().expect("utf8")])
        .ok();
    assert_eq!(run.stdout, "added later=2.0-1\n");
    assert!(std::fs::read(&left).expect("pool") == other_bytes);
    // Other bytes in its place are still refused.
    let third = fx.deb("third", "1", "amd64");
    let place = fx.repo.join("pool/main/t/third/third_1_amd64.deb");
    std::fs::create_dir_all(place.parent().expect("dir")).expect("mkdir");
    std::fs::write(&place, b"something else").expect("foreign");
    let run = fx.bk(&["repo", "add", fx.repo_arg(), third.to_str().expect("utf8")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: pool/main/t/third/third_1_amd64.deb is already in the pool with different contents"),
        "{}",
        run.stderr
    );

    let server = fx.serve();
    clean_update(&fx, &server);
    fx.apt(&server, &["-q", "download", "sturdy=1.0-1"]).ok();
    assert!(
        std::fs::read(fx.sb.path("apt/download/sturdy_1.0-1_amd64.deb")).expect("download")
            == bytes
    );
}

/// The by-hash files (`ALGO/digest` of `main/binary-amd64`) a Release file lists.
fn by_hash_of(release: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut algo = "";
    for line in release.lines() {
        if let Some(rest) = line.strip_prefix(' ') {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            if matches!(algo, "SHA256" | "SHA512") && parts[2].starts_with("main/binary-amd64/") {
                out.insert(format!("{algo}/{}", parts[0]));
            }
        } else {
            algo = line.trim_end_matches(':');
        }
    }
    out
}

fn store_listing(repo: &Path) -> BTreeSet<String> {
    let store = repo.join("by-hash/stable/main/binary-amd64");
    let mut out = BTreeSet::new();
    for algo in ["SHA256", "SHA512"] {
        for entry in std::fs::read_dir(store.join(algo)).expect("store") {
            let name = entry.expect("entry").file_name();
            out.insert(format!("{algo}/{}", name.to_string_lossy()));
        }
    }
    out
}

#[test]
fn by_hash_grace_counts_from_the_publish_that_superseded_a_file() {
    let fx = Fixture::new(&[]);
    let release =
        || std::fs::read_to_string(fx.repo.join("dists/stable/Release")).expect("Release");
    let a = fx.deb("alpha", "1", "amd64");
    fx.bk(&["repo", "add", fx.repo_arg(), a.to_str().expect("utf8")])
        .ok();
    let gen_a = by_hash_of(&release());
    assert_eq!(gen_a.len(), 6, "{gen_a:?}");
    // The repository sits idle for two days: every file is old.
    fx.sb
        .run(
            &fx.repo,
            "sh",
            &["-c", "find . -type f -exec touch -h -d '2 days ago' {} +"],
        )
        .ok();
    let b = fx.deb("beta", "1", "amd64");
    fx.bk(&["repo", "add", fx.repo_arg(), b.to_str().expect("utf8")])
        .ok();
    let gen_b = by_hash_of(&release());
    // A client that read generation A's InRelease just before still gets its indexes.
    for file in &gen_a {
        let served = fx
            .repo
            .join("dists/stable/main/binary-amd64/by-hash")
            .join(file);
        let bytes = std::fs::read(&served)
            .unwrap_or_else(|e| panic!("{file} of the replaced generation is gone: {e}"));
        let (algo, digest) = file.split_once('/').expect("algo");
        let actual = match algo {
            "SHA256" => hex::encode(sha2::Sha256::digest(&bytes)),
            _ => hex::encode(sha2::Sha512::digest(&bytes)),
        };
        assert_eq!(actual, digest);
    }

    // Once the grace period has passed since B replaced A, A's files go
    // and B's stay (they were superseded only now). Grace: 1 s.
    let settings = fx.repo.join(".buildkit/repo.toml");
    let text = std::fs::read_to_string(&settings).expect("settings");
    assert!(text.contains("by-hash-grace = 86400\n"), "{text}");
    std::fs::write(
        &settings,
        text.replace("by-hash-grace = 86400\n", "by-hash-grace = 1\n"),
    )
    .expect("settings");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let c = fx.deb("gamma", "1", "amd64");
    fx.bk(&["repo", "add", fx.repo_arg(), c.to_str().expect("utf8")])
        .ok();
    let gen_c = by_hash_of(&release());
    let want: BTreeSet<String> = gen_b.union(&gen_c).cloned().collect();
    assert_eq!(store_listing(&fx.repo), want);
    fx.bk(&["repo", "verify", fx.repo_arg()]).ok();
}

#[test]
fn concurrent_first_publishes_into_a_new_repository_all_land() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    for (date, version) in [
        ("2026-03-01T10:00:00Z", "1.2.0"),
        ("2026-04-01T10:00:00Z", "1.3.0"),
    ] {
        std::fs::write(repo.join("VERSION-NOTE"), format!("{version}\n")).expect("write");
        sb.commit(&repo, date, &format!("Prepare {version}"));
        sb.tag(&repo, date, &format!("v{version}"));
    }
    sb.generate_key(&repo, "T", "t@example.com");
    let apt = sb.path(".local/share/git-buildkit/repos/hello");
    assert!(!apt.exists());
    let tags = ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"];
    let children: Vec<_> = tags
        .iter()
        .map(|tag| {
            sb.bk_command(&repo, &["-q", "pipeline", tag])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let results: BTreeMap<&str, (i32, String)> = tags
        .iter()
        .zip(children)
        .map(|(tag, child)| {
            let out = child.wait_with_output().expect("wait");
            (
                *tag,
                (
                    out.status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                ),
            )
        })
        .collect();
    let want: BTreeMap<&str, (i32, String)> =
        tags.iter().map(|t| (*t, (0, String::new()))).collect();
    assert_eq!(results, want);
    let list = sb
        .bk(&repo, &["repo", "list", apt.to_str().expect("utf8")])
        .ok()
        .stdout;
    assert_eq!(
        list,
        "stable/main hello 1.3.0-1 all\nstable/main hello 1.2.0-1 all\nstable/main hello 1.1.0-1 all\nstable/main hello 1.0.0-1 all\n"
    );
    sb.bk(&repo, &["repo", "verify", apt.to_str().expect("utf8")])
        .ok();
}
