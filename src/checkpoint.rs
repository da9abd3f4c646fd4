//! Container checkpoints and live snapshots on the console side: reading an archive
//! (`ktui checkpoint inspect`) and packing a CRIU checkpoint as an OCI image CRI-O restores
//! from (`ktui checkpoint image`).

pub mod image;
pub mod inspect;

/// `ktui checkpoint ...`.
#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    #[command(subcommand)]
    pub command: CheckpointCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum CheckpointCommand {
    /// Show what a checkpoint archive (kubelet/CRI-O/Podman CRIU checkpoint, or a ktui live
    /// snapshot) holds, without extracting it; --grep TEXT searches its memory.
    Inspect(inspect::InspectArgs),
    /// Pack a CRIU checkpoint archive as an OCI image archive (`podman load`-able) that CRI-O
    /// restores a container from.
    Image(image::ImageArgs),
}
