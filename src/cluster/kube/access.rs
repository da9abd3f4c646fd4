//! SelfSubjectAccessReview: may the user do this (the actions menu's enabled / disabled entries).

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;

use super::KubeCluster;
use super::errors::map_err;
use crate::cluster::{AccessCheck, Result};

/// Ask for each check in turn (the API takes one attribute set per review).
pub(super) async fn review(cluster: &KubeCluster, checks: Vec<AccessCheck>) -> Result<Vec<bool>> {
    let api: Api<SelfSubjectAccessReview> = Api::all(cluster.client.clone());
    let ctx = cluster.ctx(
        "create",
        "selfsubjectaccessreviews.authorization.k8s.io",
        None,
    );
    let mut allowed = Vec::with_capacity(checks.len());
    for check in checks {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(check.verb.to_string()),
                    group: Some(check.group.to_string()),
                    resource: Some(check.resource.to_string()),
                    subresource: check.subresource.map(str::to_string),
                    namespace: check.namespace.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| map_err(e, &ctx))?;
        allowed.push(answer.status.is_some_and(|s| s.allowed));
    }
    Ok(allowed)
}
