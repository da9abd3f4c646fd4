//! Where the helper's one-shot commands (`fetch`, `rm`) run: by exec in the helper pod of a
//! node ([`PodExec`]), or — with `--helper local` — as a child process of this machine's
//! `ktui-helper` ([`LocalExec`]). Both give the same stream: stdout to read, stdin to write,
//! EOF when the command exits 0 and an `ErrorKind::Other` error naming its failure otherwise.

use futures::future::BoxFuture;

use crate::cluster::{BoxByteStream, Cluster, ClusterError, PodKey};
use crate::helper::manifest::BINARY;

/// Runs `[BINARY, verb, args...]` somewhere the helper's directories are.
pub trait HelperExec: Send + Sync {
    /// Start the command: its stdout and stdin as one stream.
    fn start(&self, argv: Vec<String>) -> BoxFuture<'_, Result<BoxByteStream, ExecError>>;
    /// Who runs it, for records: `ktui-system/ktui-helper-worker-1`, `local`.
    fn describe(&self) -> String;
}

/// A command that could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot start `{BINARY} {verb}` in helper pod {pod}: {cause}")]
    Pod {
        verb: String,
        pod: PodKey,
        cause: Box<ClusterError>,
    },
    /// `--helper local`: the binary did not start (the message says what to build or set).
    #[error("{0}")]
    Local(String),
}

impl ExecError {
    /// The API server could not be reached: trying again may work.
    pub fn unreachable(&self) -> bool {
        matches!(self, ExecError::Pod { cause, .. } if matches!(**cause, ClusterError::Unreachable { .. }))
    }
}

fn verb(argv: &[String]) -> String {
    argv.get(1).cloned().unwrap_or_default()
}

/// Exec in a helper pod's container through the cluster.
pub struct PodExec<'a> {
    pub cluster: &'a dyn Cluster,
    pub pod: PodKey,
    pub container: &'a str,
}

impl HelperExec for PodExec<'_> {
    fn start(&self, argv: Vec<String>) -> BoxFuture<'_, Result<BoxByteStream, ExecError>> {
        let verb = verb(&argv);
        let exec = self
            .cluster
            .exec(self.pod.clone(), self.container.to_string(), argv);
        Box::pin(async move {
            exec.await.map_err(|cause| ExecError::Pod {
                verb,
                pod: self.pod.clone(),
                cause: Box::new(cause),
            })
        })
    }

    fn describe(&self) -> String {
        self.pod.to_string()
    }
}

/// `--helper local`: the helper binary on this machine (`helper::local::helper_binary`), run
/// with the arguments after `argv[0]` (the image's path of the binary).
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalExec;

impl HelperExec for LocalExec {
    fn start(&self, argv: Vec<String>) -> BoxFuture<'_, Result<BoxByteStream, ExecError>> {
        Box::pin(async move {
            crate::helper::local::command(argv.get(1..).unwrap_or_default())
                .map(|c| Box::new(c) as BoxByteStream)
                .map_err(|e| ExecError::Local(e.to_string()))
        })
    }

    fn describe(&self) -> String {
        "local".to_string()
    }
}
