//! Headless `--record DIR` and the in-cluster forensics controller: the console's `App`
//! driven with no terminal front. DIR is a case directory (the evidence-case layout); the
//! record streams (`crashes.jsonl`, `events.jsonl`, `packets.jsonl`) live at its top level,
//! `summary.json` and `node-<name>.json` are written at the end, then the signed bundle.
//!
//! [`metrics`] is what `--metrics-addr` serves (Prometheus text and `/healthz`); [`manifest`]
//! is `ktui record manifest`, the objects that run ktui as the controller in a cluster.
//! The controller's cluster side: [`lease`] (only one replica acts), [`triggers`] (the
//! `ktui.dev/` annotations asking for an action, and the bounded queue that runs them),
//! [`actions`] (running them as the console's intents) and [`complete`] (removing a trigger
//! when its action is done, and reporting the result as an Event on the pod and a custody
//! line).
//!
//! Exit codes: 0 done, 1 error (what was collected is kept and said), 2 usage, 3 no cluster.

pub mod actions;
pub mod cmd;
pub mod complete;
pub mod crashes;
pub mod driver;
pub mod finish;
pub mod leader;
pub mod lease;
pub mod manifest;
pub mod metrics;
pub mod selector;
pub mod status;
pub mod summary;
pub mod triggers;

use std::path::Path;
use std::sync::Arc;

use crate::app::App;
use crate::cli::{Cli, HelperMode};
use crate::cluster::Cluster;
use crate::cluster::demo::DemoCluster;
use crate::cluster::kube::KubeCluster;
use crate::intent::ConfirmPolicy;
use crate::runtime::record::EventLog;
use crate::state::helper::HelperSource;
use crate::triage_cmd::EXIT_NO_CLUSTER;

/// Usage errors (clap's code).
pub const EXIT_USAGE: u8 = 2;

/// `ktui --record DIR ...`: record until the duration or a signal; the exit code.
pub async fn run(cli: &Cli, dir: &Path) -> u8 {
    let flags = cli.record_flags.clone();
    let say = |text: &str| eprintln!("ktui record: {}", crate::sanitize::line(text));
    if let Some(uri) = &flags.s3
        && let Err(e) = crate::bundle::s3::S3Target::parse(uri)
    {
        say(&e.to_string());
        return EXIT_USAGE;
    }
    if let Some(image) = &cli.helper_image
        && let Err(e) = crate::helper::manifest::validate_image(image)
    {
        say(&format!("--helper-image: {e}"));
        return EXIT_USAGE;
    }
    crate::logging::init();
    let cluster: Arc<dyn Cluster> = if cli.demo {
        Arc::new(DemoCluster::new(jiff::Timestamp::now(), true))
    } else {
        match KubeCluster::connect(&cli.conn.connect_options()).await {
            Ok(c) => Arc::new(c),
            Err(e) => {
                say(&e.to_string());
                return EXIT_NO_CLUSTER;
            }
        }
    };
    let scope = cli.conn.scope(cli.demo, &cluster.info().namespace);
    // The metrics and /healthz answer while a replica waits for the Lease too.
    let metrics = Arc::new(metrics::Metrics::default());
    let _server = match &flags.metrics_addr {
        None => None,
        Some(addr) => {
            let healthy = Arc::new(std::sync::atomic::AtomicBool::new(true));
            match metrics::serve(addr, metrics.clone(), healthy).await {
                Ok((bound, task)) => {
                    say(&format!("metrics at http://{bound}/metrics"));
                    Some(AbortOnDrop(task))
                }
                Err(e) => {
                    say(&e.to_string());
                    return 1;
                }
            }
        }
    };
    let lease = leader::config_from_env();
    if let Some(cfg) = &lease
        && let Err(code) = leader::wait(cluster.as_ref(), cfg, &say).await
    {
        return code;
    }
    // Renewed from now on: opening a large case takes time.
    let keeper = lease.clone().map(|cfg| leader::keep(cluster.clone(), cfg));
    let lost = keeper.as_ref().map(|k| k.lost.clone());
    let code = record(cli, dir, cluster.clone(), scope, metrics, lost).await;
    if let (Some(k), Some(cfg)) = (keeper, &lease) {
        k.release(cluster.as_ref(), cfg).await;
    }
    code
}

/// The run itself, once this replica may act (it holds the Lease, or there is none).
async fn record(
    cli: &Cli,
    dir: &Path,
    cluster: Arc<dyn Cluster>,
    scope: crate::cluster::Scope,
    metrics: Arc<metrics::Metrics>,
    lost: Option<tokio::sync::watch::Receiver<bool>>,
) -> u8 {
    // Controller mode: the Lease is held, and the annotations are acted on.
    let controller = lost.is_some();
    let flags = cli.record_flags.clone();
    let say = |text: &str| eprintln!("ktui record: {}", crate::sanitize::line(text));
    let config = crate::collect::case_config(cluster.as_ref(), cli.demo).await;
    let case = match crate::case::Case::open_dir_as(dir, cli.case.as_deref(), &config) {
        Ok(c) => c,
        Err(e) => {
            say(&e.to_string());
            return 1;
        }
    };
    let source = match (cli.helper, cli.demo) {
        (Some(HelperMode::Local), _) => HelperSource::Local,
        (Some(HelperMode::Cluster), _) | (None, false) => HelperSource::Cluster,
        (None, true) => HelperSource::DemoReplay,
    };
    if flags.sockets && source == HelperSource::DemoReplay {
        say(
            "--demo without --helper local replays a recording: its socket events are not evidence and are not written to events.jsonl",
        );
    }
    say(&format!(
        "recording into case {} ({}){}",
        case.id(),
        case.dir().display(),
        if cli.demo { " — DEMO cluster" } else { "" }
    ));
    let app = App::builder(cluster.clone())
        .case(Some(case.clone()))
        .scope(scope.clone())
        .demo(cli.demo)
        .helper_source(source)
        .helper_image(cli.helper_image.clone())
        .confirm_policy(ConfirmPolicy::Driver {
            deploy_helper: flags.deploy_helper,
        })
        .event_log(if flags.sockets {
            EventLog::TopLevel
        } else {
            EventLog::Off
        })
        .sign_key(flags.sign_key.clone())
        .dedup_window(jiff::SignedDuration::try_from(flags.dedup_window).unwrap_or_default())
        .clock(crate::app::TICK)
        .build();
    let plan = driver::Plan {
        flags,
        scope,
        demo: cli.demo,
        source,
    };
    let mut driver =
        match driver::Driver::new(app, case, plan, cluster.clone(), metrics, controller) {
            Ok(d) => d,
            Err(e) => {
                say(&e.to_string());
                return 1;
            }
        };
    if let Some(lost) = lost {
        driver.lease_lost(lost);
    }
    driver.run().await
}

/// The metrics server lives as long as the run.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
