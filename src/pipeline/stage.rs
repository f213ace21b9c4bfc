//! The stages of a run and their order: what `[hooks] on-tag` may name,
//! what each stage needs before it, and where a run can fail ([`Step`]).
//! `on-tag` is read with the configuration: a stage name it does not know,
//! a stage twice or out of order is a configuration error at its place.
//! Kept apart so that adding a stage starts here and ends with one arm in
//! the runner.

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::config::Config;

/// One step of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Build the .deb files of the tag.
    Package,
    /// Add them to the apt repository and publish it.
    Publish,
    /// Install them in a fresh VM from the repository and run the smoke tests.
    VmTest,
    /// Copy the tested packages from the staging suite into the release
    /// suite, and publish the source release.
    Promote,
}

impl Stage {
    /// Every stage, in the order they run.
    pub const ALL: [Stage; 4] = [
        Stage::Package,
        Stage::Publish,
        Stage::VmTest,
        Stage::Promote,
    ];
    /// What runs when `[hooks] on-tag` is absent or empty and there is no
    /// `[vm]` table; with one, the release is gated: [`Stage::GATED`].
    pub const DEFAULT: [Stage; 2] = [Stage::Package, Stage::Publish];
    /// The default with a `[vm]` table: published to staging, tested, promoted.
    pub const GATED: [Stage; 4] = Self::ALL;

    /// The name used in `.buildkit.toml` and in the record.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Package => "package",
            Stage::Publish => "publish",
            Stage::VmTest => "vm-test",
            Stage::Promote => "promote",
        }
    }

    /// The stage called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The stage whose output this one consumes.
    fn needs(self) -> Option<Stage> {
        match self {
            Stage::Package => None,
            Stage::Publish => Some(Stage::Package),
            Stage::VmTest | Stage::Promote => Some(Stage::Publish),
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a run failed: reading its configuration, or a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reading `.buildkit.toml` and the stage list.
    Config,
    /// A stage.
    Stage(Stage),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Config => f.write_str("config"),
            Step::Stage(stage) => stage.fmt(f),
        }
    }
}

impl<'de> Deserialize<'de> for Stage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Stage::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "[hooks] on-tag: unknown stage {name:?} (known: package, publish, vm-test, promote)"
            ))
        })
    }
}

/// Checks the stages of `[hooks] on-tag`: none twice, each after the one
/// it needs. The error is the place of the offending stage and what is wrong.
pub fn check_order(stages: &[Spanned<Stage>]) -> Result<(), (Range<usize>, String)> {
    let mut seen: Vec<Stage> = Vec::new();
    for spanned in stages {
        let stage = *spanned.get_ref();
        if seen.contains(&stage) {
            return Err((
                spanned.span(),
                format!("[hooks] on-tag lists {stage} twice"),
            ));
        }
        if let Some(needs) = stage.needs().filter(|n| !seen.contains(n)) {
            return Err((
                spanned.span(),
                format!("[hooks] on-tag: {stage} needs {needs} before it"),
            ));
        }
        if let Some(later) = seen.iter().find(|s| **s as usize > stage as usize) {
            return Err((
                spanned.span(),
                format!("[hooks] on-tag: {stage} runs before {later}, not after it"),
            ));
        }
        seen.push(stage);
    }
    Ok(())
}

/// The stages `config` asks for: `[hooks] on-tag` (checked when the
/// configuration was read, see [`check_order`]), or when it is absent or
/// empty [`Stage::DEFAULT`], or [`Stage::GATED`] when there is a `[vm]` table.
pub fn stages(config: &Config) -> Vec<Stage> {
    let listed = config.hooks.as_ref().map_or(&[][..], |h| &h.on_tag[..]);
    if listed.is_empty() {
        return if config.vm.is_some() {
            Stage::GATED.to_vec()
        } else {
            Stage::DEFAULT.to_vec()
        };
    }
    listed.iter().map(|s| *s.get_ref()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn config(on_tag: &str) -> Result<Config, crate::config::ConfigError> {
        Config::parse(
            &format!("[hooks]\non-tag = {on_tag}\n"),
            "v1.0.0:.buildkit.toml",
        )
    }

    #[test]
    fn stages_default_and_validate() {
        let origin = "v1.0.0:.buildkit.toml";
        assert_eq!(
            stages(&Config::default()),
            vec![Stage::Package, Stage::Publish]
        );
        assert_eq!(
            stages(&config("[]").expect("empty")),
            vec![Stage::Package, Stage::Publish]
        );
        assert_eq!(
            stages(&Config::parse("[vm]\nsmoke = [\"true\"]\n", origin).expect("vm")),
            vec![
                Stage::Package,
                Stage::Publish,
                Stage::VmTest,
                Stage::Promote
            ]
        );
        assert_eq!(
            stages(&config(r#"["package", "publish", "promote"]"#).expect("untested promote")),
            vec![Stage::Package, Stage::Publish, Stage::Promote]
        );
        assert_eq!(
            stages(&config(r#"["package", "publish", "vm-test"]"#).expect("all")),
            vec![Stage::Package, Stage::Publish, Stage::VmTest]
        );
        assert_eq!(
            stages(&config(r#"["package"]"#).expect("package only")),
            vec![Stage::Package]
        );
        // An unknown name is located at the list (serde reports an element's
        // error there), a stage twice or out of order at that stage.
        let errors = [
            (r#"["package", "deploy"]"#, "v1.0.0:.buildkit.toml:2:10: [hooks] on-tag: unknown stage \"deploy\" (known: package, publish, vm-test, promote)"),
            (r#"["package", "publish", "promote", "vm-test"]"#, "v1.0.0:.buildkit.toml:2:44: [hooks] on-tag: vm-test runs before promote, not after it"),
            (r#"["package", "package"]"#, "v1.0.0:.buildkit.toml:2:22: [hooks] on-tag lists package twice"),
            (r#"["publish", "package"]"#, "v1.0.0:.buildkit.toml:2:11: [hooks] on-tag: publish needs package before it"),
            (r#"["package", "vm-test"]"#, "v1.0.0:.buildkit.toml:2:22: [hooks] on-tag: vm-test needs publish before it"),
            (r#""package""#, "v1.0.0:.buildkit.toml:2:10: invalid type: string \"package\", expected a sequence"),
        ];
        for (list, want) in errors {
            let error = config(list).expect_err(list);
            assert_eq!(error.to_string(), want);
        }
    }
}
