//! Whole objects of any kind: server-side apply, create-only, delete (the helper manifest;
//! later clones), the controller's guarded writes (a merge patch removing a trigger
//! annotation, a Lease replaced at its resourceVersion), and reading the metadata of one object
//! or of a namespace's objects of a kind.
//!
//! The kinds ktui writes or lists are known without discovery; any other kind is resolved
//! through `GET /api(s)/...` discovery once per call.

use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope as DiscoveryScope, pinned_kind};

use super::errors::{ApiContext, chain, cut_body, map_err, map_write_err};
use crate::cluster::{ClusterError, ObjectInfo, ObjectRef, Result};

/// The field manager named in `managedFields` of everything ktui applies.
pub const FIELD_MANAGER: &str = "ktui";

/// (apiVersion, kind, plural, namespaced) of the kinds ktui writes or lists.
const KNOWN: &[(&str, &str, &str, bool)] = &[
    ("v1", "Namespace", "namespaces", false),
    ("v1", "ServiceAccount", "serviceaccounts", true),
    ("v1", "Pod", "pods", true),
    ("v1", "ConfigMap", "configmaps", true),
    ("v1", "Secret", "secrets", true),
    ("v1", "Service", "services", true),
    (
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    ("apps/v1", "StatefulSet", "statefulsets", true),
    ("apps/v1", "DaemonSet", "daemonsets", true),
    ("batch/v1", "Job", "jobs", true),
    ("batch/v1", "CronJob", "cronjobs", true),
    (
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("apps/v1", "Deployment", "deployments", true),
    ("apps/v1", "ReplicaSet", "replicasets", true),
    ("v1", "Event", "events", true),
    ("coordination.k8s.io/v1", "Lease", "leases", true),
];

/// The REST resource of a kind and whether it is namespaced.
async fn resource_for(
    client: &Client,
    api_version: &str,
    kind: &str,
) -> Result<(ApiResource, bool)> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    if let Some((_, _, plural, namespaced)) = KNOWN
        .iter()
        .find(|(av, k, _, _)| *av == api_version && *k == kind)
    {
        return Ok((ApiResource::from_gvk_with_plural(&gvk, plural), *namespaced));
    }
    let (ar, caps) = pinned_kind(client, &gvk)
        .await
        .map_err(|e| ClusterError::UnknownKind {
            kind: kind.to_string(),
            api_version: api_version.to_string(),
            cause: cut_body(&chain(&e)),
        })?;
    Ok((ar, matches!(caps.scope, DiscoveryScope::Namespaced)))
}

fn api(client: &Client, ar: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    }
}

/// The namespace an object of `r`'s kind lives in (`None` for cluster-scoped kinds); namespaced
/// objects must name theirs, else `verb` fails.
fn namespace_of(r: &ObjectRef, namespaced: bool, verb: &str) -> Result<Option<String>> {
    if !namespaced {
        return Ok(None);
    }
    r.namespace
        .clone()
        .map(Some)
        .ok_or_else(|| ClusterError::NoNamespace {
            verb: verb.to_string(),
            object: r.to_string(),
        })
}

/// Create one object; `Ok(false)` when it already exists (409), which leaves it unchanged. An
/// object naming only `metadata.generateName` gets its name from the server (an Event).
pub(super) async fn create(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    obj: serde_json::Value,
) -> Result<bool> {
    let r = ObjectRef::of_new(&obj)?;
    let (ar, namespaced) = resource_for(&client, &r.api_version, &r.kind).await?;
    let namespace = namespace_of(&r, namespaced, "create")?;
    let ctx = ctx("create", &ar.plural, namespace.as_deref());
    let object: DynamicObject =
        serde_json::from_value(obj).map_err(|e| ClusterError::InvalidObject {
            verb: "create".to_string(),
            object: r.to_string(),
            cause: e.to_string(),
        })?;
    match api(&client, &ar, namespace.as_deref())
        .create(&PostParams::default(), &object)
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(e) => Err(map_write_err(e, &ctx)),
    }
}

fn info(meta: kube::core::ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        name: meta.name.unwrap_or_default(),
        labels: meta.labels.unwrap_or_default(),
        annotations: meta.annotations.unwrap_or_default(),
    }
}

/// One object's name, labels and annotations.
pub(super) async fn get(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    object: ObjectRef,
) -> Result<ObjectInfo> {
    let (ar, namespaced) = resource_for(&client, &object.api_version, &object.kind).await?;
    let namespace = namespace_of(&object, namespaced, "get")?;
    let ctx = ctx("get", &ar.plural, namespace.as_deref());
    // Metadata only: a Secret's data never comes over the wire for a name and labels.
    let found = api(&client, &ar, namespace.as_deref())
        .get_metadata(&object.name)
        .await
        .map_err(|e| map_err(e, &ctx))?;
    Ok(info(found.metadata))
}

/// One object whole, as the API server sent it (not through a typed struct, so nothing it
/// sent is lost); a 404 names the object.
pub(super) async fn get_json(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    object: ObjectRef,
) -> Result<serde_json::Value> {
    let (ar, namespaced) = resource_for(&client, &object.api_version, &object.kind).await?;
    let namespace = namespace_of(&object, namespaced, "get")?;
    let ctx = ctx("get", &ar.plural, namespace.as_deref());
    let url = api(&client, &ar, namespace.as_deref())
        .resource_url()
        .to_string();
    let request = kube::core::Request::new(url)
        .get(&object.name, &kube::api::GetParams::default())
        .map_err(|e| ClusterError::InvalidObject {
            verb: "get".to_string(),
            object: object.to_string(),
            cause: e.to_string(),
        })?;
    match client.request::<serde_json::Value>(request).await {
        Ok(v) => Ok(v),
        Err(kube::Error::Api(status)) if status.code == 404 => Err(ClusterError::NotFound {
            what: object.to_string(),
        }),
        Err(e) => Err(map_err(e, &ctx)),
    }
}

/// Names, labels and annotations of every object of a kind in `namespace`.
pub(super) async fn list(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    api_version: &str,
    kind: &str,
    namespace: &str,
) -> Result<Vec<ObjectInfo>> {
    let (ar, _) = resource_for(&client, api_version, kind).await?;
    let ctx = ctx("list", &ar.plural, Some(namespace));
    let list = api(&client, &ar, Some(namespace))
        .list_metadata(&ListParams::default())
        .await
        .map_err(|e| map_err(e, &ctx))?;
    Ok(list.items.into_iter().map(|o| info(o.metadata)).collect())
}

/// Every object of a kind (in `namespace`, or everywhere / cluster-scoped with `None`), whole,
/// each with its `apiVersion` and `kind` (a list answer leaves them out of its items), read
/// page by page; only those matching `label_selector` when one is given.
pub(super) async fn list_json(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    label_selector: Option<&str>,
) -> Result<Vec<serde_json::Value>> {
    let (ar, namespaced) = resource_for(&client, api_version, kind).await?;
    let namespace = namespace.filter(|_| namespaced);
    let ctx = ctx("list", &ar.plural, namespace);
    let url = api(&client, &ar, namespace).resource_url().to_string();
    let mut items = Vec::new();
    let mut continue_token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(500);
        if let Some(sel) = label_selector {
            params = params.labels(sel);
        }
        if let Some(token) = &continue_token {
            params = params.continue_token(token);
        }
        let request = kube::core::Request::new(&url).list(&params).map_err(|e| {
            ClusterError::InvalidObject {
                verb: "list".to_string(),
                object: format!("{kind} ({api_version})"),
                cause: e.to_string(),
            }
        })?;
        let mut page: serde_json::Value = client
            .request(request)
            .await
            .map_err(|e| map_err(e, &ctx))?;
        if let Some(list) = page
            .get_mut("items")
            .and_then(serde_json::Value::as_array_mut)
        {
            for mut item in list.drain(..) {
                if let Some(obj) = item.as_object_mut() {
                    obj.insert("apiVersion".into(), api_version.into());
                    obj.insert("kind".into(), kind.into());
                }
                items.push(item);
            }
        }
        continue_token = page
            .pointer("/metadata/continue")
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if continue_token.is_none() {
            return Ok(items);
        }
    }
}

/// Whether discovery lists `kind` in `api_version` (a 404 for the group: not served).
pub(super) async fn serves(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    api_version: &str,
    kind: &str,
) -> Result<bool> {
    let ctx = ctx("get", api_version, None);
    let listed = if api_version.contains('/') {
        client.list_api_group_resources(api_version).await
    } else {
        client.list_core_api_resources(api_version).await
    };
    match listed {
        Ok(list) => Ok(list.resources.iter().any(|r| r.kind == kind)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err(map_err(e, &ctx)),
    }
}

/// Apply every object in order, stopping at the first failure.
pub(super) async fn apply_all(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    objects: Vec<serde_json::Value>,
) -> Result<Vec<ObjectRef>> {
    let mut applied = Vec::with_capacity(objects.len());
    for obj in objects {
        let r = ObjectRef::of(&obj)?;
        let (ar, namespaced) = resource_for(&client, &r.api_version, &r.kind).await?;
        let namespace = namespace_of(&r, namespaced, "apply")?;
        let ctx = ctx("patch", &ar.plural, namespace.as_deref());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api(&client, &ar, namespace.as_deref())
            .patch(&r.name, &params, &Patch::Apply(&obj))
            .await
            .map_err(|e| map_write_err(e, &ctx))?;
        applied.push(ObjectRef { namespace, ..r });
    }
    Ok(applied)
}

/// A JSON merge patch of one object; a 409 (the patch's `metadata.resourceVersion` is no longer
/// the object's) is [`ClusterError::Conflict`], a 404 names the object.
pub(super) async fn patch_merge(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    object: ObjectRef,
    patch: serde_json::Value,
) -> Result<()> {
    let (ar, namespaced) = resource_for(&client, &object.api_version, &object.kind).await?;
    let namespace = namespace_of(&object, namespaced, "patch")?;
    let ctx = ctx("patch", &ar.plural, namespace.as_deref());
    match api(&client, &ar, namespace.as_deref())
        .patch(
            &object.name,
            &PatchParams {
                field_manager: Some(FIELD_MANAGER.to_string()),
                ..PatchParams::default()
            },
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Err(ClusterError::Conflict {
            what: object.to_string(),
        }),
        Err(kube::Error::Api(status)) if status.code == 404 => Err(ClusterError::NotFound {
            what: object.to_string(),
        }),
        Err(e) => Err(map_write_err(e, &ctx)),
    }
}

/// Replace one object (PUT) at the resourceVersion it carries; `Ok(false)` on 409 (someone
/// wrote it since), a 404 names the object.
pub(super) async fn replace(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    obj: serde_json::Value,
) -> Result<bool> {
    let r = ObjectRef::of(&obj)?;
    let (ar, namespaced) = resource_for(&client, &r.api_version, &r.kind).await?;
    let namespace = namespace_of(&r, namespaced, "update")?;
    let ctx = ctx("update", &ar.plural, namespace.as_deref());
    let object: DynamicObject =
        serde_json::from_value(obj).map_err(|e| ClusterError::InvalidObject {
            verb: "update".to_string(),
            object: r.to_string(),
            cause: e.to_string(),
        })?;
    match api(&client, &ar, namespace.as_deref())
        .replace(
            &r.name,
            &PostParams {
                field_manager: Some(FIELD_MANAGER.to_string()),
                ..PostParams::default()
            },
            &object,
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(kube::Error::Api(status)) if status.code == 404 => Err(ClusterError::NotFound {
            what: r.to_string(),
        }),
        Err(e) => Err(map_write_err(e, &ctx)),
    }
}

/// Delete one object; `Ok(false)` when it did not exist.
pub(super) async fn delete(
    client: Client,
    ctx: impl Fn(&str, &str, Option<&str>) -> ApiContext,
    object: ObjectRef,
) -> Result<bool> {
    let (ar, namespaced) = resource_for(&client, &object.api_version, &object.kind).await?;
    let namespace = namespace_of(&object, namespaced, "delete")?;
    let namespace = namespace.as_deref();
    let ctx = ctx("delete", &ar.plural, namespace);
    match api(&client, &ar, namespace)
        .delete(&object.name, &DeleteParams::background())
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err(map_write_err(e, &ctx)),
    }
}
