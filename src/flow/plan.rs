//! The plan of a finish, computed from the settings, the options and what
//! the checks read from the repository ([`Found`]), without running git:
//! which rebase, merges, tag, back-merge, post-hook, push, branch deletions
//! and final checkout happen, which merges to try in memory first, and
//! which refs the steps may move (their values are recorded before the
//! first step, for `flow abort`).
//!
//! The shape is gitflow-avh's: a release or hotfix merges `--no-ff` (or
//! `--squash`) into main, the tag goes on that commit, and the tag (not the
//! branch; main with `--no-tag`, the branch itself with `--no-back-merge`)
//! is merged back into develop — or into the open release branch, for a
//! hotfix. A feature or bugfix merges into its base (develop unless `start`
//! recorded another), fast-forwarding when it has one commit (unless
//! `no_ff`), after an optional rebase onto that base. Then, as avh: the
//! post-hook, the push, the remote branch's deletion (only when pushing:
//! nothing reaches the remote without `--push`), the local branch's, and
//! avh's record of the base. A finish bumps no version file: `start` did,
//! and the checks refuse a branch whose files do not carry its version.

use std::path::PathBuf;

use super::avh::Action;
use super::settings::FlowSettings;
use super::state::{FastForward, Step, TagKind, TagPipeline};
use super::BranchType;

/// How a finish should behave: gitflow-avh's finish options, resolved
/// (the command line over `gitflow.<kind>.finish.*`, over avh's defaults).
#[derive(Debug, Clone, Default)]
pub struct FinishOptions {
    /// The tag message (`-m`; default: the tag's name).
    pub message: Option<String>,
    /// The tag message from a file (`-f`).
    pub message_file: Option<PathBuf>,
    /// Sign the tag (`git tag -s`).
    pub sign: bool,
    /// Sign with this key (`-u`; implies `sign`).
    pub signing_key: Option<String>,
    /// Push what the finish merged and tagged (every one of the three below).
    pub push: bool,
    /// Push main (`--pushproduction`).
    pub push_main: bool,
    /// Push develop, or the branch the tag went back into (`--pushdevelop`).
    pub push_develop: bool,
    /// Push the tag (`--pushtag`).
    pub push_tag: bool,
    /// Keep the branch, local and remote.
    pub keep: bool,
    /// Keep the remote branch.
    pub keep_remote: bool,
    /// Keep the local branch.
    pub keep_local: bool,
    /// Delete the local branch with `git branch -D`.
    pub force_delete: bool,
    /// Squash the branch into one commit on its target.
    pub squash: bool,
    /// Start the squash commit's message with avh's "Merged … branch" line.
    pub squash_info: bool,
    /// Always create a merge commit (features fast-forward one commit otherwise).
    pub no_ff: bool,
    /// Make no tag (a release or hotfix).
    pub no_tag: bool,
    /// Merge the branch itself, not the tag (or main), back into develop.
    pub no_back_merge: bool,
    /// Do not merge a release back into develop at all (avh's `--nodevelopmerge`).
    pub no_develop_merge: bool,
    /// The tag's name after the version-tag prefix (`-T`; default: the version).
    pub tag_name: Option<String>,
    /// Fetch the branches from the remote first (`-F`).
    pub fetch: bool,
    /// Rebase a feature or bugfix onto its base before merging (`-r`).
    pub rebase: bool,
    /// With `rebase`: keep merges (`git rebase --rebase-merges`, what avh's
    /// `--preserve-merges` became in git).
    pub rebase_merges: bool,
    /// Tell the tag hook not to start the pipeline.
    pub no_pipeline: bool,
}

impl FinishOptions {
    /// Whether anything is pushed.
    fn pushes(&self) -> bool {
        self.push || self.push_main || self.push_develop || self.push_tag
    }
}

/// What the checks found about the branch being finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A feature or bugfix branch with `commits_ahead` commits its base has
    /// not, and that base (develop, unless avh recorded another).
    Topic { commits_ahead: u64, base: String },
    /// A release or hotfix branch: the tag it makes (None with `no_tag`),
    /// the tag's message (the filter applied), and the open release
    /// branch, if any.
    Versioned {
        tag: Option<String>,
        /// The tag's name, made or not (the hooks' first argument, as avh's).
        tag_name: String,
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

/// The plan of finishing `branch` (a branch of `kind`, named with its
/// prefix); `on_remote` says whether the remote has the branch too.
pub fn plan(
    settings: &FlowSettings,
    kind: BranchType,
    branch: &str,
    found: &Found,
    on_remote: bool,
    options: &FinishOptions,
) -> FinishPlan {
    let mut refs = vec![
        heads(branch),
        heads(&settings.main),
        heads(&settings.develop),
    ];
    let merged = match found {
        Found::Versioned {
            tag,
            tag_name,
            message,
            open_release,
        } => versioned_merges(
            settings,
            kind,
            branch,
            (tag, tag_name, message),
            open_release,
            options,
        ),
        Found::Topic {
            commits_ahead,
            base,
        } => topic_merges(settings, kind, branch, *commits_ahead, base, options),
    };
    refs.extend(merged.refs);
    let mut steps = merged.steps;
    let hook_args = vec![merged.hook_name, settings.origin.clone(), branch.to_owned()];
    steps.push(Step::PostHook {
        kind,
        action: Action::Finish,
        args: hook_args.clone(),
    });
    if !merged.pushes.is_empty() {
        steps.push(Step::Push {
            remote: settings.origin.clone(),
            refs: merged.pushes,
        });
    }
    steps.extend(cleanup(settings, branch, on_remote, options));
    steps.push(Step::Checkout {
        branch: merged.end_on,
    });
    refs.sort();
    refs.dedup();
    FinishPlan {
        tag: merged.tag,
        refs,
        predict: merged.predict,
        steps,
        hook_args,
    }
}

fn heads(name: &str) -> String {
    format!("refs/heads/{name}")
}

/// The first part of a plan: what is merged, tagged and pushed.
struct Merged {
    steps: Vec<Step>,
    /// Refs the steps move besides the branch, main and develop.
    refs: Vec<String>,
    /// What the push step pushes, in order.
    pushes: Vec<String>,
    tag: Option<String>,
    /// The first argument of the finish hooks.
    hook_name: String,
    predict: Vec<(String, String)>,
    /// The branch checked out at the end.
    end_on: String,
}

/// A release's or hotfix's merge (or squash) into main, tag, and merge of
/// the tag (main with no tag, the branch with `no_back_merge`) back into
/// develop or the open release; what avh then pushes: develop, main, the tag.
fn versioned_merges(
    settings: &FlowSettings,
    kind: BranchType,
    branch: &str,
    (tag, tag_name, message): (&Option<String>, &str, &str),
    open_release: &Option<String>,
    options: &FinishOptions,
) -> Merged {
    let (main, develop) = (&settings.main, &settings.develop);
    // A hotfix goes back into the open release branch when there is one.
    let back_into = match (kind, open_release) {
        (BranchType::Hotfix, Some(release)) => release,
        _ => develop,
    };
    let mut refs = vec![heads(back_into)];
    let mut steps = vec![if options.squash {
        squash(kind, branch, main, options)
    } else {
        merge(branch, main, FastForward::Never)
    }];
    if let Some(tag) = tag {
        refs.push(format!("refs/tags/{tag}"));
        steps.push(Step::Tag {
            tag: tag.clone(),
            at: main.clone(),
            message: message.to_owned(),
            sign: TagKind::from(options.sign || options.signing_key.is_some()),
            pipeline: TagPipeline::from(options.no_pipeline),
            signing_key: options.signing_key.clone(),
        });
    }
    let mut predict = vec![(main.clone(), branch.to_owned())];
    let back_merge = !(kind == BranchType::Release && options.no_develop_merge);
    if back_merge {
        let from = match (options.no_back_merge, tag) {
            (true, _) => branch,
            (false, Some(tag)) => tag,
            (false, None) => main,
        };
        // avh squashes a release (never a hotfix) back in with -b -S.
        steps.push(
            if options.no_back_merge && options.squash && kind == BranchType::Release {
                squash(kind, branch, back_into, options)
            } else {
                merge(from, back_into, FastForward::Never)
            },
        );
        predict.push((back_into.clone(), branch.to_owned()));
    }
    let mut pushes = Vec::new();
    if options.push || options.push_develop {
        pushes.push(back_into.clone());
    }
    if options.push || options.push_main {
        pushes.push(main.clone());
    }
    if let (true, Some(tag)) = (options.push || options.push_tag, tag) {
        pushes.push(format!("refs/tags/{tag}"));
    }
    Merged {
        steps,
        refs,
        pushes,
        tag: tag.clone(),
        hook_name: tag_name.to_owned(),
        predict,
        end_on: if back_merge { develop } else { main }.clone(),
    }
}

/// A feature's or bugfix's optional rebase onto its base, its merge (or
/// squash) into the base, and the base's push.
fn topic_merges(
    settings: &FlowSettings,
    kind: BranchType,
    branch: &str,
    commits_ahead: u64,
    base: &str,
    options: &FinishOptions,
) -> Merged {
    let mut steps = Vec::new();
    if options.rebase {
        steps.push(Step::Rebase {
            branch: branch.to_owned(),
            onto: base.to_owned(),
            rebase_merges: options.rebase_merges,
        });
    }
    steps.push(if options.squash {
        squash(kind, branch, base, options)
    } else {
        // A one-commit feature fast-forwards, as with avh.
        let ff = FastForward::from(!options.no_ff && commits_ahead == 1);
        merge(branch, base, ff)
    });
    let short = branch.strip_prefix(settings.prefix(kind)).unwrap_or(branch);
    Merged {
        steps,
        refs: vec![heads(base)],
        pushes: if options.pushes() {
            vec![base.to_owned()]
        } else {
            Vec::new()
        },
        tag: None,
        hook_name: short.to_owned(),
        predict: vec![(base.to_owned(), branch.to_owned())],
        end_on: base.to_owned(),
    }
}

/// The branch's deletion after the push: on the remote first (only when
/// pushing, so a pull request for it is closed as merged, not as
/// abandoned: avh#330), then the local one, then avh's record of its base
/// once no branch of that name is left.
fn cleanup(
    settings: &FlowSettings,
    branch: &str,
    on_remote: bool,
    options: &FinishOptions,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if options.keep || options.keep_remote && options.keep_local {
        return steps;
    }
    let remote_deleted = on_remote && !options.keep_remote && options.pushes();
    if remote_deleted {
        steps.push(Step::DeleteRemoteBranch {
            remote: settings.origin.clone(),
            branch: branch.to_owned(),
        });
    }
    if !options.keep_local {
        steps.push(Step::DeleteBranch {
            branch: branch.to_owned(),
            // git never sees a squashed branch as merged.
            force: options.force_delete || options.squash,
        });
    }
    // As avh: once the remote has no such branch, even with --keeplocal.
    if !on_remote || remote_deleted {
        steps.push(Step::ForgetBase {
            branch: branch.to_owned(),
        });
    }
    steps
}

fn squash(kind: BranchType, branch: &str, into: &str, options: &FinishOptions) -> Step {
    Step::Squash {
        from: branch.to_owned(),
        into: into.to_owned(),
        info: options
            .squash_info
            .then(|| format!("Merged {} branch '{branch}'", kind.name())),
    }
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
            signing_key: None,
        }
    }

    fn delete(branch: &str) -> Step {
        Step::DeleteBranch {
            branch: branch.into(),
            force: false,
        }
    }

    fn forget(branch: &str) -> Step {
        Step::ForgetBase {
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

    fn checkout(branch: &str) -> Step {
        Step::Checkout {
            branch: branch.into(),
        }
    }

    fn push(refs: &[&str]) -> Step {
        Step::Push {
            remote: "origin".into(),
            refs: strings(refs),
        }
    }

    fn versioned(tag: &str, open_release: Option<&str>) -> Found {
        Found::Versioned {
            tag: Some(tag.into()),
            tag_name: tag.into(),
            message: format!("Release {tag}"),
            open_release: open_release.map(str::to_owned),
        }
    }

    fn topic(commits_ahead: u64) -> Found {
        Found::Topic {
            commits_ahead,
            base: "develop".into(),
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
            false,
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
                    post(BranchType::Release, &["v1.2.0", "origin", "release/1.2.0"]),
                    delete("release/1.2.0"),
                    forget("release/1.2.0"),
                    checkout("develop"),
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
            true,
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
                post(BranchType::Release, &["v2.0.0", "origin", "release/2.0.0"]),
                push(&["develop", "main", "refs/tags/v2.0.0"]),
                checkout("develop"),
            ]
        );
    }

    #[test]
    fn a_pushed_finish_deletes_the_remote_branch_after_the_push() {
        let options = FinishOptions {
            push: true,
            ..FinishOptions::default()
        };
        let on_remote = |on| {
            plan(
                &settings(),
                BranchType::Feature,
                "feature/login",
                &topic(2),
                on,
                &options,
            )
            .steps
        };
        assert_eq!(
            on_remote(true),
            vec![
                merge("feature/login", "develop", FastForward::Never),
                post(BranchType::Feature, &["login", "origin", "feature/login"]),
                push(&["develop"]),
                Step::DeleteRemoteBranch {
                    remote: "origin".into(),
                    branch: "feature/login".into(),
                },
                delete("feature/login"),
                forget("feature/login"),
                checkout("develop"),
            ]
        );
        // Without --push nothing reaches the remote: its branch stays, and
        // so does avh's record of the base (it names a live branch).
        let quiet = plan(
            &settings(),
            BranchType::Feature,
            "feature/login",
            &topic(2),
            true,
            &FinishOptions::default(),
        );
        assert_eq!(
            quiet.steps,
            vec![
                merge("feature/login", "develop", FastForward::Never),
                post(BranchType::Feature, &["login", "origin", "feature/login"]),
                delete("feature/login"),
                checkout("develop"),
            ]
        );
        // --keepremote and --keeplocal together keep both, as --keep.
        let both = FinishOptions {
            keep_remote: true,
            keep_local: true,
            ..options.clone()
        };
        let kept = plan(
            &settings(),
            BranchType::Feature,
            "feature/login",
            &topic(2),
            true,
            &both,
        );
        assert!(kept.steps.iter().all(|s| !matches!(
            s,
            Step::DeleteBranch { .. } | Step::DeleteRemoteBranch { .. } | Step::ForgetBase { .. }
        )));
    }

    #[test]
    fn a_hotfix_goes_back_into_develop_without_an_open_release() {
        let found = versioned("v1.2.1", None);
        let plan = plan(
            &settings(),
            BranchType::Hotfix,
            "hotfix/1.2.1",
            &found,
            false,
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
                post(BranchType::Hotfix, &["v1.2.1", "origin", "hotfix/1.2.1"]),
                delete("hotfix/1.2.1"),
                forget("hotfix/1.2.1"),
                checkout("develop"),
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
            false,
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
                post(BranchType::Hotfix, &["v1.2.1", "origin", "hotfix/1.2.1"]),
                push(&["release/1.3.0", "main", "refs/tags/v1.2.1"]),
                delete("hotfix/1.2.1"),
                forget("hotfix/1.2.1"),
                checkout("develop"),
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
    }

    #[test]
    fn no_tag_no_back_merge_and_no_develop_merge_change_what_goes_back() {
        let found = |tag: Option<&str>| Found::Versioned {
            tag: tag.map(str::to_owned),
            tag_name: "v1.0.0".into(),
            message: "m".into(),
            open_release: None,
        };
        let steps = |found: &Found, options: &FinishOptions| {
            plan(
                &settings(),
                BranchType::Release,
                "release/1.0.0",
                found,
                false,
                options,
            )
            .steps
        };
        // -n: no tag; main goes back into develop.
        let no_tag = FinishOptions {
            no_tag: true,
            ..FinishOptions::default()
        };
        let planned = steps(&found(None), &no_tag);
        assert_eq!(
            planned[..2],
            [
                merge("release/1.0.0", "main", FastForward::Never),
                merge("main", "develop", FastForward::Never),
            ]
        );
        assert!(!planned.iter().any(|s| matches!(s, Step::Tag { .. })));
        // -b: the branch itself goes back; with -S a release is squashed back.
        let back = FinishOptions {
            no_back_merge: true,
            ..FinishOptions::default()
        };
        assert_eq!(
            steps(&found(Some("v1.0.0")), &back)[2],
            merge("release/1.0.0", "develop", FastForward::Never)
        );
        let squashed = FinishOptions {
            squash: true,
            squash_info: true,
            ..back.clone()
        };
        let planned = steps(&found(Some("v1.0.0")), &squashed);
        let squash = |into: &str| Step::Squash {
            from: "release/1.0.0".into(),
            into: into.into(),
            info: Some("Merged release branch 'release/1.0.0'".into()),
        };
        assert_eq!(planned[0], squash("main"));
        assert_eq!(planned[2], squash("develop"));
        assert!(planned.contains(&Step::DeleteBranch {
            branch: "release/1.0.0".into(),
            force: true,
        }));
        // --nodevelopmerge: main and the tag only, and the finish ends on main.
        let ci = FinishOptions {
            no_develop_merge: true,
            ..FinishOptions::default()
        };
        let planned = steps(&found(Some("v1.0.0")), &ci);
        assert_eq!(
            planned
                .iter()
                .filter(|s| matches!(s, Step::Merge { .. }))
                .count(),
            1
        );
        assert_eq!(planned.last(), Some(&checkout("main")));
    }

    #[test]
    fn a_one_commit_feature_fast_forwards_unless_no_ff() {
        let one = topic(1);
        let plan_of = |found: &Found, options: &FinishOptions| {
            plan(
                &settings(),
                BranchType::Feature,
                "feature/login",
                found,
                false,
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
                    post(BranchType::Feature, &["login", "origin", "feature/login"]),
                    delete("feature/login"),
                    forget("feature/login"),
                    checkout("develop"),
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
        assert_eq!(
            plan_of(&topic(2), &FinishOptions::default()).steps[0],
            merge("feature/login", "develop", FastForward::Never)
        );
    }

    #[test]
    fn a_feature_rebased_squashed_into_its_recorded_base_and_force_deleted() {
        let options = FinishOptions {
            rebase: true,
            squash: true,
            ..FinishOptions::default()
        };
        let found = Found::Topic {
            commits_ahead: 3,
            base: "release/2.0.0".into(),
        };
        let plan = plan(
            &settings(),
            BranchType::Feature,
            "feature/x",
            &found,
            false,
            &options,
        );
        assert_eq!(
            plan.steps,
            vec![
                Step::Rebase {
                    branch: "feature/x".into(),
                    onto: "release/2.0.0".into(),
                    rebase_merges: false,
                },
                Step::Squash {
                    from: "feature/x".into(),
                    into: "release/2.0.0".into(),
                    info: None,
                },
                post(BranchType::Feature, &["x", "origin", "feature/x"]),
                Step::DeleteBranch {
                    branch: "feature/x".into(),
                    force: true,
                },
                forget("feature/x"),
                checkout("release/2.0.0"),
            ]
        );
        assert!(plan.refs.contains(&"refs/heads/release/2.0.0".to_owned()));
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
            &topic(3),
            true,
            &options,
        );
        assert_eq!(
            plan.steps,
            vec![
                merge("bugfix/crash", "develop", FastForward::Never),
                post(BranchType::Bugfix, &["crash", "origin", "bugfix/crash"]),
                push(&["develop"]),
                checkout("develop"),
            ]
        );
    }
}
