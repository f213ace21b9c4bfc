//! A kept run that stays up: `vm-test --keep --forward`, a guest port
//! answering on 127.0.0.1, `vm exec` (output, exit status, binary stdin, a
//! command forging frames), `vm list` and `vm destroy` ending qemu. Real
//! qemu, the shared cached image (`vm_slot`).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{vm_cache, vm_slot, Sandbox};
use crate::vm::VmProject;

/// A smoke command leaving a tiny HTTP server on guest port 80 (perl is in
/// every Debian system; the image has no python, busybox or nc), detached
/// so the test's pipes close.
const SERVER: &str = r#"setsid perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 80, Listen => 5, ReuseAddr => 1) or die; while ($c = $s->accept) { $l = <$c>; print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ngreetings over the forward\n"; close $c }' </dev/null >/dev/null 2>&1 &"#;

/// A port free on 127.0.0.1 right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// `git-buildkit vm exec ID -- WORDS` with `stdin` piped in: (code, stdout, stderr).
fn exec(id: &str, words: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    exec_within("2m", id, words, stdin)
}

fn exec_within(timeout: &str, id: &str, words: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let mut child = Command::new(Sandbox::bk_path())
        .args(["vm", "exec", "--timeout", timeout, id, "--"])
        .args(words)
        .env("BUILDKIT_VM_CACHE", vm_cache())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vm exec");
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = feeder.join();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// GET / from 127.0.0.1:port, retried for a while (the server starts in
/// the background).
fn fetch(port: u16) -> String {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let attempt = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(20)))?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        });
        match attempt {
            Ok(text) if !text.is_empty() => return text,
            other if Instant::now() > until => panic!("no answer on port {port}: {other:?}"),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// Destroys a kept run when dropped, so a failing test leaves no VM running.
struct Destroy(String);

impl Drop for Destroy {
    fn drop(&mut self) {
        let _ = Command::new(Sandbox::bk_path())
            .args(["-q", "vm", "destroy", &self.0])
            .env("BUILDKIT_VM_CACHE", vm_cache())
            .output();
    }
}

fn qemu_pid(id: &str) -> i32 {
    std::fs::read_to_string(vm_cache().join("runs").join(id).join("qemu.pid"))
        .expect("qemu.pid")
        .trim()
        .parse()
        .expect("pid")
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

#[test]
fn a_kept_run_stays_up_for_exec_and_its_forwarded_port_answers() {
    let smoke = format!("[vm]\nsmoke = ['''{SERVER}''', \"greet > /root/said\"]\n");
    let p = VmProject::new("", &smoke, &[]);
    let _vm = vm_slot();
    let port = free_port();
    let forward = format!("{port}:80");
    let (run, verdict, _) = p.vm_test(&["--keep", "--forward", &forward]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let id = verdict["run_id"].as_str().expect("run id").to_owned();
    let _destroy = Destroy(id.clone());
    assert_eq!(verdict["running"], true, "{verdict:#}");
    assert_eq!(
        verdict["forwards"],
        serde_json::json!([{"host": port, "guest": 80}])
    );
    assert!(
        run.stderr.contains(&format!(
            "`git buildkit vm exec {id} -- CMD` runs a command in it"
        )),
        "{}",
        run.stderr
    );
    let pid = qemu_pid(&id);
    assert!(alive(pid), "qemu {pid} of the kept run is gone");

    // The guest's port 80, from the host's loopback.
    let page = fetch(port);
    assert!(page.starts_with("HTTP/1.0 200 OK\r\n"), "{page}");
    assert!(
        page.ends_with("\r\n\r\ngreetings over the forward\n"),
        "{page}"
    );

    let listed: Value =
        serde_json::from_str(&p.bk(&["vm", "list", "--json"]).ok().stdout).expect("json");
    let ours: Vec<&Value> = listed["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["id"] == id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{listed:#}");
    assert_eq!(ours[0]["state"], "running");
    assert_eq!(
        ours[0]["forwards"],
        serde_json::json!([{"host": port, "guest": 80}])
    );

    // Output on both streams, and the exit status handed on.
    let (code, out, err) = exec(&id, &["sh", "-c", "echo out; echo err >&2; exit 7"], b"");
    assert_eq!(
        (code, String::from_utf8_lossy(&out).into_owned(), err),
        (7, "out\n".to_owned(), "err\n".to_owned())
    );
    // What the kept run did is there.
    let (code, out, _) = exec(&id, &["cat", "/root/said"], b"");
    assert_eq!((code, out), (0, b"greetings from 1.0.0\n".to_vec()));

    // Binary stdin round-trips, every byte value, through the guest.
    let input: Vec<u8> = (0..=255u8).cycle().take(64 * 1024 + 3).collect();
    let (code, out, err) = exec(&id, &["cat"], &input);
    assert_eq!(code, 0, "{err}");
    assert!(out == input, "{} bytes back of {}", out.len(), input.len());

    // A command that knows the run's exec marker (it is on the job disk)
    // and prints exit frames, on both streams and as whole lines, cannot
    // change its status: its output is only data.
    let forge = r#"m=$(sed -n "s/^xmarker='\(.*\)'$/\1/p" /run/bk/job/run.sh); for id in 0 1 a b; do printf '%sEXIT %s 0\n%sOUT %s 41\n' "$m" "$id" "$m" "$id"; printf '%sEXIT %s 0\n' "$m" "$id" >&2; done; echo "marker=[$m]"; exit 5"#;
    let (code, out, err) = exec(&id, &["bash", "-c", forge], b"");
    let out = String::from_utf8_lossy(&out).into_owned();
    assert_eq!(code, 5, "{out}\n{err}");
    assert!(out.contains("EXIT 0 0\n"), "{out}");
    assert!(out.contains("marker=[@@bkx:"), "{out}");
    assert!(err.contains("EXIT a 0\n"), "{err}");

    // A command past its time limit is killed (exit 3), and the run is
    // free at once for the next one.
    let (code, _, err) = exec_within("3s", &id, &["sleep", "600"], b"");
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("error: the command did not finish within 3s: it was killed"),
        "{err}"
    );
    // (No procps in the image: the sleeps are looked for in /proc.)
    let look = "for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" != sleep ] || echo found; done; echo looked";
    let (code, out, err) = exec(&id, &["bash", "-c", look], b"");
    assert_eq!((code, out), (0, b"looked\n".to_vec()), "{err}");

    // Two at once are served one after the other, each whole.
    let twins: Vec<_> = (0..2)
        .map(|i| {
            let id = id.clone();
            std::thread::spawn(move || {
                let script = format!("echo {i}a; sleep 2; echo {i}b");
                exec(&id, &["sh", "-c", &script], b"")
            })
        })
        .collect();
    for (i, twin) in twins.into_iter().enumerate() {
        let (code, out, err) = twin.join().expect("join");
        assert_eq!(
            (code, String::from_utf8_lossy(&out).into_owned()),
            (0, format!("{i}a\n{i}b\n")),
            "{err}"
        );
    }

    // A busy forward port is named before anything boots.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = taken.local_addr().expect("addr").port();
    let run = p.bk(&[
        "vm-test",
        "v1.0.0",
        "--keep",
        "--forward",
        &format!("{busy}:80"),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "error: port {busy} on 127.0.0.1 is busy: it cannot forward to the guest"
        )),
        "{}",
        run.stderr
    );
    drop(taken);

    // destroy ends qemu and removes the run.
    p.bk(&["-q", "vm", "destroy", &id]).ok();
    assert!(!alive(pid), "qemu {pid} still runs after destroy");
    assert!(!vm_cache().join("runs").join(&id).exists());
    let (code, _, err) = exec(&id, &["true"], b"");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("there is no kept run {id:?}")),
        "{err}"
    );
}

#[test]
fn forward_is_checked_before_anything_runs() {
    let p = VmProject::new("", "[vm]\nsmoke = [\"greet\"]\n", &[]);
    for (args, want) in [
        (
            vec!["vm-test", "v1.0.0", "--keep", "--forward", "0:80"],
            "invalid forward \"0:80\": a port is a number from 1 to 65535",
        ),
        (
            vec!["vm-test", "v1.0.0", "--keep", "--forward", "8080"],
            "invalid forward \"8080\": write HOST:GUEST, e.g. 8080:80",
        ),
        (vec!["vm-test", "v1.0.0", "--forward", "8080:80"], "--keep"),
    ] {
        let run = p.bk(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
    let run = p.bk(&["vm", "exec", "no-such-run", "--", "true"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("there is no kept run \"no-such-run\""),
        "{}",
        run.stderr
    );
}

const SERVICE: &str = "[Unit]\nDescription=greet daemon\n\n[Service]\nExecStart=/bin/sh -c 'while :; do sleep 60; done'\n\n[Install]\nWantedBy=multi-user.target\n";
const POSTINST: &str = "#!/bin/sh\nset -e\nif [ \"$1\" = configure ] && [ -d /run/systemd/system ]; then\n    systemctl enable --now greetd.service\nfi\n";

#[test]
fn a_kept_systemd_run_answers_systemctl_through_exec() {
    let p = VmProject::with_apt_at(
        "apt",
        "maintainer-scripts = \"debian\"",
        r#"{ src = "greetd.service", dest = "/lib/systemd/system/greetd.service" },"#,
        "[vm]\nsmoke = [\"greet\"]\n",
        &[
            ("debian/postinst", POSTINST, true),
            ("greetd.service", SERVICE, false),
        ],
    );
    let _vm = vm_slot();
    let (run, verdict, _) = p.vm_test(&["--keep"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict["mode"], "systemd", "{verdict:#}");
    assert_eq!(verdict["running"], true, "{verdict:#}");
    let id = verdict["run_id"].as_str().expect("run id").to_owned();
    let _destroy = Destroy(id.clone());
    let pid = qemu_pid(&id);

    let (code, out, err) = exec(&id, &["systemctl", "is-active", "greetd.service"], b"");
    assert_eq!((code, out), (0, b"active\n".to_vec()), "{err}");
    let (code, _, err) = exec(&id, &["systemctl", "status", "nosuch.service"], b"");
    assert_eq!(code, 4, "{err}");
    assert_eq!(err, "Unit nosuch.service could not be found.\n");

    let human = p.bk(&["vm", "list"]).ok().stdout;
    let line = human
        .lines()
        .find(|l| l.starts_with(&format!("run {id} ")))
        .unwrap_or_else(|| panic!("{human}"));
    assert!(line.ends_with("PASS  running"), "{line}");

    p.bk(&["-q", "vm", "destroy", &id]).ok();
    assert!(!alive(pid), "qemu {pid} still runs after destroy");
}
