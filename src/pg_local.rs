//! The managed local PostgreSQL: with no database URL configured, Cairn runs a private cluster
//! inside its data directory from the server binaries installed on the machine.
//!
//! - `initdb` on first start, reused afterwards;
//! - listens on a unix socket only (`listen_addresses = ''`);
//! - runs in its own process group so a terminal's Ctrl-C reaches Cairn, which finishes in-flight
//!   requests before stopping PostgreSQL ("fast" shutdown);
//! - receives SIGINT from the kernel if Cairn dies without stopping it (`PR_SET_PDEATHSIG`), so no
//!   orphan postmaster is left behind.
//!
//! PostgreSQL refuses to run as root; when Cairn runs as root the cluster runs as the `postgres`
//! system user instead.

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

const DATABASE: &str = "cairn";
const PORT: u16 = 5432;

/// A running private cluster. Dropping it stops PostgreSQL if this process started it.
#[derive(Debug)]
pub struct LocalPostgres {
    socket_dir: PathBuf,
    child: Option<Child>,
}

/// Where the PostgreSQL server binaries are; used to explain what is missing.
fn find_bin_dir(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = configured {
        if has_server(dir) {
            return Ok(dir.to_path_buf());
        }
        bail!(
            "pg_bin_dir {} does not contain the PostgreSQL server binaries `initdb` and `postgres`",
            dir.display()
        );
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    // Debian/Ubuntu, RHEL, Homebrew and source installs keep the server outside PATH.
    for pattern_dir in ["/usr/lib/postgresql", "/usr/local/opt", "/opt/homebrew/opt"] {
        if let Ok(entries) = fs::read_dir(pattern_dir) {
            let mut versions: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path().join("bin"))
                .filter(|p| p.is_dir())
                .collect();
            // Newest first: version directories sort numerically by their length then text.
            versions.sort_by_key(|p| {
                std::cmp::Reverse((p.as_os_str().len(), p.as_os_str().to_os_string()))
            });
            candidates.extend(versions);
        }
    }
    candidates.extend(
        ["/usr/pgsql/bin", "/usr/local/pgsql/bin"]
            .iter()
            .map(PathBuf::from),
    );
    candidates
        .into_iter()
        .find(|dir| has_server(dir))
        .ok_or_else(|| {
            anyhow!(
                "no database URL is configured and the PostgreSQL server binaries (initdb, postgres) \
                 were not found. Install PostgreSQL (e.g. `apt install postgresql` or \
                 `brew install postgresql`), or set CAIRN_PG_BIN_DIR to the directory holding them, \
                 or point Cairn at an existing server with CAIRN_DATABASE_URL / --database-url"
            )
        })
}

/// The uid/gid PostgreSQL must run as: ours, or `postgres` when we are root.
fn server_user() -> anyhow::Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("postgres").expect("no NUL");
    // SAFETY: getpwnam returns a pointer into static storage or NULL; read immediately.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        bail!("Cairn runs as root and PostgreSQL refuses to; create a `postgres` system user or run Cairn as an ordinary user");
    }
    // SAFETY: pw is non-null and points to a valid passwd record.
    Ok(Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) }))
}

fn chown(path: &Path, owner: Option<(u32, u32)>) -> anyhow::Result<()> {
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .with_context(|| format!("chown {}", path.display()))?;
    }
    Ok(())
}

impl LocalPostgres {
    /// Starts (or joins, when another Cairn process already runs it) the cluster in `data_dir`.
    pub fn start(data_dir: &Path, pg_bin_dir: Option<&Path>) -> anyhow::Result<Self> {
        let bin = find_bin_dir(pg_bin_dir)?;
        let owner = server_user()?;
        fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
        let data_dir = fs::canonicalize(data_dir)?;
        let pgdata = data_dir.join("postgres");
        let socket_dir = socket_dir_for(&data_dir);
        fs::create_dir_all(&socket_dir)?;
        chown(&socket_dir, owner)?;

        if !pgdata.join("PG_VERSION").exists() {
            fs::create_dir_all(&pgdata)?;
            fs::set_permissions(&pgdata, fs::Permissions::from_mode(0o700))?;
            chown(&pgdata, owner)?;
            tracing::info!(pgdata = %pgdata.display(), "initialising the managed PostgreSQL cluster");
            let out = as_server_user(Command::new(bin.join("initdb")), owner)
                .arg("-D")
                .arg(&pgdata)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ])
                .output()
                .context("cannot run initdb")?;
            if !out.status.success() {
                bail!(
                    "initdb failed for {}: {}",
                    pgdata.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }

        let socket = socket_dir.join(format!(".s.PGSQL.{PORT}"));
        if socket.exists() && postmaster_running(&pgdata) {
            tracing::info!("joining the managed PostgreSQL cluster another Cairn process runs");
            let mut pg = LocalPostgres {
                socket_dir,
                child: None,
            };
            pg.wait_ready(None)?;
            return Ok(pg);
        }

        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("postgres.log"))?;
        chown(&data_dir.join("postgres.log"), owner)?;
        let mut cmd = as_server_user(Command::new(bin.join("postgres")), owner);
        cmd.arg("-D")
            .arg(&pgdata)
            .arg("-k")
            .arg(&socket_dir)
            .args(["-p", &PORT.to_string(), "-c", "listen_addresses="])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; the closure runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().context("cannot start postgres")?;
        tracing::info!(pid = child.id(), socket_dir = %socket_dir.display(), "managed PostgreSQL started");
        let mut pg = LocalPostgres {
            socket_dir,
            child: Some(child),
        };
        pg.wait_ready(Some(&data_dir.join("postgres.log")))?;
        Ok(pg)
    }

    /// URL of the `postgres` maintenance database on this cluster.
    fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost:{PORT}/{database}?host={}",
            self.socket_dir.display()
        )
    }

    /// URL of Cairn's database on this cluster (created by [`LocalPostgres::ensure_database`]).
    pub fn database_url(&self) -> String {
        self.url_for(DATABASE)
    }

    /// Creates Cairn's database when it does not exist yet.
    pub async fn ensure_database(&self) -> anyhow::Result<()> {
        use sqlx::Connection;
        // The socket accepts connections while the server still reports "starting up".
        let mut attempt = 0;
        let mut conn = loop {
            match sqlx::PgConnection::connect(&self.url_for("postgres")).await {
                Ok(conn) => break conn,
                Err(e) if attempt < 100 => {
                    tracing::debug!(error = %e, "managed PostgreSQL not ready yet");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(&format!("CREATE DATABASE {DATABASE}"))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }

    fn wait_ready(&mut self, log: Option<&Path>) -> anyhow::Result<()> {
        let socket = self.socket_dir.join(format!(".s.PGSQL.{PORT}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    let tail = log
                        .and_then(|l| fs::read_to_string(l).ok())
                        .map(|t| t.lines().rev().take(10).collect::<Vec<_>>().join("\n"))
                        .unwrap_or_default();
                    self.child = None;
                    bail!(
                        "managed PostgreSQL exited at start-up ({status}); its log ends:\n{tail}"
                    );
                }
            }
            if socket.exists() && std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                // The socket accepts before recovery ends; the pool's connect retries cover that.
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "managed PostgreSQL did not open {} within 60 s",
                    socket.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops PostgreSQL with a fast shutdown (aborts open transactions, checkpoints, exits).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                tracing::info!("managed PostgreSQL stopped");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; immediate shutdown as a last resort.
        unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) };
        let _ = child.wait();
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn as_server_user(mut cmd: Command, owner: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Unix socket paths are limited to ~107 bytes; fall back to /tmp for deep data directories.
fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    if preferred.as_os_str().len() + ".s.PGSQL.5432".len() + 1 < 100 {
        return preferred;
    }
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    std::env::temp_dir().join(format!("cairn-pg-{:016x}", h.finish()))
}

/// True when `postmaster.pid` names a live process.
fn postmaster_running(pgdata: &Path) -> bool {
    let Ok(text) = fs::read_to_string(pgdata.join("postmaster.pid")) else {
        return false;
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}
