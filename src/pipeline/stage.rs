//! The stages of a run and their order: what `[hooks] on-tag` may name,
//! what each stage needs before it, and where a run can fail ([`Step`]).
//! Kept apart so that adding a stage starts here and ends with one arm in
//! the runner.

use std::fmt;

use super::StepError;
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
}

impl Stage {
    /// Every stage, in the order they run.
    pub const ALL: [Stage; 3] = [Stage::Package, Stage::Publish, Stage::VmTest];
    /// What runs when `[hooks] on-tag` is absent or empty.
    pub const DEFAULT: [Stage; 2] = [Stage::Package, Stage::Publish];

    /// The name used in `.buildkit.toml` and in the record.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Package => "package",
            Stage::Publish => "publish",
            Stage::VmTest => "vm-test",
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
            Stage::VmTest => Some(Stage::Publish),
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

/// The stages `config` asks for: `[hooks] on-tag`, or when it is absent
/// or empty [`Stage::DEFAULT`], plus vm-test when there is a `[vm]` table.
/// `origin` names the file in errors.
pub fn stages(config: &Config, origin: &str) -> Result<Vec<Stage>, StepError> {
    let names = config.hooks.as_ref().map_or(&[][..], |h| &h.on_tag[..]);
    if names.is_empty() {
        let mut stages = Stage::DEFAULT.to_vec();
        if config.vm.is_some() {
            stages.push(Stage::VmTest);
        }
        return Ok(stages);
    }
    let mut stages = Vec::new();
    for name in names {
        let stage = Stage::from_name(name).ok_or_else(|| StepError::UnknownStage {
            origin: origin.to_owned(),
            stage: name.clone(),
        })?;
        if stages.contains(&stage) {
            return Err(StepError::DuplicateStage {
                origin: origin.to_owned(),
                stage,
            });
        }
        if let Some(needs) = stage.needs().filter(|n| !stages.contains(n)) {
            return Err(StepError::StageOrder {
                origin: origin.to_owned(),
                stage,
                needs,
            });
        }
        stages.push(stage);
    }
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn config(on_tag: &str) -> Config {
        Config::parse(
            &format!("[hooks]\non-tag = {on_tag}\n"),
            "v1.0.0:.buildkit.toml",
        )
        .expect("config")
    }

    #[test]
    fn stages_default_and_validate() {
        let origin = "v1.0.0:.buildkit.toml";
        assert_eq!(
            stages(&Config::default(), origin).expect("default"),
            vec![Stage::Package, Stage::Publish]
        );
        assert_eq!(
            stages(&config("[]"), origin).expect("empty"),
            vec![Stage::Package, Stage::Publish]
        );
        assert_eq!(
            stages(
                &Config::parse("[vm]\nsmoke = [\"true\"]\n", origin).expect("vm"),
                origin
            )
            .expect("default with [vm]"),
            vec![Stage::Package, Stage::Publish, Stage::VmTest]
        );
        assert_eq!(
            stages(&config(r#"["package", "publish", "vm-test"]"#), origin).expect("all"),
            vec![Stage::Package, Stage::Publish, Stage::VmTest]
        );
        assert_eq!(
            stages(&config(r#"["package"]"#), origin).expect("package only"),
            vec![Stage::Package]
        );
        let errors = [
            (r#"["package", "deploy"]"#, "v1.0.0:.buildkit.toml: [hooks] on-tag: unknown stage \"deploy\" (known: package, publish, vm-test)"),
            (r#"["package", "package"]"#, "v1.0.0:.buildkit.toml: [hooks] on-tag lists package twice"),
            (r#"["publish", "package"]"#, "v1.0.0:.buildkit.toml: [hooks] on-tag: publish needs package before it"),
            (r#"["package", "vm-test"]"#, "v1.0.0:.buildkit.toml: [hooks] on-tag: vm-test needs publish before it"),
        ];
        for (list, want) in errors {
            let error = stages(&config(list), origin).expect_err(list);
            assert_eq!(error.to_string(), want);
            assert_eq!(error.exit_code(), 2);
        }
    }
}
