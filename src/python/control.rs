//! The control stanza of a generated package: `Depends` from
//! `Requires-Dist` and the wheel's Python ABI, a Debian description.
use super::filename::PyAbi;
use super::wheel::Wheel;

/// What the interpreter must be for `wheel`: `python3:any` for pure
/// wheels, the exact minor version for `cpXY` extensions, a minimum for
/// the stable ABI.
pub fn python_depends(wheel: &Wheel, target: (u32, u32)) -> Vec<String> {
    match wheel.name.cpython_abi() {
        Some(PyAbi::Cp(x, y)) => vec![
            format!("python3 (>= {x}.{y}~)"),
            format!("python3 (<< {x}.{})", y + 1),
        ],
        Some(PyAbi::Abi3(x, y)) => vec![format!("python3 (>= {x}.{y}~)")],
        None if wheel.name.is_pure() => {
            let min = wheel.metadata.requires_python.as_ref().and_then(|spec| {
                spec.iter()
                    .filter(|s| matches!(s.operator(), pep440_rs::Operator::GreaterThanEqual))
                    .map(|s| {
                        s.version()
                            .release()
                            .iter()
                            .take(2)
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .next()
            });
            let _ = target;
            vec![match min {
                Some(v) => format!("python3:any (>= {v}~)"),
                None => "python3:any".to_owned(),
            }]
        }
        None => vec!["python3".to_owned()],
    }
}

/// Text wrapped at 72 columns as the paragraphs of a Debian extended
/// description (each line indented by one space, empty lines as ` .`).
pub fn extended(paragraphs: &[String]) -> String {
    let mut out = Vec::new();
    for (i, p) in paragraphs.iter().enumerate() {
        if i > 0 {
            out.push(".".to_owned());
        }
        let mut line = String::new();
        for word in p.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > 72 {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            out.push(line);
        }
    }
    out.join("\n")
}

/// A synopsis from a `Summary`: one line, at most 80 characters, without
/// a final full stop.
pub fn synopsis(summary: Option<&str>, fallback: &str) -> String {
    let s = summary
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| fallback.to_owned());
    // The first sentence, without a leading article (lintian's
    // description-synopsis-starts-with-article).
    let s = s.split(". ").next().unwrap_or(&s).to_owned();
    let s = ["The ", "A ", "An "]
        .iter()
        .find_map(|a| s.strip_prefix(a))
        .map_or(s.clone(), str::to_owned);
    let mut s: String = s.trim_end_matches('.').chars().take(80).collect();
    if s.chars().count() == 80 {
        if let Some(i) = s.rfind(' ') {
            s.truncate(i);
        }
    }
    s
}
