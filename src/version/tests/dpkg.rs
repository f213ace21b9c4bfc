//! Agreement with the real dpkg, on generated and known versions.

use super::*;

/// A tiny deterministic PRNG (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n fits in usize")
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn digit(&mut self) -> char {
        char::from(b'0' + u8::try_from(self.below(10)).expect("a digit"))
    }
}

/// A generated version, kept in parts so that mutations keep it valid.
#[derive(Clone)]
struct Parts {
    epoch: Option<String>,
    upstream: String,
    revision: Option<String>,
}

impl Parts {
    fn render(&self) -> String {
        let mut s = String::new();
        if let Some(epoch) = &self.epoch {
            s.push_str(epoch);
            s.push(':');
        }
        s.push_str(&self.upstream);
        if let Some(revision) = &self.revision {
            s.push('-');
            s.push_str(revision);
        }
        s
    }
}

fn gen_digits(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => "0".repeat(1 + rng.below(3)),
        1 => format!("{}{}", "0".repeat(1 + rng.below(3)), rng.below(12)),
        2 => (0..21 + rng.below(10)).map(|_| rng.digit()).collect(),
        3 => {
            // Long numbers that share a prefix, so they often compare close.
            let tail: String = (0..rng.below(3)).map(|_| rng.digit()).collect();
            format!("1234567890123456789012{tail}")
        }
        4 => rng.below(1000).to_string(),
        _ => rng.below(12).to_string(),
    }
}

fn gen_letters(rng: &mut Rng) -> String {
    if rng.chance(40) {
        rng.pick(&["rc", "alpha", "beta", "dfsg", "ubuntu", "git", "b", "Z"])
            .to_owned()
    } else {
        (0..1 + rng.below(2))
            .map(|_| rng.pick(&["a", "b", "z", "A", "Z"]))
            .collect()
    }
}

fn gen_parts(rng: &mut Rng) -> Parts {
    let epoch = rng.chance(30).then(|| {
        if rng.chance(50) {
            rng.below(4).to_string()
        } else {
            rng.pick(&["0", "1", "01", "007", "10", "2147483647", "2147483646"])
                .to_owned()
        }
    });
    let has_revision = rng.chance(60);
    let mut separators = vec![".", "+", "~", "~~", ".~", "", "+~", "."];
    if has_revision {
        separators.push("-");
    }
    if epoch.is_some() {
        separators.push(":");
    }
    let mut upstream = gen_digits(rng);
    for _ in 0..rng.below(6) {
        upstream.push_str(rng.pick(&separators));
        if rng.chance(45) {
            upstream.push_str(&gen_letters(rng));
        }
        if rng.chance(70) {
            upstream.push_str(&gen_digits(rng));
        }
    }
    let revision = has_revision.then(|| {
        let mut revision = String::new();
        while revision.is_empty() {
            for _ in 0..1 + rng.below(4) {
                match rng.below(6) {
                    0 | 1 => revision.push_str(&gen_digits(rng)),
                    2 => revision.push_str(&gen_letters(rng)),
                    _ => revision.push_str(rng.pick(&[".", "+", "~", "+b", "~bpo"])),
                }
            }
        }
        revision
    });
    Parts {
        epoch,
        upstream,
        revision,
    }
}

/// Byte positions in `s` (never 0) whose byte satisfies `pred`.
fn positions(s: &str, pred: impl Fn(u8) -> bool) -> Vec<usize> {
    s.bytes()
        .enumerate()
        .skip(1)
        .filter(|&(_, b)| pred(b))
        .map(|(i, _)| i)
        .collect()
}

/// A small change to a version that keeps it valid, so the pair compares close or equal.
fn mutate(rng: &mut Rng, parts: &Parts) -> Parts {
    let mut p = parts.clone();
    for _ in 0..1 + rng.below(2) {
        match rng.below(14) {
            0 => {
                p.epoch = if p.upstream.contains(':') || rng.chance(50) {
                    Some(rng.pick(&["0", "1", "01", "2"]).to_owned())
                } else {
                    None
                };
            }
            1 => p
                .upstream
                .push_str(rng.pick(&["~", "0", ".0", "a", "+", "~~", ".", "00", "1", "Z"])),
            2 => match &mut p.revision {
                Some(revision) => {
                    revision.push_str(rng.pick(&["~", "0", ".0", "a", "+", "~~", "1"]));
                }
                None => p.revision = Some(rng.pick(&["0", "1", "00", "~", "a"]).to_owned()),
            },
            3 => {
                p.revision = if p.upstream.contains('-') {
                    Some("0".to_owned())
                } else {
                    None
                };
            }
            4 | 5 => {
                // Change a digit (position 0 included: it stays a digit).
                let digits: Vec<usize> = p
                    .upstream
                    .bytes()
                    .enumerate()
                    .filter(|(_, b)| b.is_ascii_digit())
                    .map(|(i, _)| i)
                    .collect();
                let i = digits[rng.below(digits.len())];
                let digit = rng.digit().to_string();
                p.upstream.replace_range(i..=i, &digit);
            }
            6 => {
                // Add a leading zero to a run of digits.
                let bytes = p.upstream.as_bytes();
                let starts: Vec<usize> = (0..bytes.len())
                    .filter(|&i| {
                        bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit())
                    })
                    .collect();
                let i = starts[rng.below(starts.len())];
                p.upstream.insert(i, '0');
            }
            7 if p.upstream.len() > 1 => {
                p.upstream.pop();
            }
            8 => {
                let letters = positions(&p.upstream, |b| b.is_ascii_alphabetic());
                if !letters.is_empty() {
                    let i = letters[rng.below(letters.len())];
                    let flipped = char::from(p.upstream.as_bytes()[i] ^ 0x20).to_string();
                    p.upstream.replace_range(i..=i, &flipped);
                }
            }
            9 => {
                let punctuation = positions(&p.upstream, |b| matches!(b, b'.' | b'+' | b'~'));
                if !punctuation.is_empty() {
                    let i = punctuation[rng.below(punctuation.len())];
                    p.upstream.replace_range(i..=i, rng.pick(&[".", "+", "~"]));
                }
            }
            10 => {
                if let Some(revision) = &mut p.revision {
                    let digits = positions(revision, |b| b.is_ascii_digit());
                    if let Some(&i) = digits.first() {
                        revision.replace_range(i..=i, &rng.digit().to_string());
                    } else {
                        revision.insert(0, rng.digit());
                    }
                }
            }
            11 => {
                // Insert a character anywhere after the leading digit.
                let i = 1 + rng.below(p.upstream.len());
                let c = rng.pick(&["a", "Z", "~", "+", ".", "0", "5", "~~"]);
                p.upstream.insert_str(i, c);
            }
            12 => {
                // Replace the tail with a fresh one, keeping a common prefix.
                let keep = 1 + rng.below(p.upstream.len());
                p.upstream.truncate(keep);
                let fresh = gen_parts(rng).upstream;
                let skip = rng.below(fresh.len());
                p.upstream.push_str(&fresh[skip..]);
                if p.upstream.contains(':') && p.epoch.is_none() {
                    p.epoch = Some("0".to_owned());
                }
                if p.upstream.contains('-') && p.revision.is_none() {
                    p.revision = Some("1".to_owned());
                }
            }
            _ => {}
        }
    }
    p
}

fn op(order: Ordering) -> &'static str {
    match order {
        Less => "lt",
        Equal => "eq",
        Greater => "gt",
    }
}

/// Feeds `lines` to `script`, split over parallel `sh` processes, and returns one output
/// line per input line; fails if anything is written to standard error.
fn run_sh_lines(script: &str, lines: &[String]) -> Vec<String> {
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    let chunk_len = lines.len().div_ceil(jobs).max(1);
    let running: Vec<_> = lines
        .chunks(chunk_len)
        .map(|chunk| {
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(script)
                .env("LC_ALL", "C")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("sh can be started");
            let mut stdin = child.stdin.take().expect("stdin is piped");
            let input: String = chunk.iter().map(|line| format!("{line}\n")).collect();
            let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
            (child, writer, chunk.len())
        })
        .collect();
    let mut answers = Vec::with_capacity(lines.len());
    for (child, writer, expected_len) in running {
        let output = child.wait_with_output().expect("sh runs");
        writer
            .join()
            .expect("the writer thread does not panic")
            .expect("the pairs can be written to sh");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.is_empty(),
            "dpkg complained, so a generated version is invalid for dpkg:\n{stderr}"
        );
        assert!(output.status.success(), "sh failed: {}", output.status);
        let stdout = String::from_utf8(output.stdout).expect("sh prints ASCII");
        let chunk_answers: Vec<String> = stdout.lines().map(str::to_owned).collect();
        assert_eq!(chunk_answers.len(), expected_len, "one answer per pair");
        answers.extend(chunk_answers);
    }
    answers
}

fn require_dpkg() {
    match Command::new("dpkg").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "`dpkg --version` failed ({}); this test needs dpkg",
            output.status
        ),
        Err(e) => panic!(
            "cannot run `dpkg` ({e}): this test compares with `dpkg --compare-versions` and \
             needs dpkg on PATH (it is always there on Debian)"
        ),
    }
}

#[test]
#[allow(clippy::print_stdout)]
fn agrees_with_dpkg_compare_versions() {
    require_dpkg();
    let mut rng = Rng(0x5EED_D9C6_0F0F);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for _ in 0..1200 {
        pairs.push((gen_parts(&mut rng).render(), gen_parts(&mut rng).render()));
    }
    for _ in 0..2800 {
        let a = gen_parts(&mut rng);
        let b = if rng.chance(4) {
            // The same version written canonically, e.g. without a zero epoch.
            deb(&a.render()).to_string()
        } else {
            mutate(&mut rng, &a).render()
        };
        if rng.chance(50) {
            pairs.push((a.render(), b));
        } else {
            pairs.push((b, a.render()));
        }
    }
    for &(a, _, b) in KNOWN_COMPARISONS {
        pairs.push((a.to_owned(), b.to_owned()));
    }
    for window in SEMVER_ORDER.windows(2) {
        pairs.push((mapped(window[0]).to_string(), mapped(window[1]).to_string()));
    }
    for &(a, _, b) in PRERELEASE_DIVERGENCES {
        pairs.push((mapped(a).to_string(), mapped(b).to_string()));
    }

    // Our answers, with the checks that need no dpkg.
    let mut ours = Vec::with_capacity(pairs.len());
    let mut queries = Vec::with_capacity(pairs.len());
    for (a, b) in &pairs {
        let (va, vb) = (deb(a), deb(b));
        for (s, v) in [(a, &va), (b, &vb)] {
            let back = deb(&v.to_string());
            assert_eq!(back, *v, "parse(display({s:?})) == {s:?}");
            assert_eq!(
                (back.epoch, &back.upstream, &back.revision),
                (v.epoch, &v.upstream, &v.revision)
            );
        }
        let order = va.cmp(&vb);
        assert_eq!(vb.cmp(&va), order.reverse(), "{a} vs {b} is antisymmetric");
        if order == Equal {
            assert_eq!(
                hash_of(&va),
                hash_of(&vb),
                "equal {a} and {b} hash the same"
            );
        }
        ours.push(order);
        queries.push(format!("{a} {} {b}", op(order)));
    }
    let equal = ours.iter().filter(|o| o.is_eq()).count();

    // One dpkg call per pair: dpkg confirms our answer or not.
    let started = Instant::now();
    let confirmations = run_sh_lines(
        r#"while read -r a op b; do
             if dpkg --compare-versions "$a" "$op" "$b"; then echo yes; else echo no; fi
           done"#,
        &queries,
    );
    let elapsed = started.elapsed();
    let refuted: Vec<usize> = (0..pairs.len())
        .filter(|&i| confirmations[i] != "yes")
        .collect();
    if !refuted.is_empty() {
        // Ask dpkg for its own answer on the pairs it did not confirm.
        let lines: Vec<String> = refuted
            .iter()
            .map(|&i| format!("{} {}", pairs[i].0, pairs[i].1))
            .collect();
        let dpkg = run_sh_lines(
            r#"while read -r a b; do
                 if dpkg --compare-versions "$a" lt "$b"; then echo lt
                 elif dpkg --compare-versions "$a" eq "$b"; then echo eq
                 else echo gt; fi
               done"#,
            &lines,
        );
        let report: Vec<String> = refuted
            .iter()
            .zip(&dpkg)
            .take(30)
            .map(|(&i, theirs)| {
                let (a, b) = &pairs[i];
                format!("{a} vs {b}: ours {}, dpkg {theirs}", op(ours[i]))
            })
            .collect();
        panic!(
            "{} of {} pairs disagree with dpkg --compare-versions:\n{}",
            refuted.len(),
            pairs.len(),
            report.join("\n")
        );
    }
    println!(
        "checked {} version pairs ({equal} equal) against dpkg --compare-versions in {:.1?}",
        pairs.len(),
        elapsed
    );
}
