//! What statements teach the LRS about Activities and Agents, pure: the Activity definitions
//! and Agent names a statement carries, the canonical definition merge (Communication §2.5) and
//! the Person object (Communication §2.4).

use serde_json::{json, Map, Value};

use super::ifi;

/// Every Activity with a `definition` in a statement, in order of appearance: the object,
/// contextActivities, and the same inside a SubStatement (Data §2.4.4.1, §2.4.6.2).
pub fn activities(statement: &Value) -> Vec<(&str, &Map<String, Value>)> {
    let mut out = Vec::new();
    collect_activities(statement, &mut out);
    if let Some(sub) = statement
        .get("object")
        .filter(|o| o.get("objectType").and_then(Value::as_str) == Some("SubStatement"))
    {
        collect_activities(sub, &mut out);
    }
    out
}

fn collect_activities<'a>(s: &'a Value, out: &mut Vec<(&'a str, &'a Map<String, Value>)>) {
    let mut push = |a: &'a Value| {
        let is_activity = a
            .get("objectType")
            .and_then(Value::as_str)
            .is_none_or(|t| t == "Activity");
        if let (true, Some(id), Some(Value::Object(def))) = (
            is_activity,
            a.get("id").and_then(Value::as_str),
            a.get("definition"),
        ) {
            out.push((id, def));
        }
    };
    if let Some(o) = s.get("object") {
        push(o);
    }
    if let Some(Value::Object(ca)) = s.get("context").and_then(|c| c.get("contextActivities")) {
        for list in ca.values() {
            match list {
                Value::Array(items) => items.iter().for_each(&mut push),
                single => push(single),
            }
        }
    }
}

/// Merges a newer definition into the canonical one (Communication §2.5 and the ADL
/// requirement XAPI-00254: the Activity returned holds all available information, e.g. both
/// language descriptions sent in two statements). Language maps (`name`, `description`) and
/// `extensions` are merged per key, newer winning; every other property is replaced.
pub fn merge_definition(canonical: &mut Map<String, Value>, newer: &Map<String, Value>) {
    for (k, v) in newer {
        match (k.as_str(), canonical.get_mut(k), v) {
            (
                "name" | "description" | "extensions",
                Some(Value::Object(old)),
                Value::Object(new),
            ) => {
                for (lang, text) in new {
                    old.insert(lang.clone(), text.clone());
                }
            }
            _ => {
                canonical.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The Activity object the Activities Resource returns: the id, and the canonical definition
/// when the LRS has one (Communication §2.5.s2.b1: an unknown Activity still gets an Activity).
pub fn activity_object(id: &str, definition: Option<Value>) -> Value {
    let mut o = json!({"objectType": "Activity", "id": id});
    if let Some(d) = definition.filter(|d| d.as_object().is_some_and(|m| !m.is_empty())) {
        o["definition"] = d;
    }
    o
}

/// Every (IFI key, name) pair of the named Agents and identified Groups in a statement:
/// actor, object, authority, instructor, team, 2.0 contextAgents/contextGroups, Group members,
/// and the same inside a SubStatement.
pub fn agent_names(statement: &Value) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    collect_agents(statement, &mut out);
    if let Some(sub) = statement
        .get("object")
        .filter(|o| o.get("objectType").and_then(Value::as_str) == Some("SubStatement"))
    {
        collect_agents(sub, &mut out);
    }
    out
}

fn collect_agents<'a>(s: &'a Value, out: &mut Vec<(String, &'a str)>) {
    // `get` chains, not `Value::pointer`, which unescapes every path segment it is given.
    let context = s.get("context");
    let mut candidates: Vec<&'a Value> = Vec::new();
    for p in ["actor", "object", "authority"] {
        candidates.extend(s.get(p));
    }
    for p in ["instructor", "team"] {
        candidates.extend(context.and_then(|c| c.get(p)));
    }
    for (list, inner) in [("contextAgents", "agent"), ("contextGroups", "group")] {
        if let Some(Value::Array(items)) = context.and_then(|c| c.get(list)) {
            candidates.extend(items.iter().filter_map(|i| i.get(inner)));
        }
    }
    for c in candidates {
        named(c, out);
        if let Some(Value::Array(members)) = c.get("member") {
            members.iter().for_each(|m| named(m, out));
        }
    }
}

fn named<'a>(agent: &'a Value, out: &mut Vec<(String, &'a str)>) {
    let t = agent.get("objectType").and_then(Value::as_str);
    if !matches!(t, None | Some("Agent") | Some("Group")) {
        return;
    }
    if let (Some(key), Some(name)) = (ifi::key(agent), agent.get("name").and_then(Value::as_str)) {
        out.push((key, name));
    }
}

/// The Person object for a queried Agent (Communication §2.4.s5): each property an array, only
/// the properties the LRS has values for (§2.4.s3.b3: at least what the request gave).
pub fn person(agent: &Value, known_names: &[String]) -> Value {
    let mut names: Vec<String> = Vec::new();
    if let Some(n) = agent.get("name").and_then(Value::as_str) {
        names.push(n.to_string());
    }
    for n in known_names {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let mut p = Map::new();
    p.insert("objectType".into(), json!("Person"));
    if !names.is_empty() {
        p.insert("name".into(), json!(names));
    }
    for prop in ifi::IFI_PROPERTIES {
        if let Some(v) = agent.get(prop) {
            let v = match (prop, v) {
                // §2.4.s5.table1.row6: complete account objects (homePage and name) only.
                ("account", Value::Object(a)) => json!({
                    "homePage": a.get("homePage").cloned().unwrap_or(Value::Null),
                    "name": a.get("name").cloned().unwrap_or(Value::Null),
                }),
                _ => v.clone(),
            };
            p.insert(prop.into(), json!([v]));
        }
    }
    Value::Object(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_defined_activities_everywhere() {
        let s = json!({
            "actor": {"mbox": "mailto:a@example.com", "name": "A"},
            "object": {"id": "http://x/1", "definition": {"name": {"en": "one"}}},
            "context": {"contextActivities": {
                "parent": [{"id": "http://x/2", "definition": {"type": "http://t"}}],
                "grouping": [{"id": "http://x/3"}]
            }}
        });
        let ids: Vec<&str> = activities(&s).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["http://x/1", "http://x/2"]);
        let sub = json!({"object": {"objectType": "SubStatement",
            "actor": {"mbox": "mailto:b@example.com"},
            "object": {"id": "http://x/4", "definition": {"type": "http://t"}}}});
        assert_eq!(activities(&sub)[0].0, "http://x/4");
    }

    #[test]
    fn merges_language_maps_per_language() {
        let mut canonical = json!({"name": {"en-US": "meeting"}, "type": "http://a"})
            .as_object()
            .unwrap()
            .clone();
        let newer = json!({"name": {"fr-FR": "réunion"}, "type": "http://b"});
        merge_definition(&mut canonical, newer.as_object().unwrap());
        assert_eq!(
            Value::Object(canonical),
            json!({"name": {"en-US": "meeting", "fr-FR": "réunion"}, "type": "http://b"})
        );
    }

    #[test]
    fn minimal_activity_for_unknown() {
        assert_eq!(
            activity_object("http://x", None),
            json!({"objectType": "Activity", "id": "http://x"})
        );
    }

    #[test]
    fn collects_named_agents() {
        let s = json!({
            "actor": {"objectType": "Group", "name": "G", "mbox": "mailto:g@example.com",
                      "member": [{"name": "M", "openid": "http://openid.example.com/m"}]},
            "object": {"id": "http://x"},
            "context": {"instructor": {"name": "I", "account": {"homePage": "http://h", "name": "i"}}}
        });
        let names = agent_names(&s);
        assert!(names.contains(&("mbox:mailto:g@example.com".into(), "G")));
        assert!(names.contains(&("openid:http://openid.example.com/m".into(), "M")));
        assert!(names.contains(&("account:http://h i".into(), "I")));
    }

    #[test]
    fn person_has_arrays() {
        let p = person(
            &json!({"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"}),
            &["Ann".into(), "Annie".into()],
        );
        assert_eq!(
            p,
            json!({"objectType": "Person", "name": ["Ann", "Annie"],
                   "mbox": ["mailto:ann@example.com"]})
        );
    }
}
