//! Why a capture cannot start or had to end, and the wire error code for each.

use ktui_wire::ErrorCode;

/// The helper variant (see the console's `ktui helper manifest --capture`) that has a
/// capability.
fn variant_with(cap: &str) -> &'static str {
    if cap == "CAP_SYS_ADMIN" {
        "capture-netns"
    } else {
        "capture"
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "capturing {what} needs {cap}, which this helper lacks: deploy the `{variant}` helper variant (ktui helper manifest --capture), or run ktui-helper as root",
        variant = variant_with(cap)
    )]
    NotPermitted { cap: &'static str, what: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TargetNotFound(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

pub type Result<T, E = CaptureError> = std::result::Result<T, E>;

impl CaptureError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> CaptureError {
        CaptureError::Io {
            what: what.into(),
            source,
        }
    }

    /// An error from a system call, as not_permitted naming `cap` when the kernel said EPERM.
    pub fn os(what: impl Into<String>, source: std::io::Error, cap: &'static str) -> CaptureError {
        let what = what.into();
        if matches!(
            source.raw_os_error(),
            Some(libc::EPERM) | Some(libc::EACCES)
        ) {
            CaptureError::NotPermitted { cap, what }
        } else {
            CaptureError::io(what, source)
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            CaptureError::NotPermitted { .. } => ErrorCode::NotPermitted,
            CaptureError::BadRequest(_) => ErrorCode::BadRequest,
            CaptureError::TargetNotFound(_) | CaptureError::Unavailable(_) => {
                ErrorCode::Unavailable
            }
            CaptureError::Io { .. } => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_permitted_names_the_capability_and_the_variant() {
        let e = CaptureError::os(
            "inside the pod's network namespace",
            std::io::Error::from_raw_os_error(libc::EPERM),
            "CAP_SYS_ADMIN",
        );
        assert_eq!(e.code(), ErrorCode::NotPermitted);
        let m = e.to_string();
        assert!(
            m.contains("CAP_SYS_ADMIN") && m.contains("`capture-netns`"),
            "{m}"
        );
        let e = CaptureError::NotPermitted {
            cap: "CAP_NET_RAW",
            what: "packets".into(),
        };
        assert!(e.to_string().contains("`capture` helper variant"));
        let e = CaptureError::os(
            "x",
            std::io::Error::from_raw_os_error(libc::ENOENT),
            "CAP_NET_RAW",
        );
        assert_eq!(e.code(), ErrorCode::Internal);
    }
}
