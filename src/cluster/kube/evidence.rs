//! What evidence collection reads beyond the typed calls: a pod's events as raw JSON, the API
//! server's `Date`, and who the server says the user is (SelfSubjectReview).

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};

use super::errors::{ApiContext, map_err};
use crate::cluster::{ClusterError, PodKey, Result};

/// The core/v1 Events about `key` (its kind `Pod` or unset), whole, oldest first; list items
/// get the `apiVersion` and `kind` a list leaves out, so each stands alone.
pub(super) async fn pod_events_json(
    client: Client,
    ctx: ApiContext,
    key: PodKey,
) -> Result<Vec<serde_json::Value>> {
    let lp = ListParams::default().fields(&format!(
        "involvedObject.name={},involvedObject.namespace={}",
        key.name, key.namespace
    ));
    let url = format!("/api/v1/namespaces/{}/events", key.namespace);
    let request =
        kube::core::Request::new(url)
            .list(&lp)
            .map_err(|e| ClusterError::InvalidObject {
                verb: "list".to_string(),
                object: format!("events of pod {key}"),
                cause: e.to_string(),
            })?;
    let list: serde_json::Value = client
        .request(request)
        .await
        .map_err(|e| map_err(e, &ctx))?;
    let mut events: Vec<serde_json::Value> = list
        .get("items")
        .and_then(|i| i.as_array())
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            e.pointer("/involvedObject/kind")
                .and_then(|k| k.as_str())
                .is_none_or(|k| k == "Pod")
        })
        .map(|mut e| {
            if let Some(obj) = e.as_object_mut() {
                obj.entry("apiVersion").or_insert_with(|| "v1".into());
                obj.entry("kind").or_insert_with(|| "Event".into());
            }
            e
        })
        .collect();
    events.sort_by_key(last_seen);
    Ok(events)
}

/// When an event was last seen: `lastTimestamp`, else `eventTime`, `firstTimestamp`, the
/// object's creation.
fn last_seen(event: &serde_json::Value) -> Option<jiff::Timestamp> {
    [
        "/lastTimestamp",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| event.pointer(p).and_then(|v| v.as_str()))
    .and_then(|s| s.parse().ok())
}

/// The `Date` header of the server's answer to `GET /version`.
pub(super) async fn server_date(
    client: Client,
    ctx: ApiContext,
) -> Result<Option<jiff::Timestamp>> {
    let request = http::Request::get("/version")
        .body(kube::client::Body::empty())
        .map_err(|e| ClusterError::Unreachable {
            server: ctx.server.clone(),
            cause: e.to_string(),
        })?;
    let response = client.send(request).await.map_err(|e| map_err(e, &ctx))?;
    Ok(response
        .headers()
        .get(http::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(parse_http_date))
}

/// An HTTP date (`Tue, 15 Nov 1994 08:12:31 GMT`, RFC 9110's IMF-fixdate).
pub fn parse_http_date(text: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(text.trim())
        .ok()
}

/// `status.userInfo.username` of a SelfSubjectReview; `None` when the server does not serve
/// the API (404: before Kubernetes 1.28, or turned off).
pub(super) async fn self_user(client: Client, ctx: ApiContext) -> Result<Option<String>> {
    let api: Api<SelfSubjectReview> = Api::all(client);
    match api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
    {
        Ok(review) => Ok(review
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username)
            .filter(|u| !u.is_empty())),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(e) => Err(map_err(e, &ctx)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        assert_eq!(
            parse_http_date("Thu, 19 Nov 2026 10:00:00 GMT").map(|t| t.as_second()),
            Some(1_795_082_400)
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn events_sort_by_their_last_time() {
        let e = |t: &str| serde_json::json!({"lastTimestamp": t});
        let mut v = [e("2026-01-02T00:00:00Z"), e("2026-01-01T00:00:00Z")];
        v.sort_by_key(last_seen);
        assert_eq!(v[0]["lastTimestamp"], "2026-01-01T00:00:00Z");
    }
}
