//! Serving a repository in production: the nginx server block and the
//! Apache virtual host that `git buildkit repo serve-config` prints, made
//! from the snippets in `templates/` with the repository's path filled in.
//!
//! What the snippets get right, and why (their comments say it again for
//! the reader of the configuration):
//! - only `dists/`, `pool/` and the public key are served; `.buildkit/`
//!   (settings, the lock, caches), `generations/`, the `by-hash/` store and
//!   any dot file answer 404, and no directory is listed;
//! - `dists` is a symlink to the current generation, so symlinks are
//!   followed (nginx does by default; Apache needs `FollowSymLinks`);
//! - InRelease, Release, Release.gpg and the named indexes are `no-cache`
//!   (they change with each publish and must match each other), by-hash
//!   files are immutable for a year (their name is their hash), and pool
//!   files are immutable for the repository's grace period: a published
//!   name never holds other bytes, and a removed .deb's name is free again
//!   only once its grace period is over (see `grace.rs`).
//!
//! The values reach a configuration language, so each is checked before it
//! is written: a path or name that would need quoting rules of nginx's or
//! Apache's is refused, never escaped.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::template::{render, TemplateError, Vars};

/// The nginx snippet (a tera template; a file at the top of `templates/`,
/// which the template listing does not count as a project template).
const NGINX: &str = include_str!("../../templates/serving-nginx.conf");
/// The Apache snippet.
const APACHE: &str = include_str!("../../templates/serving-apache.conf");

/// A web server a configuration is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebServer {
    /// nginx: a `server { }` block.
    Nginx,
    /// Apache httpd 2.4: a `<VirtualHost>`.
    Apache,
}

impl WebServer {
    /// Every web server there is a snippet for.
    pub const ALL: [WebServer; 2] = [WebServer::Nginx, WebServer::Apache];

    /// The name a user types.
    pub fn name(self) -> &'static str {
        match self {
            WebServer::Nginx => "nginx",
            WebServer::Apache => "apache",
        }
    }

    /// The snippet's file name under `templates/`.
    pub fn snippet_name(self) -> &'static str {
        match self {
            WebServer::Nginx => "serving-nginx.conf",
            WebServer::Apache => "serving-apache.conf",
        }
    }

    fn snippet(self) -> &'static str {
        match self {
            WebServer::Nginx => NGINX,
            WebServer::Apache => APACHE,
        }
    }
}

/// Where the server listens: a port on every address, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Every address, this port.
    Port(u16),
    /// This address and port.
    Addr(SocketAddr),
}

impl Listen {
    /// How `server` writes it: nginx takes `80` or `127.0.0.1:80`; an
    /// Apache virtual host needs an address, `*` for every one.
    fn for_server(self, server: WebServer) -> String {
        match (self, server) {
            (Listen::Port(port), WebServer::Nginx) => port.to_string(),
            (Listen::Port(port), WebServer::Apache) => format!("*:{port}"),
            (Listen::Addr(addr), _) => addr.to_string(),
        }
    }
}

impl FromStr for Listen {
    type Err = ServingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ServingError::BadListen {
            text: text.to_owned(),
        };
        // Port 0 means "any free port" to a socket, which a configuration
        // file cannot mean.
        let listen = match text.parse::<u16>() {
            Ok(port) => Listen::Port(port),
            Err(_) => Listen::Addr(text.parse::<SocketAddr>().map_err(|_| bad())?),
        };
        let port = match listen {
            Listen::Port(port) => port,
            Listen::Addr(addr) => addr.port(),
        };
        if port == 0 {
            return Err(bad());
        }
        Ok(listen)
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Port(port) => write!(f, "{port}"),
            Listen::Addr(addr) => write!(f, "{addr}"),
        }
    }
}

/// A host name for `server_name`/`ServerName`: DNS labels (RFC 1123:
/// letters, digits and inner hyphens, 1–63 each, 253 in all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerName(String);

impl FromStr for ServerName {
    type Err = ServingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let label_ok = |label: &str| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if text.len() > 253 || !text.split('.').all(label_ok) {
            return Err(ServingError::BadServerName {
                text: text.to_owned(),
            });
        }
        Ok(ServerName(text.to_owned()))
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What to make a configuration for.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The web server.
    pub server: WebServer,
    /// The repository directory (made absolute and canonical).
    pub root: PathBuf,
    /// Where to listen.
    pub listen: Listen,
    /// The host name clients use, if the server should answer only it.
    pub server_name: Option<ServerName>,
    /// How long a cache may keep a pool file: the repository's grace period.
    pub pool_max_age: u64,
}

/// What went wrong making a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ServingError {
    /// `--listen` is neither a port nor an address with a port.
    #[error(
        "{text:?} is not a port (1-65535) or an address with a port (127.0.0.1:8080, [::1]:8080)"
    )]
    BadListen {
        /// What was given.
        text: String,
    },
    /// `--server-name` is not a host name.
    #[error("{text:?} is not a host name (letters, digits, hyphens and dots)")]
    BadServerName {
        /// What was given.
        text: String,
    },
    /// The repository's path could not be made canonical.
    #[error("could not resolve {}", .path.display())]
    Resolve {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The repository's path holds a character a configuration would
    /// read as syntax (`$` is an nginx variable, `*` an Apache wildcard).
    #[error("{} cannot be written into a web server's configuration: it contains {}", .path.display(), .found)]
    Unquotable {
        /// The path.
        path: PathBuf,
        /// What it contains, described.
        found: String,
    },
    /// The snippet did not render.
    #[error("could not render {snippet}")]
    Render {
        /// The snippet's name.
        snippet: &'static str,
        /// tera's error.
        #[source]
        source: TemplateError,
    },
}

/// Characters refused in a path: quoting (`"`, `\`), variables (`$` in
/// both servers: nginx's `$var`, Apache's `${VAR}`) and the wildcards of
/// Apache's `<Directory>` (`*`, `?`, `[`, `]`).
const SYNTAX: &[char] = &['"', '\\', '$', '*', '?', '[', ']'];

/// The repository's path as a configuration may hold it: absolute,
/// canonical (symlinks resolved), UTF-8 and free of [`SYNTAX`] and
/// control characters.
pub fn config_root(path: &Path) -> Result<PathBuf, ServingError> {
    let root = std::fs::canonicalize(path).map_err(|source| ServingError::Resolve {
        path: path.to_owned(),
        source,
    })?;
    let unquotable = |found: String| ServingError::Unquotable {
        path: root.clone(),
        found,
    };
    let Some(text) = root.to_str() else {
        return Err(unquotable("bytes that are not UTF-8".into()));
    };
    if let Some(c) = text.chars().find(|c| c.is_control() || SYNTAX.contains(c)) {
        return Err(unquotable(format!("{c:?}")));
    }
    Ok(root)
}

/// The configuration text for `config`.
pub fn serve_config(config: &ServeConfig) -> Result<String, ServingError> {
    let ServeConfig {
        server,
        root,
        listen,
        server_name,
        pool_max_age,
    } = config;
    let vars: Vars = [
        ("root", root.display().to_string()),
        ("listen", listen.for_server(*server)),
        (
            "server_name",
            server_name
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        ("pool_max_age", pool_max_age.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    render(server.snippet_name(), server.snippet(), &vars).map_err(|source| ServingError::Render {
        snippet: server.snippet_name(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn listen_is_a_port_or_an_address_never_port_zero() {
        assert_eq!("80".parse::<Listen>().ok(), Some(Listen::Port(80)));
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        assert_eq!(
            "127.0.0.1:8080".parse::<Listen>().ok(),
            Some(Listen::Addr(addr))
        );
        assert_eq!(
            Listen::Port(80).for_server(WebServer::Apache),
            "*:80".to_owned()
        );
        assert_eq!(Listen::Port(80).for_server(WebServer::Nginx), "80");
        let v6 = "[::1]:8443".parse::<Listen>().expect("v6");
        assert_eq!(v6.for_server(WebServer::Apache), "[::1]:8443");
        for bad in [
            "0",
            "127.0.0.1:0",
            "65536",
            "localhost:80",
            "80;",
            "",
            " 80",
        ] {
            assert!(
                matches!(bad.parse::<Listen>(), Err(ServingError::BadListen { .. })),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn a_server_name_is_dns_labels_only() {
        for good in ["apt.example.org", "localhost", "a-1.b2"] {
            assert_eq!(
                good.parse::<ServerName>().map(|n| n.to_string()).ok(),
                Some(good.to_owned())
            );
        }
        let long = format!("{}.org", "a".repeat(64));
        for bad in [
            "",
            "a..b",
            "-a.org",
            "a-.org",
            "a b",
            "a;b",
            "x}",
            "*.example.org",
            &long,
        ] {
            assert!(bad.parse::<ServerName>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_path_with_configuration_syntax_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["a$b", "a\"b", "a*b", "a[b]", "a\\b", "a\nb"] {
            let path = dir.path().join(name);
            std::fs::create_dir(&path).expect("mkdir");
            assert!(
                matches!(config_root(&path), Err(ServingError::Unquotable { .. })),
                "{name:?} was accepted"
            );
        }
        let plain = dir.path().join("my repo");
        std::fs::create_dir(&plain).expect("mkdir");
        assert_eq!(
            config_root(&plain).ok(),
            Some(std::fs::canonicalize(&plain).expect("canonical"))
        );
    }

    /// The lines that carry the values, for each server, with and
    /// without a server name; nothing of tera's syntax is left.
    #[test]
    fn renders_the_values_into_each_snippet() {
        let lines = |server, listen: &str, name: Option<&str>| {
            let text = serve_config(&ServeConfig {
                server,
                root: PathBuf::from("/srv/my repo"),
                listen: listen.parse().expect("listen"),
                server_name: name.map(|n| n.parse().expect("name")),
                pool_max_age: 3600,
            })
            .expect("renders");
            assert!(!text.contains("{{") && !text.contains("{%"), "{text}");
            text.lines()
                .map(str::trim)
                .filter(|l| !l.starts_with('#') || l.starts_with("# No server"))
                .filter(|l| {
                    [
                        "listen ",
                        "server_name ",
                        "root ",
                        "VirtualHost",
                        "ServerName ",
                        "DocumentRoot ",
                        "<Directory ",
                        "max-age=3600",
                        "# No server",
                    ]
                    .iter()
                    .any(|k| l.contains(k))
                })
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            lines(WebServer::Nginx, "127.0.0.1:8080", Some("apt.example.org")),
            [
                "listen 127.0.0.1:8080;",
                "server_name apt.example.org;",
                "root \"/srv/my repo\";",
                "add_header Cache-Control \"public, max-age=3600, immutable\";",
            ]
        );
        assert_eq!(
            lines(WebServer::Nginx, "80", None),
            [
                "listen 80;",
                "# No server_name: as the first server on this address it answers any Host.",
                "root \"/srv/my repo\";",
                "add_header Cache-Control \"public, max-age=3600, immutable\";",
            ]
        );
        assert_eq!(
            lines(WebServer::Apache, "80", Some("apt.example.org")),
            [
                "<VirtualHost *:80>",
                "ServerName apt.example.org",
                "DocumentRoot \"/srv/my repo\"",
                "<Directory \"/srv/my repo\">",
                "Header set Cache-Control \"public, max-age=3600, immutable\"",
                "</VirtualHost>",
            ]
        );
    }
}
