//! `{{ name }}`: {{ description }}.

use std::process::ExitCode;

const USAGE: &str = "\
Usage: {{ name }} [--name NAME]
       {{ name }} --version | --help

{{ description }}.

Options:
  -n, --name NAME  who to greet (default: world)
  -V, --version    print the version and exit
  -h, --help       print this help and exit
";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Greet(String),
    Version,
    Help,
}

/// Reads the arguments (without the program name).
fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut name = String::from("world");
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "-n" | "--name" => name = args.next().ok_or("--name needs a value")?,
            other => match other.strip_prefix("--name=") {
                Some(value) => name = value.to_owned(),
                None => return Err(format!("unknown argument {other:?}")),
            },
        }
    }
    Ok(Command::Greet(name))
}

/// The greeting for `name`.
fn greeting(name: &str) -> String {
    format!("Hello, {}!", name.trim())
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok(Command::Greet(name)) => println!("{}", greeting(&name)),
        Ok(Command::Version) => println!("{{ name }} {}", env!("CARGO_PKG_VERSION")),
        Ok(Command::Help) => print!("{USAGE}"),
        Err(message) => {
            eprintln!("{{ name }}: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn greets_the_world_by_default() {
        assert_eq!(parse(args(&[])), Ok(Command::Greet("world".into())));
        assert_eq!(greeting("world"), "Hello, world!");
    }

    #[test]
    fn greets_by_name() {
        assert_eq!(
            parse(args(&["--name", "Ada"])),
            Ok(Command::Greet("Ada".into()))
        );
        assert_eq!(
            parse(args(&["--name= Ada "])),
            Ok(Command::Greet(" Ada ".into()))
        );
        assert_eq!(greeting(" Ada "), "Hello, Ada!");
    }

    #[test]
    fn version_and_help_win() {
        assert_eq!(parse(args(&["--version"])), Ok(Command::Version));
        assert_eq!(parse(args(&["-n", "x", "-h"])), Ok(Command::Help));
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert_eq!(parse(args(&["--name"])), Err("--name needs a value".into()));
        assert_eq!(parse(args(&["-x"])), Err("unknown argument \"-x\"".into()));
    }
}
