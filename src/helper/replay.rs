//! `--demo` without `--helper local`: replays a bundled recording of real events (made with
//! `ktui-helper trace`, see helper-image/recordings/README.md), labelled DEMO REPLAY. Timestamps
//! are shifted to the replay's clock so live summaries (stuck SYNs, DNS suspects) stay coherent.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ktui_wire::{Hello, ProbeStatus, SocketEvent};

/// The bundled recording: one `ktui-helper trace` line per event.
pub const RECORDING: &str = include_str!("../../helper-image/recordings/demo-sockets.jsonl");

/// Events with their offset from the first one.
pub fn parse(recording: &str) -> Vec<(Duration, SocketEvent)> {
    let events: Vec<SocketEvent> = recording
        .lines()
        .filter_map(|l| serde_json::from_str::<SocketEvent>(l).ok())
        .collect();
    let start = events
        .iter()
        .filter_map(|e| e.ts.parse::<Timestamp>().ok())
        .min();
    events
        .into_iter()
        .map(|e| {
            let offset = match (start, e.ts.parse::<Timestamp>()) {
                (Some(s), Ok(t)) => t.duration_since(s).unsigned_abs(),
                _ => Duration::ZERO,
            };
            (offset, e)
        })
        .collect()
}

/// The event as if it happened `offset` after `start`.
pub fn shifted(mut e: SocketEvent, start: Timestamp, offset: Duration) -> SocketEvent {
    let at = start + SignedDuration::try_from(offset).unwrap_or(SignedDuration::ZERO);
    e.ts = at.strftime("%Y-%m-%dT%H:%M:%S.%9fZ").to_string();
    e
}

/// The hello a replay presents: no probes are attached, and it says so.
pub fn hello() -> Hello {
    Hello {
        protocol: ktui_wire::PROTOCOL_VERSION,
        helper_version: "demo replay".to_string(),
        kernel: "recorded".to_string(),
        node: Some("demo".to_string()),
        probes: vec![ProbeStatus {
            name: "replay".to_string(),
            attach: None,
            fallback: false,
            error: Some("DEMO REPLAY of a recording; nothing is traced live".to_string()),
        }],
        ebpf: false,
        ebpf_error: Some("demo replay: no eBPF programs are loaded".to_string()),
        missing_capabilities: Vec::new(),
        capture: false,
        checkpoint_dir: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_recording_is_real_trace_output() {
        let events = parse(RECORDING);
        assert!(events.len() >= 50, "recording has {} events", events.len());
        // Every line parses: nothing in the file is anything but trace output.
        assert_eq!(
            events.len(),
            RECORDING.lines().filter(|l| !l.trim().is_empty()).count()
        );
        assert!(events.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn shifting_keeps_nanosecond_format() {
        let (offset, e) = parse(RECORDING).remove(0);
        let e = shifted(
            e,
            Timestamp::UNIX_EPOCH,
            offset + Duration::from_millis(1500),
        );
        assert_eq!(e.ts, "1970-01-01T00:00:01.500000000Z");
    }
}
