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
}

pub struct Page {
    pub statements: Vec<Value>,
    /// `seq` of the last statement when more follow.
    pub next_cursor: Option<i64>,
}

#[tracing::instrument(skip(pool))]
pub async fn query(
    pool: &PgPool,
    store_id: i64,
    q: &StatementQuery,
) -> Result<Page, StoreError> {
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT s.seq, s.statement FROM statements s WHERE s.store_id = ");
    sql.push_bind(store_id).push(" AND NOT s.voided");
    if let Some(verb) = &q.verb {
        sql.push(" AND s.verb_iri = ").push_bind(verb);
    }
    if let Some(r) = q.registration {
        sql.push(" AND s.registration = ").push_bind(r);
    }
    // Communication §2.1.3: since is exclusive, until inclusive, both on `stored`.
    if let Some(t) = q.since {
        sql.push(" AND s.stored > ").push_bind(t);
    }
    if let Some(t) = q.until {
        sql.push(" AND s.stored <= ").push_bind(t);
    }
    if let Some(c) = q.credential_id {
        sql.push(" AND s.credential_id = ").push_bind(c);
    }
    if let Some(ifi) = &q.agent_ifi {
        let usages = if q.related_agents {
            RELATED_AGENT_USAGES
        } else {
            AGENT_USAGES
        };
        sql.push(
            " AND EXISTS (SELECT 1 FROM statement_agents a
                          WHERE a.store_id = s.store_id AND a.seq = s.seq AND a.ifi = ",
        )
        .push_bind(ifi)
        .push(" AND a.usage = ANY(")
        .push_bind(usages)
        .push("))");
    }
    if let Some(iri) = &q.activity {
        let usages = if q.related_activities {
            RELATED_ACTIVITY_USAGES
        } else {
            ACTIVITY_USAGES
        };
        sql.push(
            " AND EXISTS (SELECT 1 FROM statement_activities x
                          WHERE x.store_id = s.store_id AND x.seq = s.seq AND x.activity_iri = ",
        )
        .push_bind(iri)
        .push(" AND x.usage = ANY(")
        .push_bind(usages)
        .push("))");
    }
    if let Some(cursor) = q.cursor {
        sql.push(if q.ascending {
            " AND s.seq > "
        } else {
            " AND s.seq < "
        })
        .push_bind(cursor);
    }
    sql.push(if q.ascending {
        " ORDER BY s.seq ASC"
    } else {
        " ORDER BY s.seq DESC"
    });
    sql.push(" LIMIT ").push_bind(q.limit + 1);

    let mut rows: Vec<(i64, Value)> = sql.build_query_as().fetch_all(pool).await?;
    let next_cursor = if rows.len() as i64 > q.limit {
        rows.truncate(q.limit as usize);
        rows.last().map(|(seq, _)| *seq)
    } else {
        None
    };
    Ok(Page {
        statements: rows.into_iter().map(|(_, s)| s).collect(),
        next_cursor,
    })
}
