//! Report latency on a large warehouse (`GET /api/v1/reports/*`, issue 6's target: every
//! report under 300 ms at the median on 1,000,000 statements).
//!
//! `cargo bench --no-default-features --bench reports -- [--statements 1000000] [--runs 21]`
//!
//! Uses the store of the queries benchmark (`cairn_bench_queries` on `DATABASE_URL`'s server:
//! the seeded realistic workload loaded through `POST /xapi/statements`, kept between runs and
//! topped up), loads it into a warehouse file in the temporary directory (kept too, so later
//! runs only load what is new), then times each report over HTTP as a client sees it — JSON,
//! default parameters, no filter (the whole warehouse), and a few filtered variants — and
//! prints the median and 95th percentile in milliseconds.

#[path = "support/db.rs"]
mod db;
#[path = "support/load.rs"]
mod load;
#[path = "support/summary.rs"]
mod summary;
#[path = "support/workload.rs"]
mod workload;

use std::sync::Arc;
use std::time::Instant;

use cairn::auth::{issue_credential, Scope};
use cairn::config::Settings;
use cairn::warehouse::Warehouse;
use cairn::{store, Application};
use serde_json::Value;

use crate::summary::percentile;

const DB: &str = "cairn_bench_queries";

pub struct Args {
    statements: usize,
    runs: usize,
    admin_url: String,
}

impl Args {
    /// Parses `--statements N --runs N`.
    pub fn parse(mut flags: impl Iterator<Item = String>) -> Args {
        let mut a = Args {
            statements: 1_000_000,
            runs: 21,
            admin_url: crate::db::admin_url(),
        };
        while let Some(flag) = flags.next() {
            let mut num = || flags.next().and_then(|v| v.parse().ok()).expect("a number");
            match flag.as_str() {
                "--statements" => a.statements = num(),
                "--runs" => a.runs = num(),
                "--bench" => {}
                other => panic!("unknown argument {other}; use --statements N --runs N"),
            }
        }
        a
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    crate::summary::run_alone(run(Args::parse(std::env::args().skip(1)))).await
}

/// Brings the warehouse up to date, times every report, printing the detail; returns the
/// headline figures.
pub async fn run(args: Args) -> anyhow::Result<crate::summary::Summary> {
    let Args {
        statements,
        runs,
        admin_url,
    } = args;
    let mut figures = crate::summary::Summary::default();
    let pool = load::kept_database(&admin_url, DB).await?;

    let dir = std::env::temp_dir().join("cairn-bench-reports");
    let warehouse = Arc::new(Warehouse::open(&dir.join("warehouse.duckdb"))?);
    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        ..Settings::default()
    };
    let app = Application::build_with_warehouse(&settings, pool.clone(), Some(warehouse.clone()))?;
    let origin = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let credential = issue_credential(
        &pool,
        store::DEFAULT_STORE,
        "bench",
        &[Scope::All],
        "http://bench",
    )
    .await?;
    let auth = (credential.api_key.clone(), credential.secret.clone());
    let client = reqwest::Client::new();
    load::load(
        &pool,
        &client,
        &format!("{origin}/xapi/statements"),
        &auth,
        statements,
    )
    .await?;
    let t = Instant::now();
    loop {
        let r = warehouse.run_once(&pool).await?;
        if warehouse.status(&pool).await?.lag_statements == 0 {
            break;
        }
        if r.rows == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    let loaded = warehouse.status(&pool).await?.rows_total;
    figures.add(
        "reports",
        format!("warehouse size (statements); {runs} runs per report"),
        loaded.to_string(),
    );
    println!(
        "warehouse up to date in {:.1} s ({loaded} statements in silver)",
        t.elapsed().as_secs_f64()
    );
    let course = workload::Workload::for_statements(statements, 42).course_iri(1);
    let course = form_urlencoded::byte_serialize(course.as_bytes()).collect::<String>();

    println!();
    println!("Reports over HTTP (JSON) — {loaded} statements in the warehouse, {runs} runs each");
    println!(
        "machine: {} cores; PostgreSQL, Cairn and DuckDB on the same machine",
        std::thread::available_parallelism()?.get()
    );
    println!(
        "{:<52} {:>9} {:>9} {:>8}",
        "report", "p50 ms", "p95 ms", "rows"
    );
    let reports = [
        "completion-funnel".to_string(),
        "completion-funnel?group=au".into(),
        "item-analysis".into(),
        "item-distractors".into(),
        "engagement?interval=day".into(),
        "engagement?interval=week&group=course".into(),
        "learner-progress".into(),
        format!("learner-progress?course={course}"),
        "at-risk".into(),
        "video-engagement".into(),
        "video-dropoff?buckets=20".into(),
        "top-verbs".into(),
        "top-activities".into(),
        format!("top-activities?course={course}&since=2026-01-10"),
    ];
    let mut worst = 0f64;
    for report in &reports {
        let url = format!("{origin}/api/v1/reports/{report}");
        let mut times = Vec::with_capacity(runs);
        let mut total = Value::Null;
        for _ in 0..runs {
            let started = Instant::now();
            let response = client
                .get(&url)
                .basic_auth(&auth.0, Some(&auth.1))
                .send()
                .await?;
            anyhow::ensure!(response.status() == 200, "{url}: {}", response.status());
            let body: Value = response.json().await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            total = body["total"].clone();
        }
        let (p50, p95) = (percentile(&mut times, 50.0), percentile(&mut times, 95.0));
        worst = worst.max(p50);
        let name = report.replace(&course, "C1");
        println!("{name:<52} {p50:>9.1} {p95:>9.1} {total:>8}");
        figures.check(
            "reports",
            format!("{name}: p50 / p95 ms"),
            format!("{p50:.1} / {p95:.1}"),
            "p50 < 300 ms",
            p50 < 300.0,
        );
    }
    println!();
    println!(
        "slowest median {worst:.1} ms: target (every report < 300 ms at the median) {}",
        if worst < 300.0 { "met" } else { "NOT met" }
    );
    Ok(figures)
}
