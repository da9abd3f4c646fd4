//! The packets pane driven through the reducer alone (the helper's answers given as the
//! runtime would deliver them), shared by `tests/packets_ui.rs` and `benches/packets.rs`: the
//! demo's pods loaded, and a capture of checkout asked of its node's helper.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ktui::action::Action;
use ktui::cluster::demo::DemoCluster;
use ktui::cluster::{ContextInfo, PodEvent, PodKey, Scope};
use ktui::effect::Effect;
use ktui::state::AppState;
use ktui::state::helper::{HelperSource, HelperStatus, HelperTarget};
use ktui::update::update;
use ktui_wire::{CaptureInterface, CaptureMode, CaptureSpec, ConsoleMessage, HelperMessage};

/// Where the capture variant's helper writes its files.
pub const DIR: &str = "/var/run/ktui/captures";

/// The demo's pods in a console of `context` with the case `case` open and the helper from
/// `source`: the state, checkout's key and its node.
pub fn demo_state(context: &str, case: &str, source: HelperSource) -> (AppState, PodKey, String) {
    let demo = DemoCluster::fixed();
    let info = ContextInfo {
        context: context.into(),
        ..ContextInfo::default()
    };
    let mut s = AppState::new(info, Scope::All, false, demo.epoch());
    s.helper.source = source;
    s.evidence.case = Some((case.into(), std::path::PathBuf::from("/nonexistent")));
    update(&mut s, Action::Pods(PodEvent::Resync));
    for p in demo.pods() {
        update(
            &mut s,
            Action::Pods(PodEvent::Applied(Box::new(p.detail.summary.clone()))),
        );
    }
    update(&mut s, Action::Pods(PodEvent::ResyncDone));
    s.prepare_frame();
    let pod = demo
        .pods()
        .iter()
        .map(|p| &p.detail.summary)
        .find(|p| p.workload.name == "checkout")
        .unwrap();
    let (key, node) = (pod.key.clone(), pod.node.clone().unwrap());
    (s, key, node)
}

/// `pod`'s packets pane, Enter on the confirmation (its defaults), the session with `node`'s
/// helper up and the helper found ready: the request sent (its id and spec).
pub fn requested(s: &mut AppState, pod: PodKey, node: &str) -> (u64, CaptureSpec) {
    update(s, Action::Intent(ktui::intent::Intent::OpenPackets(pod)));
    update(
        s,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    s.helper.target = Some(HelperTarget::Pod {
        node: node.to_string(),
    });
    s.helper.status = HelperStatus::Connected;
    let effects = update(
        s,
        Action::CaptureHelperChecked {
            capture: 1,
            result: Ok(Ok(())),
        },
    );
    let Some(Effect::HelperSend(ConsoleMessage::CaptureStart { id, spec })) = effects.first()
    else {
        panic!("{effects:?}")
    };
    (*id, spec.clone())
}

/// The helper's `capture_started` for request `id`: the pod's host-side veth, pcap into
/// [`DIR`].
pub fn started(id: u64) -> HelperMessage {
    HelperMessage::CaptureStarted {
        id,
        mode: CaptureMode::HostVeth,
        interfaces: vec![CaptureInterface {
            name: "veth7c1e2a".into(),
            linktype: 1,
        }],
        format: "pcap".into(),
        dir: DIR.into(),
    }
}
