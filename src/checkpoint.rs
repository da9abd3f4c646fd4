//! Preserving a live container: the kubelet's checkpoint API (`kubelet`), taking one and
//! recording it in the case (`take`, `record`), `ktui checkpoint create` (`create`) — and, from
//! other modules of this tree, reading checkpoint archives and live snapshots.

pub mod create;
pub mod kubelet;
pub mod node_helper;
pub mod record;
pub mod take;
pub mod to_case;
