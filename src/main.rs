//! Command line: `switchboard [serve]`, `switchboard migrate`, `switchboard agents create`.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use switchboard::auth::Role;
use switchboard::{app, Application, Settings};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Omnichannel contact-center server"
)]
struct Cli {
    /// Extra TOML settings layered over config/default.toml.
    #[arg(long, env = "SWITCHBOARD_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Fill a fresh database with a small Persian/English contact center (agents, queues, a
    /// chat site and its test page, customers, emails, chats, calls, a fax), print the
    /// agents' passwords once, then serve it.
    Demo,
    /// Manage agents.
    Agents {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Maintain the full-text search index.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
    },
    /// Maintain the contact-center report tables.
    Reports {
        #[command(subcommand)]
        command: ReportsCommand,
    },
}

#[derive(Subcommand)]
enum ReportsCommand {
    /// Recompute every report fact and daily rollup from the conversation history and call
    /// records (after changing `reports.time_zone` or a queue's target; stop the servers first).
    Rebuild,
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Rebuild the index of conversation subjects and messages (e.g. after an upgrade).
    Reindex,
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Create an agent; the password is read from standard input, never from arguments.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "supervisor", "agent"])]
        role: String,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

fn init_tracing(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.logging.level));
    // Colours only for a person at a terminal: a log file or a journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    if settings.logging.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// A failure is one line on standard error (its causes joined by `: `), never a backtrace,
/// whatever `RUST_BACKTRACE` says: these are a user's mistakes (a bad setting, a taken port).
fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&anyhow::Error::from(e)),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// glibc gives threads that allocate at the same time arenas of their own (up to eight per
/// core) and keeps what is freed in each: the server's threads (the runtime's, one per SQLite
/// connection, the password hashers) left a server with a year of history holding 164 MiB
/// idle, 126–142 MiB with two arenas (BENCHMARKS.md, session 17). glibc reads the variable
/// when the process starts, so unless the operator set it the server starts itself again
/// (same process, same arguments) with two arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    const ARENAS: &str = "MALLOC_ARENA_MAX";
    if std::env::var_os(ARENAS).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let err = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env(ARENAS, "2")
        .exec();
    // Only reached when the start failed (e.g. the binary was replaced on disk).
    eprintln!("note: not restarted with {ARENAS}=2 ({err}); glibc's default arenas are used");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

/// Help and version print as usual; a mistake in the arguments is one line too.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind::{
        DisplayHelp, DisplayHelpOnMissingArgumentOrSubcommand, DisplayVersion,
    };
    if matches!(
        e.kind(),
        DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("error: invalid arguments");
    eprintln!("{first} (see --help)");
    ExitCode::from(2)
}

fn fail(e: &anyhow::Error) -> ExitCode {
    let line = format!("{e:#}").replace('\n', " ");
    eprintln!("error: {line}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // How this binary was started, for the commands the start-up log suggests.
    let mut command = vec![std::env::args()
        .next()
        .unwrap_or_else(|| "switchboard".into())];
    if let Some(c) = &cli.config {
        command.extend(["--config".to_string(), c.display().to_string()]);
    }
    let settings = Settings::load(cli.config.as_deref()).context("loading settings")?;
    init_tracing(&settings);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            for hint in switchboard::startup::hints(app.state(), app.local_addr(), &command).await?
            {
                tracing::info!("{hint}");
            }
            let stop = app.stop_token();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down");
                stop.cancel();
            });
            app.run_until_stopped().await
        }
        Command::Demo => demo(settings, &command).await,
        Command::Migrate => {
            app::connect_store(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Search {
            command: SearchCommand::Reindex,
        } => {
            let store = app::connect_store(&settings).await?;
            switchboard::store::fulltext::reindex(&store).await?;
            println!("search index rebuilt");
            Ok(())
        }
        Command::Reports {
            command: ReportsCommand::Rebuild,
        } => {
            let store = app::connect_store(&settings).await?;
            let started = std::time::Instant::now();
            let n = switchboard::reports::rebuild(&store, &settings).await?;
            println!(
                "report tables rebuilt from {n} conversations in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Agents {
            command:
                AgentCommand::Create {
                    email,
                    name,
                    role,
                    password_stdin: _,
                },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading password from stdin")?;
            let password = password.trim_end_matches(['\n', '\r']);
            let store = app::connect_store(&settings).await?;
            let role = Role::parse(&role).expect("clap checked the role");
            let agent =
                switchboard::agents::create_from_cli(&store, &email, &name, role, password).await?;
            println!(
                "created {} agent {} <{}> id {}",
                role.as_str(),
                agent.name,
                agent.email,
                agent.id
            );
            Ok(())
        }
    }
}

/// `switchboard demo`: serve, seed through the running server, print what to log in with.
async fn demo(settings: Settings, command: &[String]) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    let (state, addr, stop) = (app.state().clone(), app.local_addr(), app.stop_token());
    let server = tokio::spawn(app.run_until_stopped());
    match switchboard::demo::seed(&state, addr).await {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
        }
        Err(e) => {
            stop.cancel();
            let _ = server.await;
            return Err(e);
        }
    }
    for hint in switchboard::startup::hints(&state, addr, command).await? {
        tracing::info!("{hint}");
    }
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.cancel();
    });
    server.await?
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
