//! A dependency's `copyright` file, from its metadata and licence files.
use super::wheel::Wheel;
use super::PythonError;

/// The licence files of a wheel: `License-File` entries (under
/// `.dist-info/licenses/`, or at the top of `.dist-info/` for older
/// setuptools) and any `LICEN[CS]E*`/`COPYING*`/`NOTICE*` in `.dist-info/`.
fn licence_members(wheel: &Wheel) -> Vec<String> {
    let info = format!("{}/", wheel.dist_info);
    let mut out: Vec<String> = wheel
        .files
        .iter()
        .filter_map(|f| f.zip_path.strip_prefix(&info).map(|rest| (f, rest)))
        .filter(|(_, rest)| {
            let base = rest.rsplit('/').next().unwrap_or(rest).to_ascii_uppercase();
            rest.starts_with("licenses/")
                || ["LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS"]
                    .iter()
                    .any(|p| base.starts_with(p))
                || wheel.metadata.license_files.iter().any(|l| l == rest)
        })
        .map(|(f, _)| f.zip_path.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The text of `/usr/share/doc/<package>/copyright` for `wheel`, and
/// whether it names any licence at all.
pub fn copyright(wheel: &Wheel) -> Result<(String, bool), PythonError> {
    let m = &wheel.metadata;
    let file = wheel
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut text = format!(
        "{} {} was packaged by git-buildkit from {file}\n(sha256 {}).\n\nCopyright {}: the authors of {}{} (the year is the wheel's;\nthe licence text below has their own notice, where it has one).\n",
        m.name,
        m.version,
        wheel.sha256,
        crate::time::ymd(crate::time::signed(wheel.newest_mtime.max(315_532_800)))
            .get(..4)
            .unwrap_or("1980"),
        m.name,
        m.author.as_ref().map_or(String::new(), |a| format!(" ({a})")),
    );
    let licence = m
        .license_expression
        .clone()
        .or_else(|| {
            m.license
                .clone()
                .filter(|l| !l.contains('\n') && l.len() < 200)
        })
        .or_else(|| {
            m.license_classifiers
                .first()
                .map(|c| c.trim_start_matches("License ::").trim().to_owned())
        });
    if let Some(l) = &licence {
        text.push_str(&format!("License: {l}\n"));
    }
    if let Some(h) = &m.home_page {
        text.push_str(&format!("Homepage: {h}\n"));
    }
    if let Some(a) = &m.author {
        text.push_str(&format!("Author: {a}\n"));
    }
    let members = licence_members(wheel);
    // At most 1 MiB of licence text in all, from at most 64 files.
    let mut budget: u64 = 1 << 20;
    for member in members.iter().take(64) {
        if budget == 0 {
            text.push_str(&format!("\nThe file {member} of the wheel: see the wheel (licence text over 1 MiB in all).\n"));
            continue;
        }
        let bytes = wheel.read_member(member, budget)?;
        budget = budget.saturating_sub(bytes.len() as u64);
        let body = String::from_utf8_lossy(&bytes);
        let body = match common_licence(&body) {
            // Policy 12.5: a licence in common-licenses is referred to.
            Some(name) => match body.find(licence_start(name)) {
                Some(0) | None => {
                    format!("The {name} licence: see /usr/share/common-licenses/{name}.")
                }
                Some(i) => format!(
                    "{}\n\nThe {name} licence: see /usr/share/common-licenses/{name}.",
                    body[..i].trim_end()
                ),
            },
            None => body.trim_end().to_owned(),
        };
        text.push_str(&format!("\nThe file {member} of the wheel:\n\n{body}\n"));
    }
    let known = licence.is_some() || !members.is_empty();
    if !known {
        text.push_str(
            "\nThe wheel names no licence and ships no licence file: check the terms\nof this distribution before you redistribute it.\n",
        );
    }
    Ok((text, known))
}

/// The name in `/usr/share/common-licenses` of a licence text there.
fn common_licence(text: &str) -> Option<&'static str> {
    let has = |s: &str| text.contains(s);
    if has("Apache License") && has("Version 2.0, January 2004") {
        Some("Apache-2.0")
    } else if has("Mozilla Public License Version 2.0") {
        Some("MPL-2.0")
    } else if has("GNU LESSER GENERAL PUBLIC LICENSE") && has("Version 3") {
        Some("LGPL-3")
    } else if has("GNU LESSER GENERAL PUBLIC LICENSE") && has("Version 2.1") {
        Some("LGPL-2.1")
    } else if has("GNU GENERAL PUBLIC LICENSE") && has("Version 3, 29 June 2007") {
        Some("GPL-3")
    } else if has("GNU GENERAL PUBLIC LICENSE") && has("Version 2, June 1991") {
        Some("GPL-2")
    } else {
        None
    }
}

/// Where the licence's own text starts (anything before it, a copyright
/// notice, is kept).
fn licence_start(name: &str) -> &'static str {
    match name {
        "Apache-2.0" => "Apache License",
        "MPL-2.0" => "Mozilla Public License",
        "LGPL-3" | "LGPL-2.1" => "GNU LESSER GENERAL PUBLIC LICENSE",
        _ => "GNU GENERAL PUBLIC LICENSE",
    }
}
