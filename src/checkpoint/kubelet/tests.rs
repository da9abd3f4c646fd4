//! Every answer of the fixtures (real kubelet / runtime texts, tests/fixtures/SOURCES.md) mapped
//! to its cause and message.

use std::time::Duration;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../tests/fixtures/k8s/kubelet-checkpoint-api/",
            $name
        ))
    };
}

fn req() -> CheckpointRequest {
    CheckpointRequest {
        node: "worker-1".into(),
        pod: PodKey::new("default", "ktapp-6d8f9c7b5d-4xk2p"),
        container: "ktapp".into(),
        timeout: None,
    }
}

fn reply(status: u16, content_type: &str, body: &str) -> Reply {
    Reply {
        status,
        content_type: Some(content_type.to_string()),
        body: body.to_string(),
        truncated: false,
    }
}

fn fails(status: u16, body: &str) -> CheckpointError {
    let ct = if body.starts_with('{') {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let failure = interpret(&req(), reply(status, ct, body)).unwrap_err();
    assert_eq!(failure.reply.as_ref().map(|r| r.status), Some(status));
    *failure.error
}

#[test]
fn success_bodies_give_the_node_path() {
    for (body, path) in [
        (
            fixture!("success.json"),
            "/var/lib/kubelet/checkpoints/checkpoint-ktapp-6d8f9c7b5d-4xk2p_default-ktapp-2026-11-22T12:35:06Z.tar",
        ),
        (
            fixture!("success-real-example-issue-116744.json"),
            "/var/lib/kubelet/checkpoints/checkpoint-counters_default-counter-2023-03-19T13:22:12Z.tar",
        ),
    ] {
        let answer = interpret(&req(), reply(200, "application/json", body)).unwrap();
        assert_eq!(answer.node_path, path);
        assert_eq!(answer.reply.body, body);
    }
}

#[test]
fn a_200_that_is_not_the_kubelets_answer_says_so() {
    for (body, why) in [
        ("<html>login</html>", "not JSON"),
        (r#"{"items":[]}"#, "an empty items list"),
        (r#"{"items":["relative.tar"]}"#, "is not a path"),
        (r#"{"items":["/x\u001b[2J.tar"]}"#, "is not a path"),
    ] {
        let e = fails(200, body);
        assert!(matches!(e, CheckpointError::BadAnswer { .. }), "{e:?}");
        assert!(e.to_string().contains(why), "{e}");
        assert!(!e.to_string().contains('\u{1b}'), "{e}");
    }
}

#[test]
fn the_api_servers_403_names_the_user_verb_and_resource() {
    let e = fails(403, fixture!("error-apiserver-forbidden.json"));
    let CheckpointError::ApiForbidden {
        user,
        verb,
        resource,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(user.as_deref(), Some("alice@example.com"));
    assert_eq!(
        (verb.as_str(), resource.as_str()),
        ("create", "nodes/proxy")
    );
    let text = e.to_string();
    assert!(
        text.contains("403 from the API server, not the kubelet"),
        "{text}"
    );
    assert!(
        text.contains("`kubectl auth can-i create nodes/proxy`"),
        "{text}"
    );
    assert!(!e.offers_snapshot());
}

#[test]
fn the_kubelets_403_says_it_is_the_api_servers_identity_both_forms() {
    for body in [
        fixture!("error-kubelet-forbidden.txt"),
        fixture!("error-kubelet-forbidden-pre-1.32.txt"),
    ] {
        let e = fails(403, body);
        let CheckpointError::KubeletForbidden {
            user,
            verb,
            resource,
            subresource,
            ..
        } = &e
        else {
            panic!("{body}: {e:?}")
        };
        assert_eq!(user, "kube-apiserver-kubelet-client");
        assert_eq!(
            (verb.as_str(), resource.as_str(), subresource.as_str()),
            ("create", "nodes", "checkpoint")
        );
        let text = e.to_string();
        assert!(
            text.contains("403 from the kubelet, not the API server"),
            "{text}"
        );
        assert!(text.contains("create on nodes/checkpoint"), "{text}");
        assert!(text.contains("only a cluster admin"), "{text}");
        assert!(
            e.offers_snapshot(),
            "the helper needs no kubelet permission"
        );
    }
    // The real text of another subresource parses the same way.
    let e = fails(
        403,
        fixture!("error-kubelet-forbidden-proxy-the-hard-way-pr-236.txt"),
    );
    assert!(
        matches!(&e, CheckpointError::KubeletForbidden { user, subresource, .. }
            if user == "kube-apiserver" && subresource == "proxy"),
        "{e:?}"
    );
}

#[test]
fn kubelet_404s_tell_the_gate_from_a_missing_pod_or_container() {
    let e = fails(404, fixture!("error-feature-disabled.txt"));
    assert!(
        matches!(e, CheckpointError::FeatureDisabled { .. }),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(text.contains("ContainerCheckpoint feature gate"), "{text}");
    assert!(text.contains("since Kubernetes 1.30"), "{text}");
    assert!(e.offers_snapshot());
    let e = fails(404, fixture!("error-pod-not-found.txt"));
    assert!(matches!(e, CheckpointError::PodNotFound { .. }), "{e:?}");
    let e = fails(404, fixture!("error-container-not-found.txt"));
    assert!(
        matches!(e, CheckpointError::ContainerNotFound { .. }),
        "{e:?}"
    );
    assert!(!e.offers_snapshot());
}

#[test]
fn runtimes_without_checkpoint_support_offer_the_live_snapshot() {
    for (file, body, gap) in [
        (
            "containerd 1.7",
            fixture!("error-containerd-1.7-not-implemented.txt"),
            RuntimeGap::NoRpc,
        ),
        (
            "containerd 1.7 sbserver",
            fixture!("error-containerd-1.7-sbserver-not-implemented.txt"),
            RuntimeGap::NoRpc,
        ),
        (
            "grpc unknown method",
            fixture!("error-runtime-unimplemented.txt"),
            RuntimeGap::NoRpc,
        ),
        (
            "CRI-O",
            fixture!("error-criu-support-not-available.txt"),
            RuntimeGap::CrioSupportOff,
        ),
        (
            "containerd 2.x, issue 140560",
            fixture!("error-criu-binary-not-found-issue-140560.txt"),
            RuntimeGap::CriuMissing,
        ),
        (
            "containerd 2.0",
            fixture!("error-containerd-2.0-criu-not-found.txt"),
            RuntimeGap::CriuMissing,
        ),
    ] {
        let e = fails(500, body);
        let CheckpointError::RuntimeUnsupported { gap: got, said, .. } = &e else {
            panic!("{file}: {e:?}")
        };
        assert_eq!(*got, gap, "{file}");
        assert!(!said.starts_with("checkpointing of"), "{file}: {said}");
        assert!(e.offers_snapshot(), "{file}");
        let text = e.to_string();
        assert!(
            text.contains(
                "ktui checkpoint create ktapp-6d8f9c7b5d-4xk2p -n default -c ktapp --snapshot"
            ),
            "{file}: {text}"
        );
        assert!(text.contains("containerd 2.0 or later with CRIU"), "{text}");
    }
}

#[test]
fn criu_errors_are_quoted_line_by_line_with_the_log_file() {
    let e = fails(500, fixture!("error-criu-dump-failed.txt"));
    let CheckpointError::CriuFailed {
        lines, log_file, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        lines,
        &[
            "Error (criu/sk-inet.c:191): inet: Connected TCP socket, consider using --tcp-established option.",
            "Error (criu/cr-dump.c:1781): Dumping FAILED.",
            "criu failed: type NOTIFY errno 0",
        ]
    );
    assert_eq!(
        log_file.as_deref(),
        Some(
            "/var/lib/containers/storage/overlay-containers/87ea0f1e6cf80fca7c22afee97cbea6ba749686c6942a0e86d22b42523562c7d/userdata/dump.log"
        )
    );
    assert!(e.offers_snapshot());
    assert!(e.to_string().contains("--tcp-established"), "{e}");
}

#[test]
fn criu_quotes_are_bounded_and_sanitised() {
    let mut body = String::from("checkpointing of a/b/c failed (criu failed: type DUMP errno 0");
    for i in 0..50 {
        body.push_str(&format!(
            "\nError (criu/x.c:{i}): \u{1b}[31m{}",
            "y".repeat(1000)
        ));
    }
    body.push(')');
    let CheckpointError::CriuFailed { lines, .. } = fails(500, &body) else {
        panic!()
    };
    assert_eq!(lines.len(), 8);
    assert!(lines.iter().all(|l| l.chars().count() <= 241), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:?}");
}

#[test]
fn a_runtime_deadline_and_a_dead_container_are_told_apart() {
    let e = fails(500, fixture!("error-runtime-deadline-exceeded.txt"));
    assert!(
        matches!(e, CheckpointError::RuntimeDeadline { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("retry with a longer timeout"), "{e}");
    let exited = "checkpointing of default/ktapp-6d8f9c7b5d-4xk2p/ktapp failed (rpc error: code = Unknown desc = container \"3f1c\" is in CONTAINER_EXITED state. only CONTAINER_RUNNING containers can be checkpointed)";
    let e = fails(500, exited);
    assert!(matches!(e, CheckpointError::NotRunning { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("a dead process cannot be checkpointed"),
        "{e}"
    );
}

#[test]
fn api_server_answers_for_the_node_are_not_taken_for_the_kubelets() {
    let status = |code: u16, reason: &str, message: &str| {
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code})
        .to_string()
    };
    let e = fails(
        404,
        &status(404, "NotFound", "nodes \"worker-1\" not found"),
    );
    assert!(matches!(e, CheckpointError::NodeNotFound { .. }), "{e:?}");
    let e = fails(
        503,
        &status(
            503,
            "ServiceUnavailable",
            "error trying to reach service: dial tcp 10.0.0.5:10250: connect: connection refused",
        ),
    );
    assert!(
        matches!(e, CheckpointError::KubeletUnreachable { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("connection refused"), "{e}");
    let e = fails(401, &status(401, "Unauthorized", "Unauthorized"));
    assert!(
        matches!(e, CheckpointError::ApiUnauthorized { .. }),
        "{e:?}"
    );
    // The kubelet's own 401 is plain text.
    let e = fails(401, "Unauthorized");
    assert!(
        matches!(e, CheckpointError::KubeletUnauthorized { .. }),
        "{e:?}"
    );
}

#[test]
fn anything_else_is_quoted_sanitised() {
    let e = fails(418, "\u{1b}]0;owned\u{7} teapot");
    assert!(
        matches!(e, CheckpointError::Unexpected { status: 418, .. }),
        "{e:?}"
    );
    assert!(!e.to_string().contains('\u{1b}'), "{e}");
    assert!(e.to_string().contains("teapot"), "{e}");
}

#[test]
fn the_request_path_query_and_deadline() {
    let mut r = req();
    assert_eq!(
        r.path().unwrap(),
        "/api/v1/nodes/worker-1/proxy/checkpoint/default/ktapp-6d8f9c7b5d-4xk2p/ktapp"
    );
    assert_eq!(r.query(), None);
    assert_eq!(r.deadline(DEFAULT_GRACE), Duration::from_secs(150));
    r.timeout = Some(Duration::from_millis(1500));
    assert_eq!(r.query().as_deref(), Some("timeout=2"));
    assert_eq!(r.deadline(Duration::ZERO), Duration::from_secs(2));
    r.timeout = Some(Duration::ZERO);
    assert_eq!(r.timeout_secs(), Some(1));
    for bad in ["a/b", "..", "x?y", "", "a b", "é"] {
        r.container = bad.to_string();
        assert!(
            matches!(
                r.path(),
                Err(CheckpointError::BadName {
                    what: "container",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn the_demo_answer_is_marked() {
    let inner = fails(500, fixture!("error-containerd-1.7-not-implemented.txt"));
    let e = CheckpointError::Demo(Box::new(inner));
    assert!(e.to_string().starts_with("DEMO"), "{e}");
    assert!(e.offers_snapshot());
    assert_eq!(e.kind(), "runtime_unsupported");
}
