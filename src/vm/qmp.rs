//! A small client of qemu's machine protocol (QMP): JSON lines over the
//! unix socket qemu serves with `-qmp unix:PATH,server=on,wait=off`. The
//! warm start uses it to save the idle guest (`stop`, `migrate`) and to
//! restore it (`migrate-incoming`, `cont`).
//!
//! qemu is our own child, but its answers are still read with bounds: a
//! line is at most [`MAX_LINE`] bytes and every wait has a deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The longest QMP line read (qemu's answers here are small).
const MAX_LINE: u64 = 1 << 20;

/// A connected QMP session (capabilities negotiated).
#[derive(Debug)]
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Events that arrived while waiting for a command's answer.
    events: Vec<Value>,
}

impl Qmp {
    /// Connects to `socket`, retrying until qemu has created it or
    /// `deadline` passes, and leaves capabilities negotiation mode. `alive`
    /// says whether qemu still runs (no point waiting for a dead one).
    pub fn connect(
        socket: &Path,
        deadline: Instant,
        alive: &mut dyn FnMut() -> bool,
    ) -> Result<Self, String> {
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(stream) => break stream,
                Err(e) => {
                    if !alive() {
                        return Err("qemu ended before its QMP socket opened".into());
                    }
                    if Instant::now() >= deadline {
                        return Err(format!("qemu's QMP socket did not open: {e}"));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        };
        let writer = stream.try_clone().map_err(|e| format!("QMP socket: {e}"))?;
        let mut qmp = Self {
            reader: BufReader::new(stream),
            writer,
            events: Vec::new(),
        };
        let greeting = qmp.read(deadline)?;
        if greeting.get("QMP").is_none() {
            return Err(format!("not a QMP greeting: {greeting}"));
        }
        qmp.execute("qmp_capabilities", json!({}), deadline)?;
        Ok(qmp)
    }

    /// Runs `command` with `arguments` and returns its `return` value, or
    /// qemu's error text.
    pub fn execute(
        &mut self,
        command: &str,
        arguments: Value,
        deadline: Instant,
    ) -> Result<Value, String> {
        let mut message = json!({ "execute": command });
        if arguments.as_object().is_some_and(|a| !a.is_empty()) {
            message["arguments"] = arguments;
        }
        let mut line = message.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| format!("QMP {command}: {e}"))?;
        loop {
            let answer = self.read(deadline)?;
            if let Some(value) = answer.get("return") {
                return Ok(value.clone());
            }
            if let Some(error) = answer.get("error") {
                let text = error
                    .get("desc")
                    .and_then(Value::as_str)
                    .unwrap_or("an error without a description");
                return Err(format!("QMP {command}: {text}"));
            }
            if answer.get("event").is_some() {
                self.events.push(answer);
            }
        }
    }

    /// Waits for the `MIGRATION` event whose status is `completed` (Ok) or
    /// `failed`/`cancelled` (Err), until `deadline`. Needs the `events`
    /// migration capability.
    pub fn wait_migration(&mut self, deadline: Instant) -> Result<(), String> {
        loop {
            let event = match self.events.is_empty() {
                false => self.events.remove(0),
                true => self.read(deadline)?,
            };
            if event.get("event").and_then(Value::as_str) != Some("MIGRATION") {
                continue;
            }
            match event
                .pointer("/data/status")
                .and_then(Value::as_str)
                .unwrap_or("")
            {
                "completed" => return Ok(()),
                status @ ("failed" | "cancelled") => {
                    return Err(format!("the migration stream {status}"))
                }
                _ => {}
            }
        }
    }

    /// Reads one message, waiting until `deadline`.
    fn read(&mut self, deadline: Instant) -> Result<Value, String> {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or("qemu did not answer in time")?;
        self.reader
            .get_ref()
            .set_read_timeout(Some(left))
            .map_err(|e| format!("QMP socket: {e}"))?;
        let mut line = Vec::new();
        let read = (&mut self.reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line);
        match read {
            Ok(0) => Err("qemu closed its QMP socket".into()),
            Ok(_) if !line.ends_with(b"\n") => Err("an overlong QMP line".into()),
            Ok(_) => serde_json::from_slice(&line).map_err(|e| format!("a bad QMP line: {e}")),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err("qemu did not answer in time".into())
            }
            Err(e) => Err(format!("QMP socket: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A fake qemu: greets, then answers each command line with `answers`.
    fn serve(socket: &Path, answers: Vec<&'static str>) -> std::thread::JoinHandle<Vec<String>> {
        let listener = UnixListener::bind(socket).expect("bind");
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut writer = stream.try_clone().expect("clone");
            let mut reader = BufReader::new(stream);
            writer
                .write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
                .expect("greet");
            let mut seen = Vec::new();
            for answer in answers {
                let mut line = String::new();
                if reader.read_line(&mut line).expect("read") == 0 {
                    break;
                }
                seen.push(line.trim().to_owned());
                writer.write_all(answer.as_bytes()).expect("answer");
            }
            seen
        })
    }

    #[test]
    fn commands_events_and_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("qmp.sock");
        let server = serve(
            &socket,
            vec![
                "{\"return\": {}}\n",
                // An event before the answer is kept for later.
                "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"active\"}}\n\
                 {\"event\": \"MIGRATION\", \"data\": {\"status\": \"completed\"}}\n\
                 {\"return\": {}}\n",
                "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such thing\"}}\n",
            ],
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut qmp = Qmp::connect(&socket, deadline, &mut || true).expect("connect");
        qmp.execute("migrate-incoming", json!({"uri": "exec:cat x"}), deadline)
            .expect("answer");
        qmp.wait_migration(deadline).expect("completed");
        let error = qmp.execute("cont", json!({}), deadline).expect_err("error");
        assert_eq!(error, "QMP cont: no such thing");
        let seen = server.join().expect("server");
        assert_eq!(
            seen,
            [
                "{\"execute\":\"qmp_capabilities\"}",
                "{\"arguments\":{\"uri\":\"exec:cat x\"},\"execute\":\"migrate-incoming\"}",
                "{\"execute\":\"cont\"}",
            ]
        );
    }

    #[test]
    fn a_failed_migration_a_silent_qemu_and_a_dead_one_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("qmp.sock");
        let _server = serve(
            &socket,
            vec!["{\"return\": {}}\n{\"event\": \"MIGRATION\", \"data\": {\"status\": \"failed\"}}\n"],
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut qmp = Qmp::connect(&socket, deadline, &mut || true).expect("connect");
        assert_eq!(
            qmp.wait_migration(deadline).expect_err("failed"),
            "the migration stream failed"
        );
        let soon = Instant::now() + Duration::from_millis(200);
        assert!(qmp.wait_migration(soon).is_err());
        let missing = dir.path().join("none.sock");
        let error = Qmp::connect(&missing, deadline, &mut || false).expect_err("dead");
        assert_eq!(error, "qemu ended before its QMP socket opened");
    }
}
