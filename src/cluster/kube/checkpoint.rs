//! `Cluster::checkpoint` over kube: `POST` through the API server's node proxy to the kubelet's
//! checkpoint API, the answer read (at most `MAX_REPLY` bytes) within the request's deadline and
//! handed to `checkpoint::kubelet::interpret`, which says what it means.

use std::pin::Pin;
use std::time::Duration;

use http_body::Body as _;
use kube::Client;

use super::errors::{ApiContext, chain, map_err};
use crate::checkpoint::kubelet::{
    CheckpointAnswer, CheckpointError, CheckpointFailure, CheckpointRequest, MAX_REPLY, Reply,
    interpret,
};
use crate::cluster::ClusterError;
use crate::sanitize;

/// Ask the kubelet of `req.node` for a checkpoint; give up after `req.deadline(grace)`.
pub(super) async fn checkpoint(
    client: Client,
    ctx: ApiContext,
    req: CheckpointRequest,
    grace: Duration,
) -> Result<CheckpointAnswer, CheckpointFailure> {
    let at = req.at();
    let path = req.path()?;
    let uri = match req.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let request = http::Request::post(uri)
        .header(http::header::ACCEPT, "application/json, */*")
        .body(kube::client::Body::empty())
        .map_err(|e| CheckpointError::Cluster {
            at: at.clone(),
            error: Box::new(ClusterError::InvalidObject {
                verb: "create".to_string(),
                object: "nodes/proxy".to_string(),
                cause: e.to_string(),
            }),
        })?;
    let waited = req.deadline(grace);
    let asked = async {
        let response = client.send(request).await.map_err(|e| map_err(e, &ctx))?;
        read_reply(response, &ctx).await
    };
    match tokio::time::timeout(waited, asked).await {
        Err(_) => Err(CheckpointError::Timeout { at, waited }.into()),
        Ok(Err(ClusterError::Unreachable { server, cause })) => {
            Err(CheckpointError::Unreachable { at, server, cause }.into())
        }
        Ok(Err(error)) => Err(CheckpointError::Cluster {
            at,
            error: Box::new(error),
        }
        .into()),
        Ok(Ok(reply)) => interpret(&req, reply),
    }
}

/// Status, content type and the first `MAX_REPLY` bytes of the body (the rest is not read).
async fn read_reply(
    response: http::Response<kube::client::Body>,
    ctx: &ApiContext,
) -> Result<Reply, ClusterError> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| sanitize::line(v).into_owned());
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    let mut truncated = false;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| ClusterError::Unreachable {
            server: ctx.server.clone(),
            cause: format!("the answer broke off: {}", sanitize::line(&chain(&e))),
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let room = MAX_REPLY - bytes.len();
        if data.len() > room {
            bytes.extend_from_slice(&data[..room]);
            truncated = true;
            break;
        }
        bytes.extend_from_slice(&data);
    }
    Ok(Reply {
        status,
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        truncated,
    })
}
