//! Statement rules a JSON Schema cannot express (xAPI 1.0.3 Data §2 and §4; xAPI 2.0 where it
//! differs). `schema::check` has already ensured types, required and allowed properties, so
//! this walk reads values with that shape in mind and reports the first broken rule.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::primitives::{is_duration, is_iri, is_language_tag, parse_timestamp};
use super::{ifi, schema, Violation, XapiVersion, VOIDED_VERB};

/// Validates one statement as received from a client.
pub fn statement(s: &Value, version: XapiVersion) -> Result<(), Violation> {
    schema::check(s)?;
    let w = Walk { version };
    let o = s.as_object().expect("schema checked: object");
    let at = Path::root();
    if let Some(v) = o.get("version").and_then(Value::as_str) {
        // Data §2.4.10.s3: accept 1.0.x, reject any other version (2.0 also accepts 2.0.x).
        if !version.accepts_statement_version(v) {
            return Err(at.key("version").violation(
                "version",
                format!("statement version `{v}` is not accepted under xAPI {version}"),
            ));
        }
    }
    if let Some(t) = o.get("stored").and_then(Value::as_str) {
        w.timestamp(t, &at.key("stored"))?;
    }
    if let Some(authority) = o.get("authority") {
        w.actor(authority, &at.key("authority"))?;
        // Data §2.4.9.s3.b1: an Agent, or (3-legged OAuth) an anonymous Group of exactly
        // two Agents.
        if is_group(authority) {
            let o = authority.as_object().expect("schema checked: object");
            let members = o.get("member").and_then(Value::as_array);
            if !ifi::present(o).is_empty() || members.map_or(0, Vec::len) != 2 {
                return Err(at.key("authority").violation(
                    "authority-group",
                    "an authority Group must be anonymous with exactly two member Agents".into(),
                ));
            }
        }
    }
    w.statement_body(o, &at)
}

/// Validates the `agent` parameter of a query as an Agent or Group (Data §2.2.s4.b4: parameters
/// meet the standard of the same type in statements), by the same rules as a statement's actor.
pub fn agent_parameter(agent: &Value, version: XapiVersion) -> Result<(), Violation> {
    let probe = serde_json::json!({
        "actor": agent,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "http://adlnet.gov/expapi/activities/probe"}
    });
    statement(&probe, version).map_err(|mut v| {
        v.path = v.path.replacen("$.actor", "agent", 1);
        v
    })
}

fn is_group(v: &Value) -> bool {
    v.get("objectType").and_then(Value::as_str) == Some("Group")
}

/// Where the walk is (`$.context.instructor`): a chain of borrowed segments, rendered as text
/// only for a violation. Built with `format!` at every step it cost about 40 % of the walk
/// (callgrind, batches of 1,000 statements).
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn root() -> Self {
        Path::Root
    }
    fn key<'b>(&'b self, k: &'b str) -> Path<'b> {
        Path::Key(self, k)
    }
    fn index(&self, i: usize) -> Path<'_> {
        Path::Index(self, i)
    }
    fn render(&self, out: &mut String) {
        match self {
            Path::Root => out.push('$'),
            Path::Key(parent, k) => {
                parent.render(out);
                out.push('.');
                out.push_str(k);
            }
            Path::Index(parent, i) => {
                parent.render(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
    fn violation(&self, rule: &str, message: String) -> Violation {
        let mut path = String::new();
        self.render(&mut path);
        Violation {
            path,
            rule: rule.into(),
            message,
        }
    }
}

struct Walk {
    version: XapiVersion,
}

type Rule = Result<(), Violation>;

impl Walk {
    /// The parts a Statement and a SubStatement share.
    fn statement_body(&self, o: &Map<String, Value>, at: &Path) -> Rule {
        self.actor(&o["actor"], &at.key("actor"))?;
        let verb = &o["verb"];
        self.verb(verb, &at.key("verb"))?;
        let object = &o["object"];
        self.object(object, &at.key("object"))?;
        // Data §2.3.2.s2.b1: the object of a voiding statement is a StatementRef.
        if verb["id"].as_str() == Some(VOIDED_VERB)
            && object.get("objectType").and_then(Value::as_str) != Some("StatementRef")
        {
            return Err(at.key("object").violation(
                "voiding-object",
                "a statement with the verb `voided` must have a StatementRef object".into(),
            ));
        }
        if let Some(r) = o.get("result") {
            self.result(r, &at.key("result"))?;
        }
        if let Some(c) = o.get("context") {
            self.context(c, object, &at.key("context"))?;
        }
        if let Some(t) = o.get("timestamp").and_then(Value::as_str) {
            self.timestamp(t, &at.key("timestamp"))?;
        }
        if let Some(list) = o.get("attachments").and_then(Value::as_array) {
            for (i, a) in list.iter().enumerate() {
                self.attachment(a, &at.key("attachments").index(i))?;
            }
        }
        Ok(())
    }

    fn iri(&self, v: &Value, at: &Path) -> Rule {
        match v.as_str() {
            Some(s) if is_iri(s) => Ok(()),
            _ => Err(at.violation(
                "iri",
                format!("{v} is not an absolute IRI with a scheme (RFC 3987)"),
            )),
        }
    }

    fn language_map(&self, v: &Value, at: &Path) -> Rule {
        for key in v.as_object().into_iter().flat_map(Map::keys) {
            if !is_language_tag(key) {
                return Err(at.key(key).violation(
                    "language-tag",
                    format!("`{key}` is not an RFC 5646 language tag"),
                ));
            }
        }
        Ok(())
    }

    fn extensions(&self, v: &Value, at: &Path) -> Rule {
        for key in v.as_object().into_iter().flat_map(Map::keys) {
            if !is_iri(key) {
                return Err(at.key(key).violation(
                    "extension-key",
                    format!("extension key `{key}` is not an IRI"),
                ));
            }
        }
        Ok(())
    }

    fn timestamp(&self, t: &str, at: &Path) -> Rule {
        match parse_timestamp(t) {
            Some(_) => Ok(()),
            None => Err(at.violation(
                "timestamp",
                format!("`{t}` is not an ISO 8601 timestamp (Data §4.5)"),
            )),
        }
    }

    /// Agent or identified Group: the IFI rules of Data §2.4.2.
    fn ifi(&self, o: &Map<String, Value>, at: &Path, required: bool) -> Rule {
        let present = ifi::present(o);
        if present.len() > 1 {
            return Err(at.violation(
                "ifi",
                format!(
                    "exactly one inverse functional identifier is allowed, found {}",
                    present.join(", ")
                ),
            ));
        }
        if required && present.is_empty() {
            return Err(at.violation(
                "ifi",
                "an Agent needs exactly one of mbox, mbox_sha1sum, openid, account".into(),
            ));
        }
        if let Some(openid) = o.get("openid") {
            self.iri(openid, &at.key("openid"))?;
        }
        if let Some(home) = o.get("account").and_then(|a| a.get("homePage")) {
            self.iri(home, &at.key("account").key("homePage"))?;
        }
        Ok(())
    }

    fn agent(&self, v: &Value, at: &Path) -> Rule {
        self.ifi(v.as_object().expect("schema checked: object"), at, true)
    }

    fn group(&self, v: &Value, at: &Path) -> Rule {
        let o = v.as_object().expect("schema checked: object");
        self.ifi(o, at, false)?;
        let members = o.get("member").and_then(Value::as_array);
        // Data §2.4.2.2.s4: an anonymous Group MUST list its members.
        if ifi::present(o).is_empty() && members.is_none_or(|m| m.is_empty()) {
            return Err(at.violation(
                "anonymous-group",
                "an anonymous Group (no identifier) must list at least one member".into(),
            ));
        }
        for (i, m) in members.into_iter().flatten().enumerate() {
            self.agent(m, &at.key("member").index(i))?;
        }
        Ok(())
    }

    fn actor(&self, v: &Value, at: &Path) -> Rule {
        if is_group(v) {
            self.group(v, at)
        } else {
            self.agent(v, at)
        }
    }

    fn verb(&self, v: &Value, at: &Path) -> Rule {
        self.iri(&v["id"], &at.key("id"))?;
        if let Some(d) = v.get("display") {
            self.language_map(d, &at.key("display"))?;
        }
        Ok(())
    }

    fn object(&self, v: &Value, at: &Path) -> Rule {
        match v.get("objectType").and_then(Value::as_str) {
            None | Some("Activity") => self.activity(v, at),
            Some("Agent") => self.agent(v, at),
            Some("Group") => self.group(v, at),
            Some("SubStatement") => {
                self.statement_body(v.as_object().expect("schema checked: object"), at)
            }
            _ => Ok(()), // StatementRef: fully described by the schema.
        }
    }

    fn activity(&self, v: &Value, at: &Path) -> Rule {
        self.iri(&v["id"], &at.key("id"))?;
        let Some(d) = v.get("definition") else {
            return Ok(());
        };
        let at = at.key("definition");
        for key in ["name", "description"] {
            if let Some(m) = d.get(key) {
                self.language_map(m, &at.key(key))?;
            }
        }
        for key in ["type", "moreInfo"] {
            if let Some(i) = d.get(key) {
                self.iri(i, &at.key(key))?;
            }
        }
        if let Some(e) = d.get("extensions") {
            self.extensions(e, &at.key("extensions"))?;
        }
        self.interaction(d, &at)
    }

    /// Data §2.4.4.1 "Interaction Activities": which component lists each interaction type may
    /// carry, and distinct component ids within a list (§2.4.4.1.s16).
    fn interaction(&self, d: &Value, at: &Path) -> Rule {
        const LISTS: [&str; 5] = ["choices", "scale", "source", "target", "steps"];
        let kind = d.get("interactionType").and_then(Value::as_str);
        let allowed: &[&str] = match kind {
            Some("choice") | Some("sequencing") => &["choices"],
            Some("likert") => &["scale"],
            Some("matching") => &["source", "target"],
            Some("performance") => &["steps"],
            _ => &[],
        };
        if kind.is_none() && d.get("correctResponsesPattern").is_some() {
            return Err(at.key("correctResponsesPattern").violation(
                "interaction-type",
                "correctResponsesPattern requires an interactionType".into(),
            ));
        }
        for list in LISTS {
            let Some(components) = d.get(list).and_then(Value::as_array) else {
                continue;
            };
            let at = at.key(list);
            if !allowed.contains(&list) {
                return Err(at.violation(
                    "interaction-components",
                    format!(
                        "`{list}` is not allowed for interactionType {}",
                        kind.map_or("(none)".to_string(), |k| format!("`{k}`"))
                    ),
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for (i, c) in components.iter().enumerate() {
                let id = c["id"].as_str().unwrap_or_default();
                if !seen.insert(id) {
                    return Err(at.index(i).key("id").violation(
                        "interaction-component-id",
                        format!("component id `{id}` appears twice in `{list}`"),
                    ));
                }
                if let Some(desc) = c.get("description") {
                    self.language_map(desc, &at.index(i).key("description"))?;
                }
            }
        }
        Ok(())
    }

    /// Data §2.4.5.1: scaled in [-1, 1] (schema), min ≤ raw ≤ max, min < max.
    fn result(&self, r: &Value, at: &Path) -> Rule {
        if let Some(score) = r.get("score") {
            let at = at.key("score");
            let num = |k: &str| score.get(k).and_then(Value::as_f64);
            let (raw, min, max) = (num("raw"), num("min"), num("max"));
            if let (Some(min), Some(max)) = (min, max) {
                if min >= max {
                    return Err(at.key("max").violation(
                        "score-range",
                        format!("max ({max}) must be greater than min ({min})"),
                    ));
                }
            }
            if let (Some(raw), Some(min)) = (raw, min) {
                if raw < min {
                    return Err(at
                        .key("raw")
                        .violation("score-range", format!("raw ({raw}) is below min ({min})")));
                }
            }
            if let (Some(raw), Some(max)) = (raw, max) {
                if raw > max {
                    return Err(at
                        .key("raw")
                        .violation("score-range", format!("raw ({raw}) is above max ({max})")));
                }
            }
        }
        if let Some(d) = r.get("duration").and_then(Value::as_str) {
            if !is_duration(d) {
                return Err(at.key("duration").violation(
                    "duration",
                    format!("`{d}` is not an ISO 8601 duration (Data §4.6)"),
                ));
            }
        }
        if let Some(e) = r.get("extensions") {
            self.extensions(e, &at.key("extensions"))?;
        }
        Ok(())
    }

    fn context(&self, c: &Value, object: &Value, at: &Path) -> Rule {
        // Data §2.4.6.s4.b1/b2: revision and platform only when the object is an Activity.
        let object_is_activity = matches!(
            object.get("objectType").and_then(Value::as_str),
            None | Some("Activity")
        );
        for key in ["revision", "platform"] {
            if c.get(key).is_some() && !object_is_activity {
                return Err(at.key(key).violation(
                    "context-activity-only",
                    format!("context.{key} may only be used when the object is an Activity"),
                ));
            }
        }
        if let Some(i) = c.get("instructor") {
            self.actor(i, &at.key("instructor"))?;
        }
        if let Some(t) = c.get("team") {
            self.group(t, &at.key("team"))?;
        }
        if let Some(lang) = c.get("language").and_then(Value::as_str) {
            if !is_language_tag(lang) {
                return Err(at.key("language").violation(
                    "language-tag",
                    format!("`{lang}` is not an RFC 5646 language tag"),
                ));
            }
        }
        if let Some(ca) = c.get("contextActivities").and_then(Value::as_object) {
            for (kind, value) in ca {
                let activities = at.key("contextActivities");
                let at = activities.key(kind);
                match value {
                    Value::Array(list) => {
                        for (i, a) in list.iter().enumerate() {
                            self.activity(a, &at.index(i))?;
                        }
                    }
                    single => self.activity(single, &at)?,
                }
            }
        }
        for (key, inner) in [("contextAgents", "agent"), ("contextGroups", "group")] {
            let Some(list) = c.get(key).and_then(Value::as_array) else {
                continue;
            };
            // contextAgents/contextGroups are xAPI 2.0 additions, not properties of 1.0.3.
            if self.version == XapiVersion::V1_0_3 {
                return Err(at.key(key).violation(
                    "version",
                    format!("context.{key} is defined by xAPI 2.0, not by 1.0.3"),
                ));
            }
            for (i, item) in list.iter().enumerate() {
                let list_at = at.key(key);
                let at = list_at.index(i);
                if inner == "agent" {
                    self.agent(&item[inner], &at.key(inner))?;
                } else {
                    self.group(&item[inner], &at.key(inner))?;
                }
                for (j, t) in item
                    .get("relevantTypes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    self.iri(t, &at.key("relevantTypes").index(j))?;
                }
            }
        }
        if let Some(e) = c.get("extensions") {
            self.extensions(e, &at.key("extensions"))?;
        }
        Ok(())
    }

    fn attachment(&self, a: &Value, at: &Path) -> Rule {
        self.iri(&a["usageType"], &at.key("usageType"))?;
        self.language_map(&a["display"], &at.key("display"))?;
        if let Some(d) = a.get("description") {
            self.language_map(d, &at.key("description"))?;
        }
        if let Some(u) = a.get("fileUrl") {
            self.iri(u, &at.key("fileUrl"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The path of a violation is rendered from the walk's chain of keys and indexes.
    #[test]
    fn a_violation_names_the_path_of_the_broken_value() {
        let s = json!({
            "actor": {"mbox": "mailto:a@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": "http://example.com/a"},
            "context": {"contextActivities": {"parent": [
                {"id": "http://example.com/p"},
                {"id": "http://example.com/q", "definition": {"name": {"not a tag!": "x"}}}
            ]}}
        });
        let v = statement(&s, XapiVersion::V1_0_3).unwrap_err();
        assert_eq!(
            v.path,
            "$.context.contextActivities.parent[1].definition.name.not a tag!"
        );
        assert_eq!(v.rule, "language-tag");
    }
}
