//! The capture's confirmation: what will be captured where and with what limits, edited field
//! by field before anything is sent. The filter is checked with the capture filter parser as
//! it is typed (the helper compiles the same language to classic BPF); limits are parsed here,
//! so what is sent is what the dialog showed.

use ktui_wire::{CaptureSpec, CaptureTarget, DEFAULT_SNAPLEN, HEADERS_ONLY_SNAPLEN};

use crate::cluster::PodKey;
use crate::helper::manifest::HelperVariant;

/// Defaults: stop after 10 minutes or 1 GiB captured; a new file every 100 MiB.
pub const DEFAULT_DURATION: &str = "10m";
pub const DEFAULT_MAX_BYTES: &str = "1GiB";
pub const DEFAULT_ROTATE: &str = "100MiB";
/// Files of a capture on the node at once are kept under this (the capture directory's
/// 2 GiB, with room to spare): `rotate_files` is derived from the rotation size.
pub const NODE_BUDGET: u64 = 1536 << 20;
/// Summaries per second the helper sends at most (the pcap has every packet).
pub const SUMMARIES_PER_SEC: u32 = 2_000;

/// A field of the dialog, in the order Tab visits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `--helper local` only: the pod by UID, or a network namespace path.
    Target,
    Interface,
    Filter,
    MaxPackets,
    MaxBytes,
    Duration,
    Rotate,
    HeadersOnly,
    /// Cluster only: ask for the capture-netns helper (SYS_ADMIN).
    NetnsFallback,
}

impl Field {
    pub fn is_toggle(self) -> bool {
        matches!(self, Field::HeadersOnly | Field::NetnsFallback)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureForm {
    pub pod: PodKey,
    pub pod_uid: String,
    /// The pod's node, or `local` (`--helper local`).
    pub node: String,
    /// `--helper local`: the target may be a netns path; no helper pod, no variant.
    pub local: bool,
    pub selected: Field,
    /// Empty: the pod (by UID); else a network namespace file.
    pub target: String,
    pub interface: String,
    pub filter: String,
    /// What the filter parser says about `filter` (None: it parses).
    pub filter_error: Option<String>,
    pub max_packets: String,
    pub max_bytes: String,
    pub duration: String,
    pub rotate: String,
    pub headers_only: bool,
    pub netns_fallback: bool,
    /// Why Enter did not start (which field is wrong).
    pub error: Option<String>,
}

impl CaptureForm {
    pub fn new(pod: PodKey, pod_uid: String, node: String, local: bool) -> Self {
        Self {
            pod,
            pod_uid,
            node,
            local,
            selected: if local {
                Field::Target
            } else {
                Field::Interface
            },
            target: String::new(),
            interface: String::new(),
            filter: String::new(),
            filter_error: None,
            max_packets: String::new(),
            max_bytes: DEFAULT_MAX_BYTES.to_string(),
            duration: DEFAULT_DURATION.to_string(),
            rotate: DEFAULT_ROTATE.to_string(),
            headers_only: false,
            netns_fallback: false,
            error: None,
        }
    }

    /// The fields shown, in Tab order.
    pub fn fields(&self) -> Vec<Field> {
        let mut f = Vec::with_capacity(9);
        if self.local {
            f.push(Field::Target);
        }
        f.extend([
            Field::Interface,
            Field::Filter,
            Field::MaxPackets,
            Field::MaxBytes,
            Field::Duration,
            Field::Rotate,
            Field::HeadersOnly,
        ]);
        if !self.local {
            f.push(Field::NetnsFallback);
        }
        f
    }

    pub fn move_selection(&mut self, forward: bool) {
        let fields = self.fields();
        let at = fields.iter().position(|f| *f == self.selected).unwrap_or(0);
        let n = fields.len();
        let next = if forward {
            (at + 1) % n
        } else {
            (at + n - 1) % n
        };
        self.selected = fields[next];
    }

    /// The text of a text field.
    pub fn text(&self, field: Field) -> Option<&str> {
        Some(match field {
            Field::Target => &self.target,
            Field::Interface => &self.interface,
            Field::Filter => &self.filter,
            Field::MaxPackets => &self.max_packets,
            Field::MaxBytes => &self.max_bytes,
            Field::Duration => &self.duration,
            Field::Rotate => &self.rotate,
            Field::HeadersOnly | Field::NetnsFallback => return None,
        })
    }

    pub fn text_mut(&mut self, field: Field) -> Option<&mut String> {
        Some(match field {
            Field::Target => &mut self.target,
            Field::Interface => &mut self.interface,
            Field::Filter => &mut self.filter,
            Field::MaxPackets => &mut self.max_packets,
            Field::MaxBytes => &mut self.max_bytes,
            Field::Duration => &mut self.duration,
            Field::Rotate => &mut self.rotate,
            Field::HeadersOnly | Field::NetnsFallback => return None,
        })
    }

    pub fn toggle(&mut self, field: Field) {
        match field {
            Field::HeadersOnly => self.headers_only = !self.headers_only,
            Field::NetnsFallback => self.netns_fallback = !self.netns_fallback,
            _ => {}
        }
    }

    /// Check the filter as the helper will parse it.
    pub fn check_filter(&mut self) {
        let text = self.filter.trim();
        self.filter_error = if text.is_empty() {
            None
        } else {
            ktui_packet::filter::Filter::parse(text)
                .err()
                .map(|e| e.to_string())
        };
    }

    /// Which helper the capture needs.
    pub fn variant(&self) -> HelperVariant {
        if self.netns_fallback {
            HelperVariant::CaptureNetns
        } else {
            HelperVariant::Capture
        }
    }

    pub fn snaplen(&self) -> u32 {
        if self.headers_only {
            HEADERS_ONLY_SNAPLEN
        } else {
            DEFAULT_SNAPLEN
        }
    }

    /// The capture request the dialog describes (`label`: the file names' prefix), or which
    /// field is wrong and why.
    pub fn spec(&self, label: &str) -> Result<CaptureSpec, String> {
        if let Some(e) = &self.filter_error {
            return Err(format!(
                "the filter does not parse ({e}): fix it, or clear it for everything"
            ));
        }
        let target = self.target.trim();
        let target = if target.is_empty() {
            CaptureTarget::Pod {
                uid: self.pod_uid.clone(),
            }
        } else if target.starts_with('/') && !target.contains('\0') {
            CaptureTarget::Netns {
                path: target.to_string(),
            }
        } else {
            return Err(format!(
                "target {target:?}: leave it empty for the pod, or give a network namespace file such as /var/run/netns/NAME"
            ));
        };
        let interface = self.interface.trim();
        if interface.len() > 15
            || interface
                .chars()
                .any(|c| c == '/' || c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "interface {interface:?}: an interface name has at most 15 characters, without '/' or spaces (empty: every interface)"
            ));
        }
        let max_packets =
            parse_count(&self.max_packets).map_err(|e| format!("max packets: {e}"))?;
        let max_bytes = parse_size(&self.max_bytes).map_err(|e| format!("max bytes: {e}"))?;
        let duration = parse_duration(&self.duration).map_err(|e| format!("duration: {e}"))?;
        let rotate = parse_size(&self.rotate).map_err(|e| format!("rotate: {e}"))?;
        if rotate.is_some_and(|r| r < 64 << 10) {
            return Err("rotate: at least 64KiB per file".to_string());
        }
        let mut spec = CaptureSpec::new(target);
        spec.interface = (!interface.is_empty()).then(|| interface.to_string());
        spec.snaplen = self.snaplen();
        spec.filter = Some(self.filter.trim().to_string()).filter(|f| !f.is_empty());
        spec.max_packets = max_packets;
        spec.max_bytes = max_bytes;
        spec.duration_ms = duration;
        spec.rotate_bytes = rotate;
        spec.rotate_files = rotate.map(files_on_node);
        spec.summaries = true;
        spec.summaries_per_sec = Some(SUMMARIES_PER_SEC);
        spec.label = Some(label.to_string());
        Ok(spec)
    }
}

/// At most this many files of `rotate` bytes on the node at once (at least 2).
pub fn files_on_node(rotate: u64) -> u32 {
    u32::try_from(NODE_BUDGET / rotate.max(1))
        .unwrap_or(u32::MAX)
        .clamp(2, 1000)
}

/// `""` (none), `5000`, `10k`, `2M`.
pub fn parse_count(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1_000),
        Some((i, 'm' | 'M')) => (&t[..i], 1_000_000),
        _ => (t, 1),
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| format!("{t:?} is not a count (e.g. 10000, 50k, 2M; empty: no limit)"))
}

/// `""` (none), `123` bytes, `64KiB`/`64K`, `100MiB`/`100M`, `1GiB`/`1G` (powers of 1024).
pub fn parse_size(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(format!(
                "{t:?} is not a size (e.g. 100MiB, 1GiB; empty: no limit)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{t:?} is not a size (e.g. 100MiB, 1GiB; empty: no limit)"))?;
    let bytes = value * (1u64 << shift) as f64;
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(format!("{t:?} is out of range"));
    }
    Ok(Some(bytes as u64))
}

/// `""` (none), `30s`, `10m`, `1h30m` — as milliseconds.
pub fn parse_duration(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let d = humantime::parse_duration(t)
        .map_err(|e| format!("{t:?} is not a duration ({e}; e.g. 30s, 10m, 1h)"))?;
    let ms = u64::try_from(d.as_millis()).map_err(|_| format!("{t:?} is out of range"))?;
    if ms == 0 {
        return Err(format!("{t:?}: a duration above zero, or empty for none"));
    }
    Ok(Some(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(local: bool) -> CaptureForm {
        CaptureForm::new(
            PodKey::new("shop", "web-1"),
            "uid-1".into(),
            "worker-1".into(),
            local,
        )
    }

    #[test]
    fn the_defaults_make_a_bounded_rotated_capture_of_the_pod() {
        let spec = form(false).spec("web-1-20261202T100000Z").unwrap();
        assert_eq!(
            spec.target,
            CaptureTarget::Pod {
                uid: "uid-1".into()
            }
        );
        assert_eq!(spec.interface, None, "every interface");
        assert_eq!(spec.snaplen, DEFAULT_SNAPLEN);
        assert_eq!(spec.filter, None);
        assert_eq!(spec.max_packets, None);
        assert_eq!(spec.max_bytes, Some(1 << 30));
        assert_eq!(spec.duration_ms, Some(600_000));
        assert_eq!(spec.rotate_bytes, Some(100 << 20));
        assert_eq!(spec.rotate_files, Some(15));
        assert_eq!(spec.summaries_per_sec, Some(SUMMARIES_PER_SEC));
        assert_eq!(spec.label.as_deref(), Some("web-1-20261202T100000Z"));
        assert_eq!(form(false).variant(), HelperVariant::Capture);
    }

    #[test]
    fn edits_and_toggles_reach_the_request() {
        let mut f = form(true);
        assert_eq!(f.fields()[0], Field::Target);
        assert!(
            !f.fields().contains(&Field::NetnsFallback),
            "no helper pod locally"
        );
        f.target = "/var/run/netns/ktui-a".into();
        f.interface = "veth-a".into();
        f.filter = "port 53".into();
        f.check_filter();
        f.max_packets = "50k".into();
        f.max_bytes = "".into();
        f.duration = "1h30m".into();
        f.rotate = "1M".into();
        f.toggle(Field::HeadersOnly);
        let spec = f.spec("x").unwrap();
        assert_eq!(
            spec.target,
            CaptureTarget::Netns {
                path: "/var/run/netns/ktui-a".into()
            }
        );
        assert_eq!(spec.interface.as_deref(), Some("veth-a"));
        assert_eq!(spec.filter.as_deref(), Some("port 53"));
        assert_eq!(spec.max_packets, Some(50_000));
        assert_eq!(spec.max_bytes, None);
        assert_eq!(spec.duration_ms, Some(5_400_000));
        assert_eq!(spec.rotate_bytes, Some(1 << 20));
        assert_eq!(spec.rotate_files, Some(1000), "capped");
        assert_eq!(spec.snaplen, HEADERS_ONLY_SNAPLEN);
        let mut c = form(false);
        c.toggle(Field::NetnsFallback);
        assert_eq!(c.variant(), HelperVariant::CaptureNetns);
    }

    #[test]
    fn wrong_fields_are_named_with_their_value() {
        let bad = |set: &dyn Fn(&mut CaptureForm), needle: &str| {
            let mut f = form(true);
            set(&mut f);
            let e = f.spec("x").unwrap_err();
            assert!(e.contains(needle), "{e}");
        };
        bad(&|f| f.max_bytes = "lots".into(), "max bytes: \"lots\"");
        bad(&|f| f.duration = "soon".into(), "duration: \"soon\"");
        bad(&|f| f.max_packets = "-3".into(), "max packets: \"-3\"");
        bad(&|f| f.rotate = "10K".into(), "at least 64KiB");
        bad(
            &|f| f.interface = "eth0 eth1".into(),
            "interface \"eth0 eth1\"",
        );
        bad(&|f| f.target = "netns-a".into(), "target \"netns-a\"");
        bad(
            &|f| f.filter_error = Some("filter error at byte 5: expected a port".into()),
            "the filter does not parse (filter error at byte 5",
        );
    }

    #[test]
    fn the_filter_is_checked_by_the_capture_filter_parser() {
        let mut f = form(false);
        f.filter = "udp and port 53".into();
        f.check_filter();
        assert_eq!(f.filter_error, None);
        f.filter = "tcp and".into();
        f.check_filter();
        let e = f.filter_error.clone().unwrap();
        assert!(
            e.starts_with("filter error at byte 7: expected a primitive"),
            "{e}"
        );
        assert!(
            f.spec("x")
                .unwrap_err()
                .contains("the filter does not parse")
        );
        f.filter = "  ".into();
        f.check_filter();
        assert_eq!(f.filter_error, None, "empty: everything");
        assert_eq!(f.spec("x").unwrap().filter, None);
    }

    #[test]
    fn sizes_counts_and_durations() {
        assert_eq!(parse_size("1.5GiB"), Ok(Some(3 << 29)));
        assert_eq!(parse_size("64k"), Ok(Some(64 << 10)));
        assert_eq!(parse_size("2 MB"), Ok(Some(2 << 20)));
        assert_eq!(parse_size("123"), Ok(Some(123)));
        assert_eq!(parse_size(" "), Ok(None));
        assert!(parse_size("1PiB").is_err() && parse_size("0").is_err());
        assert_eq!(parse_count("2M"), Ok(Some(2_000_000)));
        assert!(parse_count("0").is_err());
        assert_eq!(parse_duration("30s"), Ok(Some(30_000)));
        assert!(parse_duration("0s").is_err());
        assert_eq!(files_on_node(100 << 20), 15);
        assert_eq!(files_on_node(4 << 30), 2);
    }

    #[test]
    fn tab_visits_every_field_and_wraps() {
        let mut f = form(false);
        let fields = f.fields();
        for want in fields.iter().skip(1).chain(fields.first()) {
            f.move_selection(true);
            assert_eq!(f.selected, *want);
        }
        f.move_selection(false);
        assert_eq!(f.selected, *fields.last().unwrap());
    }
}
