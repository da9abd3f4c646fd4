//! `ktui clone POD [-n NS] [-c CONTAINER] [--same-node] [--forensic-namespace NS]
//! [--dedup-window DUR] [--snapshot-class NAME] [--toolkit-image IMAGE] [--dry-run [-o
//! yaml|json]]` and `ktui clone --remove NAME [-n NS] [--yes] [--with-snapshots]` (pinned).
//!
//! Stdout holds the name of the clone to use (the new one, or the existing one dedup offers);
//! what was created, the notes, the warnings, the shell and removal commands go to stderr.
//! With `--dry-run` stdout holds the `v1 List` of what would be created, and nothing is
//! written anywhere: not to the cluster, and no case is opened (the previous log is read from
//! the cluster, not from a case). Exit 0 done (or an existing clone offered), 1 error, 3 no
//! cluster reachable. The case is `--case ID`, else a new one, as `ktui export` does.

mod yaml;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::flow::{self, CloneError, Prepared, Request};
use super::{CloneOptions, toolkit};
use crate::case::Case;
use crate::cli::ConnArgs;
use crate::cluster::demo::DemoCluster;
use crate::cluster::kube::KubeCluster;
use crate::cluster::{Cluster, ClusterError, ObjectRef, PodKey};
use crate::helper::cmd::remove::{Consent, ask};
use crate::sanitize;
use crate::triage_cmd::EXIT_NO_CLUSTER;

#[derive(Debug, clap::Args)]
pub struct CloneArgs {
    /// The crashed pod to clone; its namespace is -n NS, else the context's.
    #[arg(value_name = "POD", required_unless_present = "remove")]
    pub pod: Option<String>,
    /// The container whose crash to clone (default: the pod's newest crash).
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,
    /// Pin the clone to the source pod's node (its local data, its kernel).
    #[arg(long)]
    pub same_node: bool,
    /// Create the clone in this namespace: the ConfigMaps the pod uses are copied there;
    /// Secret and PVC references are dropped (and said), so secrets never spread.
    #[arg(long, value_name = "NS")]
    pub forensic_namespace: Option<String>,
    /// A clone of the same crash signature created this recently is offered instead of a new
    /// one (a crash storm gets one clone).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = crate::cli::parse_duration)]
    pub dedup_window: Duration,
    /// VolumeSnapshotClass for the snapshots of the pod's claims (default: the cluster's
    /// default class).
    #[arg(long, value_name = "NAME")]
    pub snapshot_class: Option<String>,
    /// The image of the toolkit init container, which copies a static busybox into the clone
    /// (default: the helper image, $KTUI_HELPER_IMAGE, else what helper-image/build-image.sh
    /// tags).
    #[arg(long, value_name = "IMAGE", env = "KTUI_HELPER_IMAGE")]
    pub toolkit_image: Option<String>,
    /// Print the objects that would be created (a v1 List), creating nothing and writing no
    /// case.
    #[arg(long)]
    pub dry_run: bool,
    /// The --dry-run output format.
    #[arg(
        short = 'o',
        long,
        value_enum,
        requires = "dry_run",
        default_value = "yaml"
    )]
    pub output: Format,
    /// Remove the forensic clone NAME (its Pod, NetworkPolicy and log ConfigMap) after a
    /// confirmation; refuses a pod that is not a forensic clone.
    #[arg(long, value_name = "NAME", conflicts_with_all = [
        "pod", "container", "same_node", "forensic_namespace", "snapshot_class", "dry_run",
    ])]
    pub remove: Option<String>,
    /// With --remove: delete without asking (for scripts); without it ktui asks on a terminal
    /// and deletes nothing when there is none.
    // (`requires` alone is waived while POD, which --remove conflicts with, is given.)
    #[arg(long, requires = "remove", conflicts_with = "pod")]
    pub yes: bool,
    /// With --remove: also delete the clone's VolumeSnapshots (on a terminal without --yes,
    /// ktui asks about them separately).
    #[arg(long, requires = "remove", conflicts_with = "pod")]
    pub with_snapshots: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

/// Run the command; the exit code.
pub async fn clone_cmd(
    args: &CloneArgs,
    conn: &ConnArgs,
    demo: bool,
    cases_dir: Option<&Path>,
    case_id: Option<&str>,
) -> u8 {
    match run(args, conn, demo, cases_dir, case_id).await {
        Ok(()) => 0,
        Err(code) => code,
    }
}

/// A line on stderr, sanitised.
fn say(text: &str) {
    eprintln!("ktui clone: {}", sanitize::line(text));
}

/// An indented detail line on stderr, sanitised.
fn detail(label: &str, text: &str) {
    eprintln!("  {label}{}", sanitize::line(text));
}

fn fail(e: &CloneError) -> u8 {
    say(&e.to_string());
    if e.unreachable() { EXIT_NO_CLUSTER } else { 1 }
}

async fn run(
    args: &CloneArgs,
    conn: &ConnArgs,
    demo: bool,
    cases_dir: Option<&Path>,
    case_id: Option<&str>,
) -> Result<(), u8> {
    if conn.all_namespaces {
        say("-A does not apply to a clone: name the pod's namespace with -n NS");
        return Err(1);
    }
    let cluster: Arc<dyn Cluster> = if demo {
        Arc::new(DemoCluster::new(jiff::Timestamp::now(), false))
    } else {
        match KubeCluster::connect(&conn.connect_options()).await {
            Ok(c) => Arc::new(c),
            Err(e) => {
                say(&e.to_string());
                return Err(EXIT_NO_CLUSTER);
            }
        }
    };
    let namespace = conn
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.info().namespace);
    let cases = Cases {
        dir: cases_dir,
        id: case_id,
        demo,
    };
    match (&args.remove, &args.pod) {
        (Some(name), _) => remove(args, cluster.as_ref(), &namespace, name, &cases).await,
        (None, Some(pod)) => clone(args, cluster.as_ref(), &namespace, pod, &cases).await,
        // clap requires POD unless --remove.
        (None, None) => Err(2),
    }
}

/// Where the case goes.
struct Cases<'a> {
    dir: Option<&'a Path>,
    id: Option<&'a str>,
    demo: bool,
}

impl Cases<'_> {
    async fn open(&self, cluster: &dyn Cluster) -> Result<Case, u8> {
        let config = crate::collect::case_config(cluster, self.demo).await;
        Case::open(&crate::case::cases_dir(self.dir), self.id, &config).map_err(|e| {
            say(&e.to_string());
            1
        })
    }
}

fn options(args: &CloneArgs) -> Result<CloneOptions, u8> {
    let toolkit_image = args
        .toolkit_image
        .clone()
        .unwrap_or_else(crate::helper::manifest::default_image);
    if let Err(e) = crate::helper::manifest::validate_image(&toolkit_image) {
        say(&format!("--toolkit-image: {e}"));
        return Err(1);
    }
    let dedup_window = SignedDuration::try_from(args.dedup_window).map_err(|_| {
        say("--dedup-window is too long");
        1u8
    })?;
    Ok(CloneOptions {
        forensic_namespace: args.forensic_namespace.clone(),
        same_node: args.same_node,
        dedup_window,
        snapshot_class: args.snapshot_class.clone(),
        toolkit_image,
    })
}

async fn clone(
    args: &CloneArgs,
    cluster: &dyn Cluster,
    namespace: &str,
    pod: &str,
    cases: &Cases<'_>,
) -> Result<(), u8> {
    let request = Request {
        pod: PodKey::new(namespace, pod),
        container: args.container.clone(),
        options: options(args)?,
    };
    // A pod that cannot be read opens no case.
    if let Err(cause) = cluster.get_json(ObjectRef::pod(&request.pod)).await {
        return Err(fail(&CloneError::read(
            format!("pod {}", request.pod),
            cause,
        )));
    }
    let case = if args.dry_run {
        None
    } else {
        Some(cases.open(cluster).await?)
    };
    let prepared = flow::prepare(cluster, case.as_ref(), &request)
        .await
        .map_err(|e| fail(&e))?;
    if let Some(existing) = &prepared.existing {
        say(&format!(
            "clone {} in namespace {} already stands for this crash (created {}, within the \
             dedup window of {}): no new clone",
            existing.name,
            existing.namespace,
            existing.created_at,
            humantime::format_duration(args.dedup_window)
        ));
        hints(
            &existing.name,
            &existing.namespace,
            &flow::shell_container(&prepared),
        );
        if args.dry_run {
            print_list(&[], args.output)?;
        } else {
            println!("{}", sanitize::line(&existing.name));
        }
        return Ok(());
    }
    if args.dry_run {
        say(&format!(
            "dry run: would create {} in namespace {} (nothing is written to the cluster or a case)",
            prepared.plan.name, prepared.plan.namespace
        ));
        told(&prepared);
        let objects: Vec<Value> = prepared.plan.objects().into_iter().cloned().collect();
        return print_list(&objects, args.output);
    }
    let created = flow::create(cluster, case.as_ref(), &prepared)
        .await
        .map_err(|e| fail(&e))?;
    say(&format!(
        "created {} in namespace {}: a forensic clone of pod {} (container {}, crash signature {})",
        created.name,
        created.namespace,
        request.pod,
        prepared.source.container,
        prepared.source.signature.get(..12).unwrap_or_default()
    ));
    for o in &created.created {
        detail("created ", &o.to_string());
    }
    told(&prepared);
    hints(
        &created.name,
        &created.namespace,
        &flow::shell_container(&prepared),
    );
    if let Some(case) = &case {
        detail(
            "recorded: ",
            &format!(
                "case {} ({}): {}",
                case.id(),
                case.dir().display(),
                created
                    .recorded
                    .iter()
                    .map(|e| e.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if cases.demo {
        detail(
            "",
            "(the demo cluster keeps the clone in memory: it is gone when this command ends)",
        );
    }
    println!("{}", sanitize::line(&created.name));
    Ok(())
}

/// The plan's notes and the warnings, on stderr.
fn told(prepared: &Prepared) {
    for note in &prepared.plan.notes {
        detail("note: ", note);
    }
    for warning in &prepared.warnings {
        detail("warning: ", warning);
    }
}

/// How to get a shell, and how to remove the clone.
fn hints(name: &str, namespace: &str, container: &str) {
    detail(
        "shell:  ",
        &format!(
            "kubectl exec -it -n {namespace} {name} -c {container} -- {}/sh",
            toolkit::DIR
        ),
    );
    detail(
        "remove: ",
        &format!("ktui clone --remove {name} -n {namespace}"),
    );
}

/// The objects as a `v1 List` on stdout.
fn print_list(objects: &[Value], format: Format) -> Result<(), u8> {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let text = match format {
        Format::Json => {
            let mut t =
                yaml::escape_unsafe(&serde_json::to_string_pretty(&list).unwrap_or_default());
            t.push('\n');
            t
        }
        Format::Yaml => yaml::to_string(&list),
    };
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|_| 1)
}

async fn remove(
    args: &CloneArgs,
    cluster: &dyn Cluster,
    namespace: &str,
    name: &str,
    cases: &Cases<'_>,
) -> Result<(), u8> {
    // Read first: a pod that is not a clone is refused before anything is asked.
    let pod_ref = ObjectRef::new("v1", "Pod", Some(namespace), name);
    let pod = match cluster.get_json(pod_ref.clone()).await {
        Ok(p) if !flow::is_forensic(&p) => {
            return Err(fail(&CloneError::NotAClone { object: pod_ref }));
        }
        Ok(p) => Some(p),
        Err(ClusterError::NotFound { .. }) => None,
        Err(cause) => {
            return Err(fail(&CloneError::read(pod_ref.to_string(), cause)));
        }
    };
    let snapshots: Vec<String> = pod
        .as_ref()
        .map(flow::snapshot_names)
        .unwrap_or_default()
        .into_iter()
        .map(|(ns, n)| format!("{ns}/{n}"))
        .collect();
    let with_snapshots = match Consent::detect(args.yes) {
        Consent::Given => args.with_snapshots,
        Consent::Ask => {
            let question = format!(
                "Delete forensic clone {name} in namespace {namespace} (its Pod, NetworkPolicy \
                 {name}-isolate and ConfigMap {name}-logs) from context {}? [y/N] ",
                cluster.info().context
            );
            if !ask(sanitize::line(&question).into_owned()).await {
                say("nothing deleted");
                return Ok(());
            }
            args.with_snapshots
                || (!snapshots.is_empty()
                    && ask(sanitize::line(&format!(
                        "Also delete its VolumeSnapshots {}? [y/N] ",
                        snapshots.join(", ")
                    ))
                    .into_owned())
                    .await)
        }
        Consent::Unavailable => {
            say("no terminal to confirm on: nothing deleted; run again with --yes to remove it");
            return Err(1);
        }
    };
    let case = cases.open(cluster).await?;
    let removed = flow::remove(cluster, Some(&case), namespace, name, with_snapshots)
        .await
        .map_err(|e| fail(&e))?;
    say(&format!(
        "removed forensic clone {name} in namespace {namespace}"
    ));
    for o in &removed.deleted {
        detail("deleted ", &o.to_string());
    }
    for o in &removed.already_gone {
        detail("already gone: ", &o.to_string());
    }
    if !removed.snapshots_kept.is_empty() {
        detail(
            "kept: ",
            &format!(
                "VolumeSnapshots {} (delete them with `kubectl delete volumesnapshot -n NS NAME`)",
                removed.snapshots_kept.join(", ")
            ),
        );
    }
    detail("recorded: ", &format!("case {} (custody)", case.id()));
    Ok(())
}
