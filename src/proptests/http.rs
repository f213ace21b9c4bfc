//! HTTP request heads, targets and Range headers: whatever a client sends
//! gives a request or an error status, never a panic.

use proptest::prelude::*;

use super::{apply, apply_text, config, edits};
use crate::serve::range::evaluate;
use crate::serve::request::{read_head, ReadHead};
use crate::serve::target::decode_target;

const VALID: &[u8] = b"GET /dists/stable/InRelease HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nRange: bytes=0-99,200-\r\nConnection: keep-alive\r\n\r\nGET http://h/pool/a%7eb.deb?x HTTP/1.0\r\n\r\n";

/// Reads every head in `bytes` until the stream ends or a head is refused.
fn read_all(bytes: &[u8]) {
    let mut reader = bytes;
    for _ in 0..64 {
        match read_head(&mut reader) {
            Ok(ReadHead::Request(head)) => {
                let _ = decode_target(&head.target);
                for (_, value) in &head.headers {
                    let _ = evaluate(value, 1000);
                }
            }
            Ok(ReadHead::Closed | ReadHead::Invalid(_)) | Err(_) => return,
        }
    }
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        read_all(&bytes);
    }

    #[test]
    fn damaged_requests_never_panic(edits in edits(8)) {
        read_all(&apply(VALID, &edits));
    }

    #[test]
    fn any_target_or_range_never_panics(text in any::<String>(), len in any::<u64>()) {
        let _ = decode_target(&text);
        let _ = evaluate(&text, len);
    }

    #[test]
    fn near_valid_ranges_never_panic(edits in edits(4), len in prop_oneof![Just(0u64), Just(1), any::<u64>(), Just(u64::MAX)]) {
        let _ = evaluate(&apply_text("bytes=0-99, 200-, -50", &edits), len);
        let _ = decode_target(&apply_text("http://h:1/a%2F%00%7e?q#f", &edits));
    }
}
