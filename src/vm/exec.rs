//! `vm exec`: one command run as root in a kept, running guest, its output
//! streamed back and its exit status handed on.
//!
//! The channel is the job port (the second serial port, a unix socket in
//! the run directory): once a kept run's job has ended, the guest does not
//! power off but starts a small agent (Perl, which every Debian system has
//! as `perl-base`; nothing in the image changes) that reads requests there.
//! Both directions are lines that start with a marker holding the run's
//! exec nonce, and every byte of a command, its input and its output travels
//! hex-encoded: whatever the command prints is data inside an `OUT`/`ERR`
//! frame, so no output can forge a frame or an exit status. (A root command
//! that writes to the serial device itself could; root in the guest is
//! trusted with the guest, not with the host, and the host bounds what it
//! reads: each line to [`limits::MAX_LINE`], the output to [`MAX_OUTPUT`].)
//!
//! Requests (host to guest): `EXEC <id> <hex command>`, any number of
//! `IN <id> <hex bytes>` (the command's stdin), `RUN <id>`; and `KILL <id>`
//! while it runs. Answers: `READY` (the agent started), `START <id>`,
//! `OUT <id> <hex>`, `ERR <id> <hex>`, `EXIT <id> <status>`. The id is fresh
//! per request, so a late answer to an earlier request is ignored. One
//! request at a time per run: a lock file in the run directory serialises
//! concurrent `vm exec`; a request that comes while a command runs means
//! that command's client is gone (timed out, interrupted, killed), so the
//! agent kills that command and serves the new one.
//!
//! The serial port is slow under emulation (about 20 KB/s each way, hex
//! doubling the bytes): fine for commands and their output, slow for
//! megabytes of stdin (allowed a second per 16 KiB on top of --timeout).

use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::error::io_at;
use super::job::{self, sh_quote};
use super::limits::{self, LineReader};
use super::VmError;

/// The most stdin a command is given.
pub const MAX_STDIN: usize = 16 * 1024 * 1024;
/// The most output (stdout and stderr together) handed on; the rest is
/// read and dropped, with a note on stderr.
pub const MAX_OUTPUT: u64 = 64 * 1024 * 1024;
/// Where the agent is on the job disk.
pub const AGENT_FILE: &str = "exec-agent.pl";
/// Raw bytes of stdin per `IN` line.
const IN_CHUNK: usize = 16 * 1024;

/// The marker that starts every exec frame of a run.
pub fn marker(nonce: &str) -> String {
    format!("@@bkx:{nonce} ")
}

/// What one `vm exec` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// The command's words; run as `bash -c` of the words, each quoted.
    pub command: Vec<String>,
    /// Its stdin (none: `/dev/null`), at most [`MAX_STDIN`] bytes.
    pub stdin: Option<Vec<u8>>,
    /// How long it may run.
    pub timeout: Duration,
}

/// The bash command line of `words`, each quoted for the shell.
pub fn command_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| sh_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The request lines for `id` (each ending in `\n`).
pub fn request_lines(marker: &str, id: &str, command: &str, stdin: &[u8]) -> Vec<String> {
    let mut lines = vec![format!("{marker}EXEC {id} {}\n", hex::encode(command))];
    for chunk in stdin.chunks(IN_CHUNK) {
        lines.push(format!("{marker}IN {id} {}\n", hex::encode(chunk)));
    }
    lines.push(format!("{marker}RUN {id}\n"));
    lines
}

/// One answer of the guest to the request being made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The agent is up (sent once, when it starts).
    Ready,
    /// The command started.
    Start,
    /// Bytes of its stdout.
    Out(Vec<u8>),
    /// Bytes of its stderr.
    Err(Vec<u8>),
    /// It ended with this status (128 + N for signal N).
    Exit(u8),
}

/// The answer a line carries for request `id` (`Ready` for any id), or
/// `None`: another run's marker, another request's id, a broken frame or
/// plain output are all nothing.
pub fn parse_answer(line: &str, marker: &str, id: &str) -> Option<Answer> {
    let rest = line.trim_end_matches(['\r', '\n']).strip_prefix(marker)?;
    let words: Vec<&str> = rest.split(' ').collect();
    match words.as_slice() {
        ["READY"] => Some(Answer::Ready),
        ["START", got] if *got == id => Some(Answer::Start),
        ["OUT", got, data] if *got == id => hex::decode(data).ok().map(Answer::Out),
        ["ERR", got, data] if *got == id => hex::decode(data).ok().map(Answer::Err),
        ["EXIT", got, status] if *got == id => status.parse().ok().map(Answer::Exit),
        _ => None,
    }
}

/// The agent the guest runs on the job port: `perl AGENT DEVICE MARKER`.
pub const AGENT: &str = r#"# git-buildkit's exec agent: requests on the job port of a kept run,
# everything hex-encoded after the marker. See src/vm/exec.rs.
use strict;
use warnings;
use POSIX ();
use IO::Select;

# DEVICE "-" reads stdin and writes stdout (the host's unit test).
my ($dev, $m) = @ARGV;
my ($rd, $wr);
if ($dev eq '-') {
    ($rd, $wr) = (\*STDIN, \*STDOUT);
    binmode $rd; binmode $wr;
} else {
    open(my $tty, '+<:raw', $dev) or die "$dev: $!";
    ($rd, $wr) = ($tty, $tty);
}
$SIG{PIPE} = 'IGNORE';
my $buf = '';
# Lines that came while a command ran (a request right after a KILL).
my @pending;
my $max_in = 16 * 1024 * 1024;

sub send_line {
    my $l = "$m$_[0]\n";
    my $o = 0;
    while ($o < length $l) {
        my $n = syswrite($wr, $l, length($l) - $o, $o);
        if (!defined $n) { next if $!{EINTR} || $!{EAGAIN}; return; }
        $o += $n;
    }
}

# The next complete line in the buffer, if any.
sub take_line {
    my $i = index($buf, "\n");
    if ($i < 0) { $buf = '' if length($buf) > (1 << 20); return undef; }
    my $l = substr($buf, 0, $i + 1, '');
    $l =~ s/\r?\n\z//;
    return $l;
}

sub read_line {
    return shift @pending if @pending;
    while (1) {
        my $l = take_line();
        return $l if defined $l;
        my $n = sysread($rd, $buf, 65536, length $buf);
        return undef if defined $n && $n == 0;
    }
}

sub run_command {
    my ($id, $cmd, $in) = @_;
    my $inf = $ENV{BK_EXEC_STDIN} // "/run/bk-exec-stdin";
    open(my $fh, '>:raw', $inf) or return send_line("EXIT $id 126");
    print $fh $in;
    close $fh;
    pipe(my $or, my $ow) or return send_line("EXIT $id 126");
    pipe(my $er, my $ew) or return send_line("EXIT $id 126");
    my $pid = fork();
    return send_line("EXIT $id 126") unless defined $pid;
    if ($pid == 0) {
        POSIX::setsid();
        close $or; close $er;
        close $rd if $dev ne '-';
        open(STDIN, '<', $inf);
        open(STDOUT, '>&', $ow);
        open(STDERR, '>&', $ew);
        close $ow; close $ew;
        chdir '/root';
        exec('/bin/bash', '-c', $cmd) or POSIX::_exit(127);
    }
    close $ow;
    close $ew;
    send_line("START $id");
    my $sel = IO::Select->new($or, $er, $rd);
    my %kind = ($or => 'OUT', $er => 'ERR');
    my ($status, $open) = (undef, 2);
    while (1) {
        my @ready = $sel->can_read(0.2);
        my $data = 0;
        for my $fh (@ready) {
            if ($fh == $rd) {
                my $n = sysread($rd, $buf, 65536, length $buf);
                $sel->remove($rd) if defined $n && $n == 0;
                next;
            }
            my $n = sysread($fh, my $chunk, 2048);
            if (!$n) { $sel->remove($fh); close $fh; $open--; next; }
            $data = 1;
            send_line("$kind{$fh} $id " . unpack('H*', $chunk));
        }
        # Requests read meanwhile (some perhaps with the one that started
        # this command): a KILL for it, or what comes after.
        while (defined(my $l = take_line())) {
            # KILL: the group, and the child itself in case it has not
            # called setsid yet. A new request means the client of this one
            # is gone (they come one at a time): this one ends too.
            if ($l eq "${m}KILL $id" || index($l, "${m}EXEC ") == 0) {
                kill('KILL', -$pid);
                kill('KILL', $pid);
            }
            push @pending, $l unless $l eq "${m}KILL $id";
        }
        if (!defined $status && waitpid($pid, POSIX::WNOHANG()) == $pid) { $status = $?; }
        # Done when the pipes are closed and the command has ended, or when
        # it has ended and nothing more came: what it left running in the
        # background may hold the pipes open for ever.
        last if defined $status && ($open == 0 || !$data);
    }
    if (!defined $status) { waitpid($pid, 0); $status = $?; }
    unlink $inf;
    system('sync');
    my $code = ($status & 127) ? 128 + ($status & 127) : ($status >> 8);
    send_line("EXIT $id $code");
}

send_line("READY");
my ($id, $cmd, $in);
while (defined(my $l = read_line())) {
    next unless substr($l, 0, length $m) eq $m;
    my @w = split(/ /, substr($l, length $m), -1);
    my $kind = $w[0] // '';
    my $hex = qr/\A(?:[0-9a-f]{2})*\z/;
    if ($kind eq 'EXEC' && @w == 3 && $w[1] =~ /\A[0-9a-f]{1,64}\z/ && $w[2] =~ $hex) {
        ($id, $cmd, $in) = ($w[1], pack('H*', $w[2]), '');
    } elsif ($kind eq 'IN' && defined $id && @w == 3 && $w[1] eq $id && $w[2] =~ $hex) {
        $in .= pack('H*', $w[2]) if length($in) < $max_in;
    } elsif ($kind eq 'RUN' && defined $id && @w == 2 && $w[1] eq $id) {
        run_command($id, $cmd, $in);
        ($id, $cmd, $in) = (undef, undef, '');
    }
}
"#;

/// Where a kept, running guest takes exec requests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExecChannel {
    /// The job port's unix socket.
    pub socket: PathBuf,
    /// The run's exec nonce (see [`marker`]).
    pub nonce: String,
}

/// Runs `request` through `channel` (the run directory `dir` holds its
/// lock), writing the command's stdout and stderr to `out` and `err` as they
/// come; returns its exit status. A guest that does not answer, or a command
/// past its time limit (killed then), is an error.
pub fn exec(
    dir: &Path,
    channel: &ExecChannel,
    request: &ExecRequest,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, VmError> {
    let stdin = request.stdin.as_deref().unwrap_or_default();
    if stdin.len() > MAX_STDIN {
        return Err(VmError::StdinTooLarge { max: MAX_STDIN });
    }
    let lock_path = dir.join("exec.lock");
    let lock = crate::fsutil::open_lock_file(&lock_path).map_err(io_at(&lock_path))?;
    lock.lock().map_err(io_at(&lock_path))?;
    let started = Instant::now();
    let stream = UnixStream::connect(&channel.socket).map_err(io_at(&channel.socket))?;
    let reading = stream.try_clone().map_err(io_at(&channel.socket))?;
    let (lines, receiver) = mpsc::sync_channel(64);
    std::thread::spawn(move || {
        let mut reader = LineReader::new(BufReader::new(reading), limits::MAX_LINE);
        while let Ok(Some(line)) = reader.next_line() {
            if lines.send(Some(line.text)).is_err() {
                return;
            }
        }
        let _ = lines.send(None);
    });
    let marker = marker(&channel.nonce);
    let id = job::nonce();
    let command = command_line(&request.command);
    // The upload goes at the serial port's pace: allow it a second per 16 KiB.
    let upload = Duration::from_secs(stdin.len() as u64 / (16 * 1024));
    let mut writing = &stream;
    writing
        .set_write_timeout(Some(Duration::from_secs(60) + upload))
        .map_err(io_at(&channel.socket))?;
    for line in request_lines(&marker, &id, &command, stdin) {
        writing
            .write_all(line.as_bytes())
            .map_err(|_| VmError::NoAnswer {
                seconds: started.elapsed().as_secs(),
            })?;
    }
    let wait = Wait {
        started,
        answer_until: started + Duration::from_secs(60) + upload,
        until: started + request.timeout + upload,
        timeout: request.timeout,
    };
    let answers = Answers {
        receiver: &receiver,
        marker: &marker,
        id: &id,
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let signals: Vec<signal_hook::SigId> =
        [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
            .into_iter()
            .filter_map(|s| signal_hook::flag::register(s, Arc::clone(&interrupted)).ok())
            .collect();
    let result = answers.follow(&wait, &interrupted, out, err);
    for signal in signals {
        signal_hook::low_level::unregister(signal);
    }
    // A command we stop waiting for is stopped too, so the run is free for
    // the next one.
    if matches!(
        result,
        Err(VmError::ExecTimeout { .. } | VmError::Interrupted)
    ) {
        answers.kill(writing);
    }
    result
}

/// The deadlines of one request: an answer (`START`) by `answer_until`,
/// the end by `until`.
struct Wait {
    started: Instant,
    answer_until: Instant,
    until: Instant,
    timeout: Duration,
}

/// The guest's lines, read for one request.
struct Answers<'a> {
    receiver: &'a mpsc::Receiver<Option<String>>,
    marker: &'a str,
    id: &'a str,
}

impl Answers<'_> {
    /// Asks the guest to kill the command, and waits until it says it
    /// ended: qemu may drop what it had not yet passed to the guest when we
    /// hang up.
    fn kill(&self, mut writing: &UnixStream) {
        let line = format!("{}KILL {}\n", self.marker, self.id);
        let _ = writing.write_all(line.as_bytes());
        let until = Instant::now() + Duration::from_secs(10);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self.receiver.recv_timeout(left) {
                Ok(Some(line)) => {
                    if let Some(Answer::Exit(_)) = parse_answer(&line, self.marker, self.id) {
                        return;
                    }
                }
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// Hands the command's output on until its `EXIT`; a deadline missed
    /// or the channel closed is an error.
    fn follow(
        &self,
        wait: &Wait,
        interrupted: &AtomicBool,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<u8, VmError> {
        let mut started = false;
        let mut handed = 0u64;
        loop {
            if interrupted.load(Ordering::SeqCst) {
                return Err(VmError::Interrupted);
            }
            let now = Instant::now();
            if !started && now >= wait.answer_until.min(wait.until) {
                return Err(VmError::NoAnswer {
                    seconds: wait.started.elapsed().as_secs(),
                });
            }
            if now >= wait.until {
                return Err(VmError::ExecTimeout {
                    seconds: wait.timeout.as_secs(),
                });
            }
            let line = match self.receiver.recv_timeout(Duration::from_millis(250)) {
                Ok(Some(line)) => line,
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(VmError::GuestGone);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
            };
            let (to_err, bytes) = match parse_answer(&line, self.marker, self.id) {
                None | Some(Answer::Ready) => continue,
                Some(Answer::Start) => {
                    started = true;
                    continue;
                }
                Some(Answer::Exit(code)) => return Ok(code),
                Some(Answer::Out(bytes)) => (false, bytes),
                Some(Answer::Err(bytes)) => (true, bytes),
            };
            if handed >= MAX_OUTPUT {
                continue;
            }
            handed += bytes.len() as u64;
            if handed >= MAX_OUTPUT {
                let _ = writeln!(
                    err,
                    "[git-buildkit: the command's output stops here: it reached its limit of {MAX_OUTPUT} bytes]"
                );
            } else {
                let to: &mut dyn Write = if to_err { &mut *err } else { &mut *out };
                let _ = to.write_all(&bytes);
                let _ = to.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::fs;

    #[test]
    fn words_are_quoted_for_bash() {
        let words = ["sh", "-c", "echo out; exit 7", "it's"].map(String::from);
        assert_eq!(command_line(&words), r"sh -c 'echo out; exit 7' 'it'\''s'");
    }

    #[test]
    fn a_request_is_hex_after_the_marker() {
        let lines = request_lines("@@bkx:n ", "ab", "cat", &[0, 0xff, b'\n']);
        assert_eq!(
            lines,
            [
                "@@bkx:n EXEC ab 636174\n",
                "@@bkx:n IN ab 00ff0a\n",
                "@@bkx:n RUN ab\n"
            ]
        );
        let big = vec![7u8; IN_CHUNK + 1];
        assert_eq!(request_lines("m ", "ab", "cat", &big).len(), 4);
        assert_eq!(request_lines("m ", "ab", "true", &[]).len(), 2);
    }

    #[test]
    fn answers_parse_only_for_this_request_and_marker() {
        let m = "@@bkx:n0nce ";
        let p = |line: &str| parse_answer(line, m, "id1");
        assert_eq!(p("@@bkx:n0nce READY\r\n"), Some(Answer::Ready));
        assert_eq!(p("@@bkx:n0nce START id1"), Some(Answer::Start));
        assert_eq!(
            p("@@bkx:n0nce OUT id1 68690a"),
            Some(Answer::Out(b"hi\n".to_vec()))
        );
        assert_eq!(
            p("@@bkx:n0nce ERR id1 00ff"),
            Some(Answer::Err(vec![0, 255]))
        );
        assert_eq!(p("@@bkx:n0nce EXIT id1 7"), Some(Answer::Exit(7)));
        assert_eq!(p("@@bkx:n0nce EXIT id1 255"), Some(Answer::Exit(255)));
        // Hostile or stale lines are nothing.
        for line in [
            "@@bkx:n0nce EXIT id1 256",
            "@@bkx:n0nce EXIT id1 -1",
            "@@bkx:n0nce EXIT id1 0 extra",
            "@@bkx:n0nce EXIT id0 0",
            "@@bkx:other EXIT id1 0",
            "junk @@bkx:n0nce EXIT id1 0",
            "@@bkx:n0nce OUT id1 6",
            "@@bkx:n0nce OUT id1 zz",
            "@@bkx:n0nce OUT id1",
            "@@bkx:n0nce DONE id1",
            "@@bkx:n0nce  EXIT id1 0",
            "",
        ] {
            assert_eq!(p(line), None, "{line:?}");
        }
    }

    /// The agent on the host (perl is in every Debian system), talking
    /// over its stdin and stdout instead of the serial port; returns the
    /// answers to `id`.
    fn agent(input: &[String], id: &str) -> Vec<Answer> {
        use std::io::Read;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(AGENT_FILE);
        fs::write(&path, AGENT).expect("agent");
        let mut child = std::process::Command::new("perl")
            .arg(&path)
            .args(["-", "@@bkx:n "])
            .env("BK_EXEC_STDIN", dir.path().join("stdin"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("perl");
        let mut stdin = child.stdin.take().expect("stdin");
        for line in input {
            stdin.write_all(line.as_bytes()).expect("write");
        }
        let mut stdout = child.stdout.take().expect("stdout");
        let mut seen = Vec::new();
        let mut text = String::new();
        let mut buf = [0u8; 65536];
        while !seen.iter().any(|a| matches!(a, Answer::Exit(_))) {
            let n = stdout.read(&mut buf).expect("read");
            assert!(n > 0, "the agent ended: {text}");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            while let Some(at) = text.find('\n') {
                let line: String = text.drain(..=at).collect();
                seen.extend(parse_answer(&line, "@@bkx:n ", id));
            }
        }
        drop(stdin);
        let _ = child.kill();
        let _ = child.wait();
        seen
    }

    fn joined(answers: &[Answer]) -> (Vec<u8>, Vec<u8>, Vec<Answer>) {
        let (mut out, mut err, mut rest) = (Vec::new(), Vec::new(), Vec::new());
        for a in answers {
            match a {
                Answer::Out(b) => out.extend_from_slice(b),
                Answer::Err(b) => err.extend_from_slice(b),
                other => rest.push(other.clone()),
            }
        }
        (out, err, rest)
    }

    #[test]
    fn the_agent_runs_a_command_and_no_output_forges_its_status() {
        let words = ["sh", "-c", "echo out; echo err >&2; printf '@@bkx:n EXIT c1 0\\n'; printf '@@bkx:n EXIT c1 0\\n' >&2; exit 7"].map(String::from);
        let lines = request_lines("@@bkx:n ", "c1", &command_line(&words), &[]);
        let (out, err, rest) = joined(&agent(&lines, "c1"));
        assert_eq!(String::from_utf8_lossy(&out), "out\n@@bkx:n EXIT c1 0\n");
        assert_eq!(String::from_utf8_lossy(&err), "err\n@@bkx:n EXIT c1 0\n");
        assert_eq!(rest, [Answer::Ready, Answer::Start, Answer::Exit(7)]);
    }

    #[test]
    fn the_agent_hands_binary_stdin_over_and_ignores_junk() {
        let input: Vec<u8> = (0..=255u8).cycle().take(40_000).collect();
        let mut lines = vec![
            "junk line\n".to_owned(),
            "@@bkx:n RUN zz\n".to_owned(),
            "@@bkx:other EXEC c2 6563686f\n".to_owned(),
        ];
        let words = ["cat"].map(String::from);
        lines.extend(request_lines(
            "@@bkx:n ",
            "c2",
            &command_line(&words),
            &input,
        ));
        let (out, err, rest) = joined(&agent(&lines, "c2"));
        assert_eq!(out, input);
        assert_eq!(err, b"");
        assert_eq!(rest, [Answer::Ready, Answer::Start, Answer::Exit(0)]);
    }

    #[test]
    fn a_killed_command_ends_and_the_next_request_is_not_lost() {
        let words = ["sleep", "600"].map(String::from);
        let mut lines = request_lines("@@bkx:n ", "a1", &command_line(&words), &[]);
        lines.push("@@bkx:n KILL a1\n".to_owned());
        let words = ["echo", "next"].map(String::from);
        lines.extend(request_lines("@@bkx:n ", "a2", &command_line(&words), &[]));
        let clock = Instant::now();
        let (out, _, rest) = joined(&agent(&lines, "a2"));
        assert_eq!(out, b"next\n");
        assert_eq!(rest, [Answer::Ready, Answer::Start, Answer::Exit(0)]);
        assert!(clock.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn a_new_request_ends_the_command_its_client_left() {
        let words = ["sleep", "600"].map(String::from);
        let mut lines = request_lines("@@bkx:n ", "b1", &command_line(&words), &[]);
        let words = ["echo", "then"].map(String::from);
        lines.extend(request_lines("@@bkx:n ", "b2", &command_line(&words), &[]));
        let clock = Instant::now();
        let (out, _, rest) = joined(&agent(&lines, "b2"));
        assert_eq!(out, b"then\n");
        assert_eq!(rest, [Answer::Ready, Answer::Start, Answer::Exit(0)]);
        assert!(clock.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn the_agent_does_not_wait_for_what_the_command_left_running() {
        let words = ["sh", "-c", "sleep 30 & echo started"].map(String::from);
        let lines = request_lines("@@bkx:n ", "c3", &command_line(&words), &[]);
        let clock = Instant::now();
        let (out, _, rest) = joined(&agent(&lines, "c3"));
        assert_eq!(out, b"started\n");
        assert_eq!(rest, [Answer::Ready, Answer::Start, Answer::Exit(0)]);
        assert!(clock.elapsed() < Duration::from_secs(10));
        let words = ["sh", "-c", "kill -9 $$"].map(String::from);
        let lines = request_lines("@@bkx:n ", "c4", &command_line(&words), &[]);
        let (_, _, rest) = joined(&agent(&lines, "c4"));
        assert_eq!(rest.last(), Some(&Answer::Exit(137)));
    }
}
