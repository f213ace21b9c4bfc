//! The plan of a finish, computed from the settings, the options and what
//! the checks read from the repository ([`Found`]), without running git:
//! which merges, tag, back-merge, push, branch deletion, post-hook and
//! final checkout happen, which merges to try in memory first, and which
//! refs the steps may move (their values are recorded before the first
//! step, for `flow abort`).
//!
//! The shape is gitflow-avh's: a release or hotfix merges `--no-ff` into
//! main, the tag goes on that merge commit, and the tag (not the branch) is
//! merged back into develop — or into the open release branch, for a
//! hotfix. A feature or bugfix merges into develop, fast-forwarding when it
//! has one commit (unless `no_ff`). A finish bumps no version file: `start`
//! did, and the checks refuse a branch whose files do not carry its version.

use super::avh::Action;
use super::finish::FinishOptions;
use super::settings::FlowSettings;
use super::state::{FastForward, Step, TagKind, TagPipeline};
use super::BranchType;

/// What the checks found about the branch being finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A feature or bugfix branch with `commits_ahead` commits develop has not.
    Topic { commits_ahead: u64 },
    /// A release or hotfix branch: the tag it makes, the tag's message (the
    /// filter applied), and the open release branch, if any.
    Versioned {
        tag: String,
        message: String,
        open_release: Option<String>,
    },
}

/// Everything a finish will do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishPlan {
    /// The tag it makes, if any.
    pub tag: Option<String>,
    /// Every ref the steps may move (branches and the tag), sorted.
    pub refs: Vec<String>,
    /// The merges to try in memory before anything changes: (into, from).
    pub predict: Vec<(String, String)>,
    /// The steps.
    pub steps: Vec<Step>,
    /// The arguments of `pre-flow-<kind>-finish` and `post-flow-<kind>-finish`.
    pub hook_args: Vec<String>,
}

/// The plan of finishing `branch` (a branch of `kind`, named with its prefix).
pub fn plan(
    settings: &FlowSettings,
    kind: BranchType,
    branch: &str,
    found: &Found,
    options: &FinishOptions,
) -> FinishPlan {
    let heads = |name: &str| format!("refs/heads/{name}");
    let (main, develop, origin) = (&settings.main, &settings.develop, &settings.origin);
    let mut refs = vec![heads(branch), heads(main), heads(develop)];
    let mut steps = Vec::new();
    let (tag, hook_name, predict) = match found {
        Found::Versioned {
            tag,
            message,
            open_release,
        } => {
            // A hotfix goes back into the open release branch when there is one (avh).
            let back_into = match (kind, open_release) {
                (BranchType::Hotfix, Some(release)) => release,
                _ => develop,
            };
            refs.push(format!("refs/tags/{tag}"));
            refs.push(heads(back_into));
            steps.extend(release_steps(
                settings, branch, tag, message, back_into, options,
            ));
            let predict = vec![
                (main.clone(), branch.to_owned()),
                (back_into.clone(), branch.to_owned()),
            ];
            (Some(tag.clone()), tag.clone(), predict)
        }
        Found::Topic { commits_ahead } => {
            // A one-commit feature fast-forwards, as with avh.
            let ff = FastForward::from(!options.no_ff && *commits_ahead == 1);
            steps.push(merge(branch, develop, ff));
            if options.push {
                steps.push(Step::Push {
                    remote: origin.clone(),
                    refs: vec![develop.clone()],
                });
            }
            let short = branch.strip_prefix(settings.prefix(kind)).unwrap_or(branch);
            let predict = vec![(develop.clone(), branch.to_owned())];
            (None, short.to_owned(), predict)
        }
    };
    if !options.keep {
        steps.push(Step::DeleteBranch {
            branch: branch.to_owned(),
        });
    }
    let hook_args = vec![hook_name, origin.clone(), branch.to_owned()];
    steps.push(Step::PostHook {
        kind,
        action: Action::Finish,
        args: hook_args.clone(),
    });
    steps.push(Step::Checkout {
        branch: develop.clone(),
    });
    refs.sort();
    refs.dedup();
    FinishPlan {
        tag,
        refs,
        predict,
        steps,
        hook_args,
    }
}

/// A release's or hotfix's merge into main, tag, merge of the tag back
/// into `back_into`, and push.
fn release_steps(
    settings: &FlowSettings,
    branch: &str,
    tag: &str,
    message: &str,
    back_into: &str,
    options: &FinishOptions,
) -> Vec<Step> {
    let main = &settings.main;
    let mut steps = vec![
        merge(branch, main, FastForward::Never),
        Step::Tag {
            tag: tag.to_owned(),
            at: main.clone(),
            message: message.to_owned(),
            sign: TagKind::from(options.sign),
            pipeline: TagPipeline::from(options.no_pipeline),
        },
        merge(tag, back_into, FastForward::Never),
    ];
    if options.push {
        steps.push(Step::Push {
            remote: settings.origin.clone(),
            refs: vec![
                main.clone(),
                back_into.to_owned(),
                format!("refs/tags/{tag}"),
            ],
        });
    }
    steps
}

fn merge(from: &str, into: &str, ff: FastForward) -> Step {
    Step::Merge {
        from: from.to_owned(),
        into: into.to_owned(),
        ff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::SettingsSource;
    use pretty_assertions::assert_eq;
    use std::path::PathBuf;

    fn settings() -> FlowSettings {
        FlowSettings {
            main: "main".into(),
            develop: "develop".into(),
            feature: "feature/".into(),
            bugfix: "bugfix/".into(),
            release: "release/".into(),
            hotfix: "hotfix/".into(),
            support: "support/".into(),
            version_tag: "v".into(),
            origin: "origin".into(),
            hooks_dir: PathBuf::from("/repo/.git/hooks"),
            workdir: PathBuf::from("/repo"),
            git_dir: PathBuf::from("/repo/.git"),
            version_files: Vec::new(),
            multi_hotfix: false,
            source: SettingsSource::Defaults,
            gitflow: Default::default(),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn pair(into: &str, from: &str) -> (String, String) {
        (into.to_owned(), from.to_owned())
    }

    fn tag(tag: &str, message: &str, sign: TagKind, pipeline: TagPipeline) -> Step {
        Step::Tag {
            tag: tag.into(),
            at: "main".into(),
            message: message.into(),
            sign,
            pipeline,
        }
    }

    fn delete(branch: &str) -> Step {
        Step::DeleteBranch {
            branch: branch.into(),
        }
    }

    fn post(kind: BranchType, args: &[&str]) -> Step {
        Step::PostHook {
            kind,
            action: Action::Finish,
            args: strings(args),
        }
    }

    fn checkout_develop() -> Step {
        Step::Checkout {
            branch: "develop".into(),
        }
    }

    fn versioned(tag: &str, open_release: Option<&str>) -> Found {
        Found::Versioned {
            tag: tag.into(),
            message: format!("Release {tag}"),
            open_release: open_release.map(str::to_owned),
        }
    }

    #[test]
    fn a_release_merges_into_main_tags_and_merges_the_tag_back_into_develop() {
        let found = versioned("v1.2.0", None);
        let plan = plan(
            &settings(),
            BranchType::Release,
            "release/1.2.0",
            &found,
            &FinishOptions::default(),
        );
        assert_eq!(
            plan,
            FinishPlan {
                tag: Some("v1.2.0".into()),
                refs: strings(&[
                    "refs/heads/develop",
                    "refs/heads/main",
                    "refs/heads/release/1.2.0",
                    "refs/tags/v1.2.0",
                ]),
                predict: vec![
                    pair("main", "release/1.2.0"),
                    pair("develop", "release/1.2.0")
                ],
                steps: vec![
                    merge("release/1.2.0", "main", FastForward::Never),
                    tag(
                        "v1.2.0",
                        "Release v1.2.0",
                        TagKind::Annotated,
                        TagPipeline::Start
                    ),
                    merge("v1.2.0", "develop", FastForward::Never),
                    delete("release/1.2.0"),
                    post(BranchType::Release, &["v1.2.0", "origin", "release/1.2.0"]),
                    checkout_develop(),
                ],
                hook_args: strings(&["v1.2.0", "origin", "release/1.2.0"]),
            }
        );
    }

    #[test]
    fn a_release_kept_signed_pushed_without_pipeline() {
        let options = FinishOptions {
            sign: true,
            push: true,
            keep: true,
            no_pipeline: true,
            ..FinishOptions::default()
        };
        // An open release branch is no concern of a release finish.
        let found = versioned("v2.0.0", Some("release/2.0.0"));
        let plan = plan(
            &settings(),
            BranchType::Release,
            "release/2.0.0",
            &found,
            &options,
        );
        assert_eq!(
            plan.steps,
            vec![
                merge("release/2.0.0", "main", FastForward::Never),
                tag(
                    "v2.0.0",
                    "Release v2.0.0",
                    TagKind::Signed,
                    TagPipeline::Skip
                ),
                merge("v2.0.0", "develop", FastForward::Never),
                Step::Push {
                    remote: "origin".into(),
                    refs: strings(&["main", "develop", "refs/tags/v2.0.0"]),
                },
                post(BranchType::Release, &["v2.0.0", "origin", "release/2.0.0"]),
                checkout_develop(),
            ]
        );
    }

    #[test]
    fn a_hotfix_goes_back_into_develop_without_an_open_release() {
        let found = versioned("v1.2.1", None);
        let plan = plan(
            &settings(),
            BranchType::Hotfix,
            "hotfix/1.2.1",
            &found,
            &FinishOptions::default(),
        );
        assert_eq!(
            plan.steps,
            vec![
                merge("hotfix/1.2.1", "main", FastForward::Never),
                tag(
                    "v1.2.1",
                    "Release v1.2.1",
                    TagKind::Annotated,
                    TagPipeline::Start
                ),
                merge("v1.2.1", "develop", FastForward::Never),
                delete("hotfix/1.2.1"),
                post(BranchType::Hotfix, &["v1.2.1", "origin", "hotfix/1.2.1"]),
                checkout_develop(),
            ]
        );
        assert_eq!(
            plan.predict,
            vec![
                pair("main", "hotfix/1.2.1"),
                pair("develop", "hotfix/1.2.1")
            ]
        );
    }

    #[test]
    fn a_hotfix_goes_back_into_the_open_release_instead_of_develop() {
        let options = FinishOptions {
            push: true,
            ..FinishOptions::default()
        };
        let found = versioned("v1.2.1", Some("release/1.3.0"));
        let plan = plan(
            &settings(),
            BranchType::Hotfix,
            "hotfix/1.2.1",
            &found,
            &options,
        );
        assert_eq!(
            plan.steps,
            vec![
                merge("hotfix/1.2.1", "main", FastForward::Never),
                tag(
                    "v1.2.1",
                    "Release v1.2.1",
                    TagKind::Annotated,
                    TagPipeline::Start
                ),
                merge("v1.2.1", "release/1.3.0", FastForward::Never),
                Step::Push {
                    remote: "origin".into(),
                    refs: strings(&["main", "release/1.3.0", "refs/tags/v1.2.1"]),
                },
                delete("hotfix/1.2.1"),
                post(BranchType::Hotfix, &["v1.2.1", "origin", "hotfix/1.2.1"]),
                checkout_develop(),
            ]
        );
        assert_eq!(
            plan.refs,
            strings(&[
                "refs/heads/develop",
                "refs/heads/hotfix/1.2.1",
                "refs/heads/main",
                "refs/heads/release/1.3.0",
                "refs/tags/v1.2.1",
            ])
        );
        assert_eq!(
            plan.predict,
            vec![
                pair("main", "hotfix/1.2.1"),
                pair("release/1.3.0", "hotfix/1.2.1")
            ]
        );
    }

    #[test]
    fn a_one_commit_feature_fast_forwards_unless_no_ff() {
        let one = Found::Topic { commits_ahead: 1 };
        let plan_of = |found: &Found, options: &FinishOptions| {
            plan(
                &settings(),
                BranchType::Feature,
                "feature/login",
                found,
                options,
            )
        };
        let plan = plan_of(&one, &FinishOptions::default());
        assert_eq!(
            plan,
            FinishPlan {
                tag: None,
                refs: strings(&[
                    "refs/heads/develop",
                    "refs/heads/feature/login",
                    "refs/heads/main",
                ]),
                predict: vec![pair("develop", "feature/login")],
                steps: vec![
                    merge("feature/login", "develop", FastForward::Allowed),
                    delete("feature/login"),
                    post(BranchType::Feature, &["login", "origin", "feature/login"]),
                    checkout_develop(),
                ],
                hook_args: strings(&["login", "origin", "feature/login"]),
            }
        );
        let no_ff = FinishOptions {
            no_ff: true,
            ..FinishOptions::default()
        };
        assert_eq!(
            plan_of(&one, &no_ff).steps[0],
            merge("feature/login", "develop", FastForward::Never)
        );
        let two = Found::Topic { commits_ahead: 2 };
        assert_eq!(
            plan_of(&two, &FinishOptions::default()).steps[0],
            merge("feature/login", "develop", FastForward::Never)
        );
    }

    #[test]
    fn a_bugfix_kept_and_pushed() {
        let options = FinishOptions {
            keep: true,
            push: true,
            ..FinishOptions::default()
        };
        let plan = plan(
            &settings(),
            BranchType::Bugfix,
            "bugfix/crash",
            &Found::Topic { commits_ahead: 3 },
            &options,
        );
        assert_eq!(
            plan.steps,
            vec![
                merge("bugfix/crash", "develop", FastForward::Never),
                Step::Push {
                    remote: "origin".into(),
                    refs: strings(&["develop"]),
                },
                post(BranchType::Bugfix, &["crash", "origin", "bugfix/crash"]),
                checkout_develop(),
            ]
        );
    }
}
