//! Command line: `switchboard [serve]`, `switchboard migrate`, `switchboard agents create`.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
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
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if settings.logging.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref()).context("loading settings")?;
    init_tracing(&settings);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            let stop = app.stop_token();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down");
                stop.cancel();
            });
            app.run_until_stopped().await
        }
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
