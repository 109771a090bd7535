//! Black-box test harness: the app on port 0 against a fresh PostgreSQL database per test
//! (dropped afterwards), and a client that talks HTTP like any xAPI client.
//!
//! The database server is `CAIRN_TEST_DATABASE_URL` or `DATABASE_URL` when set, otherwise the
//! managed local PostgreSQL (the same mechanism `cairn serve` uses), started once per test
//! process in a temporary directory and stopped when the process exits.
#![allow(dead_code)]

use std::sync::OnceLock;

use cairn::auth::{issue_credential, Scope};
use cairn::config::Settings;
use cairn::pg_local::LocalPostgres;
use cairn::{store, Application};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};

pub const V1: &str = "1.0.3";
pub const V2: &str = "2.0.0";
pub const VERSIONS: [&str; 2] = [V1, V2];

/// URL of a maintenance database on the server tests create their databases in.
fn admin_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        for var in ["CAIRN_TEST_DATABASE_URL", "DATABASE_URL"] {
            if let Ok(url) = std::env::var(var) {
                if !url.is_empty() {
                    return url;
                }
            }
        }
        start_managed_postgres()
    })
}

/// Starts the managed cluster on a thread that lives as long as the process, so that the
/// kernel stops PostgreSQL (PR_SET_PDEATHSIG) when the test process exits.
fn start_managed_postgres() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let dir = std::env::temp_dir().join(format!("cairn-test-pg-{}", std::process::id()));
        match LocalPostgres::start(&dir, None) {
            Ok(pg) => {
                let url = pg.database_url().replace("/cairn?", "/postgres?");
                tx.send(Ok(url)).unwrap();
                // Keep the guard (and this thread) alive until the process exits.
                loop {
                    std::thread::park();
                    let _ = &pg;
                }
            }
            Err(e) => tx.send(Err(e.to_string())).unwrap(),
        }
    });
    rx.recv()
        .unwrap()
        .unwrap_or_else(|e| panic!("no test database: set DATABASE_URL or install PostgreSQL: {e}"))
}

/// A database created for one test and dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let admin = admin_url();
        let name = format!("cairn_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(admin)
            .await
            .expect("connect admin db");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let url = with_database(admin, &name);
        TestDb { name, url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Replaces the database name in a postgres URL (`postgres://u@h:p/db?x` → `.../name?x`).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub key: String,
    pub secret: String,
    pub pool: PgPool,
    pub db: TestDb,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app on port 0 with a fresh database and an `all`-scoped credential.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_owning(configure, None).await
}

/// [`spawn_app_with`], the server owning `warehouse` (its status, reports and SQL are served;
/// no ETL loop runs: the test drives the runs).
#[allow(dead_code)] // not every test binary uses it
pub async fn spawn_app_owning(
    configure: impl FnOnce(&mut Settings),
    warehouse: Option<std::sync::Arc<cairn::warehouse::Warehouse>>,
) -> TestApp {
    spawn_app_on(configure, warehouse, 8).await
}

/// [`spawn_app`] with a pool of `connections` PostgreSQL connections, which the app and
/// [`TestApp::pool`] share (with one, every request runs on the same backend and meets the
/// plans that backend cached).
pub async fn spawn_app_with_connections(connections: u32) -> TestApp {
    spawn_app_on(|_| {}, None, connections).await
}

async fn spawn_app_on(
    configure: impl FnOnce(&mut Settings),
    warehouse: Option<std::sync::Arc<cairn::warehouse::Warehouse>>,
    connections: u32,
) -> TestApp {
    let db = TestDb::create().await;
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        auth_cache_seconds: 1,
        ..Settings::default()
    };
    configure(&mut settings);
    let pool = store::connect(&db.url, connections)
        .await
        .expect("connect test db");
    store::migrate(&pool).await.expect("migrate");
    let app =
        Application::build_with_warehouse(&settings, pool.clone(), warehouse).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let issued = issue_credential(
        &pool,
        store::DEFAULT_STORE,
        "test",
        &[Scope::All],
        "http://cairn.test",
    )
    .await
    .expect("credential");
    TestApp {
        address,
        client: reqwest::Client::new(),
        key: issued.api_key,
        secret: issued.secret,
        pool,
        db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request with the test credential and the given xAPI version header.
    pub fn request(&self, method: Method, path: &str, version: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(&self.key, Some(&self.secret))
            .header("X-Experience-API-Version", version)
    }

    /// A request with another credential (from [`TestApp::credential`]).
    pub fn request_as(
        &self,
        credential: &(String, String),
        method: Method,
        path: &str,
        version: &str,
    ) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(&credential.0, Some(&credential.1))
            .header("X-Experience-API-Version", version)
    }

    pub async fn post_statements(&self, version: &str, body: &Value) -> Response {
        self.request(Method::POST, "/xapi/statements", version)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_statement(&self, version: &str, id: &str, body: &Value) -> Response {
        self.request(
            Method::PUT,
            &format!("/xapi/statements?statementId={id}"),
            version,
        )
        .json(body)
        .send()
        .await
        .unwrap()
    }

    pub async fn get_statement(&self, version: &str, id: &str) -> Response {
        self.request(
            Method::GET,
            &format!("/xapi/statements?statementId={id}"),
            version,
        )
        .send()
        .await
        .unwrap()
    }

    /// A new credential with these scopes: (key, secret).
    pub async fn credential(&self, scopes: &[Scope]) -> (String, String) {
        let c = issue_credential(
            &self.pool,
            store::DEFAULT_STORE,
            "scoped",
            scopes,
            "http://cairn.test",
        )
        .await
        .unwrap();
        (c.api_key, c.secret)
    }

    /// How many statements PostgreSQL holds, to check that a rejected request stored nothing.
    pub async fn statement_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM statements")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// A minimal valid statement with a fixed actor, verb and activity.
pub fn statement() -> Value {
    serde_json::json!({
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en-US": "attempted"}},
        "object": {"objectType": "Activity", "id": "http://example.com/activities/quiz"}
    })
}

/// `statement()` with a JSON merge applied at a dotted path (`"context.registration"`).
pub fn statement_with(path: &str, value: Value) -> Value {
    let mut s = statement();
    set_path(&mut s, path, value);
    s
}

pub fn set_path(target: &mut Value, path: &str, value: Value) {
    let mut cur = target;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            cur[*part] = value;
            return;
        }
        if cur.get(*part).is_none() {
            cur[*part] = serde_json::json!({});
        }
        cur = cur.get_mut(*part).unwrap();
    }
}

pub fn remove_path(target: &mut Value, path: &str) {
    let mut cur = target;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        cur = cur.get_mut(*part).unwrap();
    }
    cur.as_object_mut().unwrap().remove(parts[parts.len() - 1]);
}
