//! `.buildkit.toml`: any text, and the sample project's file damaged, gives
//! a configuration or an error, never a panic.

use proptest::prelude::*;

use super::{apply_text, config, edits};
use crate::config::Config;

const SAMPLE: &str = include_str!("../../examples/hello/.buildkit.toml");

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn any_text_never_panics(text in any::<String>()) {
        let _ = Config::parse(&text, ".buildkit.toml");
    }

    #[test]
    fn damaged_configurations_never_panic(edits in edits(6)) {
        let _ = Config::parse(&apply_text(SAMPLE, &edits), ".buildkit.toml");
    }

    #[test]
    fn plausible_values_never_panic(
        name in "[a-zA-Z0-9+.é_-]{0,12}",
        architecture in "[a-z0-9 -]{0,8}",
        key in "[a-z-]{1,16}",
        value in "(\"[^\"\\\\]{0,12}\"|[0-9]{1,25}|true|\\[\\]|\\{\\})",
    ) {
        let text = format!("[[package]]\nname = \"{name}\"\ndescription = \"d\"\nmaintainer = \"A <a@b.c>\"\narchitecture = \"{architecture}\"\n{key} = {value}\n");
        let _ = Config::parse(&text, ".buildkit.toml");
        let _ = Config::parse(&format!("[vm]\n{key} = {value}\n[flow]\n{key} = {value}\n"), ".buildkit.toml");
    }
}

#[test]
fn the_sample_parses() {
    Config::parse(SAMPLE, ".buildkit.toml").expect("sample");
}
