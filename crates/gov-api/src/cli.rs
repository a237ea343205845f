//! The `gov` command line: `serve`, `migrate`, `tenant`, `key`, `demo`, `review`, `verify`, `evidence`. Every flag has a `GOV_*`
//! environment variable (the database URL also reads `DATABASE_URL`); the database and log flags
//! may come before or after the subcommand.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gov_facades::{Caller, CreatedKey, CreatedTenant, DbOptions, Gov, NewApiKey, SqliteSync};
use gov_model::{Actor, Tenant};

use crate::startup::{self, ServerConfig};
use crate::telemetry::{self, LogFormat};

/// Where the embedded SQLite database lives when nothing else is configured.
pub const DEFAULT_DATABASE_URL: &str = "./gov-data/gov.db";

#[derive(Debug, Parser)]
#[command(name = "gov", version, about = "Self-hosted AI governance control plane")]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, env = "GOV_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `gov_api=debug,info` [default: `info` for `serve`, `warn` for
    /// the other commands, whose output is what they print].
    #[arg(long, global = true, env = "GOV_LOG")]
    pub log: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub signing: SigningArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, create the default tenant on an empty database, and serve the API.
    Serve(ServeArgs),
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Reproduce the seed scenario (a token limit breached at step 3) through the HTTP API and
    /// print the cross-reference table with the real ids.
    Demo {
        /// A running gov (e.g. http://127.0.0.1:8080); without it, an in-process server on a
        /// temporary SQLite database.
        #[arg(long, env = "GOV_URL", requires = "key")]
        url: Option<String>,
        /// An admin key of the tenant to use on `--url`.
        #[arg(long, env = "GOV_KEY")]
        key: Option<String>,
    },
    /// The Monday control-plane review of a tenant (seed 004): go-live state, today's risk ledger
    /// and denials, the regression tripwires, today's sandbox scorecards, and the decision.
    Review {
        /// Tenant name or id [default: the only tenant of the database].
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON (each section as its endpoint answers) instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Check an exported bundle (or a log export and its manifest) offline: signature, canonical
    /// hash, every step's hash and link, the snapshot, the cross-links. No server, no database.
    /// Exit 0 verified, 1 failed (the first bad item is named), 2 unreadable input.
    Verify(crate::verify_cmd::VerifyArgs),
    /// The deployment's evidence signing key.
    Evidence {
        #[command(subcommand)]
        action: EvidenceAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvidenceAction {
    /// Print the public key that verifies this deployment's exports (and the keys that signed
    /// earlier ones), as `GET /api/v1/evidence/public-key` answers. Generates the key on a
    /// database that has none and no key configured, as the server's first export would.
    PublicKey {
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
}

/// The deployment's signing key, when one is configured: `GOV_SIGNING_KEY` (the 64 hex digits of
/// the Ed25519 seed; an environment variable only, so it is not in the process list) or the file
/// `--signing-key-file` / `GOV_SIGNING_KEY_FILE` holding them. Without either, gov generates one
/// once and keeps it in the database.
#[derive(Debug, Args)]
pub struct SigningArgs {
    #[arg(long, global = true, env = "GOV_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<std::path::PathBuf>,
}

impl SigningArgs {
    /// `gov` signing with the configured key, if any (an unreadable key stops the command).
    fn apply(&self, gov: Gov) -> anyhow::Result<Gov> {
        let from_env = std::env::var("GOV_SIGNING_KEY").ok().filter(|v| !v.trim().is_empty());
        let (hex, origin) = match (from_env, &self.signing_key_file) {
            (Some(_), Some(_)) => bail!("set GOV_SIGNING_KEY or GOV_SIGNING_KEY_FILE, not both"),
            (Some(hex), None) => (hex, "GOV_SIGNING_KEY".to_owned()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the signing key file {}", path.display()))?;
                (text, path.display().to_string())
            }
            (None, None) => return Ok(gov),
        };
        // The message names where the key came from, never the key.
        let key = gov_evidence::SigningKey::from_hex(hex.trim())
            .map_err(|e| anyhow::anyhow!("the signing key in {origin} is not usable: {e}"))?;
        Ok(gov.with_signing_key(key))
    }
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// `postgres://...` for PostgreSQL; otherwise a SQLite file path (`sqlite://` prefix optional).
    /// Only `serve` creates a SQLite database that does not exist yet.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Pooled connections (reads on SQLite, everything on PostgreSQL).
    #[arg(long, global = true, env = "GOV_POOL_SIZE", default_value_t = 16)]
    pub pool_size: u32,
    /// SQLite durability: `full` syncs every commit, `normal` only at checkpoints.
    #[arg(long, global = true, env = "GOV_SQLITE_SYNCHRONOUS", value_enum, default_value = "full")]
    pub sqlite_synchronous: SyncArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SyncArg {
    Full,
    Normal,
}

impl DbArgs {
    /// Connects; only `gov serve` passes `create_if_missing`, so a mistyped path elsewhere is an
    /// error instead of a new, empty database nobody serves.
    fn connect(&self, create_if_missing: bool) -> anyhow::Result<Gov> {
        let options = DbOptions {
            pool_size: self.pool_size,
            acquire_timeout: Duration::from_secs(5),
            sqlite_sync: match self.sqlite_synchronous {
                SyncArg::Full => SqliteSync::Full,
                SyncArg::Normal => SqliteSync::Normal,
            },
            create_if_missing,
            // Only the server keeps idle connections (see `DbOptions::min_idle`).
            min_idle: u32::from(create_if_missing),
        };
        let hint = if create_if_missing {
            ""
        } else {
            " (only `gov serve` creates a database; check --database-url)"
        };
        Gov::connect(&self.database_url, &options)
            .with_context(|| format!("connecting to the database at {}{hint}", self.database_url))
    }

    fn existing(&self) -> anyhow::Result<Gov> {
        self.connect(false)
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GOV_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "GOV_MAX_BODY_BYTES", default_value_t = 262_144)]
    pub max_body_bytes: usize,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "GOV_WORKERS")]
    pub workers: Option<usize>,
    /// Refuse the guarded requests of tenants whose go-live switch is off (1/0, true/false,
    /// yes/no, on/off; else the seed's `GO_LIVE_ENFORCE`; always off with `ENV=development`).
    #[arg(long, env = "GOV_GO_LIVE_ENFORCE", value_parser = boolish, num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub go_live_enforce: Option<bool>,
    /// On SIGTERM/SIGINT, how long requests already accepted may take before the server stops.
    #[arg(long, env = "GOV_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Seconds between two seals of the audit trail into checkpoints (0: this process does not seal).
    #[arg(long, env = "GOV_AUDIT_SEAL_INTERVAL_SECS", default_value_t = 10)]
    pub audit_seal_interval_secs: u64,
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the most recent migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Create a tenant and print its first admin API key (once).
    Create {
        #[arg(long)]
        name: String,
    },
    /// List tenants.
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Create an API key for a tenant and print it (once).
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Comma-separated: read, write, admin, ingest.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Optional expiry, RFC 3339.
        #[arg(long)]
        expires_at: Option<String>,
    },
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let default_log = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
    telemetry::init(cli.log_format, cli.log.as_deref().unwrap_or(default_log));
    let db = &cli.db;
    match cli.command {
        Command::Serve(args) => serve(db, &cli.signing, args),
        Command::Migrate { action } => migrate(&db.existing()?, action),
        Command::Tenant { action } => tenant(&db.existing()?, action),
        Command::Key { action } => key(&db.existing()?, action),
        Command::Demo { url, key } => demo(url, key),
        Command::Review { tenant, json } => review(&db.existing()?, tenant.as_deref(), json),
        Command::Verify(args) => std::process::exit(crate::verify_cmd::run(&args)),
        Command::Evidence { action: EvidenceAction::PublicKey { json } } => {
            public_key(&cli.signing.apply(db.existing()?)?, json)
        }
    }
}

fn demo(url: Option<String>, key: Option<String>) -> anyhow::Result<()> {
    let report = match (url, key) {
        (Some(url), Some(key)) => crate::demo::run(&url, &key)?,
        _ => {
            let dir = std::env::temp_dir().join(format!("gov-demo-{}", std::process::id()));
            let gov = Gov::connect(&dir.join("gov.db").display().to_string(), &DbOptions::default())?;
            gov.migrate_up()?;
            let key = gov.bootstrap()?.context("a fresh database has no tenant")?.admin_key.secret;
            let config = ServerConfig {
                listen: "127.0.0.1:0".to_owned(),
                max_body_bytes: 262_144,
                workers: Some(2),
                go_live_enforce: false,
                audit_seal_interval: None,
            };
            let (tx, rx) = std::sync::mpsc::channel();
            let server = std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    match startup::start(gov, &config) {
                        Ok(server) => {
                            let _ = tx.send(Ok((server.addr, server.server.handle())));
                            let _ = server.server.await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                })
            });
            let (addr, handle) = rx.recv().context("the in-process server did not start")??;
            let report = crate::demo::run(&format!("http://{addr}"), &key);
            drop(handle.stop(true));
            let _ = server.join();
            let _ = std::fs::remove_dir_all(&dir);
            report?
        }
    };
    println!("Seed scenario (seed 000 section 6): token limit 10000, breached at step 3.\n");
    print!("{}", crate::demo::table(&report));
    Ok(())
}

fn serve(db: &DbArgs, signing: &SigningArgs, args: ServeArgs) -> anyhow::Result<()> {
    // Settings first: a value gov cannot read stops it before it touches the database.
    let go_live_enforce = go_live_enforced(args.go_live_enforce)?;
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let gov = signing.apply(db.connect(true)?)?;
    let applied = gov.migrate_up().context("applying migrations")?;
    tracing::info!(backend = ?gov.backend(), applied = applied.len(), "database ready");
    if let Some(created) = gov.bootstrap().context("creating the default tenant")? {
        print_tenant(&created);
    }
    let config = ServerConfig {
        listen: args.listen,
        max_body_bytes: args.max_body_bytes,
        workers: args.workers,
        go_live_enforce,
        audit_seal_interval: (args.audit_seal_interval_secs > 0)
            .then(|| Duration::from_secs(args.audit_seal_interval_secs)),
    };
    actix_web::rt::System::new().block_on(async move {
        let server = startup::start(gov, &config)?;
        tracing::info!(addr = %server.addr, go_live_enforce, "gov listening");
        crate::drain::serve_until_signalled(server, grace).await
    })
}

fn public_key(gov: &Gov, as_json: bool) -> anyhow::Result<()> {
    gov.migrate_up()?;
    let (current, older) = gov.public_keys()?;
    let out = crate::wire::export::PublicKeyOut::new(current, older);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let line = |k: &crate::wire::export::PreviousKey| {
        format!("{}  {}  {}  {}  {}", k.algorithm, k.key_id, k.public_key, k.source, rfc3339(k.created_at))
    };
    println!("algorithm   {}", out.algorithm);
    println!("key_id      {}", out.key_id);
    println!("public_key  {}", out.public_key);
    println!("source      {}", out.source);
    println!("created_at  {}", rfc3339(out.created_at));
    if !out.previous_keys.is_empty() {
        println!("previous keys (they signed earlier exports):");
        for k in &out.previous_keys {
            println!("  {}", line(k));
        }
    }
    Ok(())
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn migrate(gov: &Gov, action: MigrateAction) -> anyhow::Result<()> {
    match action {
        MigrateAction::Up => {
            let applied = gov.migrate_up()?;
            if applied.is_empty() {
                println!("nothing to apply: the schema is up to date");
            }
            for v in applied {
                println!("applied {v}");
            }
        }
        MigrateAction::Down => println!("reverted {}", gov.migrate_down()?),
        MigrateAction::Status => {
            for m in gov.migrate_status()? {
                println!("{} {}", if m.applied { "[applied]" } else { "[pending]" }, m.version);
            }
        }
    }
    Ok(())
}

fn tenant(gov: &Gov, action: TenantAction) -> anyhow::Result<()> {
    gov.migrate_up()?;
    match action {
        TenantAction::Create { name } => print_tenant(&gov.create_tenant(&Actor::cli(), &name)?),
        TenantAction::List => {
            for t in gov.list_tenants()? {
                println!("{}  {}", t.id, t.name);
            }
        }
    }
    Ok(())
}

fn key(gov: &Gov, action: KeyAction) -> anyhow::Result<()> {
    gov.migrate_up()?;
    let KeyAction::Create { tenant, scopes, name, expires_at } = action;
    let tenant = gov.find_tenant(&tenant)?;
    let expires_at = match expires_at {
        Some(text) => Some(
            time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .with_context(|| format!("--expires-at {text:?} is not RFC 3339"))?,
        ),
        None => None,
    };
    if scopes.is_empty() {
        bail!("--scopes needs at least one of read, write, admin, ingest");
    }
    let caller = Caller { tenant_id: tenant.id, actor: Actor::cli() };
    let created = gov.create_api_key(&caller, NewApiKey { name, scopes, expires_at })?;
    print_key(&tenant.name, &created);
    Ok(())
}

fn review(gov: &Gov, tenant: Option<&str>, as_json: bool) -> anyhow::Result<()> {
    let enforced = go_live_enforced(env_bool("GOV_GO_LIVE_ENFORCE")?)?;
    gov.migrate_up()?;
    let tenant = match tenant {
        Some(name_or_id) => gov.find_tenant(name_or_id)?,
        None => only_tenant(gov)?,
    };
    let review = gov.control_review(&tenant)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&crate::review::to_json(&review, enforced))?);
    } else {
        print!("{}", crate::review::render(&review));
    }
    Ok(())
}

/// The database's one tenant, for commands whose `--tenant` is optional.
fn only_tenant(gov: &Gov) -> anyhow::Result<Tenant> {
    let mut tenants = gov.list_tenants()?;
    match tenants.len() {
        1 => Ok(tenants.remove(0)),
        0 => bail!("this database has no tenant yet: create one with `gov tenant create --name <name>`"),
        n => {
            let names: Vec<String> = tenants.iter().map(|t| format!("{:?}", t.name)).collect();
            bail!(
                "this database has {n} tenants ({}): choose one with --tenant <name or id>",
                names.join(", ")
            )
        }
    }
}

/// A boolean setting as operators write it: 1/0, true/false, yes/no, on/off (any case).
fn boolish(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{value:?} is not a boolean: use 1/0, true/false, yes/no or on/off")),
    }
}

/// A boolean environment variable; unset or empty is `None`.
fn env_bool(name: &str) -> anyhow::Result<Option<bool>> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => boolish(&v).map(Some).map_err(|e| anyhow::anyhow!("{name}: {e}")),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{name} is not valid UTF-8"),
    }
}

/// Whether go-live is enforced: `--go-live-enforce` / `GOV_GO_LIVE_ENFORCE` if given, else the
/// seed's `GO_LIVE_ENFORCE`, else off; and off whatever those say under the seed's
/// `ENV=development` (seed 004 rollback option 2, "emergency mode"). `ENV=production` leaves the
/// setting as configured; any other `ENV` is refused rather than guessed at.
fn go_live_enforced(configured: Option<bool>) -> anyhow::Result<bool> {
    let configured = match configured {
        Some(v) => v,
        None => env_bool("GO_LIVE_ENFORCE")?.unwrap_or(false),
    };
    let env = std::env::var("ENV").unwrap_or_default();
    match env.trim().to_ascii_lowercase().as_str() {
        "" | "production" => Ok(configured),
        "development" => {
            if configured {
                tracing::warn!("ENV=development: go-live enforcement is off (seed 004 emergency mode)");
            }
            Ok(false)
        }
        _ => bail!(
            "ENV={env:?}: gov knows `production` and `development` (seed 004); unset ENV or use one of them"
        ),
    }
}

fn print_tenant(created: &CreatedTenant) {
    println!("Created tenant {:?} ({}).", created.tenant.name, created.tenant.id);
    print_key(&created.tenant.name, &created.admin_key);
}

fn print_key(tenant: &str, created: &CreatedKey) {
    println!();
    println!("  API key ({}) for tenant {tenant:?}, shown once:", created.key.scopes);
    println!();
    println!("    {}", created.secret);
    println!();
    println!("  Use it as `Authorization: Bearer <key>`. Make more with:");
    println!("    gov key create --tenant {tenant:?} --scopes read,write");
    println!("  or POST /api/v1/connectivity/api-keys/ with an admin key.");
    println!();
}
