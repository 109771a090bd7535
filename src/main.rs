//! The `cairn` command: parses the command line and calls into the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use cairn::auth::{self, Scope};
use cairn::config::{Layers, Settings};
use cairn::pg_local::LocalPostgres;
use cairn::warehouse::{self, Warehouse};
use cairn::{store, telemetry, Application};

/// mimalloc: less time in malloc/free on the JSON-heavy request path, and memory returned
/// to the system instead of kept in per-thread glibc arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its v3 `mimalloc.h`; the Rust bindings lack the name).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once rather than after mimalloc's default of one
/// second (`options.c` of its v3 sources): with batches of 1,000 statements and warehouse runs
/// taking turns on different threads, the delayed memory added up to about 160 MB of peak
/// resident memory (602 → 441 MB in the memory run of README → Benchmarks → Ingest), at no
/// measurable CPU cost.
fn return_freed_memory_at_once() {
    // SAFETY: sets a process-wide mimalloc option, which mimalloc reads at its next purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

/// mimalloc's `mi_option_allow_thp` (its v3 `mimalloc.h`).
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// No transparent huge pages for this process. mimalloc asks the kernel for them on its
/// arenas (`madvise(MADV_HUGEPAGE)`, which Linux's usual `madvise` setting grants), and the
/// first touch anywhere in a 2 MiB huge page makes all of it resident, so memory used sparsely
/// costs the whole page. Under the ingest benchmark the server held 80 MB of huge pages, and
/// with them off (`MIMALLOC_ALLOW_THP=0`, the same binary) its resident memory while clients
/// posted batches sat 55–70 MB lower (README → Benchmarks → Memory). The
/// option stops mimalloc asking for more; the `prctl` stops the kernel from backing what it
/// asked for before `main` with huge pages (the whole process, DuckDB's memory included).
fn no_transparent_huge_pages() {
    // SAFETY: sets a process-wide mimalloc option, read at its next OS allocation, and a
    // process-wide kernel flag; neither touches memory.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Cairn — an xAPI Learning Record Store (xAPI 1.0.3 and 2.0) on PostgreSQL.
///
/// Settings come from defaults, then an optional TOML config file (`--config`, or `cairn.toml`
/// in the working directory), then CAIRN_* environment variables, then flags.
#[derive(Parser)]
#[command(name = "cairn", version, about, long_about)]
struct Cli {
    /// TOML config file with any of the settings below (keys like `listen`, `database_url`).
    #[arg(long, global = true, env = "CAIRN_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the LRS. Without a database URL, runs a private PostgreSQL in the data directory.
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit (`serve` also applies them at start).
    Migrate(DbArgs),
    /// Manage the HTTP Basic credentials clients use.
    Credentials {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        action: CredentialsAction,
    },
    /// The analytics warehouse (DuckDB): load it from PostgreSQL, rebuild it, show its status.
    Etl {
        #[command(flatten)]
        db: DbArgs,
        /// Warehouse file [default: <data_dir>/warehouse.duckdb] (also CAIRN_WAREHOUSE_PATH).
        #[arg(long, value_name = "FILE", global = true)]
        warehouse_path: Option<String>,
        /// BI copy file [default: <data_dir>/warehouse-bi.duckdb] (also CAIRN_BI_PATH).
        #[arg(long, value_name = "FILE", global = true)]
        bi_path: Option<String>,
        #[command(subcommand)]
        action: EtlAction,
    },
    /// Print the OpenAPI document of the HTTP API (JSON; the server serves it at /openapi.json).
    Openapi,
}

#[derive(Subcommand)]
enum EtlAction {
    /// Load every statement committed since the last run (exactly once), then exit.
    Run,
    /// Delete the warehouse and load it again from PostgreSQL.
    Rebuild,
    /// Last run, rows loaded, lag (seconds and statements), last error.
    Status,
    /// Print the data dictionary (Markdown) generated from the warehouse schema.
    Dictionary,
    /// Publish the read-only BI copy of the gold layer now (to the bi_path setting).
    Publish,
    /// Write the gold layer as Parquet into DIR (facts partitioned by date_key, hive layout).
    ExportParquet {
        /// Target directory; replaced as a whole when the export is complete.
        dir: PathBuf,
    },
}

#[derive(Args)]
struct DbArgs {
    /// PostgreSQL URL (also CAIRN_DATABASE_URL or DATABASE_URL). Unset: the managed local
    /// PostgreSQL in the data directory.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Directory for Cairn's files, including the managed PostgreSQL [default: cairn-data]
    /// (also CAIRN_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<String>,
    /// Directory with the PostgreSQL server binaries (initdb, postgres) for the managed
    /// cluster; searched for when unset (also CAIRN_PG_BIN_DIR).
    #[arg(long, value_name = "DIR")]
    pg_bin_dir: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on [default: 127.0.0.1:8080] (also CAIRN_LISTEN).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Largest accepted request body in bytes; larger requests get 413 [default: 16777216]
    /// (also CAIRN_MAX_BODY_BYTES).
    #[arg(long, value_name = "BYTES")]
    max_body_bytes: Option<String>,
    /// Connections of each PostgreSQL pool, reads and statement writes [default: 16] (also
    /// CAIRN_DB_MAX_CONNECTIONS).
    #[arg(long, value_name = "N")]
    db_max_connections: Option<String>,
    /// Seconds a verified credential is trusted before PostgreSQL is asked again; a revoked
    /// credential stops working within this time [default: 5] (also CAIRN_AUTH_CACHE_SECONDS).
    #[arg(long, value_name = "SECONDS")]
    auth_cache_seconds: Option<String>,
    /// Base URL clients reach Cairn at; names credentials in statement authorities
    /// [default: http://localhost:8080] (also CAIRN_PUBLIC_URL).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Seconds in-flight requests get to finish at shutdown [default: 30]
    /// (also CAIRN_SHUTDOWN_TIMEOUT_SECONDS).
    #[arg(long, value_name = "SECONDS")]
    shutdown_timeout_seconds: Option<String>,
    /// Log filter, e.g. `info` or `cairn=debug` [default: info] (also CAIRN_LOG).
    #[arg(long, value_name = "FILTER")]
    log: Option<String>,
    /// Seconds between analytics warehouse ETL runs; 0 turns the warehouse off [default: 5]
    /// (also CAIRN_ETL_INTERVAL_SECONDS).
    #[arg(long, value_name = "SECONDS")]
    etl_interval_seconds: Option<String>,
    /// Warehouse file [default: <data_dir>/warehouse.duckdb] (also CAIRN_WAREHOUSE_PATH).
    #[arg(long, value_name = "FILE")]
    warehouse_path: Option<String>,
    /// Least seconds between publications of the read-only BI copy; 0 turns it off
    /// [default: 60] (also CAIRN_BI_PUBLISH_INTERVAL_SECONDS).
    #[arg(long, value_name = "SECONDS")]
    bi_publish_interval_seconds: Option<String>,
    /// The BI copy's file [default: <data_dir>/warehouse-bi.duckdb] (also CAIRN_BI_PATH).
    #[arg(long, value_name = "FILE")]
    bi_path: Option<String>,
    /// xAPI version stated on responses to requests without X-Experience-API-Version
    /// (1.0.3 or 2.0.0) [default: 2.0.0] (also CAIRN_DEFAULT_XAPI_VERSION).
    #[arg(long, value_name = "VERSION")]
    default_xapi_version: Option<String>,
}

#[derive(Subcommand)]
enum CredentialsAction {
    /// Create a credential and print its key and secret (the secret is shown only once).
    Create {
        /// A name for the credential (shown as the authority's name on statements).
        #[arg(long)]
        name: String,
        /// Comma-separated xAPI scopes: statements/write, statements/read,
        /// statements/read/mine, all/read, all, state, define, profile.
        #[arg(long, value_delimiter = ',', default_value = "all")]
        scopes: Vec<String>,
        /// Base URL used as the authority account's homePage [default: the public_url setting].
        #[arg(long)]
        public_url: Option<String>,
    },
    /// List credentials (keys, names, scopes; never secrets).
    List,
    /// Revoke a credential by key; it stops working within auth_cache_seconds.
    Revoke {
        /// The credential's key.
        key: String,
    },
}

fn settings(
    cli_config: Option<&PathBuf>,
    apply: impl FnOnce(&mut Layers),
) -> anyhow::Result<Settings> {
    let mut layers = Layers::load(cli_config.map(PathBuf::as_path), &|k| std::env::var(k).ok())?;
    apply(&mut layers);
    Ok(layers.settings()?)
}

fn db_flags(layers: &mut Layers, db: &DbArgs) {
    layers.flag("database_url", "--database-url", db.database_url.as_deref());
    layers.flag("data_dir", "--data-dir", db.data_dir.as_deref());
    layers.flag("pg_bin_dir", "--pg-bin-dir", db.pg_bin_dir.as_deref());
}

/// The database to use: the configured URL, or the managed local cluster (kept running while
/// the returned guard lives).
async fn database(settings: &Settings) -> anyhow::Result<(String, Option<LocalPostgres>)> {
    match &settings.database_url {
        Some(url) => Ok((url.expose().to_string(), None)),
        None => {
            let pg = LocalPostgres::start(&settings.data_dir, settings.pg_bin_dir.as_deref())?;
            pg.ensure_database().await?;
            Ok((pg.database_url(), Some(pg)))
        }
    }
}

#[tokio::main]
async fn main() {
    return_freed_memory_at_once();
    no_transparent_huge_pages();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("cairn: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let settings = settings(cli.config.as_ref(), |l| {
                db_flags(l, &args.db);
                l.flag("listen", "--listen", args.listen.as_deref());
                l.flag(
                    "max_body_bytes",
                    "--max-body-bytes",
                    args.max_body_bytes.as_deref(),
                );
                l.flag(
                    "db_max_connections",
                    "--db-max-connections",
                    args.db_max_connections.as_deref(),
                );
                l.flag(
                    "auth_cache_seconds",
                    "--auth-cache-seconds",
                    args.auth_cache_seconds.as_deref(),
                );
                l.flag("public_url", "--public-url", args.public_url.as_deref());
                l.flag(
                    "shutdown_timeout_seconds",
                    "--shutdown-timeout-seconds",
                    args.shutdown_timeout_seconds.as_deref(),
                );
                l.flag("log", "--log", args.log.as_deref());
                l.flag(
                    "etl_interval_seconds",
                    "--etl-interval-seconds",
                    args.etl_interval_seconds.as_deref(),
                );
                l.flag(
                    "warehouse_path",
                    "--warehouse-path",
                    args.warehouse_path.as_deref(),
                );
                l.flag(
                    "bi_publish_interval_seconds",
                    "--bi-publish-interval-seconds",
                    args.bi_publish_interval_seconds.as_deref(),
                );
                l.flag("bi_path", "--bi-path", args.bi_path.as_deref());
                l.flag(
                    "default_xapi_version",
                    "--default-xapi-version",
                    args.default_xapi_version.as_deref(),
                );
            })?;
            telemetry::init(&settings.log);
            serve(settings).await
        }
        Command::Migrate(db) => {
            let settings = settings(cli.config.as_ref(), |l| db_flags(l, &db))?;
            telemetry::init(&settings.log);
            let (url, _pg) = database(&settings).await?;
            let pool = store::connect(&url, 2).await?;
            store::migrate(&pool).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Credentials { db, action } => {
            let settings = settings(cli.config.as_ref(), |l| db_flags(l, &db))?;
            telemetry::init("warn");
            let (url, _pg) = database(&settings).await?;
            let pool = store::connect(&url, 2).await?;
            store::migrate(&pool).await?;
            credentials(&pool, &settings, action).await
        }
        Command::Etl {
            db,
            warehouse_path,
            bi_path,
            action,
        } => {
            let settings = settings(cli.config.as_ref(), |l| {
                db_flags(l, &db);
                l.flag(
                    "warehouse_path",
                    "--warehouse-path",
                    warehouse_path.as_deref(),
                );
                l.flag("bi_path", "--bi-path", bi_path.as_deref());
            })?;
            telemetry::init("warn");
            etl(&settings, action).await
        }
        Command::Openapi => {
            print!("{}", cairn::api::openapi::to_json());
            Ok(())
        }
    }
}

async fn etl(settings: &Settings, action: EtlAction) -> anyhow::Result<()> {
    let path = settings.warehouse_file();
    if let EtlAction::Dictionary = action {
        let dir = std::env::temp_dir().join(format!("cairn-dictionary-{}", std::process::id()));
        let warehouse = Warehouse::open(&dir.join("schema.duckdb"))?;
        let text = warehouse
            .with_conn(|c| Ok(warehouse::dictionary::generate(c)?))
            .await?;
        drop(warehouse);
        let _ = std::fs::remove_dir_all(&dir);
        print!("{text}");
        return Ok(());
    }
    // Opening first: while a server owns the warehouse this fails with a clear message,
    // before anything else is started.
    let warehouse = match action {
        EtlAction::Rebuild => Warehouse::recreate(&path)?,
        _ => Warehouse::open(&path)?,
    };
    let (url, _pg) = database(settings).await?;
    let pool = store::connect(&url, 2).await?;
    store::migrate(&pool).await?;
    match action {
        EtlAction::Run | EtlAction::Rebuild => {
            let r = warehouse.run_once(&pool).await?;
            println!(
                "loaded {} statements in {} ms into {}",
                r.rows,
                r.millis,
                path.display()
            );
            if settings.bi_publish_interval_seconds > 0 {
                warehouse.publish(&settings.bi_file()).await?;
                println!("published {}", settings.bi_file().display());
            }
        }
        EtlAction::Publish => {
            warehouse.publish(&settings.bi_file()).await?;
            println!("published {}", settings.bi_file().display());
        }
        EtlAction::ExportParquet { dir } => {
            let written = warehouse.export_parquet(&dir).await?;
            println!("wrote {} relations to {}", written.len(), dir.display());
        }
        EtlAction::Status | EtlAction::Dictionary => {
            println!(
                "{}",
                serde_json::to_string_pretty(&warehouse.status(&pool).await?)?
            );
        }
    }
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let (url, pg) = database(&settings).await?;
    let pool = store::connect_keeping(
        &url,
        settings.db_max_connections,
        settings.db_max_connections,
    )
    .await?;
    store::migrate(&pool).await.context("applying migrations")?;
    let statistics = store::statistics::spawn(pool.clone());
    // The server owns the warehouse (DuckDB: one writer process) and loads it continuously.
    let (warehouse, etl_loop) = if settings.etl_interval_seconds > 0 {
        let w = std::sync::Arc::new(Warehouse::open(&settings.warehouse_file())?);
        let publish =
            (settings.bi_publish_interval_seconds > 0).then(|| warehouse::runner::Publish {
                path: settings.bi_file(),
                every: std::time::Duration::from_secs(settings.bi_publish_interval_seconds),
            });
        let handle = warehouse::runner::spawn(
            w.clone(),
            pool.clone(),
            std::time::Duration::from_secs(settings.etl_interval_seconds),
            publish,
        );
        (Some(w), Some(handle))
    } else {
        (None, None)
    };
    let app = Application::build_with_warehouse(&settings, pool.clone(), warehouse.clone())?;
    tracing::info!(
        address = %settings.listen,
        port = app.port(),
        managed_postgres = pg.is_some(),
        "Cairn is serving xAPI at /xapi"
    );
    let result = app.run_until_signal().await;
    statistics.abort();
    if let Some(h) = etl_loop {
        h.abort();
    }
    if let Some(w) = &warehouse {
        w.close().await;
    }
    pool.close().await;
    drop(pg); // stops the managed PostgreSQL after the last request finished
    result.context("server error")
}

async fn credentials(
    pool: &sqlx::PgPool,
    settings: &Settings,
    action: CredentialsAction,
) -> anyhow::Result<()> {
    match action {
        CredentialsAction::Create {
            name,
            scopes,
            public_url,
        } => {
            let scopes: Vec<Scope> = scopes
                .iter()
                .map(|s| s.trim().parse::<Scope>())
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("--scopes: {e}"))?;
            let home = public_url.unwrap_or_else(|| settings.public_url.clone());
            let issued =
                auth::issue_credential(pool, store::DEFAULT_STORE, &name, &scopes, &home).await?;
            println!("key:    {}", issued.api_key);
            println!("secret: {}", issued.secret);
            println!("(the secret is shown only now; store it safely)");
            Ok(())
        }
        CredentialsAction::List => {
            for c in store::credentials::list(pool).await? {
                let status = match c.revoked {
                    Some(t) => format!("revoked {}", t.to_rfc3339()),
                    None => "active".into(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    c.api_key,
                    c.name,
                    c.scopes.join(","),
                    c.created.to_rfc3339(),
                    status
                );
            }
            Ok(())
        }
        CredentialsAction::Revoke { key } => {
            if store::credentials::revoke(pool, &key).await? {
                println!("revoked {key}");
                Ok(())
            } else {
                anyhow::bail!("no active credential with key {key}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MI_OPTION_ALLOW_THP, MI_OPTION_PURGE_DELAY};

    /// The option number is mimalloc's purge delay: its default is 1,000 ms (`options.c` of
    /// mimalloc v3), which the neighbouring options do not have.
    #[test]
    fn the_purge_delay_option_number_names_mimallocs_purge_delay() {
        let value = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(value, 1000);
    }

    /// The option number is mimalloc's `allow_thp` (default 1, between
    /// `page_cross_thread_max_reclaim`, default 32, and `minimal_purge_size`, default 0, in
    /// `options.c` of mimalloc v3), and afterwards the kernel reports transparent huge pages
    /// off for the process.
    #[test]
    fn transparent_huge_pages_are_off_for_the_process() {
        let option = |n| unsafe { libmimalloc_sys::mi_option_get(n) };
        assert_eq!(
            [
                option(MI_OPTION_ALLOW_THP - 1),
                option(MI_OPTION_ALLOW_THP),
                option(MI_OPTION_ALLOW_THP + 1)
            ],
            [32, 1, 0]
        );
        super::no_transparent_huge_pages();
        assert_eq!(option(MI_OPTION_ALLOW_THP), 0);
        // Kernels built without transparent huge pages print no such line.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        if status.contains("THP_enabled:") {
            assert!(status.contains("THP_enabled:\t0"), "{status}");
        }
    }
}
