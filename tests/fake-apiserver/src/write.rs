//! Writes: `POST` (create, `metadata.generateName` too), `PUT` (replace, at the body's
//! resourceVersion), `PATCH` with `application/apply-patch+yaml` (server-side apply) or
//! `application/merge-patch+json` (RFC 7386, at the patch's `metadata.resourceVersion` when it
//! names one) and `DELETE`, with the admission checks ktui meets: the namespace must exist, a
//! pod's ServiceAccount must exist, Pod Security levels, and pod spec immutability. A write at
//! a resourceVersion the object no longer has is refused with 409 Conflict; every write bumps
//! the resourceVersion and is seen by watches (MODIFIED).
//!
//! Simplifications: apply replaces the object with the applied configuration (keeping labels
//! and annotations other appliers set, and a pod's status) instead of tracking field owners;
//! deletes take effect at once (no graceful termination); deleting a namespace deletes
//! everything in it.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::kubelet;
use crate::psa;
use crate::resources::{NAMESPACE, POD, RESOURCES, ResId, SERVICE_ACCOUNT};
use crate::routes::{ServerState, authorize};
use crate::status::Status;
use crate::util;

/// The largest request body accepted.
pub(crate) const MAX_BODY: usize = 4 << 20;

/// What a write request names.
pub(crate) struct WriteTarget<'a> {
    pub res: ResId,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

fn parse_object(res: ResId, body: &Bytes) -> Result<Map<String, Value>, Status> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Status::bad_request(format!("the fake API server accepts JSON bodies only: {e}"))
    })?;
    let Value::Object(obj) = value else {
        return Err(Status::bad_request("the request body is not an object"));
    };
    let rt = &RESOURCES[res];
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != rt.kind || api_version != rt.api_version() {
        return Err(Status::bad_request(format!(
            "the object is {api_version} {kind}, the request is for {} {}",
            rt.api_version(),
            rt.kind
        )));
    }
    Ok(obj)
}

fn meta_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get("metadata")?
        .get(key)?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// Checks and fills in `metadata.namespace` against the request path.
fn settle_namespace(obj: &mut Map<String, Value>, namespace: Option<&str>) -> Result<(), Status> {
    let Some(ns) = namespace else {
        return Ok(());
    };
    if let Some(given) = meta_str(obj, "namespace")
        && given != ns
    {
        return Err(Status::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.insert("namespace".into(), Value::from(ns.to_string()));
    }
    Ok(())
}

/// Admission for a new object.
fn admit_create(
    state: &ServerState,
    res: ResId,
    namespace: Option<&str>,
    name: &str,
    obj: &Map<String, Value>,
) -> Result<(), Status> {
    let store = &state.store;
    let mut ns_labels = Map::new();
    if let Some(ns) = namespace {
        let found = store
            .get_res(NAMESPACE, "", ns)
            .ok_or_else(|| Status::not_found(&RESOURCES[NAMESPACE], ns))?;
        if let Some(Value::Object(l)) = found.get("metadata").and_then(|m| m.get("labels")) {
            ns_labels = l.clone();
        }
    }
    // A policy webhook's refusal (after the namespace lifecycle check, as in kube-apiserver).
    let denial = store
        .lock()
        .admission_denial(RESOURCES[res].plural, namespace)
        .map(str::to_string);
    if let Some(why) = denial {
        return Err(Status::admission_forbidden(&RESOURCES[res], name, &why));
    }
    if res == POD {
        let spec = obj.get("spec");
        if let Some(sa) = spec
            .and_then(|s| s.get("serviceAccountName"))
            .and_then(Value::as_str)
            .filter(|sa| *sa != "default")
            && store
                .get_res(SERVICE_ACCOUNT, namespace.unwrap_or_default(), sa)
                .is_none()
        {
            return Err(Status::admission_forbidden(
                &RESOURCES[POD],
                name,
                &format!(
                    "error looking up service account {}/{sa}: serviceaccount \"{sa}\" not found",
                    namespace.unwrap_or_default()
                ),
            ));
        }
        let level = ns_labels
            .get("pod-security.kubernetes.io/enforce")
            .and_then(Value::as_str)
            .unwrap_or("privileged");
        if let Some(why) = psa::violations(level, obj) {
            return Err(Status::admission_forbidden(&RESOURCES[POD], name, &why));
        }
    }
    Ok(())
}

fn respond(code: u16, obj: &Value) -> Result<(u16, Vec<u8>), Status> {
    Ok((code, serde_json::to_vec(obj).unwrap_or_default()))
}

fn store_object(state: &ServerState, obj: Map<String, Value>) -> Result<(), Status> {
    state
        .store
        .try_apply(Value::Object(obj))
        .map(|_| ())
        .map_err(|e| Status::bad_request(e.to_string()))
}

/// `POST .../{plural}`: 201 with the created object.
pub(crate) fn create(
    state: &ServerState,
    t: &WriteTarget<'_>,
    body: &Bytes,
) -> Result<(u16, Vec<u8>), Status> {
    let rt = &RESOURCES[t.res];
    let mut obj = parse_object(t.res, body)?;
    settle_namespace(&mut obj, t.namespace)?;
    let ns = t.namespace.unwrap_or_default();
    let name = match (meta_str(&obj, "name"), meta_str(&obj, "generateName")) {
        (Some(name), _) => name.to_string(),
        (None, Some(prefix)) => generated_name(state, t.res, ns, prefix),
        (None, None) => {
            return Err(Status::invalid(
                rt,
                "",
                "metadata.name: Required value: name or generateName is required",
            ));
        }
    };
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.insert("name".into(), Value::from(name.clone()));
    }
    authorize(state, t.res, "create", None, t.namespace, None)?;
    if state.store.get_res(t.res, ns, &name).is_some() {
        return Err(Status::already_exists(rt, &name));
    }
    admit_create(state, t.res, t.namespace, &name, &obj)?;
    if t.res == POD {
        obj.remove("status");
        let injected = state.store.lock().pod_injection.clone();
        if let Some(container) = injected
            && let Some(Value::Array(containers)) =
                obj.get_mut("spec").and_then(|s| s.get_mut("containers"))
        {
            containers.push(container);
        }
    }
    store_object(state, obj)?;
    after_create(state, t.res, ns, &name);
    let stored = state.store.get_res(t.res, ns, &name).unwrap_or(Value::Null);
    respond(201, &stored)
}

/// `prefix` and 5 random-looking characters, as kube-apiserver names a `generateName` object
/// (one not taken yet).
fn generated_name(state: &ServerState, res: ResId, namespace: &str, prefix: &str) -> String {
    let mut seed = state.store.resource_version();
    loop {
        seed = seed.wrapping_add(1);
        let seed = util::hash64(&[prefix.as_bytes(), namespace.as_bytes(), &seed.to_le_bytes()]);
        let name = format!("{prefix}{}", util::name_suffix(seed, 5));
        if state.store.get_res(res, namespace, &name).is_none() {
            return name;
        }
    }
}

fn after_create(state: &ServerState, res: ResId, namespace: &str, name: &str) {
    if res == POD {
        kubelet::pod_created(state.store.clone(), namespace, name);
    }
}

/// Spec fields a pod update may change (the rest is immutable).
fn immutable_pod_spec(spec: Option<&Value>) -> Value {
    let mut spec = spec.cloned().unwrap_or(Value::Null);
    if let Value::Object(m) = &mut spec {
        m.remove("activeDeadlineSeconds");
        m.remove("tolerations");
        for list in ["containers", "initContainers"] {
            if let Some(Value::Array(cs)) = m.get_mut(list) {
                for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                    c.remove("image");
                }
            }
        }
    }
    spec
}

/// `PATCH .../{plural}/{name}` with an apply patch: 201 when created, else 200.
pub(crate) fn apply(
    state: &ServerState,
    t: &WriteTarget<'_>,
    content_type: &str,
    field_manager: Option<&str>,
    body: &Bytes,
) -> Result<(u16, Vec<u8>), Status> {
    if !content_type.starts_with("application/apply-patch") {
        return Err(Status::unsupported_media_type(content_type));
    }
    if field_manager.is_none_or(str::is_empty) {
        return Err(Status::bad_request(
            "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests",
        ));
    }
    let name = t.name.unwrap_or_default();
    let mut obj = parse_object(t.res, body)?;
    settle_namespace(&mut obj, t.namespace)?;
    if meta_str(&obj, "name") != Some(name) {
        return Err(Status::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    authorize(state, t.res, "patch", None, t.namespace, Some(name))?;
    let ns = t.namespace.unwrap_or_default();
    let Some(existing) = state.store.get_res(t.res, ns, name) else {
        // Applying a new object is a create.
        authorize(state, t.res, "create", None, t.namespace, None)?;
        admit_create(state, t.res, t.namespace, name, &obj)?;
        if t.res == POD {
            obj.remove("status");
        }
        store_object(state, obj)?;
        after_create(state, t.res, ns, name);
        let stored = state.store.get_res(t.res, ns, name).unwrap_or(Value::Null);
        return respond(201, &stored);
    };
    check_pod_update(t, &existing, &obj)?;
    // Keep what other appliers own: labels/annotations not in this configuration, status.
    for key in ["labels", "annotations"] {
        if let Some(Value::Object(old)) = existing.get("metadata").and_then(|m| m.get(key))
            && let Some(Value::Object(meta)) = obj.get_mut("metadata")
            && let Value::Object(new) = meta.entry(key).or_insert_with(|| Value::Object(Map::new()))
        {
            for (k, v) in old {
                new.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    if let Some(status) = existing.get("status") {
        obj.entry("status").or_insert_with(|| status.clone());
    }
    store_object(state, obj)?;
    let stored = state.store.get_res(t.res, ns, name).unwrap_or(Value::Null);
    respond(200, &stored)
}

/// The object at `t` (404 when it is not there) and its resourceVersion.
fn existing(state: &ServerState, t: &WriteTarget<'_>) -> Result<(Value, String), Status> {
    let name = t.name.unwrap_or_default();
    let found = state
        .store
        .get_res(t.res, t.namespace.unwrap_or_default(), name)
        .ok_or_else(|| Status::not_found(&RESOURCES[t.res], name))?;
    let rv = found
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok((found, rv))
}

/// 409 when a write names a resourceVersion (`wanted`) other than the object's.
fn precondition(t: &WriteTarget<'_>, wanted: Option<&str>, current: &str) -> Result<(), Status> {
    match wanted.filter(|w| !w.is_empty()) {
        Some(w) if w != current => Err(Status::conflict(
            &RESOURCES[t.res],
            t.name.unwrap_or_default(),
        )),
        _ => Ok(()),
    }
}

/// A pod's spec may change only where kube-apiserver lets an update change it.
fn check_pod_update(
    t: &WriteTarget<'_>,
    old: &Value,
    new: &Map<String, Value>,
) -> Result<(), Status> {
    if t.res == POD && immutable_pod_spec(old.get("spec")) != immutable_pod_spec(new.get("spec")) {
        return Err(Status::invalid(
            &RESOURCES[POD],
            t.name.unwrap_or_default(),
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`, \
             `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations)",
        ));
    }
    Ok(())
}

/// Stores `obj` as the new state of `t`'s object (uid and creationTimestamp kept): 200 with it.
fn store_update(
    state: &ServerState,
    t: &WriteTarget<'_>,
    old: &Value,
    mut obj: Map<String, Value>,
) -> Result<(u16, Vec<u8>), Status> {
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        for kept in ["uid", "creationTimestamp"] {
            if let Some(v) = old.get("metadata").and_then(|m| m.get(kept)) {
                meta.insert(kept.into(), v.clone());
            }
        }
    }
    store_object(state, obj)?;
    let (ns, name) = (t.namespace.unwrap_or_default(), t.name.unwrap_or_default());
    let stored = state.store.get_res(t.res, ns, name).unwrap_or(Value::Null);
    respond(200, &stored)
}

/// `PUT .../{plural}/{name}`: replace the object at the body's resourceVersion (409 when it
/// changed since; without one the update is unconditional). A pod's status is kept.
pub(crate) fn replace(
    state: &ServerState,
    t: &WriteTarget<'_>,
    body: &Bytes,
) -> Result<(u16, Vec<u8>), Status> {
    let name = t.name.unwrap_or_default();
    let mut obj = parse_object(t.res, body)?;
    settle_namespace(&mut obj, t.namespace)?;
    if meta_str(&obj, "name") != Some(name) {
        return Err(Status::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    authorize(state, t.res, "update", None, t.namespace, Some(name))?;
    let (old, rv) = existing(state, t)?;
    precondition(t, meta_str(&obj, "resourceVersion"), &rv)?;
    check_pod_update(t, &old, &obj)?;
    if t.res == POD {
        obj.remove("status");
        if let Some(status) = old.get("status") {
            obj.insert("status".into(), status.clone());
        }
    }
    store_update(state, t, &old, obj)
}

/// RFC 7386: an object patch merges key by key (`null` removes), anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (k, v) in patch {
            if v.is_null() {
                map.remove(k);
            } else {
                merge(map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// `PATCH .../{plural}/{name}` with `application/merge-patch+json`: at the patch's
/// `metadata.resourceVersion` when it names one (409 when the object changed since).
pub(crate) fn merge_patch(
    state: &ServerState,
    t: &WriteTarget<'_>,
    body: &Bytes,
) -> Result<(u16, Vec<u8>), Status> {
    let name = t.name.unwrap_or_default();
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| Status::bad_request(format!("the merge patch is not JSON: {e}")))?;
    if !patch.is_object() {
        return Err(Status::bad_request("the merge patch is not a JSON object"));
    }
    authorize(state, t.res, "patch", None, t.namespace, Some(name))?;
    let (old, rv) = existing(state, t)?;
    precondition(
        t,
        patch
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str),
        &rv,
    )?;
    let mut merged = old.clone();
    merge(&mut merged, &patch);
    let Value::Object(mut obj) = merged else {
        return Err(Status::bad_request("the patched object is not an object"));
    };
    // What names the object cannot be patched away.
    for key in ["apiVersion", "kind"] {
        if let Some(v) = old.get(key) {
            obj.insert(key.into(), v.clone());
        }
    }
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.insert("name".into(), Value::from(name));
        if let Some(ns) = t.namespace {
            meta.insert("namespace".into(), Value::from(ns));
        }
    }
    check_pod_update(t, &old, &obj)?;
    store_update(state, t, &old, obj)
}

/// `DELETE .../{plural}/{name}`: 200 with the object as it was.
pub(crate) fn delete(state: &ServerState, t: &WriteTarget<'_>) -> Result<(u16, Vec<u8>), Status> {
    let rt = &RESOURCES[t.res];
    let name = t.name.unwrap_or_default();
    authorize(state, t.res, "delete", None, t.namespace, Some(name))?;
    let ns = t.namespace.unwrap_or_default();
    let existing = state
        .store
        .get_res(t.res, ns, name)
        .ok_or_else(|| Status::not_found(rt, name))?;
    let deleted = if t.res == NAMESPACE {
        state.store.delete_namespace(name)
    } else {
        state.store.delete_res(t.res, ns, name)
    };
    if !deleted {
        return Err(Status::not_found(rt, name));
    }
    respond(200, &existing)
}
