//! Request routing and the list/get handlers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::body::Body;
use crate::discovery;
use crate::exec;
use crate::logs::{self, LogParams};
use crate::resources::{self, NAMESPACE, POD, RESOURCES, ResId};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::Status;
use crate::store::{Canned, ObjKey, Scope, Store};
use crate::watch::{self as watch_stream, WatchParams};
use crate::write;
use http_body_util::{BodyExt as _, Limited};

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The raw query string (without `?`), possibly empty.
    pub query: String,
}

impl RequestRecord {
    /// The decoded value of query parameter `key`, if present.
    pub fn param(&self, key: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// True for `watch=true` (or `1`) requests.
    pub fn is_watch(&self) -> bool {
        self.param("watch").is_some_and(|v| parse_bool(&v)) || self.path.contains("/watch/")
    }
}

/// Lets a request's stream ask for its connection to be reset (a simulated
/// network drop; see `Store::drop_watches`).
pub(crate) type ConnHandle = Arc<tokio::sync::Notify>;

pub(crate) struct ServerState {
    pub store: Store,
    pub token: String,
    pub addr: SocketAddr,
    pub requests: Mutex<Vec<RequestRecord>>,
    pub shutdown: watch::Receiver<bool>,
}

impl ServerState {
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn clear_requests(&self) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Go's `strconv.ParseBool` truthy values.
fn parse_bool(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(q: &str) -> Query {
        Query(form_urlencoded::parse(q.as_bytes()).into_owned().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(parse_bool)
    }

    fn opt_flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(parse_bool)
    }

    fn number(&self, key: &str) -> Result<Option<u64>, Status> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Status::bad_request(format!("invalid value for {key}: {v:?}"))),
        }
    }
}

fn json_response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut resp = Response::new(Body::full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn ok_json(body: impl Into<Bytes>) -> Response<Body> {
    json_response(StatusCode::OK, "application/json", body)
}

fn value_response(v: &serde_json::Value) -> Response<Body> {
    ok_json(serde_json::to_vec(v).unwrap_or_default())
}

pub(crate) fn status_response(s: &Status) -> Response<Body> {
    let code = StatusCode::from_u16(s.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, "application/json", s.to_json())
}

fn stream_response(body: Body, content_type: &'static str) -> Response<Body> {
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A fixed answer from [`crate::Store::respond_with`].
fn canned_response(canned: Canned) -> Response<Body> {
    match canned {
        Canned::Body {
            status,
            content_type,
            body,
        } => json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            content_type,
            body.to_vec(),
        ),
        Canned::Endless => {
            let (tx, body) = Body::channel();
            tokio::spawn(async move {
                let filler = Bytes::from(format!(
                    "{{\"kind\":\"PodList\",\"items\":[{}",
                    "{},".repeat(16 * 1024)
                ));
                if tx.send(Ok(filler)).await.is_err() {
                    return;
                }
                let chunk = Bytes::from("{},".repeat(64 * 1024));
                while tx.send(Ok(chunk.clone())).await.is_ok() {}
            });
            stream_response(body, "application/json")
        }
    }
}

/// The hyper service: records, delays, authenticates, then routes.
pub(crate) async fn handle(
    state: Arc<ServerState>,
    conn: ConnHandle,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let record = RequestRecord {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or_default().to_string(),
    };
    state
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(record.clone());
    let (latency, unauthorized) = {
        let inner = state.store.lock();
        (inner.latency, inner.unauthorized)
    };
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    let expected = format!("Bearer {}", state.token);
    let authorized = !unauthorized
        && req
            .headers()
            .get(AUTHORIZATION)
            .is_some_and(|h| h.as_bytes() == expected.as_bytes());
    if !authorized {
        return Ok(status_response(&Status::unauthorized()));
    }
    let canned = state.store.lock().canned.get(&record.path).cloned();
    if req.method() == Method::GET
        && let Some(canned) = canned
    {
        return Ok(canned_response(canned));
    }
    let aggregated = req
        .headers()
        .get(ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|a| a.contains("as=APIGroupDiscoveryList"));
    if req.method() == Method::GET
        && let Some((ns, pod)) = exec::exec_target(&record.path)
    {
        return Ok(exec::handle(&state, &ns, &pod, req).unwrap_or_else(|s| status_response(&s)));
    }
    let method = req.method().clone();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = if method == Method::GET {
        Bytes::new()
    } else {
        match Limited::new(req.into_body(), write::MAX_BODY)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                return Ok(status_response(&Status::new(
                    413,
                    "RequestEntityTooLarge",
                    format!("cannot read the request body: {e}"),
                )));
            }
        }
    };
    let self_subject = state.store.lock().self_subject.clone();
    if method == Method::POST
        && record.path == "/apis/authentication.k8s.io/v1/selfsubjectreviews"
        && let Some(user) = self_subject
    {
        let review = serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "SelfSubjectReview",
            "metadata": {"creationTimestamp": null},
            "status": {"userInfo": {"username": user, "groups": ["system:authenticated"]}}
        });
        return Ok(json_response(
            StatusCode::CREATED,
            "application/json",
            serde_json::to_vec(&review).unwrap_or_default(),
        ));
    }
    if method == Method::POST
        && let Some(target) = crate::checkpoint::target(&record.path)
    {
        return Ok(crate::checkpoint::handle(&state, target, &record.query).await);
    }
    let resp = if method == Method::POST && record.path == crate::access::PATH {
        crate::access::review(&state.store, &body).map(|v| {
            json_response(
                StatusCode::CREATED,
                "application/json",
                serde_json::to_vec(&v).unwrap_or_default(),
            )
        })
    } else if method == Method::GET {
        route(&state, &conn, &method, &record, aggregated)
    } else {
        route_write(&state, &method, &record, &content_type, &body)
    };
    Ok(resp.unwrap_or_else(|s| status_response(&s)))
}

/// `POST`, `PUT`, `PATCH` (server-side apply or merge patch) and `DELETE` under `/api` and
/// `/apis`.
fn route_write(
    state: &ServerState,
    method: &Method,
    rec: &RequestRecord,
    content_type: &str,
    body: &Bytes,
) -> Result<Response<Body>, Status> {
    let segs: Vec<&str> = rec.path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        [first, ..] if *first == "api" || *first == "apis" => {
            return Err(Status::method_not_allowed(method.as_str()));
        }
        _ => return Err(Status::page_not_found()),
    };
    let query = Query::parse(&rec.query);
    let target = parse_target(group, version, rest)
        .filter(|t| state.store.lock().served.serves(&RESOURCES[t.res()]))
        .ok_or_else(Status::page_not_found)?;
    let (code, bytes) = match (method, target) {
        (&Method::POST, Target::Collection { res, namespace }) => {
            if RESOURCES[res].namespaced && namespace.is_none() {
                return Err(Status::method_not_allowed(method.as_str()));
            }
            write::create(
                state,
                &write::WriteTarget {
                    res,
                    namespace,
                    name: None,
                },
                body,
            )?
        }
        (
            &Method::PATCH,
            Target::Object {
                res,
                namespace,
                name,
            },
        ) if content_type.starts_with("application/merge-patch+json") => write::merge_patch(
            state,
            &write::WriteTarget {
                res,
                namespace,
                name: Some(name),
            },
            body,
        )?,
        (
            &Method::PATCH,
            Target::Object {
                res,
                namespace,
                name,
            },
        ) => write::apply(
            state,
            &write::WriteTarget {
                res,
                namespace,
                name: Some(name),
            },
            content_type,
            query.get("fieldManager"),
            body,
        )?,
        (
            &Method::PUT,
            Target::Object {
                res,
                namespace,
                name,
            },
        ) => write::replace(
            state,
            &write::WriteTarget {
                res,
                namespace,
                name: Some(name),
            },
            body,
        )?,
        (
            &Method::DELETE,
            Target::Object {
                res,
                namespace,
                name,
            },
        ) => write::delete(
            state,
            &write::WriteTarget {
                res,
                namespace,
                name: Some(name),
            },
        )?,
        _ => return Err(Status::method_not_allowed(method.as_str())),
    };
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    Ok(json_response(status, "application/json", bytes))
}

fn route(
    state: &ServerState,
    conn: &ConnHandle,
    method: &Method,
    rec: &RequestRecord,
    aggregated: bool,
) -> Result<Response<Body>, Status> {
    let segs: Vec<&str> = rec.path.split('/').filter(|s| !s.is_empty()).collect();
    if method != Method::GET {
        return Err(Status::method_not_allowed(method.as_str()));
    }
    let query = Query::parse(&rec.query);
    let served = state.store.lock().served;
    match segs.as_slice() {
        ["version"] => Ok(value_response(&discovery::version())),
        ["api"] if aggregated => Ok(json_response(
            StatusCode::OK,
            discovery::AGGREGATED_CONTENT_TYPE,
            serde_json::to_vec(&discovery::aggregated(true, served)).unwrap_or_default(),
        )),
        ["api"] => Ok(value_response(&discovery::core_versions(
            &state.addr.to_string(),
        ))),
        ["apis"] if aggregated => Ok(json_response(
            StatusCode::OK,
            discovery::AGGREGATED_CONTENT_TYPE,
            serde_json::to_vec(&discovery::aggregated(false, served)).unwrap_or_default(),
        )),
        ["apis"] => Ok(value_response(&discovery::group_list(served))),
        ["api", version] => discovery::resource_list("", version, served)
            .map(|v| value_response(&v))
            .ok_or_else(Status::page_not_found),
        ["apis", group, version] => discovery::resource_list(group, version, served)
            .map(|v| value_response(&v))
            .ok_or_else(Status::page_not_found),
        ["api", version, rest @ ..] => resource(state, conn, "", version, rest, &query),
        ["apis", group, version, rest @ ..] => resource(state, conn, group, version, rest, &query),
        _ => Err(Status::page_not_found()),
    }
}

/// What a path under a group/version names.
enum Target<'a> {
    Collection {
        res: ResId,
        namespace: Option<&'a str>,
    },
    Object {
        res: ResId,
        namespace: Option<&'a str>,
        name: &'a str,
    },
    Subresource {
        res: ResId,
        namespace: Option<&'a str>,
        name: &'a str,
        sub: &'a str,
    },
}

impl Target<'_> {
    fn res(&self) -> ResId {
        match self {
            Target::Collection { res, .. }
            | Target::Object { res, .. }
            | Target::Subresource { res, .. } => *res,
        }
    }
}

fn parse_target<'a>(group: &str, version: &str, rest: &[&'a str]) -> Option<Target<'a>> {
    let lookup = |plural: &str| resources::by_path(group, version, plural);
    let namespaced = |plural: &str| lookup(plural).filter(|r| RESOURCES[*r].namespaced);
    let cluster = |plural: &str| lookup(plural).filter(|r| !RESOURCES[*r].namespaced);
    match *rest {
        ["namespaces", ns, plural, ref tail @ ..] if namespaced(plural).is_some() => {
            let res = namespaced(plural)?;
            let namespace = Some(ns);
            match *tail {
                [] => Some(Target::Collection { res, namespace }),
                [name] => Some(Target::Object {
                    res,
                    namespace,
                    name,
                }),
                [name, sub] => Some(Target::Subresource {
                    res,
                    namespace,
                    name,
                    sub,
                }),
                _ => None,
            }
        }
        [plural] => {
            // Namespaced types can be listed across all namespaces.
            let res = lookup(plural)?;
            Some(Target::Collection {
                res,
                namespace: None,
            })
        }
        [plural, name] => Some(Target::Object {
            res: cluster(plural)?,
            namespace: None,
            name,
        }),
        [plural, name, sub] => Some(Target::Subresource {
            res: cluster(plural)?,
            namespace: None,
            name,
            sub,
        }),
        _ => None,
    }
}

fn resource(
    state: &ServerState,
    conn: &ConnHandle,
    group: &str,
    version: &str,
    rest: &[&str],
    query: &Query,
) -> Result<Response<Body>, Status> {
    // The deprecated `/api/v1/watch/...` form.
    let (rest, watch_path) = match rest {
        ["watch", tail @ ..] => (tail, true),
        _ => (rest, false),
    };
    let target = parse_target(group, version, rest)
        .filter(|t| state.store.lock().served.serves(&RESOURCES[t.res()]))
        .ok_or_else(Status::page_not_found)?;
    match target {
        Target::Collection { res, namespace } => {
            let watch = watch_path || query.flag("watch");
            collection(state, conn, res, namespace, watch, query)
        }
        Target::Object {
            res,
            namespace,
            name,
        } if !watch_path => get(state, res, namespace, name, None),
        Target::Subresource {
            res,
            namespace,
            name,
            sub,
        } if !watch_path => {
            if RESOURCES[res].subresources.contains(&"status") && sub == "status" {
                get(state, res, namespace, name, Some("status"))
            } else if res == POD && sub == "log" {
                pod_logs(state, namespace.unwrap_or_default(), name, query)
            } else {
                Err(Status::page_not_found())
            }
        }
        _ => Err(Status::page_not_found()),
    }
}

/// Checks a `forbid` rule; `name` is set for get-style requests.
pub(crate) fn authorize(
    state: &ServerState,
    res: ResId,
    verb: &str,
    sub: Option<&str>,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Result<(), Status> {
    let rt = &RESOURCES[res];
    let resource = match sub {
        Some(sub) => format!("{}/{sub}", rt.plural),
        None => rt.plural.to_string(),
    };
    // A namespace is authorized in its own namespace.
    let namespace = if res == NAMESPACE && name.is_some() {
        name
    } else {
        namespace
    };
    if state.store.lock().is_forbidden(verb, &resource, namespace) {
        return Err(Status::forbidden(rt, &resource, verb, namespace, name));
    }
    Ok(())
}

fn get(
    state: &ServerState,
    res: ResId,
    namespace: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Result<Response<Body>, Status> {
    authorize(state, res, "get", sub, namespace, Some(name))?;
    let inner = state.store.lock();
    let obj = inner
        .get(res, namespace.unwrap_or_default(), name)
        .ok_or_else(|| Status::not_found(&RESOURCES[res], name))?;
    Ok(ok_json(obj.full_json()))
}

fn pod_logs(
    state: &ServerState,
    namespace: &str,
    name: &str,
    query: &Query,
) -> Result<Response<Body>, Status> {
    authorize(state, POD, "get", Some("log"), Some(namespace), Some(name))?;
    let to_usize = |v: Option<u64>| v.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let tail_lines = match query.get("tailLines") {
        // Negative tailLines is rejected by kube-apiserver's validation.
        Some(v) if v.starts_with('-') => {
            return Err(Status::bad_request(format!(
                "tailLines: Invalid value: {v}: must be greater than or equal to 0"
            )));
        }
        _ => to_usize(query.number("tailLines")?),
    };
    let params = LogParams {
        container: query
            .get("container")
            .filter(|c| !c.is_empty())
            .map(str::to_string),
        previous: query.flag("previous"),
        follow: query.flag("follow"),
        tail_lines,
        limit_bytes: to_usize(query.number("limitBytes")?),
    };
    let body = logs::handle(
        &state.store,
        state.shutdown.clone(),
        namespace,
        name,
        &params,
    )?;
    Ok(stream_response(body, "text/plain"))
}

#[derive(Serialize, Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    start: String,
}

fn encode_continue(rv: u64, last: &ObjKey) -> String {
    let token = ContinueToken {
        v: "meta.k8s.io/v1".to_string(),
        rv,
        start: format!("{}/{}\u{0}", last.0, last.1),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_continue(token: &str) -> Result<(u64, ObjKey), Status> {
    let invalid = || Status::bad_request(format!("continue key is not valid: {token:?}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let t: ContinueToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let start = t.start.trim_end_matches('\u{0}');
    let (ns, name) = start.split_once('/').ok_or_else(invalid)?;
    Ok((t.rv, (ns.to_string(), name.to_string())))
}

fn collection(
    state: &ServerState,
    conn: &ConnHandle,
    res: ResId,
    namespace: Option<&str>,
    watch: bool,
    query: &Query,
) -> Result<Response<Body>, Status> {
    let verb = if watch { "watch" } else { "list" };
    authorize(state, res, verb, None, namespace, None)?;
    let rt = &RESOURCES[res];
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or_default())
        .map_err(Status::bad_request)?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or_default(), rt.fields)
        .map_err(Status::bad_request)?;
    if watch {
        let resource_version = match query.get("resourceVersion") {
            None | Some("" | "0") => None,
            Some(v) => Some(
                v.parse::<u64>()
                    .map_err(|_| Status::bad_request(format!("invalid resource version: {v}")))?,
            ),
        };
        let params = WatchParams {
            res,
            namespace: namespace.map(str::to_string),
            labels,
            fields,
            resource_version,
            send_initial_events: query.opt_flag("sendInitialEvents"),
            bookmarks: query.flag("allowWatchBookmarks"),
            timeout: query
                .number("timeoutSeconds")?
                .filter(|t| *t > 0)
                .map(Duration::from_secs),
        };
        let body = watch_stream::start(
            state.store.clone(),
            state.shutdown.clone(),
            Arc::clone(conn),
            params,
        );
        return Ok(stream_response(body, "application/json"));
    }

    let limit = usize::try_from(query.number("limit")?.unwrap_or(0)).unwrap_or(usize::MAX);
    let cont = match query.get("continue") {
        None | Some("") => None,
        Some(token) => Some(decode_continue(token)?),
    };
    let scope = Scope {
        res,
        namespace,
        labels: &labels,
        fields: &fields,
    };
    let (list_rv, page) = {
        let inner = state.store.lock();
        if let Some((rv, _)) = &cont
            && *rv < inner.expired_before
        {
            return Err(Status::new(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ));
        }
        let list_rv = cont.as_ref().map_or(inner.rv, |(rv, _)| *rv);
        (
            list_rv,
            inner.list(&scope, limit, cont.as_ref().map(|(_, k)| k)),
        )
    };

    let mut meta = format!("{{\"resourceVersion\":\"{list_rv}\"");
    if let Some(next) = &page.next {
        meta.push_str(&format!(
            ",\"continue\":\"{}\"",
            encode_continue(list_rv, next)
        ));
        if let Some(n) = page.remaining {
            meta.push_str(&format!(",\"remainingItemCount\":{n}"));
        }
    }
    meta.push('}');
    let head = format!(
        "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{meta},\"items\":[",
        rt.kind,
        rt.api_version()
    );
    let size = head.len() + 2 + page.items.iter().map(|o| o.body.len() + 1).sum::<usize>();
    let mut buf = Vec::with_capacity(size);
    buf.extend_from_slice(head.as_bytes());
    for (i, obj) in page.items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(&obj.body);
    }
    buf.extend_from_slice(b"]}");
    Ok(ok_json(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let key = ("ns-1".to_string(), "web-1".to_string());
        let token = encode_continue(42, &key);
        assert_eq!(decode_continue(&token).unwrap(), (42, key));
        let cluster = (String::new(), "node-1".to_string());
        assert_eq!(
            decode_continue(&encode_continue(7, &cluster)).unwrap(),
            (7, cluster)
        );
        assert!(decode_continue("garbage!").is_err());
    }

    #[test]
    fn targets() {
        assert!(matches!(
            parse_target("", "v1", &["namespaces", "prod", "pods"]),
            Some(Target::Collection {
                res: POD,
                namespace: Some("prod")
            })
        ));
        assert!(matches!(
            parse_target("", "v1", &["namespaces", "prod"]),
            Some(Target::Object {
                res: NAMESPACE,
                namespace: None,
                name: "prod"
            })
        ));
        assert!(matches!(
            parse_target("", "v1", &["namespaces", "prod", "status"]),
            Some(Target::Subresource {
                res: NAMESPACE,
                sub: "status",
                ..
            })
        ));
        assert!(matches!(
            parse_target("", "v1", &["namespaces", "prod", "pods", "web", "log"]),
            Some(Target::Subresource {
                res: POD,
                sub: "log",
                ..
            })
        ));
        assert!(parse_target("", "v1", &["pods", "web"]).is_none());
        assert!(parse_target("", "v1", &["bogus"]).is_none());
        assert!(matches!(
            parse_target("apps", "v1", &["deployments"]),
            Some(Target::Collection { .. })
        ));
    }
}
