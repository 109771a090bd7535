//! The `format` parameter of statement GETs (Communication §2.1.3): `exact`, `ids`, `canonical`.

use serde_json::{Map, Value};

use super::ifi::IFI_PROPERTIES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Exact,
    Ids,
    Canonical,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "exact" => Some(Format::Exact),
            "ids" => Some(Format::Ids),
            "canonical" => Some(Format::Canonical),
            _ => None,
        }
    }
}

/// Rewrites a stored statement for the requested format. `languages` is the client's
/// `Accept-Language` preference, best first (used by `canonical`).
pub fn apply(statement: &mut Value, format: Format, languages: &[String]) {
    match format {
        Format::Exact => {}
        Format::Ids => ids_statement(statement),
        Format::Canonical => canonical(statement, languages),
    }
}

/// `ids`: only what identifies Agents, Groups, Activities and Verbs.
fn ids_statement(s: &mut Value) {
    let Some(o) = s.as_object_mut() else { return };
    for key in ["actor", "authority"] {
        if let Some(a) = o.get_mut(key) {
            ids_actor(a);
        }
    }
    if let Some(verb) = o.get_mut("verb") {
        if let Some(id) = verb.get("id").cloned() {
            *verb = Value::Object(Map::from_iter([("id".to_string(), id)]));
        }
    }
    if let Some(object) = o.get_mut("object") {
        match object.get("objectType").and_then(Value::as_str) {
            None | Some("Activity") => ids_activity(object),
            Some("Agent") | Some("Group") => ids_actor(object),
            Some("SubStatement") => ids_statement(object),
            _ => {}
        }
    }
    if let Some(Value::Object(context)) = o.get_mut("context") {
        for key in ["instructor", "team"] {
            if let Some(a) = context.get_mut(key) {
                ids_actor(a);
            }
        }
        if let Some(Value::Object(ca)) = context.get_mut("contextActivities") {
            for list in ca.values_mut() {
                if let Value::Array(items) = list {
                    items.iter_mut().for_each(ids_activity);
                }
            }
        }
        for (key, inner) in [("contextAgents", "agent"), ("contextGroups", "group")] {
            if let Some(Value::Array(items)) = context.get_mut(key) {
                for item in items {
                    if let Some(a) = item.get_mut(inner) {
                        ids_actor(a);
                    }
                }
            }
        }
    }
}

fn ids_activity(a: &mut Value) {
    if let Some(id) = a.get("id").cloned() {
        *a = Value::Object(Map::from_iter([("id".to_string(), id)]));
    }
}

/// An Agent or identified Group keeps its IFI; an anonymous Group keeps its members' IFIs.
fn ids_actor(a: &mut Value) {
    let Some(o) = a.as_object() else { return };
    let mut kept = Map::new();
    let kind = o.get("objectType").cloned().unwrap_or(Value::from("Agent"));
    kept.insert("objectType".into(), kind);
    let mut identified = false;
    for key in IFI_PROPERTIES {
        if let Some(v) = o.get(key) {
            kept.insert(key.into(), v.clone());
            identified = true;
        }
    }
    if !identified {
        if let Some(Value::Array(members)) = o.get("member") {
            let mut members = members.clone();
            members.iter_mut().for_each(ids_actor);
            kept.insert("member".into(), Value::Array(members));
        }
    }
    *a = Value::Object(kept);
}

/// `canonical`: language maps reduced to the single best language for the client
/// (Communication §2.1.3 "language filtering").
fn canonical(v: &mut Value, languages: &[String]) {
    let Value::Object(o) = v else {
        if let Value::Array(items) = v {
            items.iter_mut().for_each(|i| canonical(i, languages));
        }
        return;
    };
    for (key, value) in o.iter_mut() {
        let is_language_map = matches!(key.as_str(), "display" | "name" | "description")
            && value
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
        if is_language_map {
            filter_language_map(value, languages);
        } else if key != "extensions" {
            canonical(value, languages);
        }
    }
}

fn filter_language_map(map: &mut Value, languages: &[String]) {
    let Some(m) = map.as_object() else { return };
    if m.len() <= 1 {
        return;
    }
    let lower = |s: &str| s.to_ascii_lowercase();
    let chosen = languages
        .iter()
        .find_map(|want| {
            let want = lower(want);
            m.keys()
                .find(|k| lower(k) == want)
                .or_else(|| {
                    m.keys()
                        .find(|k| lower(k).split('-').next() == want.split('-').next())
                })
                .cloned()
        })
        .or_else(|| m.keys().next().cloned());
    if let Some(key) = chosen {
        let value = m[&key].clone();
        *map = Value::Object(Map::from_iter([(key, value)]));
    }
}

/// Parses `Accept-Language` (RFC 7231 §5.3.5) into tags ordered by quality.
pub fn accept_language(header: Option<&str>) -> Vec<String> {
    let Some(header) = header else {
        return Vec::new();
    };
    let mut tags: Vec<(String, f32)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim();
            if tag.is_empty() || tag == "*" {
                return None;
            }
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                .unwrap_or(1.0);
            Some((tag.to_string(), q))
        })
        .collect();
    tags.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    tags.into_iter().map(|(t, _)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
            "verb": {"id": "http://x.org/v", "display": {"en-US": "did", "fr-FR": "a fait"}},
            "object": {"id": "http://x.org/a", "definition": {"name": {"en-US": "A", "fr-FR": "Un"}}},
            "context": {"team": {"objectType": "Group", "name": "T",
                                  "member": [{"name": "M", "mbox": "mailto:m@x.org"}]}}
        })
    }

    #[test]
    fn ids_keeps_only_identifiers() {
        let mut s = sample();
        apply(&mut s, Format::Ids, &[]);
        assert_eq!(
            s["actor"],
            json!({"objectType": "Agent", "mbox": "mailto:ann@example.com"})
        );
        assert_eq!(s["verb"], json!({"id": "http://x.org/v"}));
        assert_eq!(s["object"], json!({"id": "http://x.org/a"}));
        assert_eq!(
            s["context"]["team"],
            json!({"objectType": "Group", "member": [{"objectType": "Agent", "mbox": "mailto:m@x.org"}]})
        );
    }

    #[test]
    fn canonical_filters_languages() {
        let mut s = sample();
        apply(
            &mut s,
            Format::Canonical,
            &accept_language(Some("fr;q=0.9, de")),
        );
        assert_eq!(s["verb"]["display"], json!({"fr-FR": "a fait"}));
        assert_eq!(s["object"]["definition"]["name"], json!({"fr-FR": "Un"}));
        assert_eq!(s["actor"]["name"], "Ann");
    }
}
