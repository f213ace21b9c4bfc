//! Whether a VM test needs the Debian archive: the tag's packages (and
//! the tests) depend on packages that neither the image nor the tag
//! provides. Without that need the guest gets no Debian source, so its
//! `apt-get update` reads only our small repository: seconds faster under
//! emulation, and no mirror is asked anything.

/// What `[vm] debian` says, and what the plan decides from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebianNeed {
    /// `[vm] debian = false`: the guest gets no Debian source.
    Refused,
    /// The image and the tag provide every dependency.
    NotNeeded,
    /// Needed: `[vm] debian = true`, an image that does not list its
    /// packages, or these dependencies (first alternative of each group
    /// that nothing provides).
    Needed(Vec<String>),
}

/// Decides from `[vm] debian` (`setting`), the `Depends`/`Pre-Depends`
/// values of the tag's packages and the tests' dependencies
/// (`relations`), the tag's own package names (`own`) and the image's
/// installed and provided names (`image`, sorted; empty when unknown).
/// Versions are not compared: a dependency on a newer version than the
/// image has would not be met by the image's own suite either.
pub fn decide(
    setting: Option<bool>,
    relations: &[String],
    own: &[String],
    image: &[String],
) -> DebianNeed {
    match setting {
        Some(false) => return DebianNeed::Refused,
        Some(true) => return DebianNeed::Needed(Vec::new()),
        None if image.is_empty() => return DebianNeed::Needed(Vec::new()),
        None => {}
    }
    let unmet: Vec<String> = unmet(relations, own, image)
        .into_iter()
        .filter_map(|group| group.into_iter().next())
        .collect();
    if unmet.is_empty() {
        DebianNeed::NotNeeded
    } else {
        DebianNeed::Needed(unmet)
    }
}

/// The groups of alternatives of `relations` that neither `own` nor
/// `image` (sorted) provides, each as its package names, once each.
pub fn unmet(relations: &[String], own: &[String], image: &[String]) -> Vec<Vec<String>> {
    let provided = |name: &str| {
        own.iter().any(|o| o == name) || image.binary_search_by(|i| i.as_str().cmp(name)).is_ok()
    };
    let mut unmet: Vec<Vec<String>> = Vec::new();
    for group in relations.iter().flat_map(|r| r.split(',')) {
        let names: Vec<String> = group
            .split('|')
            .filter_map(|alt| alt.split(['(', '[', '<', ' ']).find(|w| !w.is_empty()))
            // `name:any`, `name:amd64`: the name.
            .map(|name| name.split(':').next().unwrap_or(name))
            .filter(|name| !name.is_empty() && !name.starts_with("${"))
            .map(str::to_owned)
            .collect();
        if !names.is_empty()
            && !names.iter().any(|n| provided(n))
            && !unmet.iter().any(|u| u.first() == names.first())
        {
            unmet.push(names);
        }
    }
    unmet
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_what_nothing_provides_needs_debian() {
        let image = strings(&["awk", "bash", "libc6", "mawk", "python3-minimal"]);
        let own = strings(&["myapp", "myapp-data"]);
        let need = |relations: &[&str]| decide(None, &strings(relations), &own, &image);
        assert_eq!(need(&[]), DebianNeed::NotNeeded);
        assert_eq!(
            need(&["libc6 (>= 2.34), myapp-data (= 1.0-1), awk | gawk"]),
            DebianNeed::NotNeeded
        );
        assert_eq!(
            need(&["libc6:any (>= 2.34), jq", "bc [amd64], jq", "gawk | nawk"]),
            DebianNeed::Needed(strings(&["jq", "bc", "gawk"]))
        );
    }

    #[test]
    fn unmet_groups_keep_every_alternative() {
        let image = strings(&["awk"]);
        assert_eq!(
            unmet(&strings(&["awk | gawk, jq | jaq, jq"]), &[], &image),
            vec![strings(&["jq", "jaq"])]
        );
    }

    #[test]
    fn the_setting_and_an_unknown_image_decide_first() {
        let relations = strings(&["jq"]);
        let image = strings(&["jq"]);
        assert_eq!(
            decide(Some(false), &relations, &[], &[]),
            DebianNeed::Refused
        );
        assert_eq!(
            decide(Some(true), &relations, &[], &image),
            DebianNeed::Needed(Vec::new())
        );
        assert_eq!(
            decide(None, &relations, &[], &[]),
            DebianNeed::Needed(Vec::new())
        );
        assert_eq!(decide(None, &relations, &[], &image), DebianNeed::NotNeeded);
    }
}
