//! Statement query latency on a large store (GET /xapi/statements, Communication §2.1.3).
//!
//! `cargo bench --bench queries -- [--statements 1000000] [--runs 31]`
//!
//! Loads the seeded workload into a dedicated database (`cairn_bench_queries` on
//! `DATABASE_URL`'s server, kept between runs and topped up to the requested size) through
//! Cairn's own API, then times over HTTP, as a client sees it:
//! - the first page (default limit, 100 statements) of each single-filter query and of
//!   `agent`+`verb`+`since`, each run with a different value drawn from the data;
//! - every page of a ~10,000-statement result followed through `more` to its end.
//!
//! Prints the median and 95th percentile in milliseconds.

#[path = "support/db.rs"]
mod db;
#[path = "support/load.rs"]
mod load;
#[path = "support/summary.rs"]
mod summary;
#[path = "support/workload.rs"]
mod workload;

use std::time::Instant;

use cairn::auth::{issue_credential, Scope};
use cairn::config::Settings;
use cairn::{store, Application};
use serde_json::Value;
use sqlx::PgPool;

use crate::summary::percentile;

pub struct Args {
    statements: usize,
    runs: usize,
    admin_url: String,
}

impl Args {
    /// Parses `--statements N --runs N`.
    pub fn parse(flags: impl Iterator<Item = String>) -> Args {
        let mut a = Args {
            statements: 1_000_000,
            runs: 31,
            admin_url: crate::db::admin_url(),
        };
        let mut it = flags;
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--statements" => {
                    a.statements = it
                        .next()
                        .and_then(|v| v.parse().ok())
                        .expect("--statements N")
                }
                "--runs" => a.runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
                "--bench" => {}
                other => panic!("unknown argument {other}; use --statements N --runs N"),
            }
        }
        a
    }
}

const DB: &str = "cairn_bench_queries";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    crate::summary::run_alone(run(Args::parse(std::env::args().skip(1)))).await
}

/// Loads the store, times every query, printing the detail; returns the headline figures.
pub async fn run(args: Args) -> anyhow::Result<crate::summary::Summary> {
    let mut figures = crate::summary::Summary::default();
    let pool = load::kept_database(&args.admin_url, DB).await?;

    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        ..Settings::default()
    };
    let app = Application::build(&settings, pool.clone())?;
    let origin = format!("http://127.0.0.1:{}", app.port());
    let base = format!("{origin}/xapi/statements");
    tokio::spawn(app.run_until_stopped());
    let credential = issue_credential(
        &pool,
        store::DEFAULT_STORE,
        "bench",
        &[Scope::All],
        "http://bench",
    )
    .await?;
    let client = reqwest::Client::new();
    let auth = (credential.api_key.clone(), credential.secret.clone());

    load::load(&pool, &client, &base, &auth, args.statements).await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM statements")
        .fetch_one(&pool)
        .await?;

    println!();
    println!(
        "Statement queries over HTTP — {total} statements, {} runs each, first page of 100",
        args.runs
    );
    figures.add(
        "queries",
        format!(
            "store size (statements); {} runs per query, first page of 100",
            args.runs
        ),
        total.to_string(),
    );
    println!(
        "machine: {} cores; PostgreSQL and Cairn on the same machine",
        std::thread::available_parallelism()?.get()
    );
    println!(
        "{:<44} {:>9} {:>9} {:>8}",
        "query", "p50 ms", "p95 ms", "rows"
    );
    let samples = Samples::draw(&pool, args.runs).await?;
    // A fifth of the store, at most 200,000 statements (small stores in quick runs).
    let recent = (total as usize / 5).min(200_000);
    let since_recent = samples.since_for(&pool, recent).await?;
    let until_old = samples.since_for(&pool, total as usize / 2).await?;
    let since_label = format!("since (last {recent} statements)");
    let mut queries: Vec<(&str, Vec<String>)> = vec![
        ("no filter", vec![String::new(); args.runs]),
        (
            "agent",
            samples
                .agents
                .iter()
                .map(|a| format!("agent={}", enc(a)))
                .collect(),
        ),
        (
            "verb",
            samples
                .verbs
                .iter()
                .map(|v| format!("verb={}", enc(v)))
                .collect(),
        ),
        (
            "activity",
            samples
                .activities
                .iter()
                .map(|v| format!("activity={}", enc(v)))
                .collect(),
        ),
        (
            "registration",
            samples
                .registrations
                .iter()
                .map(|r| format!("registration={r}"))
                .collect(),
        ),
        (
            "activity + related_activities (course)",
            samples
                .courses
                .iter()
                .map(|v| format!("activity={}&related_activities=true", enc(v)))
                .collect(),
        ),
        (
            "agent + related_agents",
            samples
                .agents
                .iter()
                .map(|a| format!("agent={}&related_agents=true", enc(a)))
                .collect(),
        ),
        (
            &since_label,
            vec![format!("since={}", enc(&since_recent)); args.runs],
        ),
        (
            "until (older half)",
            vec![format!("until={}", enc(&until_old)); args.runs],
        ),
        ("ascending", vec!["ascending=true".to_string(); args.runs]),
    ];
    queries.push((
        "agent + verb + since",
        samples
            .agents
            .iter()
            .zip(samples.verbs.iter().cycle())
            .map(|(a, v)| format!("agent={}&verb={}&since={}", enc(a), enc(v), enc(&until_old)))
            .collect(),
    ));
    for (name, params) in &queries {
        let mut times = Vec::new();
        let mut rows = 0;
        for p in params {
            let (ms, page) = timed_get(&client, &auth, &format!("{base}?{p}")).await?;
            times.push(ms);
            rows += page["statements"].as_array().map_or(0, Vec::len);
        }
        let (p50, p95) = (percentile(&mut times, 50.0), percentile(&mut times, 95.0));
        println!(
            "{:<44} {:>9.2} {:>9.2} {:>8.0}",
            name,
            p50,
            p95,
            rows as f64 / params.len() as f64
        );
        figures.add(
            "queries",
            format!("GET /statements {name}: p50 / p95 ms"),
            format!("{p50:.1} / {p95:.1}"),
        );
    }

    // Paging through a ~10,000-statement result.
    let since = samples
        .since_for(&pool, 10_000.min(total as usize / 2))
        .await?;
    for ascending in [false, true] {
        let mut url = format!("{base}?since={}&ascending={ascending}", enc(&since));
        let mut times = Vec::new();
        let mut seen = 0;
        loop {
            let (ms, page) = timed_get(&client, &auth, &url).await?;
            times.push(ms);
            seen += page["statements"].as_array().map_or(0, Vec::len);
            match page["more"].as_str() {
                Some(more) if !more.is_empty() => url = format!("{origin}{more}"),
                _ => break,
            }
        }
        let first = times[0];
        let last = *times.last().unwrap();
        let (p50, p95) = (
            percentile(&mut times.clone(), 50.0),
            percentile(&mut times.clone(), 95.0),
        );
        let order = if ascending { "ascending" } else { "descending" };
        figures.add(
            "queries",
            format!("GET /statements every page through `more`, {order}: p50 / p95 ms"),
            format!("{p50:.1} / {p95:.1}"),
        );
        println!(
            "{:<44} {:>9.2} {:>9.2} {:>8}   ({} pages; first {first:.2} ms, last {last:.2} ms)",
            format!(
                "more to the end, {}",
                if ascending { "ascending" } else { "descending" }
            ),
            p50,
            p95,
            seen,
            times.len()
        );
    }
    Ok(figures)
}

/// Values drawn from the stored data, one per run.
struct Samples {
    agents: Vec<String>,
    verbs: Vec<String>,
    activities: Vec<String>,
    courses: Vec<String>,
    registrations: Vec<String>,
}

impl Samples {
    async fn draw(pool: &PgPool, runs: usize) -> anyhow::Result<Samples> {
        let rows: Vec<(Value, String, Option<uuid::Uuid>)> = sqlx::query_as(
            "SELECT statement::json, verb_iri, registration FROM statements
             WHERE seq % 997 = 0 AND registration IS NOT NULL ORDER BY seq LIMIT $1",
        )
        .bind(runs as i64)
        .fetch_all(pool)
        .await?;
        anyhow::ensure!(rows.len() == runs, "not enough statements to sample");
        Ok(Samples {
            agents: rows
                .iter()
                .map(|(s, _, _)| s["actor"].to_string())
                .collect(),
            verbs: rows.iter().map(|(_, v, _)| v.clone()).collect(),
            activities: rows
                .iter()
                .map(|(s, _, _)| s["object"]["id"].as_str().unwrap().to_string())
                .collect(),
            courses: rows
                .iter()
                .map(|(s, _, _)| {
                    s["context"]["contextActivities"]["grouping"][0]["id"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect(),
            registrations: rows
                .iter()
                .map(|(_, _, r)| r.unwrap().to_string())
                .collect(),
        })
    }

    /// A `since` value that leaves about `n` newer statements.
    async fn since_for(&self, pool: &PgPool, n: usize) -> anyhow::Result<String> {
        let stored: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT stored FROM statements ORDER BY seq DESC OFFSET $1 LIMIT 1")
                .bind(n as i64)
                .fetch_one(pool)
                .await?;
        Ok(stored.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }
}

async fn timed_get(
    client: &reqwest::Client,
    auth: &(String, String),
    url: &str,
) -> anyhow::Result<(f64, Value)> {
    let started = Instant::now();
    let response = client
        .get(url)
        .basic_auth(&auth.0, Some(&auth.1))
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "{url}: {}", response.status());
    let body: Value = response.json().await?;
    Ok((started.elapsed().as_secs_f64() * 1000.0, body))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
