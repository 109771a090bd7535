//! The headline figures of a benchmark run as one table, each beside its target where the
//! benchmark issue sets one. Every benchmark prints its own detail and then its part of the
//! table; `benches/all.rs` runs them all and prints the whole table once.
//!
//! Benchmarks refer to this module as `crate::summary`, so that inside `all.rs` they all add
//! to the one type declared there.

use std::time::Instant;

pub struct Figure {
    pub area: &'static str,
    pub measure: String,
    pub value: String,
    /// The target and whether this figure meets it.
    pub target: Option<(String, bool)>,
}

#[derive(Default)]
pub struct Summary {
    pub figures: Vec<Figure>,
}

impl Summary {
    /// A figure without a target.
    pub fn add(
        &mut self,
        area: &'static str,
        measure: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.figures.push(Figure {
            area,
            measure: measure.into(),
            value: value.into(),
            target: None,
        });
    }

    /// A figure and its target (`met` says whether the figure meets it).
    pub fn check(
        &mut self,
        area: &'static str,
        measure: impl Into<String>,
        value: impl Into<String>,
        target: impl Into<String>,
        met: bool,
    ) {
        self.figures.push(Figure {
            area,
            measure: measure.into(),
            value: value.into(),
            target: Some((target.into(), met)),
        });
    }

    pub fn extend(&mut self, other: Summary) {
        self.figures.extend(other.figures);
    }

    pub fn print(&self) {
        let width = |f: fn(&Figure) -> usize, min: usize| {
            self.figures.iter().map(f).max().unwrap_or(0).max(min)
        };
        let m = width(|f| f.measure.chars().count(), 7);
        let v = width(|f| f.value.chars().count(), 6);
        let t = width(
            |f| f.target.as_ref().map_or(0, |(t, _)| t.chars().count()),
            6,
        );
        println!(
            "{:<8} {:<m$}  {:>v$}  {:<t$}  met",
            "area", "measure", "figure", "target"
        );
        for f in &self.figures {
            let (target, met) = match &f.target {
                Some((t, met)) => (t.as_str(), if *met { "yes" } else { "NO" }),
                None => ("", ""),
            };
            println!(
                "{:<8} {:<m$}  {:>v$}  {:<t$}  {met}",
                f.area, f.measure, f.value, target
            );
        }
    }
}

/// A benchmark program's `main`: the machine, then the benchmark (which prints its detail),
/// then its part of the table.
pub async fn run_alone(
    bench: impl std::future::Future<Output = anyhow::Result<Summary>>,
) -> anyhow::Result<()> {
    println!("machine: {}", machine());
    let figures = bench.await?;
    println!();
    figures.print();
    Ok(())
}

/// The machine the figures come from: cores, memory, and a single-core speed to compare runs
/// on different machines by.
pub fn machine() -> String {
    let memory_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(String::new(), |kb| format!(", {:.0} GiB", kb / 1_048_576.0));
    format!(
        "{} cores{memory_gb}; single-core speed: JSON parsed and written at {:.0} MB/s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        json_speed()
    )
}

/// MB/s of statement-like JSON parsed into `serde_json::Value` and written back, best of five
/// passes over about 8 MB: the kind of work Cairn's request path does, on one core, and
/// (unlike a hash, which some CPUs run in dedicated instructions) comparable across CPUs.
fn json_speed() -> f64 {
    let statements: Vec<String> = (0..6_000)
        .map(|i| {
            format!(
                r#"{{"id":"6d7c{i:04x}-8e9f-4a0b-9c1d-2e3f4a5b6c7d","actor":{{"objectType":"Agent","name":"Learner {i}","mbox":"mailto:learner{i}@example.com"}},"verb":{{"id":"http://adlnet.gov/expapi/verbs/answered","display":{{"en-US":"answered"}}}},"object":{{"objectType":"Activity","id":"https://example.com/course/{}/quiz/q{i}","definition":{{"type":"http://adlnet.gov/expapi/activities/cmi.interaction","interactionType":"choice","correctResponsesPattern":["b"],"choices":[{{"id":"a","description":{{"en-US":"First"}}}},{{"id":"b","description":{{"en-US":"Second"}}}}]}}}},"result":{{"response":"b","success":true,"duration":"PT{}S","score":{{"scaled":0.{}}}}},"context":{{"registration":"0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e","contextActivities":{{"grouping":[{{"id":"https://example.com/course/{}"}}]}},"extensions":{{"https://example.com/ext/attempt":{}}}}},"timestamp":"2026-11-27T10:{:02}:00Z"}}"#,
                i % 40,
                i % 90,
                i % 10,
                i % 40,
                i % 3,
                i % 60
            )
        })
        .collect();
    let text = format!("[{}]", statements.join(","));
    (0..5)
        .map(|_| {
            let started = Instant::now();
            let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            let written = serde_json::to_string(std::hint::black_box(&value)).expect("JSON");
            std::hint::black_box(written);
            text.len() as f64 / 1e6 / started.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// The `p`th percentile (0–100) of `values`, which it sorts; NaN when empty.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p / 100.0).round() as usize]
}
