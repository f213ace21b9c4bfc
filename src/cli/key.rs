//! `git buildkit key generate|export|list`: the OpenPGP keys that sign apt
//! repositories, kept in the key store (see `git_buildkit::sign::KeyStore`).
//!
//! A passphrase never comes from argv (other users see it in `ps`): it is
//! read from `BUILDKIT_KEY_PASSPHRASE`, or from the first line of the file
//! named by `BUILDKIT_KEY_PASSPHRASE_FILE`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use git_buildkit::progress::Listener;
use git_buildkit::sign::{KeyInfo, SigningKey};
use git_buildkit::time;

use super::env::{key_store, passphrase};
use super::error::{failed, usage};
use super::{print_json, CliError, Ui};

/// Manage the OpenPGP keys that sign apt repositories.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Generate a signing key and save it in the key store.
    ///
    /// The key is what both of apt's verifiers accept (gpgv in Debian 12,
    /// sqv in Debian 13): OpenPGP v4, Ed25519, SHA-512 signatures, a
    /// certification-only primary key with a signing subkey. It becomes the
    /// default key unless --no-default is given and the store already has
    /// one. Its fingerprint is printed on stdout.
    ///
    /// When BUILDKIT_KEY_PASSPHRASE is set, or BUILDKIT_KEY_PASSPHRASE_FILE
    /// names a file (its first line is the passphrase), the secret key is
    /// encrypted with it, and signing then needs the same variable.
    #[command(after_help = "Examples:
  git buildkit key generate --name 'Example Archive' --email apt@example.org
  BUILDKIT_KEY_PASSPHRASE_FILE=~/.config/apt-passphrase \\
      git buildkit key generate --name 'Example Archive' --email apt@example.org --expires 730")]
    Generate {
        /// The name in the key's user ID, e.g. the archive's name.
        #[arg(long)]
        name: String,
        /// The email address in the key's user ID.
        #[arg(long)]
        email: String,
        /// Make the key expire after DAYS days (default: never).
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
        expires: Option<u32>,
        /// Keep the current default key (a first key still becomes the default).
        #[arg(long)]
        no_default: bool,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Print or write the public key, for apt's `signed-by`.
    ///
    /// The key is the default key, or the one named by its fingerprint (or
    /// the fingerprint's last 8 or more hex digits). Binary, the format of
    /// /usr/share/keyrings/*.gpg, is the default when FILE ends in .gpg;
    /// armored text otherwise. Binary data is not written to a terminal.
    /// No passphrase is needed.
    #[command(after_help = "Examples:
  git buildkit key export -o example-archive-keyring.gpg
  git buildkit key export --armor 5FF13235 > example-archive.asc")]
    Export {
        /// The key's fingerprint or its last 8+ hex digits (default: the default key).
        #[arg(value_name = "FPR")]
        key: Option<String>,
        /// Write ASCII-armored text.
        #[arg(long, conflicts_with = "binary")]
        armor: bool,
        /// Write a binary key.
        #[arg(long)]
        binary: bool,
        /// Write to FILE instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArg,
    },
    /// List the keys of the key store.
    ///
    /// One line per key: fingerprint, user ID, creation date, expiry date
    /// if any, and `default` on the key used when none is named.
    #[command(after_help = "Examples:
  git buildkit key list
  git buildkit key list --json | jq -r '.[] | select(.is_default) | .fingerprint'")]
    List {
        /// Print a JSON array (fingerprint, user_id, created and expires in
        /// Unix seconds, protected, is_default, path).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArg,
    },
}

/// Where the keys are.
#[derive(Debug, clap::Args)]
pub struct StoreArg {
    /// The key store directory (default: $XDG_DATA_HOME/git-buildkit/keys,
    /// or ~/.local/share/git-buildkit/keys).
    #[arg(long, value_name = "DIR", env = "BUILDKIT_KEY_STORE")]
    pub store: Option<PathBuf>,
}

/// Runs the command.
pub fn run(ui: &Ui, command: Command) -> Result<(), CliError> {
    match command {
        Command::Generate {
            name,
            email,
            expires,
            no_default,
            store,
        } => generate(ui, &name, &email, expires, !no_default, store),
        Command::Export {
            key,
            armor,
            binary,
            output,
            store,
        } => {
            let binary = wants_binary(armor, binary, output.as_deref());
            export(ui, key.as_deref(), binary, output, store)
        }
        Command::List { json, store } => list(ui, json, store),
    }
}

fn generate(
    ui: &Ui,
    name: &str,
    email: &str,
    expires_days: Option<u32>,
    make_default: bool,
    store: StoreArg,
) -> Result<(), CliError> {
    let store = key_store(store.store)?;
    let passphrase = passphrase()?;
    let validity = expires_days.map(|days| Duration::from_secs(u64::from(days) * 86_400));
    let key = SigningKey::generate(name, email, validity)?;
    ui.status(
        "Generated",
        &format!("Ed25519 signing key for {}", key.user_id()),
    );
    let path = if make_default {
        store.save_as_default(&key, passphrase.as_deref())
    } else {
        store.save(&key, passphrase.as_deref())
    }?;
    ui.status("Saved", &path.display().to_string());
    if passphrase.is_some() {
        ui.note("the secret key is encrypted with the passphrase");
    }
    let fingerprint = key.fingerprint();
    let default = store.default_fingerprint()?;
    let export = if default.as_deref() == Some(fingerprint.as_str()) {
        ui.note("it is the default signing key");
        "git buildkit key export".to_owned()
    } else {
        format!(
            "git buildkit key export {}",
            &fingerprint[fingerprint.len() - 8..]
        )
    };
    ui.note(&format!(
        "give apt users its public key: `{export} -o NAME-archive-keyring.gpg`"
    ));
    ui.out(&fingerprint);
    Ok(())
}

fn export(
    ui: &Ui,
    key: Option<&str>,
    binary: bool,
    output: Option<PathBuf>,
    store: StoreArg,
) -> Result<(), CliError> {
    let store = key_store(store.store)?;
    let public = store.public_key(key)?;
    let bytes = if binary {
        public.to_binary()
    } else {
        public.to_armored()
    }?;
    match output {
        Some(path) => {
            std::fs::write(&path, &bytes).map_err(|e| {
                failed(anyhow::Error::new(e).context(format!("could not write {}", path.display())))
            })?;
            ui.status(
                "Exported",
                &format!("{} to {}", public.fingerprint(), path.display()),
            );
        }
        None if binary => {
            let mut stdout = std::io::stdout().lock();
            if stdout.is_terminal() {
                return Err(usage(anyhow::anyhow!(
                    "refusing to write a binary key to a terminal"
                ))
                .hint("add --armor, write to a file with -o FILE, or redirect stdout"));
            }
            match stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
                // A closed pipe (`| head`) is not an error, as in `Ui::out`.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(failed(
                        anyhow::Error::new(e).context("could not write to stdout"),
                    ));
                }
                _ => {}
            }
        }
        None => {
            for line in String::from_utf8_lossy(&bytes).lines() {
                ui.out(line);
            }
        }
    }
    Ok(())
}

fn list(ui: &Ui, json: bool, store: StoreArg) -> Result<(), CliError> {
    let store = key_store(store.store)?;
    let keys = store.list()?;
    if json {
        return print_json(ui, &keys);
    }
    if keys.is_empty() {
        ui.note(&format!(
            "no keys in {}; create one with `git buildkit key generate --name NAME --email EMAIL`",
            store.dir().display()
        ));
    }
    let now = git_buildkit::time::unix_now();
    for key in &keys {
        ui.out(&list_line(key, now));
    }
    Ok(())
}

/// `FPR  USER-ID  created YYYY-MM-DD[  expires|expired YYYY-MM-DD][  default]`.
fn list_line(key: &KeyInfo, now: u64) -> String {
    let mut line = format!(
        "{}  {}  created {}",
        key.fingerprint,
        key.user_id,
        ymd(key.created)
    );
    if let Some(expires) = key.expires {
        let verb = if expires <= now { "expired" } else { "expires" };
        line.push_str(&format!("  {verb} {}", ymd(expires)));
    }
    if key.is_default {
        line.push_str("  default");
    }
    line
}

fn ymd(unix: u64) -> String {
    time::ymd(time::signed(unix))
}

/// Binary when asked, or when the output file is named `*.gpg` and armor
/// was not asked for.
fn wants_binary(armor: bool, binary: bool, output: Option<&Path>) -> bool {
    binary || (!armor && output.is_some_and(|p| p.extension().is_some_and(|e| e == "gpg")))
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn info(expires: Option<u64>, is_default: bool) -> KeyInfo {
        KeyInfo {
            fingerprint: "3E14AA5130D6AAB1D4FF2C9B89E54BE81908288F".to_owned(),
            user_id: "Example Archive <apt@example.org>".to_owned(),
            created: 1_704_067_200, // 2024-01-01
            expires,
            protected: false,
            is_default,
            path: PathBuf::from("/keys/3E14AA5130D6AAB1D4FF2C9B89E54BE81908288F.key"),
        }
    }

    #[test]
    fn list_lines() {
        let now = 1_735_689_600; // 2025-01-01
        let fpr = "3E14AA5130D6AAB1D4FF2C9B89E54BE81908288F";
        let uid = "Example Archive <apt@example.org>";
        assert_eq!(
            list_line(&info(None, true), now),
            format!("{fpr}  {uid}  created 2024-01-01  default")
        );
        assert_eq!(
            list_line(&info(Some(1_767_225_600), false), now),
            format!("{fpr}  {uid}  created 2024-01-01  expires 2026-01-01")
        );
        assert_eq!(
            list_line(&info(Some(1_719_792_000), false), now),
            format!("{fpr}  {uid}  created 2024-01-01  expired 2024-07-01")
        );
    }

    #[test]
    fn binary_by_flag_or_by_gpg_file_name() {
        let gpg = Some(Path::new("out/archive-keyring.gpg"));
        let asc = Some(Path::new("archive.asc"));
        let cases = [
            ((false, false, None), false),
            ((false, false, gpg), true),
            ((false, false, asc), false),
            ((true, false, gpg), false),
            ((false, true, None), true),
            ((false, true, asc), true),
        ];
        for ((armor, binary, output), want) in cases {
            assert_eq!(
                wants_binary(armor, binary, output),
                want,
                "{armor} {binary} {output:?}"
            );
        }
    }
}
