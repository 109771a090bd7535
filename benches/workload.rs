//! The seeded workload generator on its own: writes realistic LMS traffic as JSON lines, or
//! sends it to any LRS with Basic auth.
//!
//! `cargo bench --no-default-features --bench workload -- --statements N [--seed S] --out FILE`
//! `cargo bench --no-default-features --bench workload -- --statements N --endpoint URL --key K --secret S [--batch 1000]`
//!
//! The same seed and size always give the same statements (ids included), up to 10,000,000
//! or more: learners in cmi5 courses (sessions launched, initialized, progressed, completed,
//! passed or failed, terminated, some abandoned), quizzes with interaction activities and
//! responses, videos (xAPI Video Profile), attended live classes, context activities and
//! extensions, and about 0.5 % voids.

#[path = "support/workload.rs"]
mod workload;

use std::io::Write;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let (mut statements, mut seed, mut batch) = (100_000usize, 42u64, 1000usize);
    let (mut out, mut endpoint, mut key, mut secret) = (None, None, String::new(), String::new());
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--statements" => statements = value().parse()?,
            "--seed" => seed = value().parse()?,
            "--batch" => batch = value().parse::<usize>()?.max(1),
            "--out" => out = Some(value()),
            "--endpoint" => endpoint = Some(value()),
            "--key" => key = value(),
            "--secret" => secret = value(),
            "--bench" => {}
            other => anyhow::bail!(
                "unknown argument {other}; use --statements N [--seed S] (--out FILE | \
                 --endpoint URL --key K --secret S [--batch N])"
            ),
        }
    }
    let work = workload::Workload::for_statements(statements, seed);
    let started = Instant::now();
    match (out, endpoint) {
        (Some(path), None) => {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
            for s in work.statements(statements) {
                serde_json::to_writer(&mut w, &s)?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
            println!(
                "wrote {statements} statements to {path} in {:.1} s (seed {seed})",
                started.elapsed().as_secs_f64()
            );
        }
        (None, Some(url)) => {
            let client = reqwest::blocking::Client::new();
            let url = format!("{}/statements", url.trim_end_matches('/'));
            let mut sent = 0usize;
            let mut chunk = Vec::with_capacity(batch);
            let mut send = |chunk: &mut Vec<serde_json::Value>| -> anyhow::Result<()> {
                let r = client
                    .post(&url)
                    .basic_auth(&key, Some(&secret))
                    .header("X-Experience-API-Version", "1.0.3")
                    .json(&chunk)
                    .send()?;
                anyhow::ensure!(r.status().is_success(), "{}: {}", r.status(), r.text()?);
                sent += chunk.len();
                chunk.clear();
                Ok(())
            };
            for s in work.statements(statements) {
                chunk.push(s);
                if chunk.len() == batch {
                    send(&mut chunk)?;
                }
            }
            if !chunk.is_empty() {
                send(&mut chunk)?;
            }
            println!(
                "sent {sent} statements to {url} in {:.1} s ({:.0}/s, batches of {batch})",
                started.elapsed().as_secs_f64(),
                sent as f64 / started.elapsed().as_secs_f64()
            );
        }
        _ => anyhow::bail!("give exactly one of --out FILE and --endpoint URL"),
    }
    Ok(())
}
