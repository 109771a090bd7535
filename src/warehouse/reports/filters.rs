//! The filters every report takes, turned into the `base` CTE: the gold `stmt` rows (neither
//! voided nor voiding) that the report aggregates.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::xapi::ifi;

/// Common report filters. Each is optional; together they narrow the statements a report
/// reads.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Filters {
    /// Statements with `timestamp` at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Statements with `timestamp` before this instant.
    pub until: Option<DateTime<Utc>>,
    /// The course IRI (`dim_course.course_iri`).
    pub course: Option<String>,
    /// An activity IRI: the statement's object or any of its context activities.
    pub activity: Option<String>,
    /// The learner's IFI key as the warehouse writes it (`mbox:mailto:…`, `account:HOME NAME`,
    /// …), or an xAPI Agent object as JSON.
    pub learner: Option<String>,
    /// A source: its `source_key` or its `context.platform`.
    pub source: Option<String>,
}

/// A bad filter value, named.
#[derive(Debug, thiserror::Error)]
#[error("invalid `{name}`: {message}")]
pub struct FilterError {
    pub name: String,
    pub message: String,
}

impl FilterError {
    pub fn new(name: &str, message: impl Into<String>) -> Self {
        FilterError {
            name: name.to_string(),
            message: message.into(),
        }
    }
}

/// A date (`2026-03-01`, midnight UTC) or an RFC 3339 timestamp.
pub fn parse_instant(name: &str, value: &str) -> Result<DateTime<Utc>, FilterError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
        .map_err(|_| {
            FilterError::new(
                name,
                format!("`{value}` is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp"),
            )
        })
}

/// The learner filter as the warehouse's IFI key.
pub fn parse_learner(value: &str) -> Result<String, FilterError> {
    let trimmed = value.trim();
    if trimmed.starts_with('{') {
        let agent: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|e| FilterError::new("learner", format!("not JSON: {e}")))?;
        return ifi::key(&agent).ok_or_else(|| {
            FilterError::new(
                "learner",
                "the Agent has no inverse functional identifier (mbox, mbox_sha1sum, openid or account)",
            )
        });
    }
    match trimmed.split_once(':') {
        Some(("mbox" | "mbox_sha1sum", _)) => Ok(trimmed.to_lowercase()),
        Some(("openid" | "account", _)) => Ok(trimmed.to_string()),
        Some(("mailto", _)) => Ok(format!("mbox:{}", trimmed.to_lowercase())),
        _ => Err(FilterError::new(
            "learner",
            "expected an IFI key (mbox:mailto:…, mbox_sha1sum:…, openid:…, account:HOMEPAGE NAME) \
             or an Agent object as JSON",
        )),
    }
}

/// The columns reports read from gold's `stmt` (silver's statements that are neither voided
/// nor voiding, with gold's keys), and the hashes they group by. An explicit list: DuckDB
/// prunes what a report does not use. `actor_hash`, `object_hash` and `course_hash` are
/// 64-bit hashes of the actor's IFI, the object id and the course IRI: grouping and counting
/// distinct integers is about twice as fast as strings (a collision among the 10^5 keys of a
/// large store has odds of about 10^-9); the strings shown come from `any_value` of the group.
const BASE_COLUMNS: &str =
    "seq, \"timestamp\", hash(coalesce(actor_ifi, 'anonymous')) AS actor_hash, \
     hash(object_id) AS object_hash, hash(course_iri) AS course_hash, \
     actor_ifi, actor_name, verb_iri, verb_display, object_type, object_id, object_name, \
     object_activity_type, interaction_type, registration, cmi5_session_id, video_session_id, \
     result_success, result_completion, score_scaled, duration_seconds, response, progress, \
     video_length, video_played_segments, video_watched_seconds, platform, authority_name, \
     source_key, course_iri, parent_iris";

impl Filters {
    /// `base AS (…)`: the filtered statements, and the values bound to its placeholders, in
    /// order. Only the filters given appear, so DuckDB can push them down.
    pub fn base_cte(&self) -> (String, Vec<duckdb::types::Value>) {
        use duckdb::types::Value as V;
        let mut clauses = Vec::new();
        let mut params = Vec::new();
        let ts =
            |t: &DateTime<Utc>| V::Text(t.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string());
        if let Some(t) = &self.since {
            clauses.push(r#""timestamp" >= CAST(? AS TIMESTAMP)"#.to_string());
            params.push(ts(t));
        }
        if let Some(t) = &self.until {
            clauses.push(r#""timestamp" < CAST(? AS TIMESTAMP)"#.to_string());
            params.push(ts(t));
        }
        if let Some(c) = &self.course {
            clauses.push("course_iri = ?".to_string());
            params.push(V::Text(c.clone()));
        }
        if let Some(a) = &self.activity {
            clauses.push(
                "(object_id = ? OR seq IN (SELECT seq FROM silver_statement_activity \
                 WHERE activity_iri = ?))"
                    .to_string(),
            );
            params.push(V::Text(a.clone()));
            params.push(V::Text(a.clone()));
        }
        if let Some(l) = &self.learner {
            clauses.push("actor_ifi = ?".to_string());
            params.push(V::Text(l.clone()));
        }
        if let Some(s) = &self.source {
            clauses.push("(source_key = ? OR platform = ?)".to_string());
            params.push(V::Text(s.clone()));
            params.push(V::Text(s.clone()));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let verb_code = super::catalog::verb_code_sql();
        (
            format!(
                "base AS (SELECT {BASE_COLUMNS}, {verb_code} AS verb_code \
                 FROM stmt{filter})"
            ),
            params,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_learners() {
        assert_eq!(
            parse_instant("since", "2026-03-01").unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert!(parse_instant("since", "2026-03-01T10:00:00+02:00").is_ok());
        assert!(parse_instant("since", "yesterday").is_err());
        assert_eq!(
            parse_learner("mailto:Ann@Example.com").unwrap(),
            "mbox:mailto:ann@example.com"
        );
        assert_eq!(
            parse_learner(r#"{"account":{"homePage":"http://x.org","name":"n"}}"#).unwrap(),
            "account:http://x.org n"
        );
        assert!(parse_learner("ann").is_err());
    }

    #[test]
    fn only_given_filters_are_bound() {
        let (sql, params) = Filters::default().base_cte();
        assert!(sql.ends_with("AS verb_code FROM stmt)"), "{sql}");
        assert!(sql.contains("WHEN 'http://adlnet.gov/expapi/verbs/launched' THEN 1"));
        assert!(params.is_empty());
        let f = Filters {
            course: Some("http://c".into()),
            source: Some("lms".into()),
            ..Filters::default()
        };
        let (sql, params) = f.base_cte();
        assert!(sql.contains("course_iri = ?") && sql.contains("platform = ?"));
        assert_eq!(params.len(), 3);
    }
}
