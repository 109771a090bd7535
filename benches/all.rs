//! Every benchmark in one run, and their headline figures in one table beside the targets.
//!
//! `cargo bench --no-default-features --bench all -- [--statements 1000000] [--seconds 8]
//!  [--repeats 3] [--runs 21]`
//!
//! Runs, in this order and each as its own program would (see their docs):
//! - `ingest`: POST batches at several concurrencies against the release `cairn serve`, the
//!   COPY limit in the same run, PUT latency at 500/s, the server's peak memory
//!   (`--seconds`, `--repeats`);
//! - `queries`: statement query latency on a store of `--statements` (`--runs` per query);
//! - `reports`: report latency on the warehouse of that store (`--runs` per report);
//! - `etl`: bronze → gold throughput on `--statements` seeded by SQL and the lag at 2,000
//!   statements/s (`--repeats` full loads).
//!
//! Each prints its detail as it goes; the table comes last, with the machine it ran on.

// Each benchmark is also a program of its own and declares the support modules it uses, so
// here they are loaded once per benchmark.
#![allow(clippy::duplicate_mod)]

#[path = "support/db.rs"]
mod db;
#[allow(dead_code)]
mod etl;
#[allow(dead_code)]
mod ingest;
#[allow(dead_code)]
mod queries;
#[allow(dead_code)]
mod reports;
#[path = "support/summary.rs"]
mod summary;

use std::time::Instant;

struct Args {
    statements: String,
    seconds: String,
    repeats: String,
    runs: String,
}

fn args() -> Args {
    let mut a = Args {
        statements: "1000000".into(),
        seconds: "8".into(),
        repeats: "3".into(),
        runs: "21".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--statements" => a.statements = value(),
            "--seconds" => a.seconds = value(),
            "--repeats" => a.repeats = value(),
            "--runs" => a.runs = value(),
            "--bench" => {}
            other => panic!(
                "unknown argument {other}; use --statements N --seconds N --repeats N --runs N"
            ),
        }
    }
    a
}

fn flags(pairs: &[(&str, &str)]) -> impl Iterator<Item = String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [k.to_string(), v.to_string()])
        .collect::<Vec<_>>()
        .into_iter()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args();
    let machine = summary::machine();
    println!("machine: {machine}");
    let started = Instant::now();
    let mut figures = summary::Summary::default();

    println!("\n== ingest ==");
    figures.extend(
        ingest::run(ingest::Args::parse(flags(&[
            ("--seconds", &a.seconds),
            ("--repeats", &a.repeats),
        ])))
        .await?,
    );
    println!("\n== queries ==");
    figures.extend(
        queries::run(queries::Args::parse(flags(&[
            ("--statements", &a.statements),
            ("--runs", &a.runs),
        ])))
        .await?,
    );
    println!("\n== reports ==");
    figures.extend(
        reports::run(reports::Args::parse(flags(&[
            ("--statements", &a.statements),
            ("--runs", &a.runs),
        ])))
        .await?,
    );
    println!("\n== etl ==");
    figures.extend(
        etl::run(etl::Args::parse(flags(&[
            ("--statements", &a.statements),
            ("--repeats", &a.repeats),
        ])))
        .await?,
    );

    println!();
    println!(
        "Cairn benchmarks — machine: {machine}; PostgreSQL, Cairn and DuckDB on it; store size \
         {} statements; ingest {} s per \
         scenario, COPY of each batch-1000 run's statements; {} runs per query and report; \
         medians of {} repeats; \
         {:.0} minutes in all",
        a.statements,
        a.seconds,
        a.runs,
        a.repeats,
        started.elapsed().as_secs_f64() / 60.0
    );
    figures.print();
    Ok(())
}
