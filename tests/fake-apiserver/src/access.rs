//! `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`: allowed unless the store
//! forbids the verb on the resource (`resource/subresource` as `Store::forbid` names it).

use bytes::Bytes;
use serde_json::{Value, json};

use crate::status::Status;
use crate::store::Store;

pub const PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/// The review with its `status.allowed` filled in.
pub fn review(store: &Store, body: &Bytes) -> Result<Value, Status> {
    let mut review: Value = serde_json::from_slice(body)
        .map_err(|e| Status::bad_request(format!("not a SelfSubjectAccessReview: {e}")))?;
    let attrs = &review["spec"]["resourceAttributes"];
    let text = |k: &str| {
        attrs[k]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (Some(verb), Some(resource)) = (text("verb"), text("resource")) else {
        return Err(Status::bad_request(
            "spec.resourceAttributes needs verb and resource",
        ));
    };
    let resource = match text("subresource") {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource,
    };
    let namespace = text("namespace");
    let denied = store
        .lock()
        .is_forbidden(&verb, &resource, namespace.as_deref());
    review["status"] = json!({ "allowed": !denied });
    Ok(review)
}
