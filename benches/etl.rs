//! Warehouse ETL throughput and freshness.
//!
//! `cargo bench --no-default-features --bench etl -- [--statements 1000000] [--seconds 30] [--rate 2000] [--repeats 3]`
//!
//! 1. Seeds a fresh database (`cairn_bench_etl` on `DATABASE_URL`'s server) with synthetic
//!    statements written by SQL (this measures the ETL, not ingest), then, `--repeats` times
//!    into a new warehouse, times a full load (PostgreSQL → Arrow → DuckDB silver) and the
//!    materialisation of the whole gold layer (the BI copy), and prints statements per second
//!    (the table gives the medians).
//! 2. Inserts `--rate` statements per second (batches of rate/10 every 100 ms, one transaction
//!    each) for `--seconds` while the ETL runs every second, samples the lag (age of the oldest
//!    statement not yet in the warehouse) every 200 ms, and prints its median and 95th percentile.

#[path = "support/db.rs"]
mod db;
#[path = "support/summary.rs"]
mod summary;

use std::time::{Duration, Instant};

use cairn::store;
use cairn::warehouse::Warehouse;
use sqlx::PgPool;

use crate::summary::percentile;

/// The allocator `cairn serve` runs with (src/main.rs), so the ETL is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub struct Args {
    statements: i64,
    seconds: u64,
    rate: i64,
    repeats: usize,
    admin_url: String,
}

impl Args {
    /// Parses `--statements N --seconds N --rate N --repeats N`.
    pub fn parse(flags: impl Iterator<Item = String>) -> Args {
        let mut a = Args {
            statements: 1_000_000,
            seconds: 30,
            rate: 2000,
            repeats: 3,
            admin_url: crate::db::admin_url(),
        };
        let mut it = flags;
        while let Some(flag) = it.next() {
            let mut num = || {
                it.next()
                    .and_then(|v| v.parse::<i64>().ok())
                    .expect("a number")
            };
            match flag.as_str() {
                "--statements" => a.statements = num(),
                "--seconds" => a.seconds = num() as u64,
                "--rate" => a.rate = num(),
                "--repeats" => a.repeats = num().max(1) as usize,
                "--bench" => {}
                other => panic!(
                    "unknown argument {other}; use --statements N --seconds N --rate N --repeats N"
                ),
            }
        }
        a
    }
}

const DB: &str = "cairn_bench_etl";

/// Inserts `n` synthetic statements (quiz answers by 5,000 learners on 500 items, each with a
/// parent quiz and a grouping course in its context activities) in one transaction, numbered
/// from `from`, with the link rows Cairn would write for them (the actor and an authority; the
/// object, the parent and the course), which the ETL loads into the bridge tables.
async fn seed(pool: &PgPool, from: i64, n: i64) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        r#"INSERT INTO statements (store_id, statement_id, stored, "timestamp", verb_iri, registration, statement)
           SELECT 1, gen_random_uuid(), now(), now() - (i % 86400) * interval '1 second',
                  'http://adlnet.gov/expapi/verbs/answered', NULL,
                  jsonb_build_object(
                    'actor', jsonb_build_object('objectType', 'Agent', 'name', 'Learner ' || (i % 5000),
                                                'mbox', 'mailto:l' || (i % 5000) || '@example.com'),
                    'verb', jsonb_build_object('id', 'http://adlnet.gov/expapi/verbs/answered',
                                               'display', jsonb_build_object('en-US', 'answered')),
                    'object', jsonb_build_object('objectType', 'Activity',
                        'id', 'http://example.com/quiz/' || (i % 50) || '/q' || (i % 500),
                        'definition', jsonb_build_object('type', 'http://adlnet.gov/expapi/activities/cmi.interaction',
                                                         'interactionType', 'choice',
                                                         'correctResponsesPattern', jsonb_build_array('b'))),
                    'result', jsonb_build_object('response', CASE WHEN i % 3 = 0 THEN 'a' ELSE 'b' END,
                                                 'success', i % 3 <> 0, 'duration', 'PT' || (i % 90) || 'S',
                                                 'score', jsonb_build_object('raw', (i % 3 <> 0)::int, 'max', 1)),
                    'context', jsonb_build_object('contextActivities', jsonb_build_object(
                        'parent', jsonb_build_array(jsonb_build_object('id', 'http://example.com/quiz/' || (i % 50))),
                        'grouping', jsonb_build_array(jsonb_build_object('id', 'http://example.com/course/' || (i % 10))))),
                    'timestamp', to_char(now() - (i % 86400) * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::text
           FROM generate_series($1::bigint, $2::bigint) AS i"#,
    )
    .bind(from)
    .bind(from + n - 1)
    .execute(&mut *tx)
    .await?;
    // The statements this transaction inserted are the newest ones.
    sqlx::query(
        "INSERT INTO statement_agents (store_id, seq, usage, ifi)
         SELECT s.store_id, s.seq, u.usage, u.ifi
         FROM (SELECT * FROM statements WHERE store_id = 1 ORDER BY seq DESC LIMIT $1) s,
              LATERAL (VALUES ('actor', 'mbox:' || (s.statement::json->'actor'->>'mbox')),
                              ('authority', 'mbox:mailto:lms@example.com')) AS u(usage, ifi)",
    )
    .bind(n)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO statement_activities (store_id, seq, usage, activity_iri)
         SELECT s.store_id, s.seq, u.usage, u.iri
         FROM (SELECT * FROM statements WHERE store_id = 1 ORDER BY seq DESC LIMIT $1) s,
              LATERAL (VALUES ('object', s.statement::json->'object'->>'id'),
                              ('parent', s.statement::json->'context'->'contextActivities'->'parent'->0->>'id'),
                              ('grouping', s.statement::json->'context'->'contextActivities'->'grouping'->0->>'id'))
              AS u(usage, iri)",
    )
    .bind(n)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // RUST_LOG=cairn::warehouse=debug prints the phases of each run on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    crate::summary::run_alone(run(Args::parse(std::env::args().skip(1)))).await
}

/// Seeds the store, times full loads and the lag under ingest, printing the detail; returns
/// the headline figures.
pub async fn run(args: Args) -> anyhow::Result<crate::summary::Summary> {
    let mut figures = crate::summary::Summary::default();
    let url = crate::db::fresh_database(&args.admin_url, DB).await?;
    let pool = store::connect(&url, 8).await?;
    store::migrate(&pool).await?;
    let t = Instant::now();
    let chunk = 100_000;
    let mut done = 0;
    while done < args.statements {
        let n = chunk.min(args.statements - done);
        seed(&pool, done, n).await?;
        done += n;
    }
    println!(
        "seeded {done} statements in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Each repeat loads the whole store into a new, empty warehouse.
    let (mut silver_rates, mut gold_secs, mut total_rates) = (Vec::new(), Vec::new(), Vec::new());
    let mut last: Option<(Warehouse, std::path::PathBuf)> = None;
    for repeat in 0..args.repeats {
        if let Some((previous, dir)) = last.take() {
            drop(previous);
            let _ = std::fs::remove_dir_all(dir);
        }
        let dir =
            std::env::temp_dir().join(format!("cairn-bench-etl-{}-{repeat}", std::process::id()));
        let w = Warehouse::open(&dir.join("warehouse.duckdb"))?;
        let t = Instant::now();
        let mut loaded = 0;
        while loaded < args.statements {
            loaded += w.run_once(&pool).await?.rows;
        }
        let etl = t.elapsed().as_secs_f64();
        let t = Instant::now();
        w.publish(&dir.join("warehouse-bi.duckdb")).await?;
        let gold = t.elapsed().as_secs_f64();
        println!(
            "run {}: bronze → silver: {loaded} statements in {etl:.2} s = {:.0} statements/s; \
             silver → gold (all gold tables materialised in the BI copy): {gold:.2} s; \
             bronze → gold: {:.0} statements/s",
            repeat + 1,
            loaded as f64 / etl,
            loaded as f64 / (etl + gold)
        );
        silver_rates.push(loaded as f64 / etl);
        gold_secs.push(gold);
        total_rates.push(loaded as f64 / (etl + gold));
        last = Some((w, dir));
    }
    let (warehouse, dir) = last.expect("at least one repeat");
    let n = args.repeats;
    figures.add(
        "etl",
        format!(
            "bronze → silver, {} statements, statements/s (median of {n})",
            args.statements
        ),
        format!("{:.0}", percentile(&mut silver_rates, 50.0)),
    );
    figures.add(
        "etl",
        format!("silver → gold, all gold tables materialised, s (median of {n})"),
        format!("{:.2}", percentile(&mut gold_secs, 50.0)),
    );
    let total = percentile(&mut total_rates, 50.0);
    figures.check(
        "etl",
        format!("bronze → gold, statements/s (median of {n})"),
        format!("{total:.0}"),
        "≥ 100000",
        total >= 100_000.0,
    );

    // Freshness under sustained ingest.
    let stop = Instant::now() + Duration::from_secs(args.seconds);
    let writer = {
        let pool = pool.clone();
        let per_tick = (args.rate / 10).max(1);
        let mut next = args.statements;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while Instant::now() < stop {
                tick.tick().await;
                seed(&pool, next, per_tick).await.expect("ingest");
                next += per_tick;
            }
        })
    };
    let warehouse = std::sync::Arc::new(warehouse);
    let etl_loop = cairn::warehouse::runner::spawn(
        warehouse.clone(),
        pool.clone(),
        Duration::from_secs(1),
        None,
    );
    let mut lags = Vec::new();
    while Instant::now() < stop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        lags.push(warehouse.status(&pool).await?.lag_seconds);
    }
    writer.await?;
    etl_loop.abort();
    let (median, p95) = (percentile(&mut lags, 50.0), percentile(&mut lags, 95.0));
    println!(
        "freshness at {} statements/s for {} s: lag median {median:.2} s, p95 {p95:.2} s, max {:.2} s",
        args.rate,
        args.seconds,
        lags.last().copied().unwrap_or(0.0)
    );
    figures.check(
        "etl",
        format!(
            "lag at {} statements/s for {} s, ETL every 1 s: median / p95 s",
            args.rate, args.seconds
        ),
        format!("{median:.2} / {p95:.2}"),
        "median < 5 s",
        median < 5.0,
    );
    drop(warehouse);
    let _ = std::fs::remove_dir_all(&dir);
    pool.close().await;
    crate::db::drop_database(&args.admin_url, DB).await?;
    Ok(figures)
}
