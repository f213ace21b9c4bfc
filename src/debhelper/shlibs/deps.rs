//! The dependency templates dpkg-shlibdeps collects and how it writes them
//! out: `update_dependency_version`, the `#MINVER#` substitution, then
//! `deps_parse` + `sort` (`Dpkg::Deps::deps_compare`). dpkg does not
//! simplify the list further (no `simplify_deps` in dpkg-shlibdeps).

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::version::DebVersion;

/// The minimal version a template has reached: dpkg keeps an empty
/// `Dpkg::Version` for "none".
pub type MinVersion = Option<DebVersion>;

/// Templates (`libc6 #MINVER#`, `zlib1g (>= 1:1.2.0)`) and their versions.
#[derive(Debug, Default, Clone)]
pub struct Dependencies {
    templates: HashMap<String, MinVersion>,
}

impl Dependencies {
    /// dpkg's `update_dependency_version($dep, $minver)`: every
    /// comma-separated part of `dep` is added, or raised to `minver`.
    pub fn update(&mut self, dep: &str, minver: &MinVersion) {
        for part in split_commas(dep) {
            match self.templates.get_mut(part) {
                Some(current) => {
                    let raise = match (&*current, minver) {
                        (None, _) => true,
                        (Some(cur), Some(new)) => new > cur,
                        (Some(_), None) => false,
                    };
                    if raise {
                        *current = minver.clone();
                    }
                }
                None => {
                    self.templates.insert(part.to_owned(), minver.clone());
                }
            }
        }
    }

    /// What a `shlibs` line gives: each part set, unversioned (dpkg's
    /// `add_shlibs_dep` overwrites).
    pub fn set_unversioned(&mut self, dep: &str) {
        for part in dep.split(',').map(str::trim_start) {
            self.templates.insert(part.to_owned(), None);
        }
    }

    /// The field value, sorted as dpkg-shlibdeps writes it, one entry per
    /// element: `["libc6 (>= 2.34)", "zlib1g (>= 1:1.1.4)"]`.
    pub fn render(&self) -> Vec<String> {
        let mut entries: Vec<Vec<Simple>> = Vec::new();
        for (template, version) in &self.templates {
            // dpkg substitutes a version only when its string is true to
            // Perl: a minimal version of "0" (common in symbols files for
            // symbols as old as the library) gives no version at all.
            let text = match version {
                Some(v) if v.to_string() != "0" => {
                    template.replace("#MINVER#", &format!("(>= {v})"))
                }
                _ => template.replace("#MINVER#", ""),
            };
            for element in split_commas(&text) {
                let alternatives: Vec<Simple> =
                    element.split('|').filter_map(Simple::parse).collect();
                if !alternatives.is_empty() {
                    entries.push(alternatives);
                }
            }
        }
        entries.sort_by(|a, b| compare(a, b));
        entries
            .iter()
            .map(|alts| {
                alts.iter()
                    .map(Simple::to_string)
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect()
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

/// `split /\s*,\s*/`, empty parts kept out.
fn split_commas(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// One `package[:arch] [(rel version)] [[arches]]` as Dpkg::Deps::Simple
/// writes it back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Simple {
    package: String,
    relation: Option<String>,
    version: String,
    rest: String,
}

impl Simple {
    fn parse(text: &str) -> Option<Simple> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let name_end = text.find([' ', '(', '[', '<']).unwrap_or(text.len());
        let package = text[..name_end].to_owned();
        if package.is_empty() {
            return None;
        }
        let mut rest = text[name_end..].trim_start();
        let (mut relation, mut version) = (None, String::new());
        if let Some(inner) = rest.strip_prefix('(') {
            let (inside, after) = inner.split_once(')')?;
            let inside = inside.trim();
            let rel_end = inside
                .find(|c: char| !matches!(c, '<' | '>' | '='))
                .unwrap_or(inside.len());
            let rel = match &inside[..rel_end] {
                "<" | "<=" => "<=",
                ">" | ">=" => ">=",
                other => other,
            };
            relation = Some(rel.to_owned());
            version = inside[rel_end..].trim().to_owned();
            rest = after.trim_start();
        }
        Some(Simple {
            package,
            relation,
            version,
            rest: rest.to_owned(),
        })
    }

    /// dpkg's `%relation_ordering`.
    fn relation_rank(&self) -> u8 {
        match self.relation.as_deref() {
            None => 0,
            Some(">=") => 1,
            Some(">>") => 2,
            Some("=") => 3,
            Some("<<") => 4,
            Some("<=") => 5,
            Some(_) => 6,
        }
    }
}

impl std::fmt::Display for Simple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.package)?;
        if let Some(rel) = &self.relation {
            write!(f, " ({rel} {})", self.version)?;
        }
        if !self.rest.is_empty() {
            write!(f, " {}", self.rest)?;
        }
        Ok(())
    }
}

/// `Dpkg::Deps::deps_compare`: package, relation, version string, one
/// alternative after the other.
fn compare(a: &[Simple], b: &[Simple]) -> Ordering {
    for i in 0.. {
        match (a.get(i), b.get(i)) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = x
                    .package
                    .cmp(&y.package)
                    .then(x.relation_rank().cmp(&y.relation_rank()))
                    .then(x.version.cmp(&y.version));
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> MinVersion {
        Some(DebVersion::parse(s).expect("test version"))
    }

    #[test]
    fn keeps_the_highest_version_and_sorts_like_dpkg() {
        let mut deps = Dependencies::default();
        deps.update("zlib1g #MINVER#", &v("1:1.1.4"));
        deps.update("libc6 #MINVER#", &v("2.2.5"));
        deps.update("libc6 #MINVER#", &v("2.34"));
        deps.update("libc6 #MINVER#", &v("2.14"));
        deps.set_unversioned("libmine1 (= 1.0-1)");
        deps.update("libalt1 #MINVER# | libalt-other", &None);
        assert_eq!(
            deps.render(),
            [
                "libalt1 | libalt-other",
                "libc6 (>= 2.34)",
                "libmine1 (= 1.0-1)",
                "zlib1g (>= 1:1.1.4)"
            ]
        );
    }

    #[test]
    fn an_unversioned_template_takes_the_next_version() {
        let mut deps = Dependencies::default();
        deps.update("libc6 #MINVER#", &None);
        deps.update("libc6 #MINVER#", &v("2.3"));
        assert_eq!(deps.render(), ["libc6 (>= 2.3)"]);
    }
}
