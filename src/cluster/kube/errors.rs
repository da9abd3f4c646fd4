//! kube errors → `ClusterError`, with the verb/resource/namespace of the failed call.

use kube::runtime::watcher;

use crate::cluster::ClusterError;

/// What was being attempted when an error happened.
#[derive(Debug, Clone)]
pub struct ApiContext {
    pub verb: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub context: String,
    pub server: String,
}

fn from_status(code: u16, message: &str, ctx: &ApiContext) -> ClusterError {
    match code {
        401 => ClusterError::Unauthorized {
            context: ctx.context.clone(),
        },
        403 => ClusterError::Forbidden {
            verb: ctx.verb.clone(),
            resource: ctx.resource.clone(),
            namespace: ctx.namespace.clone(),
        },
        404 => ClusterError::NotFound {
            what: if message.is_empty() {
                ctx.resource.clone()
            } else {
                message.to_string()
            },
        },
        _ => ClusterError::Api {
            code,
            message: message.to_string(),
        },
    }
}

pub fn map_err(e: kube::Error, ctx: &ApiContext) -> ClusterError {
    match e {
        kube::Error::Api(status) => from_status(status.code, &status.message, ctx),
        other => ClusterError::Unreachable {
            server: ctx.server.clone(),
            cause: chain(&other),
        },
    }
}

pub fn map_watch_err(e: watcher::Error, ctx: &ApiContext) -> ClusterError {
    match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => map_err(e, ctx),
        watcher::Error::WatchError(status) => from_status(status.code, &status.message, ctx),
        watcher::Error::NoResourceVersion => ClusterError::Other(
            "the API server sent no resourceVersion; the watch will restart".to_string(),
        ),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
