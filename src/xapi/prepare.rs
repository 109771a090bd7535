//! From a validated client statement to what is stored: normalised form, the LRS-assigned
//! properties (each citing its rule) and the rows for the statement↔agent/activity link tables.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::primitives::{format_timestamp, parse_timestamp, parse_uuid};
use super::{ifi, XapiVersion, VOIDED_VERB};

/// Facts about the request that the LRS-assigned properties come from.
pub struct Assigned<'a> {
    pub stored: DateTime<Utc>,
    pub authority: &'a Value,
    pub version: XapiVersion,
}

/// A statement ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub id: Uuid,
    /// The statement as it will be returned (`format=exact`).
    pub statement: Value,
    /// `statement` as JSON text, the form PostgreSQL stores. Written here, so that a large
    /// batch writes it on the blocking thread that prepares it, not on the async executor.
    pub text: String,
    pub stored: DateTime<Utc>,
    pub timestamp: DateTime<Utc>,
    pub verb: String,
    pub registration: Option<Uuid>,
    /// The statement this one's object refers to, when the object is a StatementRef.
    pub statement_ref: Option<Uuid>,
    /// The statement this one voids, when it is a voiding statement.
    pub voiding_target: Option<Uuid>,
    pub agents: Vec<Link>,
    pub activities: Vec<Link>,
    /// Whether the client gave a timestamp (otherwise it was assigned and is not compared).
    pub client_timestamp: bool,
}

/// Normalises a validated statement and fills in the LRS-assigned properties.
pub fn prepare(mut statement: Value, assigned: &Assigned<'_>) -> Prepared {
    let o = statement
        .as_object_mut()
        .expect("validated statement is an object");
    normalise_context_activities(o);
    if let Some(Value::Object(sub)) = o.get_mut("object") {
        if sub.get("objectType").and_then(Value::as_str) == Some("SubStatement") {
            normalise_context_activities(sub);
        }
    }

    // Data §2.4.1: the LRS assigns an id when the statement has none.
    let id = match o.get("id").and_then(Value::as_str).and_then(parse_uuid) {
        Some(id) => id,
        None => Uuid::new_v4(),
    };
    o.insert("id".into(), Value::String(id.to_string()));
    // Data §2.4.8.s3.b2: stored is set by the LRS, overwriting any value provided.
    o.insert(
        "stored".into(),
        Value::String(format_timestamp(assigned.stored)),
    );
    // Data §2.4.7.s3.b2: timestamp defaults to stored.
    let client_timestamp = o.contains_key("timestamp");
    let timestamp = o
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(parse_timestamp)
        .unwrap_or(assigned.stored);
    // Data §4.5.s1.b6 (2.0: a requirement): timestamps are returned in UTC.
    let shown = if client_timestamp {
        timestamp.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    } else {
        format_timestamp(timestamp)
    };
    o.insert("timestamp".into(), Value::String(shown));
    // Data §2.4.9.s3.b4: the LRS overwrites the authority with the credential's Agent.
    o.insert("authority".into(), assigned.authority.clone());
    // Data §2.4.10.s3.b3: statements keep the version they came with, else 1.0.0 (2.0: 2.0.0).
    if !o.contains_key("version") {
        o.insert(
            "version".into(),
            Value::String(assigned.version.default_statement_version().into()),
        );
    }

    let verb = o["verb"]["id"].as_str().unwrap_or_default().to_string();
    let registration = o
        .get("context")
        .and_then(|c| c.get("registration"))
        .and_then(Value::as_str)
        .and_then(parse_uuid);
    let statement_ref = (o["object"].get("objectType").and_then(Value::as_str)
        == Some("StatementRef"))
    .then(|| o["object"]["id"].as_str().and_then(parse_uuid))
    .flatten();
    let voiding_target = statement_ref.filter(|_| verb == VOIDED_VERB);

    let (agents, activities) = links(o);

    // Not `Value`'s `Display`, which writes every token through a `fmt::Formatter` and cost
    // twice as much as `serde_json::to_string`, whose text `json_text` writes faster (callgrind).
    let text = super::json_text::to_text(&statement);
    Prepared {
        id,
        text,
        stored: assigned.stored,
        timestamp,
        verb,
        registration,
        statement_ref,
        voiding_target,
        agents,
        activities,
        client_timestamp,
        statement,
    }
}

/// Data §2.4.6.2.s4.b3: contextActivities values are returned as arrays, even when a single
/// Activity arrived.
fn normalise_context_activities(o: &mut Map<String, Value>) {
    let Some(Value::Object(ca)) = o
        .get_mut("context")
        .and_then(|c| c.get_mut("contextActivities"))
    else {
        return;
    };
    for value in ca.values_mut() {
        if value.is_object() {
            *value = Value::Array(vec![value.take()]);
        }
    }
}

/// An agent or activity link: (usage, IFI key or activity IRI), one row of
/// `statement_agents` or `statement_activities`.
pub type Link = (&'static str, String);

/// The agents and the activities that a prepared statement names, each with where it
/// appears: the rows `statement_agents` and `statement_activities` hold for it. A stored
/// statement gives the same links as when it was prepared.
pub fn links(o: &Map<String, Value>) -> (Vec<Link>, Vec<Link>) {
    let mut links = Links::default();
    links.statement(o, "");
    if let Some(a) = o.get("authority").and_then(ifi::key) {
        links.agents.push(("authority", a));
    }
    (links.agents, links.activities)
}

#[derive(Default)]
struct Links {
    agents: Vec<Link>,
    activities: Vec<Link>,
}

/// Usage names for the top level and inside a SubStatement (`sub_` prefix).
fn usage(prefix: &str, name: &'static str) -> &'static str {
    if prefix.is_empty() {
        return name;
    }
    match name {
        "actor" => "sub_actor",
        "object" => "sub_object",
        "instructor" => "sub_instructor",
        "team" => "sub_team",
        "member" => "sub_member",
        "context_agent" => "sub_context_agent",
        "context_group" => "sub_context_group",
        "parent" => "sub_parent",
        "grouping" => "sub_grouping",
        "category" => "sub_category",
        "other" => "sub_other",
        other => other,
    }
}

impl Links {
    fn statement(&mut self, o: &Map<String, Value>, prefix: &str) {
        self.actor(&o["actor"], usage(prefix, "actor"), prefix);
        let object = &o["object"];
        match object.get("objectType").and_then(Value::as_str) {
            None | Some("Activity") => {
                if let Some(id) = object["id"].as_str() {
                    self.activities
                        .push((usage(prefix, "object"), id.to_string()));
                }
            }
            Some("Agent") | Some("Group") => self.actor(object, usage(prefix, "object"), prefix),
            Some("SubStatement") if prefix.is_empty() => {
                if let Some(sub) = object.as_object() {
                    self.statement(sub, "sub_");
                }
            }
            _ => {}
        }
        let Some(context) = o.get("context") else {
            return;
        };
        if let Some(i) = context.get("instructor") {
            self.actor(i, usage(prefix, "instructor"), prefix);
        }
        if let Some(t) = context.get("team") {
            self.actor(t, usage(prefix, "team"), prefix);
        }
        for ca in context
            .get("contextActivities")
            .and_then(Value::as_object)
            .into_iter()
        {
            for (kind, name) in [
                ("parent", "parent"),
                ("grouping", "grouping"),
                ("category", "category"),
                ("other", "other"),
            ] {
                for a in ca.get(kind).and_then(Value::as_array).into_iter().flatten() {
                    if let Some(id) = a["id"].as_str() {
                        self.activities.push((usage(prefix, name), id.to_string()));
                    }
                }
            }
        }
        for ca in context
            .get("contextAgents")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.actor(&ca["agent"], usage(prefix, "context_agent"), prefix);
        }
        for cg in context
            .get("contextGroups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.actor(&cg["group"], usage(prefix, "context_group"), prefix);
        }
    }

    /// An Agent or Group: its own IFI (if identified) and its members' IFIs.
    fn actor(&mut self, v: &Value, as_usage: &'static str, prefix: &str) {
        if let Some(key) = ifi::key(v) {
            self.agents.push((as_usage, key));
        }
        for m in v
            .get("member")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = ifi::key(m) {
                self.agents.push((usage(prefix, "member"), key));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assigned(authority: &Value) -> Assigned<'_> {
        Assigned {
            stored: parse_timestamp("2026-01-02T03:04:05.678Z").unwrap(),
            authority,
            version: XapiVersion::V1_0_3,
        }
    }

    #[test]
    fn assigns_lrs_properties() {
        let authority =
            json!({"objectType": "Agent", "account": {"homePage": "http://lrs", "name": "k"}});
        let p = prepare(
            json!({
                "actor": {"mbox": "mailto:a@example.com"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
                "object": {"id": "http://example.com/a"},
                "authority": {"mbox": "mailto:forged@example.com"},
                "context": {"contextActivities": {"parent": {"id": "http://example.com/course"}}}
            }),
            &assigned(&authority),
        );
        let s = &p.statement;
        assert_eq!(s["id"], p.id.to_string());
        assert_eq!(s["stored"], "2026-01-02T03:04:05.678Z");
        assert_eq!(s["timestamp"], "2026-01-02T03:04:05.678Z");
        assert_eq!(s["authority"], authority);
        assert_eq!(s["version"], "1.0.0");
        assert!(s["context"]["contextActivities"]["parent"].is_array());
        assert!(!p.client_timestamp);
        assert!(p
            .activities
            .contains(&("parent", "http://example.com/course".into())));
        assert!(p
            .agents
            .contains(&("actor", "mbox:mailto:a@example.com".into())));
        assert!(p
            .agents
            .contains(&("authority", "account:http://lrs k".into())));
    }

    #[test]
    fn voiding_target_and_substatement_links() {
        let authority = json!({"mbox": "mailto:lrs@example.com"});
        let target = "e05aa883-acaf-40ad-bf54-02c8ce485fb0";
        let p = prepare(
            json!({
                "actor": {"mbox": "mailto:a@example.com"},
                "verb": {"id": VOIDED_VERB},
                "object": {"objectType": "StatementRef", "id": target}
            }),
            &assigned(&authority),
        );
        assert_eq!(p.voiding_target.unwrap().to_string(), target);

        let p = prepare(
            json!({
                "actor": {"objectType": "Group", "member": [{"mbox": "mailto:m@example.com"}]},
                "verb": {"id": "http://example.com/planned"},
                "object": {"objectType": "SubStatement",
                    "actor": {"mbox": "mailto:s@example.com"},
                    "verb": {"id": "http://example.com/v"},
                    "object": {"id": "http://example.com/sub"}}
            }),
            &assigned(&authority),
        );
        assert!(p
            .agents
            .contains(&("member", "mbox:mailto:m@example.com".into())));
        assert!(p
            .agents
            .contains(&("sub_actor", "mbox:mailto:s@example.com".into())));
        assert!(p
            .activities
            .contains(&("sub_object", "http://example.com/sub".into())));
        assert_eq!(p.voiding_target, None);
    }
}
