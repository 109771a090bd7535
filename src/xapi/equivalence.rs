//! Statement comparison (xAPI 1.0.3 Data §2.3.1 "Statement Comparison Requirements"):
//! differences that the immutability exceptions allow are ignored, all others count.

use serde_json::{Map, Value};

use super::primitives::parse_timestamp;

/// Whether `incoming` (as prepared from a new request) and `stored` are the same statement.
/// `compare_timestamp` is false when the incoming timestamp was assigned by the LRS.
pub fn equivalent(incoming: &Value, stored: &Value, compare_timestamp: bool) -> bool {
    comparable(incoming, compare_timestamp) == comparable(stored, compare_timestamp)
}

/// The statement with every exception of Data §2.3.1 removed or normalised.
fn comparable(statement: &Value, compare_timestamp: bool) -> Value {
    let mut s = statement.clone();
    let Some(o) = s.as_object_mut() else {
        return s;
    };
    // §2.3.1.b1: properties the LRS may assign.
    for key in ["id", "authority", "stored", "version"] {
        o.remove(key);
    }
    // §2.3.1.b6: attachments content is not part of the statement; their metadata is kept.
    if !compare_timestamp {
        o.remove("timestamp");
    }
    normalise_statement(o);
    normalise_numbers(&mut s);
    s
}

fn normalise_statement(o: &mut Map<String, Value>) {
    // §2.3.1.b4: timestamps are compared as instants, not as text.
    if let Some(Value::String(t)) = o.get("timestamp") {
        if let Some(instant) = parse_timestamp(t) {
            o.insert("timestamp".into(), Value::from(instant.timestamp_micros()));
        }
    }
    if let Some(actor) = o.get_mut("actor") {
        normalise_actor(actor);
    }
    // xAPI 2.0 §4.2.7: durations compare to 0.01 s; finer digits are not part of the value.
    if let Some(Value::String(d)) = o.get_mut("result").and_then(|r| r.get_mut("duration")) {
        *d = truncate_seconds(d);
    }
    // §2.3.1.b3: a verb's display is not part of the statement.
    if let Some(Value::Object(verb)) = o.get_mut("verb") {
        verb.remove("display");
    }
    if let Some(object) = o.get_mut("object") {
        let kind = object
            .get("objectType")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match (kind.as_deref(), object) {
            (None | Some("Activity"), Value::Object(activity)) => normalise_activity(activity),
            (Some("Agent") | Some("Group"), agent) => normalise_actor(agent),
            (Some("SubStatement"), Value::Object(sub)) => normalise_statement(sub),
            _ => {}
        }
    }
    if let Some(Value::Object(context)) = o.get_mut("context") {
        for key in ["instructor", "team"] {
            if let Some(a) = context.get_mut(key) {
                normalise_actor(a);
            }
        }
        if let Some(Value::Object(ca)) = context.get_mut("contextActivities") {
            for list in ca.values_mut() {
                if let Value::Array(items) = list {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        normalise_activity(item);
                    }
                }
            }
        }
    }
}

/// `PT1.2379S` → `PT1.23S`, `PT5S` → `PT5.00S`: the seconds to hundredths, truncated.
fn truncate_seconds(duration: &str) -> String {
    let Some(body) = duration.strip_suffix('S') else {
        return duration.to_string();
    };
    let start = body
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(0, |i| i + 1);
    let (prefix, seconds) = body.split_at(start);
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let hundredths: String = fraction.chars().chain("00".chars()).take(2).collect();
    format!("{prefix}{whole}.{hundredths}S")
}

/// §2.3.1.b2: an Activity's definition is not part of the statement.
fn normalise_activity(activity: &mut Map<String, Value>) {
    activity.remove("definition");
    activity.remove("objectType");
}

/// §2.3.1.b7 (mbox is case-insensitive) and §2.3.1.b5 (Group members are unordered).
fn normalise_actor(actor: &mut Value) {
    let Some(o) = actor.as_object_mut() else {
        return;
    };
    if o.get("objectType").and_then(Value::as_str) == Some("Agent") {
        o.remove("objectType");
    }
    for key in ["mbox", "mbox_sha1sum"] {
        if let Some(Value::String(m)) = o.get_mut(key) {
            *m = m.to_lowercase();
        }
    }
    if let Some(Value::Array(members)) = o.get_mut("member") {
        for m in members.iter_mut() {
            normalise_actor(m);
        }
        members.sort_by_key(|m| m.to_string());
    }
}

/// JSON numbers compare by value: `1`, `1.0` and `1e0` are the same number.
fn normalise_numbers(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                *v = Value::from(f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_numbers),
        Value::Object(map) => map.values_mut().for_each(normalise_numbers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
            "actor": {"objectType": "Agent", "mbox": "mailto:Ann@Example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en-US": "attempted"}},
            "object": {"id": "http://example.com/a", "definition": {"name": {"en": "A"}}},
            "result": {"score": {"raw": 1}},
            "timestamp": "2013-05-18T05:32:34.804+02:00",
            "stored": "2013-05-18T03:32:35.000Z",
            "version": "1.0.0"
        })
    }

    #[test]
    fn ignores_the_exceptions() {
        let other = json!({
            "actor": {"mbox": "mailto:ann@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"objectType": "Activity", "id": "http://example.com/a"},
            "result": {"score": {"raw": 1.0}},
            "timestamp": "2013-05-18T03:32:34.804Z",
            "authority": {"mbox": "mailto:other@example.com"}
        });
        assert!(equivalent(&other, &base(), true));
    }

    #[test]
    fn real_differences_count() {
        let mut changed_verb = base();
        changed_verb["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/passed");
        assert!(!equivalent(&changed_verb, &base(), true));
        let mut changed_time = base();
        changed_time["timestamp"] = json!("2014-05-18T05:32:34.804Z");
        assert!(!equivalent(&changed_time, &base(), true));
        assert!(equivalent(&changed_time, &base(), false));
        let mut changed_duration = base();
        changed_duration["result"]["duration"] = json!("PT1H");
        assert!(!equivalent(&changed_duration, &base(), true));
    }

    #[test]
    fn durations_compare_to_hundredths() {
        assert_eq!(truncate_seconds("P1DT12H36M0.1237S"), "P1DT12H36M0.12S");
        assert_eq!(truncate_seconds("PT5S"), "PT5.00S");
        assert_eq!(truncate_seconds("PT1.5S"), "PT1.50S");
        assert_eq!(truncate_seconds("P1D"), "P1D");
        let mut a = base();
        a["result"]["duration"] = json!("P1DT12H36M0.1237S");
        let mut b = base();
        b["result"]["duration"] = json!("P1DT12H36M0.12S");
        assert!(equivalent(&a, &b, true));
        b["result"]["duration"] = json!("P1DT12H36M0.13S");
        assert!(!equivalent(&a, &b, true));
    }

    #[test]
    fn group_members_are_unordered() {
        let a = json!({"actor": {"objectType": "Group", "member": [
            {"mbox": "mailto:a@x.org"}, {"mbox": "mailto:b@x.org"}]},
            "verb": {"id": "http://x.org/v"}, "object": {"id": "http://x.org/o"}});
        let b = json!({"actor": {"objectType": "Group", "member": [
            {"mbox": "mailto:b@x.org"}, {"mbox": "mailto:a@x.org"}]},
            "verb": {"id": "http://x.org/v"}, "object": {"id": "http://x.org/o"}});
        assert!(equivalent(&a, &b, true));
    }
}
