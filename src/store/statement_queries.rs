//! Statement queries (Communication §2.1.3 GET Statements): every filter is an index probe
//! (link tables or indexed columns) and pages are key ranges on `seq`, never OFFSET.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;

/// Where an agent filter looks: actor/object, or everywhere `related_agents` lists.
const AGENT_USAGES: &[&str] = &["actor", "object"];
const RELATED_AGENT_USAGES: &[&str] = &[
    "actor",
    "object",
    "authority",
    "instructor",
    "team",
    "context_agent",
    "context_group",
    "sub_actor",
    "sub_object",
    "sub_instructor",
    "sub_team",
    "sub_context_agent",
    "sub_context_group",
];
const ACTIVITY_USAGES: &[&str] = &["object"];
const RELATED_ACTIVITY_USAGES: &[&str] = &[
    "object",
    "parent",
    "grouping",
    "category",
    "other",
    "sub_object",
    "sub_parent",
    "sub_grouping",
    "sub_category",
    "sub_other",
];

/// A parsed statement query. `after_seq` continues a previous page (the `more` cursor).
#[derive(Debug, Clone, Default)]
pub struct StatementQuery {
    pub agent_ifi: Option<String>,
    pub verb: Option<String>,
    pub activity: Option<String>,
    pub registration: Option<Uuid>,
    pub related_activities: bool,
    pub related_agents: bool,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub ascending: bool,
    pub limit: i64,
    /// `statements/read/mine`: only statements stored with this credential.
    pub credential_id: Option<i64>,
    /// Exclusive bound on `seq` carried by `more` links.
    pub cursor: Option<i64>,
    /// Inclusive upper bound on `seq` for ascending pages: statements above it may still be
    /// joined by lower ones committing late (see `store::horizon`).
    pub horizon: Option<i64>,
}

pub struct Page {
    pub statements: Vec<Value>,
    /// `seq` of the last statement when more follow.
    pub next_cursor: Option<i64>,
}

impl StatementQuery {
    /// Whether any filter other than time, order and limit is set; only then do statements
    /// that refer to matching statements join the result (Communication §2.1.4).
    fn has_filters(&self) -> bool {
        self.agent_ifi.is_some()
            || self.verb.is_some()
            || self.activity.is_some()
            || self.registration.is_some()
    }
}

/// Runs a query: one page, newest first unless `ascending`.
///
/// Communication §2.1.4 ("Filter Conditions for StatementRefs"): a statement whose object is a
/// StatementRef also matches when the statement it refers to matches the filters — even a
/// voided one — while since/until/limit apply to the referring statement itself. The two
/// ways of matching are two index-served branches, each limited, then merged.
#[tracing::instrument(skip(pool))]
pub async fn query(pool: &PgPool, store_id: i64, q: &StatementQuery) -> Result<Page, StoreError> {
    let order = if q.ascending { "ASC" } else { "DESC" };
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT st.seq, st.statement FROM statements st JOIN (SELECT seq FROM (");
    // Branch 1: statements that match the filters themselves.
    sql.push("SELECT s.seq FROM statements s WHERE ");
    push_filters(&mut sql, Matching::Itself, store_id, q);
    push_page(&mut sql, store_id, q, order);
    if q.has_filters() {
        // Branch 2: statements whose StatementRef target matches the filters, through the
        // target's properties copied onto them (migration 20261121160000).
        sql.push(") b1 UNION SELECT seq FROM (SELECT s.seq FROM statements s WHERE ");
        push_filters(&mut sql, Matching::Target, store_id, q);
        push_page(&mut sql, store_id, q, order);
    }
    sql.push(") b2) m ON st.store_id = ")
        .push_bind(store_id)
        .push(format!(
            " AND st.seq = m.seq ORDER BY st.seq {order} LIMIT "
        ))
        .push_bind(q.limit + 1);

    let mut rows: Vec<(i64, String)> = sql.build_query_as().fetch_all(pool).await?;
    let next_cursor = if rows.len() as i64 > q.limit {
        rows.truncate(q.limit as usize);
        rows.last().map(|(seq, _)| *seq)
    } else {
        None
    };
    Ok(Page {
        statements: rows
            .iter()
            .map(|(_, s)| super::statements::parse_stored(s))
            .collect::<Result<_, _>>()?,
        next_cursor,
    })
}

/// Whether the filters apply to the statement itself or to its StatementRef target.
#[derive(Clone, Copy)]
enum Matching {
    Itself,
    Target,
}

impl Matching {
    fn column(self, own: &'static str, target: &'static str) -> &'static str {
        match self {
            Matching::Itself => own,
            Matching::Target => target,
        }
    }

    fn usages(self, usages: &[&str]) -> Vec<String> {
        let prefix = self.column("", "target_");
        usages.iter().map(|u| format!("{prefix}{u}")).collect()
    }
}

/// The filter conditions on the statement aliased `s`.
fn push_filters(
    sql: &mut QueryBuilder<'_, Postgres>,
    m: Matching,
    store_id: i64,
    q: &StatementQuery,
) {
    sql.push("s.store_id = ").push_bind(store_id);
    if let Some(verb) = &q.verb {
        sql.push(format!(" AND s.{} = ", m.column("verb_iri", "target_verb")))
            .push_bind(verb.clone());
    }
    if let Some(r) = q.registration {
        sql.push(format!(
            " AND s.{} = ",
            m.column("registration", "target_registration")
        ))
        .push_bind(r);
    }
    if let Some(ifi) = &q.agent_ifi {
        let usages = if q.related_agents {
            RELATED_AGENT_USAGES
        } else {
            AGENT_USAGES
        };
        push_link_filter(sql, m, "statement_agents", "ifi", ifi, usages);
    }
    if let Some(iri) = &q.activity {
        let usages = if q.related_activities {
            RELATED_ACTIVITY_USAGES
        } else {
            ACTIVITY_USAGES
        };
        push_link_filter(sql, m, "statement_activities", "activity_iri", iri, usages);
    }
}

/// `s` has a row in link `table` whose `column` is `value` with one of `usages`.
/// `table` and `column` are fixed identifiers from this module, never request input.
fn push_link_filter(
    sql: &mut QueryBuilder<'_, Postgres>,
    m: Matching,
    table: &str,
    column: &str,
    value: &str,
    usages: &[&str],
) {
    sql.push(format!(
        " AND EXISTS (SELECT 1 FROM {table} l
                      WHERE l.store_id = s.store_id AND l.seq = s.seq AND l.{column} = "
    ))
    .push_bind(value.to_string())
    .push(" AND l.usage = ANY(")
    .push_bind(m.usages(usages))
    .push(")");
    if let Matching::Target = m {
        // Lets the planner use the partial `*_target` indexes.
        sql.push(" AND l.usage LIKE 'target\\_%'");
    }
    sql.push(")");
}

/// The `seq` of the last statement stored at or before `t` (0 when there is none).
fn push_last_seq_stored_by(sql: &mut QueryBuilder<'_, Postgres>, store_id: i64, t: DateTime<Utc>) {
    sql.push("coalesce((SELECT b.seq FROM statements b WHERE b.store_id = ")
        .push_bind(store_id)
        .push(" AND b.stored <= ")
        .push_bind(t)
        .push(" ORDER BY b.stored DESC, b.seq DESC LIMIT 1), 0)");
}

/// Visibility, time range, cursor, order and limit of the returned statement aliased `s`.
fn push_page(sql: &mut QueryBuilder<'_, Postgres>, store_id: i64, q: &StatementQuery, order: &str) {
    sql.push(" AND s.store_id = ").push_bind(store_id);
    sql.push(" AND NOT s.voided");
    // Communication §2.1.3: since is exclusive, until inclusive, both on `stored`. As
    // `stored` increases with `seq` (store::write_order), each bound is also a `seq` bound:
    // the last statement stored at or before it, found in the (stored, seq) index. The `seq`
    // bounds let the page scans stop where the time range ends.
    if let Some(t) = q.since {
        sql.push(" AND s.stored > ").push_bind(t);
        sql.push(" AND s.seq > ");
        push_last_seq_stored_by(sql, store_id, t);
    }
    if let Some(t) = q.until {
        sql.push(" AND s.stored <= ").push_bind(t);
        sql.push(" AND s.seq <= ");
        push_last_seq_stored_by(sql, store_id, t);
    }
    if let Some(c) = q.credential_id {
        sql.push(" AND s.credential_id = ").push_bind(c);
    }
    if let Some(h) = q.horizon {
        sql.push(" AND s.seq <= ").push_bind(h);
    }
    if let Some(cursor) = q.cursor {
        sql.push(format!(
            " AND s.seq {} ",
            if q.ascending { ">" } else { "<" }
        ))
        .push_bind(cursor);
    }
    sql.push(format!(" ORDER BY s.seq {order} LIMIT "))
        .push_bind(q.limit + 1);
}
