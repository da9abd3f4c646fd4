//! `metav1.Status` bodies, byte-for-byte in kube-apiserver's field order.

use bytes::Bytes;
use serde::Serialize;

use crate::resources::ResourceType;

/// The user named in 403 messages.
pub const FORBIDDEN_USER: &str = "system:serviceaccount:ci:tester";

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize, Default, Debug)]
pub(crate) struct Details {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusBody<'a> {
    kind: &'static str,
    api_version: &'static str,
    metadata: Empty,
    status: &'static str,
    message: &'a str,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Details>,
    code: u16,
}

/// A failure `Status`.
#[derive(Debug)]
pub(crate) struct Status {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Details>,
}

impl Status {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Status {
        Status {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn to_json(&self) -> Bytes {
        let body = StatusBody {
            kind: "Status",
            api_version: "v1",
            metadata: Empty {},
            status: "Failure",
            message: &self.message,
            reason: self.reason,
            details: self.details.as_ref(),
            code: self.code,
        };
        // Serializing a struct of strings and integers cannot fail.
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
    }

    pub fn unauthorized() -> Status {
        Status::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn page_not_found() -> Status {
        Status::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Status {
        Status::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(method: &str) -> Status {
        Status::new(
            405,
            "MethodNotAllowed",
            format!(
                "the server does not allow this method on the requested resource ({method} is not supported by the fake API server)"
            ),
        )
    }

    /// `pods "web-1" not found`.
    pub fn not_found(res: &ResourceType, name: &str) -> Status {
        Status {
            details: Some(Details {
                name: name.to_string(),
                group: res.group.to_string(),
                kind: res.plural.to_string(),
            }),
            ..Status::new(
                404,
                "NotFound",
                format!("{} \"{name}\" not found", res.qualified_plural()),
            )
        }
    }

    /// kube-apiserver's RBAC denial. `resource` may be a subresource path
    /// (`pods/log`); `name` is set for get-style requests.
    pub fn forbidden(
        res: &ResourceType,
        resource: &str,
        verb: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Status {
        let subject = match name {
            Some(name) => format!("{} \"{name}\"", res.qualified_plural()),
            None => res.qualified_plural(),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        Status {
            details: Some(Details {
                name: name.unwrap_or_default().to_string(),
                group: res.group.to_string(),
                kind: res.plural.to_string(),
            }),
            ..Status::new(
                403,
                "Forbidden",
                format!(
                    "{subject} is forbidden: User \"{FORBIDDEN_USER}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
                    res.group
                ),
            )
        }
    }

    fn about(
        res: &ResourceType,
        name: &str,
        code: u16,
        reason: &'static str,
        message: String,
    ) -> Status {
        Status {
            details: Some(Details {
                name: name.to_string(),
                group: res.group.to_string(),
                kind: res.plural.to_string(),
            }),
            ..Status::new(code, reason, message)
        }
    }

    /// `pods "x" already exists` (409).
    pub fn already_exists(res: &ResourceType, name: &str) -> Status {
        Status::about(
            res,
            name,
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", res.qualified_plural()),
        )
    }

    /// A write at a resourceVersion the object no longer has (409), in kube-apiserver's words.
    pub fn conflict(res: &ResourceType, name: &str) -> Status {
        Status::about(
            res,
            name,
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                res.qualified_plural()
            ),
        )
    }

    /// An admission rejection (403): `pods "x" is forbidden: violates PodSecurity ...`.
    pub fn admission_forbidden(res: &ResourceType, name: &str, why: &str) -> Status {
        Status::about(
            res,
            name,
            403,
            "Forbidden",
            format!("{} \"{name}\" is forbidden: {why}", res.qualified_plural()),
        )
    }

    /// A validation error (422): `Pod "x" is invalid: spec: Forbidden: ...`.
    pub fn invalid(res: &ResourceType, name: &str, why: &str) -> Status {
        Status::about(
            res,
            name,
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {why}", res.kind),
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> Status {
        Status::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml (the fake API server supports server-side apply only; got {content_type:?})"
            ),
        )
    }

    /// The watch-cache "compacted" error: `too old resource version: 1 (5)`.
    pub fn expired(requested: u64, oldest: u64) -> Status {
        Status::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{POD, RESOURCES};

    #[test]
    fn forbidden_body_matches_kube_apiserver() {
        let s = Status::forbidden(&RESOURCES[POD], "pods", "list", Some("prod"), None);
        assert_eq!(
            std::str::from_utf8(&s.to_json()).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:serviceaccount:ci:tester\" cannot list resource \"pods\" in API group \"\" in the namespace \"prod\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#
        );
    }

    #[test]
    fn expired_body() {
        assert_eq!(
            std::str::from_utf8(&Status::expired(1, 5).to_json()).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}"#
        );
    }
}
