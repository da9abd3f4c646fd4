//! Quitting does not lose work in flight: evidence captures that are still fetching logs when
//! the run ends, and helper removals, complete (bounded) and reach the state; work that
//! outlasts the bound is named.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use ktui::app::App;
use ktui::cluster::demo::DemoCluster;
use ktui::cluster::{
    BoxByteStream, Cluster, ContextInfo, EventRow, HelperPod, LogRequest, NodeInfo, ObjectInfo,
    ObjectRef, PodDetail, PodEvent, PodKey, Result, Scope,
};
use ktui::evidence::EvidenceKind;

/// The demo cluster, with every log fetch taking `delay`.
struct SlowLogs {
    inner: DemoCluster,
    delay: Duration,
}

impl Cluster for SlowLogs {
    fn info(&self) -> ContextInfo {
        self.inner.info()
    }
    fn watch_pods(&self, scope: Scope) -> BoxStream<'static, PodEvent> {
        self.inner.watch_pods(scope)
    }
    fn pod_detail(&self, key: PodKey) -> BoxFuture<'static, Result<PodDetail>> {
        self.inner.pod_detail(key)
    }
    fn pod_events(&self, key: PodKey) -> BoxFuture<'static, Result<Vec<EventRow>>> {
        self.inner.pod_events(key)
    }
    fn logs(&self, req: LogRequest) -> BoxFuture<'static, Result<Vec<u8>>> {
        let logs = self.inner.logs(req);
        let delay = self.delay;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            logs.await
        })
    }
    fn follow_logs(&self, req: LogRequest) -> BoxStream<'static, Result<Vec<u8>>> {
        self.inner.follow_logs(req)
    }
    fn namespaces(&self) -> BoxFuture<'static, Result<Vec<String>>> {
        self.inner.namespaces()
    }
    fn apply(&self, objects: Vec<serde_json::Value>) -> BoxFuture<'static, Result<Vec<ObjectRef>>> {
        self.inner.apply(objects)
    }
    fn create(&self, object: serde_json::Value) -> BoxFuture<'static, Result<bool>> {
        self.inner.create(object)
    }
    fn delete(&self, object: ObjectRef) -> BoxFuture<'static, Result<bool>> {
        self.inner.delete(object)
    }
    fn patch_merge(
        &self,
        object: ObjectRef,
        patch: serde_json::Value,
    ) -> BoxFuture<'static, Result<()>> {
        self.inner.patch_merge(object, patch)
    }
    fn replace(&self, object: serde_json::Value) -> BoxFuture<'static, Result<bool>> {
        self.inner.replace(object)
    }
    fn exec(
        &self,
        pod: PodKey,
        container: String,
        argv: Vec<String>,
    ) -> BoxFuture<'static, Result<BoxByteStream>> {
        self.inner.exec(pod, container, argv)
    }
    fn list_helper_pods(&self, scope: Scope) -> BoxFuture<'static, Result<Vec<HelperPod>>> {
        // A helper removal starts with this list: as slow as the logs, and (unlike the demo
        // cluster, which has no helper pods to list) answering that none is left.
        let _ = scope;
        let delay = self.delay;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(Vec::new())
        })
    }
    fn object_info(&self, object: ObjectRef) -> BoxFuture<'static, Result<ObjectInfo>> {
        self.inner.object_info(object)
    }
    fn list_objects(
        &self,
        api_version: &str,
        kind: &str,
        namespace: String,
    ) -> BoxFuture<'static, Result<Vec<ObjectInfo>>> {
        self.inner.list_objects(api_version, kind, namespace)
    }
    fn node_info(&self, node: String) -> BoxFuture<'static, Result<NodeInfo>> {
        self.inner.node_info(node)
    }
    fn access(
        &self,
        checks: Vec<ktui::cluster::AccessCheck>,
    ) -> BoxFuture<'static, Result<Vec<bool>>> {
        self.inner.access(checks)
    }

    fn list_json(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<String>,
        label_selector: Option<String>,
    ) -> BoxFuture<'static, Result<Vec<serde_json::Value>>> {
        self.inner
            .list_json(api_version, kind, namespace, label_selector)
    }
    fn serves(&self, api_version: &str, kind: &str) -> BoxFuture<'static, Result<bool>> {
        self.inner.serves(api_version, kind)
    }
    fn get_json(&self, object: ObjectRef) -> BoxFuture<'static, Result<serde_json::Value>> {
        self.inner.get_json(object)
    }
    fn pod_events_json(&self, key: PodKey) -> BoxFuture<'static, Result<Vec<serde_json::Value>>> {
        self.inner.pod_events_json(key)
    }
    fn server_date(&self) -> BoxFuture<'static, Result<Option<jiff::Timestamp>>> {
        self.inner.server_date()
    }
    fn self_user(&self) -> BoxFuture<'static, Result<Option<String>>> {
        self.inner.self_user()
    }
    fn checkpoint(
        &self,
        req: ktui::cluster::CheckpointRequest,
    ) -> BoxFuture<
        'static,
        std::result::Result<ktui::cluster::CheckpointAnswer, ktui::cluster::CheckpointFailure>,
    > {
        self.inner.checkpoint(req)
    }
}

/// The demo app on a cluster whose log fetches take `delay`, once its first list has arrived
/// and the crashes' captures have started.
async fn started(delay: Duration) -> App {
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let cluster = SlowLogs { inner: demo, delay };
    let mut app = App::builder(Arc::new(cluster))
        .case(Some(common::test_case()))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .build();
    // The watch's first list: the crashes are seen and their captures start.
    app.settle(Duration::from_millis(100)).await;
    app
}

fn captured_logs(app: &App) -> usize {
    app.state
        .evidence
        .items()
        .iter()
        .filter(|i| i.kind == EvidenceKind::ContainerLogs)
        .count()
}

#[tokio::test]
async fn quitting_while_logs_are_being_captured_completes_the_captures() {
    let mut app = started(Duration::from_millis(400)).await;
    assert_eq!(captured_logs(&app), 0, "the logs are still being fetched");
    let running = app.unfinished();
    assert!(
        running
            .iter()
            .any(|w| w.starts_with("capturing the evidence of ")),
        "{running:?}"
    );
    let left = app.finish(Duration::from_secs(10)).await;
    assert!(left.is_empty(), "{left:?}");
    assert!(
        captured_logs(&app) > 0,
        "the captures completed and reached the state"
    );
    assert!(app.unfinished().is_empty());
}

#[tokio::test]
async fn work_that_outlasts_the_bound_is_named_not_waited_for() {
    let mut app = started(Duration::from_secs(30)).await;
    let t0 = std::time::Instant::now();
    let left = app.finish(Duration::from_millis(300)).await;
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "bounded: {:?}",
        t0.elapsed()
    );
    assert!(
        !left.is_empty()
            && left
                .iter()
                .all(|w| w.starts_with("capturing the evidence of ")),
        "{left:?}"
    );
    assert_eq!(captured_logs(&app), 0);
}

/// A headless run: no terminal and no theme, the runtime's own clock, intents for input, and a
/// finish that keeps what was in flight.
#[tokio::test]
async fn a_headless_app_runs_on_its_own_clock_driven_by_intents() {
    use ktui::intent::Intent;
    use ktui::keymap::{Logs, Table};
    use ktui::state::Screen;
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let cluster = SlowLogs {
        inner: demo,
        delay: Duration::from_millis(300),
    };
    let mut app = App::builder(Arc::new(cluster))
        .case(Some(common::test_case()))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .clock(Duration::from_millis(50))
        .build();
    // (`settle` would wait for a quiet that a running clock never leaves.)
    let until = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(Some(action)) = tokio::time::timeout_at(until, app.next_action()).await {
        app.dispatch(action);
    }
    assert!(
        app.state.now > now,
        "the clock moved with no Tick sent: {} vs {now}",
        app.state.now
    );
    app.dispatch(ktui::action::Action::Intent(Intent::Table(Table::OpenLogs)));
    assert_eq!(app.state.screen, Screen::Logs);
    // A pane's command is ignored on another pane.
    app.dispatch(ktui::action::Action::Intent(Intent::Table(
        Table::ToggleAll,
    )));
    assert!(!app.state.pods.show_all);
    app.dispatch(ktui::action::Action::Intent(Intent::Logs(Logs::Back)));
    assert_eq!(app.state.screen, Screen::Table);
    app.dispatch(ktui::action::Action::Intent(Intent::Quit));
    assert!(app.state.quit);
    let left = app.finish(Duration::from_secs(10)).await;
    assert!(left.is_empty(), "{left:?}");
    assert!(captured_logs(&app) > 0, "the captures in flight completed");
}

/// Quitting with a helper this run deployed (answered yes by policy) removes it, and the run
/// ends only once the removal is through.
#[tokio::test]
async fn a_helper_removal_in_flight_is_finished_before_the_run_ends() {
    use ktui::intent::{ConfirmPolicy, Intent};
    use ktui::state::helper::HelperTarget;
    let mut app = started(Duration::from_millis(400)).await;
    app.state.confirm_policy = ConfirmPolicy::AssumeYes;
    app.state.helper.target = Some(HelperTarget::Pod {
        node: "demo-node-1".into(),
    });
    app.state.helper.deployed = vec!["demo-node-1".into()];
    app.dispatch(ktui::action::Action::Intent(Intent::Quit));
    let running = app.unfinished();
    assert!(
        running
            .iter()
            .any(|w| w == "removing the helper on node demo-node-1"),
        "{running:?}"
    );
    let left = app.finish(Duration::from_secs(10)).await;
    assert!(left.is_empty(), "{left:?}");
    assert!(
        app.state.helper.deployed.is_empty(),
        "the removal reached the state: {:?}",
        app.state.toasts
    );
    assert!(app.state.quit);
}
