//! The `halo-triage` command line: a thin layer over the library.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use halo_triage::cli::jobs::{self, ReplayTarget};
use halo_triage::cli::{check, classify, learn, report};
use halo_triage::Settings;
use halo_triage::{init_logging, App, JobStatus};
use halo_triage::{schema_json, RuleSet};

const DEFAULT_CONFIG: &str = "config/default.toml";

#[derive(Parser)]
#[command(
    name = "halo-triage",
    version,
    about = "Triage HaloPSA tickets: rules first, then write back and acknowledge"
)]
struct Cli {
    /// Configuration file (default: config/default.toml when present). Environment
    /// variables HALO_TRIAGE__SECTION__KEY override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive Halo webhooks and triage tickets.
    Serve,
    /// Decide one ticket (a ticket or webhook JSON file, or - for stdin) and explain why;
    /// nothing is written to Halo.
    Classify { file: PathBuf },
    /// Validate the configuration and rules and, with credentials, the Halo connection
    /// and the labels the rules use.
    Check,
    /// Ask the running service on this machine whether it is ready (for container health
    /// checks); exits non-zero when it is not.
    Health,
    /// How often people kept what halo-triage decided, field by field and source by
    /// source, from the decisions read back from Halo once they settled.
    Report {
        /// Only decisions made since this date (YYYY-MM-DD, or an RFC 3339 time).
        #[arg(long)]
        since: Option<String>,
        /// One JSON object instead of the table (the shape of GET /admin/report).
        #[arg(long)]
        json: bool,
    },
    /// Tools for rule authors.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// The job queue and its dead letters.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Train models from the configured Halo's closed tickets (learn.fields, into
    /// model.dir), or one field's model from an export of labelled tickets (CSV or JSON
    /// Lines) with --from. Holds out 20% and prints how the model does on it, then trains
    /// on everything.
    Learn(LearnArgs),
    /// Judge a model on labelled tickets: macro-F1, per-label figures, confusion matrix,
    /// coverage at precision 0.90 / 0.95 / 0.98, calibration.
    Eval {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        from: PathBuf,
        #[arg(long, value_delimiter = ',', required = true)]
        text: Vec<String>,
        #[arg(long)]
        label: String,
        /// Write one JSON line per input row: {"predicted": …, "confidence": …}.
        #[arg(long)]
        predictions: Option<PathBuf>,
        /// Write a self-contained HTML report.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Copy a SQLite store into an empty Postgres database, to run replicas on it: every
    /// delivery, job, decision, read-back, acknowledgement, cache and watermark, the counts
    /// checked on both sides. Refused while a service serves from the source. A --to URL
    /// without a password takes store.password or store.password_file.
    MigrateStore {
        /// The store to copy: sqlite://FILE.
        #[arg(long)]
        from: String,
        /// The empty database to copy into: postgres://USER@HOST:PORT/DATABASE.
        #[arg(long)]
        to: String,
    },
    /// An authenticated request to the configured Halo (token, rate budget, retries);
    /// prints Halo's JSON answer. Example: `halo GET /api/Outcome`.
    Halo {
        method: String,
        /// `/api/...` with an optional query string.
        path: String,
        /// A JSON body for POST or PUT.
        #[arg(long)]
        data: Option<String>,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// List jobs, newest first: ticket, status, attempts and last error.
    List {
        /// Only jobs in this status: queued, running, done or dead.
        #[arg(long)]
        status: Option<JobStatus>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Queue a dead job again (or every dead job) with a fresh budget of attempts.
    Retry {
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<i64>,
        #[arg(long)]
        all_dead: bool,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Run the rules against a file of cases (a ticket and the fields expected); exits
    /// non-zero on any failure.
    Test { cases: PathBuf },
    /// Show how every rule fared for one ticket (a ticket or webhook JSON file, or -).
    Explain { file: PathBuf },
    /// Print the JSON Schema of the rules file (config/rules.schema.json).
    Schema,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = config_file(cli.config.as_deref());
    let result = match cli.command {
        Command::Serve => serve(config.as_deref()).await,
        Command::Classify { file } => run_classify(config.as_deref(), &file).await,
        Command::Check => run_check(config.as_deref()).await,
        Command::Health => health(config.as_deref()).await,
        Command::Report { since, json } => {
            run_report(config.as_deref(), since.as_deref(), json).await
        }
        Command::Rules { command } => rules(config.as_deref(), command).await,
        Command::Jobs { command } => jobs_command(config.as_deref(), command).await,
        Command::Learn(args) => run_learn(config.as_deref(), &args).await,
        Command::Eval {
            model,
            from,
            text,
            label,
            predictions,
            report,
        } => learn::eval(
            &model,
            &from,
            &text,
            &label,
            predictions.as_deref(),
            report.as_deref(),
        )
        .map(|text| {
            print!("{text}");
            ExitCode::SUCCESS
        })
        .map_err(Into::into),
        Command::MigrateStore { from, to } => migrate_store(config.as_deref(), &from, &to).await,
        Command::Halo { method, path, data } => {
            halo(config.as_deref(), &method, &path, data.as_deref()).await
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `learn`: from an export file (all of --from, --text, --label, --field, --out), or from
/// Halo (none of them).
#[derive(Args)]
struct LearnArgs {
    /// The export: CSV with a header row, or .jsonl.
    #[arg(long, requires_all = ["text", "label", "field", "out"])]
    from: Option<PathBuf>,
    /// The column(s) holding the text, joined: COL or COL,COL.
    #[arg(long, value_delimiter = ',', requires = "from")]
    text: Vec<String>,
    /// The column holding the label a person set.
    #[arg(long, requires = "from")]
    label: Option<String>,
    /// The Halo field the model decides (category_1, team, priority, tickettype).
    #[arg(long, requires = "from")]
    field: Option<String>,
    /// Where to write the model.
    #[arg(long, requires = "from")]
    out: Option<PathBuf>,
    /// From Halo, only the tickets read back since this date (YYYY-MM-DD): the
    /// corrections people made to the service's decisions.
    #[arg(long, conflicts_with = "from")]
    since: Option<String>,
}

async fn run_learn(config: Option<&Path>, args: &LearnArgs) -> anyhow::Result<ExitCode> {
    let report = match (&args.from, &args.label, &args.field, &args.out) {
        (Some(from), Some(label), Some(field), Some(out)) => {
            learn::learn_from_file(from, &args.text, label, field, out)?
        }
        _ => learn::learn_from_halo(&Settings::load(config)?, args.since.as_deref()).await?,
    };
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

async fn run_report(
    config: Option<&Path>,
    since: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    print!("{}", report::report(&settings, since, json).await?);
    Ok(ExitCode::SUCCESS)
}

fn config_file(given: Option<&Path>) -> Option<PathBuf> {
    given
        .map(Path::to_path_buf)
        .or_else(|| Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.exists()))
}

fn exit_code(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn serve(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    init_logging(settings.log.format);
    let app = App::build(settings).await?;
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

fn read_input(file: &Path) -> anyhow::Result<String> {
    if file == Path::new("-") {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .context("reading the ticket from stdin")?;
        Ok(input)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

async fn run_classify(config: Option<&Path>, file: &Path) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    print!(
        "{}",
        classify::classify(&settings, &read_input(file)?).await?
    );
    Ok(ExitCode::SUCCESS)
}

async fn rules(config: Option<&Path>, command: RulesCommand) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    match command {
        RulesCommand::Test { cases } => {
            let rules = RuleSet::from_settings(&settings.rules)?;
            let report = rules.run_cases(&cases, jiff::Timestamp::now())?;
            for failure in &report.failures {
                println!("{failure}");
            }
            let failed: BTreeSet<_> = report.failures.iter().map(|f| &f.case).collect();
            println!(
                "{} passed, {} failed",
                report.cases - failed.len(),
                failed.len()
            );
            Ok(exit_code(failed.is_empty()))
        }
        RulesCommand::Explain { file } => {
            let mut classification = classify::classify(&settings, &read_input(&file)?).await?;
            classification.show_all_rules = true;
            print!("{classification}");
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Schema => {
            println!("{}", schema_json());
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn jobs_command(config: Option<&Path>, command: JobsCommand) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    match command {
        JobsCommand::List { status, limit } => {
            print!("{}", jobs::list_jobs(&settings, status, limit).await?);
            Ok(ExitCode::SUCCESS)
        }
        JobsCommand::Retry { id, all_dead } => {
            let target = match id {
                Some(id) if !all_dead => ReplayTarget::One(id),
                _ => ReplayTarget::AllDead,
            };
            let (done, message) = jobs::replay(&settings, target).await?;
            println!("{message}");
            Ok(exit_code(done))
        }
    }
}

async fn halo(
    config: Option<&Path>,
    method: &str,
    path: &str,
    data: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    println!(
        "{}",
        halo_triage::cli::halo::halo_request(&settings, method, path, data).await?
    );
    Ok(ExitCode::SUCCESS)
}

async fn migrate_store(config: Option<&Path>, from: &str, to: &str) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    print!(
        "{}",
        halo_triage::cli::migrate_store::migrate_store(&settings, from, to).await?
    );
    Ok(ExitCode::SUCCESS)
}

async fn run_check(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let lines = check::run(config).await;
    for line in &lines {
        println!("{line}");
    }
    Ok(exit_code(!lines.iter().any(|l| l.failed())))
}

async fn health(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    let port = settings.listen_addr()?.port();
    let url = format!("http://127.0.0.1:{port}/readyz");
    let response = reqwest::Client::new()
        .get(&url)
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .with_context(|| format!("asking {url}"))?;
    let status = response.status();
    println!("{}", response.text().await.unwrap_or_default());
    Ok(exit_code(status.is_success()))
}
