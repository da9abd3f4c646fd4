//! Preserving a live container: the kubelet's checkpoint API (`kubelet`), taking one and
//! recording it in the case (`take`, `record`), `ktui checkpoint create` (`create`); reading
//! checkpoint archives and live snapshots (`ktui checkpoint inspect`, `inspect`) and packing a
//! CRIU checkpoint as an OCI image CRI-O restores from (`ktui checkpoint image`, `image`).

pub mod create;
pub mod image;
pub mod inspect;
pub mod kubelet;
pub mod node_helper;
pub mod record;
pub mod take;
pub mod to_case;
