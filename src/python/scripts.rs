//! Generated files: `/usr/bin` wrappers for entry points, shebangs made
//! absolute, and dh_python3's `py3compile`/`py3clean` maintainer-script
//! snippets, byte for byte, so the `.pyc` files are made on the target for
//! the Python it has (and again after a Python upgrade: `rtupdate`).
use super::entry_points::EntryPoint;

/// The wrapper script of `ep` (distlib's form, with the private directory
/// put first on `sys.path`). Module and attribute are checked identifiers.
pub fn wrapper(ep: &EntryPoint, dist: &str, version: &str, python_dir: &str) -> String {
    let (import, call) = match &ep.attr {
        Some(attr) => {
            let head = attr.split('.').next().unwrap_or(attr);
            (
                format!("from {} import {head}", ep.module),
                format!("{attr}()"),
            )
        }
        None => (
            "import runpy".to_owned(),
            format!("runpy.run_module(\"{}\", run_name=\"__main__\")", ep.module),
        ),
    };
    let spec = match &ep.attr {
        Some(attr) => format!("{}:{attr}", ep.module),
        None => ep.module.clone(),
    };
    format!(
        "#!/usr/bin/python3\n\
         # {name}: the entry point {spec} of {dist} {version}, made by git-buildkit\n\
         import re\n\
         import sys\n\
         sys.path.insert(0, \"{python_dir}\")\n\
         {import}\n\
         if __name__ == \"__main__\":\n    \
             sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    \
             sys.exit({call})\n",
        name = ep.name,
    )
}

/// A script of a wheel's `.data/scripts` with its Python shebang made
/// absolute and the private directory put on `sys.path`; other files are
/// returned unchanged (`None`).
pub fn fix_script(bytes: &[u8], python_dir: &str) -> Option<Vec<u8>> {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let first = std::str::from_utf8(&bytes[..end]).ok()?;
    let interpreter = first.strip_prefix("#!")?.trim();
    let python = interpreter == "python"
        || interpreter == "pythonw"
        || interpreter.starts_with("python3")
        || interpreter.starts_with("/usr/bin/env python")
        || interpreter.ends_with("/python")
        || interpreter.ends_with("/python3");
    if !python {
        return None;
    }
    let rest = std::str::from_utf8(&bytes[(end + 1).min(bytes.len())..]).ok()?;
    let insert = format!("import sys; sys.path.insert(0, \"{python_dir}\")\n");
    // After any `from __future__` import, which must come first.
    let mut lines: Vec<&str> = rest.split_inclusive('\n').collect();
    let at = lines
        .iter()
        .rposition(|l| l.starts_with("from __future__ import"))
        .map_or(0, |i| i + 1);
    lines.insert(at, &insert);
    Some(format!("#!/usr/bin/python3\n{}", lines.concat()).into_bytes())
}

/// A module whose first line runs it with some `python`: that line made
/// `#!/usr/bin/python3`; `None` when it is already or is not Python.
pub fn fix_shebang(bytes: &[u8]) -> Option<Vec<u8>> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    let first = std::str::from_utf8(&bytes[..end]).ok()?;
    let interpreter = first.strip_prefix("#!")?.trim();
    let program = interpreter.split_whitespace().collect::<Vec<_>>();
    let python = match program[..] {
        ["/usr/bin/env", p, ..] | [p, ..] => p
            .rsplit('/')
            .next()
            .is_some_and(|p| p.starts_with("python")),
        [] => false,
    };
    if !python || interpreter == "/usr/bin/python3" {
        return None;
    }
    let mut out = b"#!/usr/bin/python3".to_vec();
    out.extend_from_slice(&bytes[end..]);
    Some(out)
}

/// dh_python3's postinst snippet for a private directory.
pub fn postinst(package: &str, dir: &str, version: Option<(u32, u32)>) -> String {
    let args = match version {
        Some((x, y)) => format!("{dir} -V {x}.{y}"),
        None => dir.to_owned(),
    };
    format!(
        "\n# Automatically added by dh_python3\n\
         if command -v py3compile >/dev/null 2>&1; then\n\
         \tpy3compile -p {package} {args}\n\
         fi\n\
         if command -v pypy3compile >/dev/null 2>&1; then\n\
         \tpypy3compile -p {package} {args} || true\n\
         fi\n\
         \n# End automatically added section\n"
    )
}

/// dh_python3's prerm snippet.
pub fn prerm(package: &str) -> String {
    format!(
        "\n# Automatically added by dh_python3\n\
         if command -v py3clean >/dev/null 2>&1; then\n\
         \tpy3clean -p {package} \n\
         else\n\
         \tdpkg -L {package} | sed -En -e '/^(.*)\\/(.+)\\.py$/s,,rm \"\\1/__pycache__/\\2\".*,e'\n\
         \tfind /usr/lib/python3/dist-packages/ -type d -name __pycache__ -empty -print0 | xargs --null --no-run-if-empty rmdir\n\
         fi\n\
         \n# End automatically added section\n"
    )
}

/// `/usr/share/python3/runtime.d/<package>.rtupdate`: recompiles after the
/// default Python changes.
pub fn rtupdate(package: &str, dir: &str, version: Option<(u32, u32)>) -> String {
    let args = version.map_or_else(String::new, |(x, y)| format!("-V {x}.{y}"));
    format!(
        "#! /bin/sh\nset -e\nif [ \"$1\" = rtupdate ]; then\n\tpy3clean -p {package} {dir}\n\tpy3compile -p {package} {args} {dir}\nfi"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippets_are_dh_python3s_templates_filled_in() {
        let template = |name: &str, package: &str, args: &str| {
            std::fs::read_to_string(format!("/usr/share/debhelper/autoscripts/{name}"))
                .ok()
                .map(|t| {
                    format!(
                        "\n# Automatically added by dh_python3\n{}\n# End automatically added section\n",
                        t.replace("#PACKAGE#", package).replace("#ARGS#", args)
                    )
                })
        };
        // dh-python is installed where it matters (the bench); when it is,
        // the text must be its own.
        if let Some(t) = template("postinst-py3compile", "app-python-x", "/usr/lib/app/python") {
            assert_eq!(postinst("app-python-x", "/usr/lib/app/python", None), t);
        }
        if let Some(t) = template("prerm-py3clean", "app-python-x", "") {
            assert_eq!(prerm("app-python-x"), t);
        }
        assert!(
            postinst("p:amd64", "/d", Some((3, 11))).contains("py3compile -p p:amd64 /d -V 3.11\n")
        );
    }

    #[test]
    fn shebangs_become_absolute_after_future_imports() {
        let fixed = fix_script(
            b"#!python\nfrom __future__ import annotations\nprint(1)\n",
            "/usr/lib/a/python",
        )
        .expect("a python script");
        assert_eq!(
            String::from_utf8(fixed).expect("utf8"),
            "#!/usr/bin/python3\nfrom __future__ import annotations\nimport sys; sys.path.insert(0, \"/usr/lib/a/python\")\nprint(1)\n"
        );
        assert!(fix_script(b"#!/bin/sh\necho\n", "/x").is_none());
        assert!(fix_script(b"\x7fELF", "/x").is_none());
    }
}
