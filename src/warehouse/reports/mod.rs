//! Reports for instructional designers and BI tools, read from the gold layer.
//!
//! Each report is one SQL query over the filtered statements ([`Filters`]), run on a reader
//! connection inside one DuckDB transaction together with the read of `etl_state`, so the
//! rows and the freshness they are reported with come from the same committed warehouse
//! state (DuckDB's MVCC: a run in progress on the writer connection is not seen).

pub mod catalog;
pub mod filters;

use std::collections::HashMap;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use catalog::{EngagementGroup, FunnelGroup, Interval, Report};
pub use filters::{FilterError, Filters};

use super::{Warehouse, WarehouseError};

/// Every report: its name in URLs and the parameters of its own (besides the common ones).
pub const REPORTS: &[(&str, &[&str])] = &[
    ("completion-funnel", &["group"]),
    ("item-analysis", &[]),
    ("item-distractors", &[]),
    ("engagement", &["interval", "group"]),
    ("learner-progress", &[]),
    (
        "at-risk",
        &["as_of", "inactive_days", "min_score", "abandoned_sessions"],
    ),
    ("video-engagement", &[]),
    ("video-dropoff", &["buckets"]),
    ("top-verbs", &["top"]),
    ("top-activities", &["top"]),
];

/// The parameters every report takes.
const COMMON: &[&str] = &[
    "since", "until", "course", "activity", "learner", "source", "format", "limit", "offset",
];

fn report_names() -> String {
    REPORTS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a report request could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("no report `{0}`; reports: {list}", list = report_names())]
    UnknownReport(String),
    #[error(transparent)]
    Param(#[from] FilterError),
}

/// A report request: which report, its filters and the page asked for.
#[derive(Debug)]
pub struct ReportRequest {
    pub report: Report,
    pub filters: Filters,
    pub offset: usize,
    pub limit: usize,
}

/// Rows per page unless `limit` says otherwise, and the most a page may hold.
pub const DEFAULT_LIMIT: usize = 1000;
pub const MAX_LIMIT: usize = 100_000;

/// A result table: Arrow batches with one schema.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Table {
    /// Runs `sql` and collects its whole result.
    pub fn query(
        c: &duckdb::Connection,
        sql: &str,
        params: impl duckdb::Params,
    ) -> duckdb::Result<Table> {
        let mut stmt = c.prepare(sql)?;
        let arrow = stmt.query_arrow(params)?;
        Ok(Table {
            schema: arrow.get_schema(),
            batches: arrow.collect(),
        })
    }

    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Rows `offset..offset + limit`.
    pub fn page(&self, offset: usize, limit: usize) -> Result<Table, WarehouseError> {
        let all = arrow::compute::concat_batches(&self.schema, &self.batches)
            .map_err(|e| anyhow::anyhow!("arrow: {e}"))?;
        let start = offset.min(all.num_rows());
        let len = limit.min(all.num_rows() - start);
        Ok(Table {
            schema: self.schema.clone(),
            batches: vec![all.slice(start, len)],
        })
    }
}

/// How fresh the warehouse state a result was read from is.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    /// When the ETL run that produced this state committed (`None`: never ran).
    pub as_of: Option<DateTime<Utc>>,
    /// Completed ETL runs.
    pub runs: i64,
    /// Every PostgreSQL transaction below this id is loaded.
    pub xid_bound: i64,
}

/// A report page, the number of rows in the whole report and the state it was read from.
#[derive(Debug, Clone)]
pub struct ReportResult {
    pub table: Table,
    pub total: usize,
    pub freshness: Freshness,
}

/// Runs `read` inside one read transaction, with the freshness of the committed state it
/// sees: whatever it reads comes from that one state, whatever a run does meanwhile.
pub fn in_snapshot<T, E: From<WarehouseError>>(
    c: &duckdb::Connection,
    read: impl FnOnce(Freshness) -> Result<T, E>,
) -> Result<T, E> {
    c.execute_batch("BEGIN TRANSACTION")
        .map_err(WarehouseError::from)?;
    let result = freshness(c).map_err(E::from).and_then(read);
    let _ = c.execute_batch("ROLLBACK");
    result
}

/// Reads `etl_state` on a connection (inside the caller's transaction).
fn freshness(c: &duckdb::Connection) -> Result<Freshness, WarehouseError> {
    Ok(c.query_row(
        "SELECT last_run_at, runs, xid_bound FROM etl_state",
        [],
        |r| {
            let at: Option<chrono::NaiveDateTime> = r.get(0)?;
            Ok(Freshness {
                as_of: at.map(|t| t.and_utc()),
                runs: r.get(1)?,
                xid_bound: r.get(2)?,
            })
        },
    )?)
}

impl Warehouse {
    /// Runs a report and returns rows `offset..offset + limit` of it.
    pub async fn report(
        &self,
        report: Report,
        filters: Filters,
        offset: usize,
        limit: usize,
    ) -> Result<ReportResult, WarehouseError> {
        self.with_reader(move |c| {
            in_snapshot(c, |freshness| {
                let (base, params) = filters.base_cte();
                let sql = format!("WITH {base},\n{}", report.body());
                let table = Table::query(c, &sql, duckdb::params_from_iter(params))?;
                Ok(ReportResult {
                    total: table.rows(),
                    table: table.page(offset, limit)?,
                    freshness,
                })
            })
        })
        .await
    }
}

/// Parses a report's name and query parameters (all but `format`, which is the HTTP
/// layer's) into the request. Unknown parameters are errors.
pub fn parse(
    name: &str,
    params: &HashMap<String, String>,
    today: chrono::NaiveDate,
) -> Result<ReportRequest, ParseError> {
    let Some((_, own)) = REPORTS.iter().find(|(n, _)| *n == name) else {
        return Err(ParseError::UnknownReport(name.to_string()));
    };
    if let Some(unknown) = params
        .keys()
        .find(|k| !COMMON.contains(&k.as_str()) && !own.contains(&k.as_str()))
    {
        let mut known: Vec<&str> = COMMON.to_vec();
        known.extend_from_slice(own);
        return Err(FilterError::new(
            unknown,
            format!(
                "unknown parameter for the {name} report; known: {}",
                known.join(", ")
            ),
        )
        .into());
    }
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let number = |k: &str, default: f64, min: f64, max: f64| -> Result<f64, FilterError> {
        match get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= min && *n <= max)
                .ok_or_else(|| {
                    FilterError::new(k, format!("`{v}` is not a number in {min}..={max}"))
                }),
        }
    };
    let whole = |k: &str, default: u32, min: u32, max: u32| -> Result<u32, FilterError> {
        match get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    FilterError::new(k, format!("`{v}` is not a whole number in {min}..={max}"))
                }),
        }
    };
    let choice = |k: &str, options: &[&'static str], default: &'static str| {
        let v = get(k).unwrap_or(default);
        options.iter().copied().find(|o| *o == v).ok_or_else(|| {
            FilterError::new(k, format!("`{v}` is not one of {}", options.join(", ")))
        })
    };
    let filters = Filters {
        since: get("since")
            .map(|v| filters::parse_instant("since", v))
            .transpose()?,
        until: get("until")
            .map(|v| filters::parse_instant("until", v))
            .transpose()?,
        course: get("course").map(str::to_string),
        activity: get("activity").map(str::to_string),
        learner: get("learner").map(filters::parse_learner).transpose()?,
        source: get("source").map(str::to_string),
    };
    if let (Some(s), Some(u)) = (filters.since, filters.until) {
        if s >= u {
            return Err(FilterError::new("until", "must be after `since`").into());
        }
    }
    let report = match name {
        "completion-funnel" => Report::CompletionFunnel {
            group: match choice("group", &["course", "au"], "course")? {
                "au" => FunnelGroup::Au,
                _ => FunnelGroup::Course,
            },
        },
        "item-analysis" => Report::ItemAnalysis,
        "item-distractors" => Report::ItemDistractors,
        "engagement" => Report::Engagement {
            interval: match choice("interval", &["day", "week", "month"], "day")? {
                "week" => Interval::Week,
                "month" => Interval::Month,
                _ => Interval::Day,
            },
            group: match choice("group", &["none", "course", "source"], "none")? {
                "course" => EngagementGroup::Course,
                "source" => EngagementGroup::Source,
                _ => EngagementGroup::None,
            },
        },
        "learner-progress" => Report::LearnerProgress,
        "at-risk" => Report::AtRisk {
            as_of: match get("as_of") {
                None => today,
                Some(v) => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                    FilterError::new("as_of", format!("`{v}` is not a date (YYYY-MM-DD)"))
                })?,
            },
            inactive_days: whole("inactive_days", 7, 1, 3650)?,
            min_score: number("min_score", 0.5, -1.0, 1.0)?,
            abandoned_sessions: whole("abandoned_sessions", 1, 1, 1000)?,
        },
        "video-engagement" => Report::VideoEngagement,
        "video-dropoff" => Report::VideoDropoff {
            buckets: whole("buckets", 10, 1, 1000)?,
        },
        "top-verbs" => Report::TopVerbs {
            top: whole("top", 10, 1, 10_000)?,
        },
        "top-activities" => Report::TopActivities {
            top: whole("top", 10, 1, 10_000)?,
        },
        other => unreachable!("{other} is listed in REPORTS without a parser"),
    };
    Ok(ReportRequest {
        report,
        filters,
        offset: whole("offset", 0, 0, u32::MAX)? as usize,
        limit: whole("limit", DEFAULT_LIMIT as u32, 1, MAX_LIMIT as u32)? as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_reports_and_rejects_bad_parameters() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let r = parse("engagement", &params(&[("interval", "week")]), today)
            .unwrap()
            .report;
        assert_eq!(
            r,
            Report::Engagement {
                interval: Interval::Week,
                group: EngagementGroup::None
            }
        );
        assert!(matches!(
            parse("nope", &params(&[]), today),
            Err(ParseError::UnknownReport(_))
        ));
        let page = parse(
            "top-verbs",
            &params(&[("limit", "5"), ("offset", "10")]),
            today,
        )
        .unwrap();
        assert_eq!((page.offset, page.limit), (10, 5));
        let bad = [
            ("top-verbs", vec![("limit", "0")]),
            ("top-verbs", vec![("offset", "-3")]),
            ("engagement", vec![("interval", "year")]),
            ("engagement", vec![("buckets", "3")]),
            ("at-risk", vec![("min_score", "2")]),
            ("at-risk", vec![("inactive_days", "-1")]),
            ("top-verbs", vec![("top", "0")]),
            (
                "learner-progress",
                vec![("since", "2026-03-02"), ("until", "2026-03-01")],
            ),
        ];
        for (name, p) in bad {
            let e = parse(name, &params(&p), today).unwrap_err();
            assert!(matches!(e, ParseError::Param(_)), "{name} {p:?}: {e}");
        }
    }
}
