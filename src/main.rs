use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;
use futures::FutureExt as _;
use ktui::app::App;
use ktui::cli::{CheckpointCommand, Cli, Command, HelperMode};
use ktui::cluster::Cluster;
use ktui::cluster::demo::DemoCluster;
use ktui::cluster::kube::{ConnectOptions, KubeCluster};
use ktui::config::theme::Theme;
use ktui::keymap::Keymaps;
use ktui::runtime::Connector;
use ktui::state::helper::HelperSource;
use ktui::triage_cmd::EXIT_NO_CLUSTER;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = cli.validate() {
        e.exit();
    }
    // Reading a capture file needs neither the async runtime nor TLS.
    if let Some(Command::Pcap(args)) = &cli.command {
        return ExitCode::from(ktui::pcap::run(args));
    }
    ktui::tls::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ktui: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        match &cli.command {
            Some(Command::Triage(args)) => ktui::triage_cmd::run(&cli.conn, args, cli.demo).await,
            Some(Command::Helper(args)) => {
                ktui::helper::cmd::run_with(&cli.conn, args, cli.demo).await
            }
            Some(Command::Keygen(args)) => ktui::sign::keygen_cmd(args),
            Some(Command::Verify(args)) => ktui::bundle::verify::verify_cmd(args),
            Some(Command::Export(args)) => {
                ktui::bundle::export::export_cmd(
                    args,
                    &cli.conn,
                    cli.demo,
                    cli.cases_dir.as_deref(),
                    cli.case.as_deref(),
                )
                .await
            }
            Some(Command::Cleanup(args)) => {
                ktui::cleanup::cleanup_cmd(
                    &cli.conn,
                    args,
                    cli.cases_dir.as_deref(),
                    cli.case.as_deref(),
                )
                .await
            }
            Some(Command::Upload(args)) => {
                ktui::bundle::upload::upload_cmd(
                    args,
                    cli.cases_dir.as_deref(),
                    cli.case.as_deref(),
                )
                .await
            }
            Some(Command::Checkpoint(args)) => match &args.command {
                CheckpointCommand::Create(create) => {
                    ktui::checkpoint::create::create_cmd(
                        create,
                        &cli.conn,
                        cli.demo,
                        cli.cases_dir.as_deref(),
                        cli.case.as_deref(),
                    )
                    .await
                }
                CheckpointCommand::Inspect(a) => ktui::checkpoint::inspect::inspect_cmd(a),
                CheckpointCommand::Image(a) => ktui::checkpoint::image::image_cmd(a),
            },
            Some(Command::Pcap(args)) => ktui::pcap::run(args),
            Some(Command::Clone(args)) => {
                ktui::clone::cmd::clone_cmd(
                    args,
                    &cli.conn,
                    cli.demo,
                    cli.cases_dir.as_deref(),
                    cli.case.as_deref(),
                )
                .await
            }
            Some(Command::Record(args)) => ktui::record::cmd::run(&cli.conn, args),
            Some(Command::Case(args)) => {
                ktui::case::cmd::run(args, cli.cases_dir.as_deref(), cli.case.as_deref())
            }
            None => match &cli.record {
                Some(dir) => ktui::record::run(&cli, dir).await,
                None => console(&cli).await,
            },
        }
    });
    // Captures and saves were waited for (terminal::finish); streams still parked on the
    // network are not.
    runtime.shutdown_background();
    ExitCode::from(code)
}

async fn console(cli: &Cli) -> u8 {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = match Theme::load(cli.theme.as_deref(), no_color) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ktui: {e}");
            return 1;
        }
    };
    let keymaps = match cli.keys.as_deref().map(ktui::config::keys::load) {
        None => Keymaps::default(),
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            eprintln!("ktui: {e}");
            return 1;
        }
    };
    ktui::logging::init();
    let conn = &cli.conn;
    let (cluster, connector): (Arc<dyn Cluster>, Option<Connector>) = if cli.demo {
        (
            Arc::new(DemoCluster::new(jiff::Timestamp::now(), true)),
            None,
        )
    } else {
        let opts = conn.connect_options();
        let cluster = match KubeCluster::connect(&opts).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("ktui: {e}");
                return EXIT_NO_CLUSTER;
            }
        };
        let base = opts.clone();
        let connector: Connector = Arc::new(move |context: String| {
            let opts = ConnectOptions {
                context: Some(context),
                namespace: None,
                ..base.clone()
            };
            async move {
                KubeCluster::connect(&opts)
                    .await
                    .map(|c| Arc::new(c) as Arc<dyn Cluster>)
                    .map_err(ktui::cluster::ClusterError::from)
            }
            .boxed()
        });
        (Arc::new(cluster), Some(connector))
    };
    let scope = conn.scope(cli.demo, &cluster.info().namespace);
    if let Some(image) = &cli.helper_image
        && let Err(e) = ktui::helper::manifest::validate_image(image)
    {
        eprintln!("ktui: --helper-image: {e}");
        return 2;
    }
    // The case every capture of this run is written into, opened before the terminal is taken
    // (a case another ktui holds is refused here, naming the holder).
    let config = ktui::collect::case_config(cluster.as_ref(), cli.demo).await;
    let cases = ktui::case::cases_dir(cli.cases_dir.as_deref());
    let case = match ktui::case::Case::open(&cases, cli.case.as_deref(), &config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ktui: {}", ktui::sanitize::line(&e.to_string()));
            return 1;
        }
    };
    let (case_id, case_dir) = (case.id().to_string(), case.dir().to_path_buf());
    let mut app = App::builder(cluster)
        .case(Some(case))
        .scope(scope)
        .demo(cli.demo)
        .connector(connector)
        .helper_image(cli.helper_image.clone())
        .socket_events(cli.socket_events)
        .keys(keymaps)
        .clock(ktui::app::TICK);
    if cli.helper == Some(HelperMode::Local) {
        app = app.helper_source(HelperSource::Local);
    }
    let ran = ktui::terminal::run(app.build(), &theme).await;
    eprintln!(
        "ktui: the evidence of this run is in case {} ({}); `ktui export --case {}` packages it",
        ktui::sanitize::line(&case_id),
        ktui::sanitize::line(&case_dir.display().to_string()),
        ktui::sanitize::line(&case_id)
    );
    match ran {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ktui: terminal error: {e}");
            1
        }
    }
}
