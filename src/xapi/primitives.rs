//! Value formats shared by statements and request parameters (xAPI 1.0.3 Data §4;
//! Data §2.2.s4.b4: parameters are validated to the same standards).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use regex::Regex;

/// An absolute IRI with a scheme (RFC 3987; Data §2.2.s4.b1.b8 rejects IRIs without a scheme).
pub fn is_iri(s: &str) -> bool {
    thread_local!(static ACCEPTED: Accepted = Accepted::default());
    ACCEPTED.with(|a| a.check(s, |s| iri_string::types::IriStr::new(s).is_ok()))
}

/// An RFC 5646 language tag (Data §2.2.s4.b2).
pub fn is_language_tag(s: &str) -> bool {
    thread_local!(static ACCEPTED: Accepted = Accepted::default());
    ACCEPTED.with(|a| {
        a.check(s, |s| {
            language_tags::LanguageTag::parse(s).is_ok_and(|t| t.is_valid())
        })
    })
}

/// Strings a check accepted lately, per thread. Statements repeat the same verb, activity and
/// extension IRIs and language tags over and over; remembering them took the rule walk of ten
/// batches of 1,000 statements from 285 M to 164 M instructions (callgrind). Hashed with
/// foldhash rather than std's SipHash, which was 25 M of the 34 M that `is_iri` took for ten
/// such batches (now 15 M): a set of strings that passed a check has nothing to protect from
/// flooding.
#[derive(Default)]
struct Accepted(
    std::cell::RefCell<std::collections::HashSet<Box<str>, foldhash::fast::RandomState>>,
);

impl Accepted {
    /// Past this many strings the set starts again empty (bounded memory).
    const LIMIT: usize = 4096;
    /// Longer strings are checked every time rather than kept.
    const LONGEST: usize = 512;

    fn check(&self, s: &str, valid: impl FnOnce(&str) -> bool) -> bool {
        if self.0.borrow().contains(s) {
            return true;
        }
        let ok = valid(s);
        if ok && s.len() <= Self::LONGEST {
            let mut set = self.0.borrow_mut();
            if set.len() >= Self::LIMIT {
                set.clear();
            }
            set.insert(s.into());
        }
        ok
    }
}

/// A UUID in the canonical 8-4-4-4-12 form (RFC 4122). Checked by hand rather than with a
/// regex: statements carry several (ids, registrations, session ids), and the regex was 1 %
/// of the server's instructions for a batch (callgrind).
pub fn parse_uuid(s: &str) -> Option<uuid::Uuid> {
    let canonical = s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    if canonical {
        uuid::Uuid::parse_str(s).ok()
    } else {
        None
    }
}

/// An ISO 8601:2004 §4.4.3.2 duration (Data §4.6), e.g. `PT1H0M0S`, `P1DT12H`, `P4W`.
pub fn is_duration(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"^P(?:\d+(?:[.,]\d+)?W|(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?D)?(?:T(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?S)?)?)$",
        )
        .expect("valid regex")
    });
    // At least one component, and a "T" must be followed by one.
    re.is_match(s) && s != "P" && !s.ends_with('T')
}

/// Parses an ISO 8601 / RFC 3339 timestamp (Data §4.5) into UTC.
///
/// Accepts `Z`, `±hh:mm`, `±hhmm` and `±hh` offsets, and no offset (read as UTC, since the
/// time zone is only a SHOULD in 1.0.3). Rejects the "unknown local offset" forms `-00:00`,
/// `-0000` and `-00`, which RFC 3339 §4.3 gives and ISO 8601 forbids.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let (date, time, offset) = timestamp_parts(s)?;
    // Already RFC 3339 as chrono reads it (seconds, `Z` or `±hh:mm`, not the unknown offset
    // `-00:00`): parsed as it is, without building a normalised copy.
    let rfc3339_offset = |o: &str| o == "Z" || (o.len() == 6 && o.as_bytes()[3] == b':');
    if time.len() > 5 && offset.is_some_and(rfc3339_offset) && offset != Some("-00:00") {
        return DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc));
    }
    let mut time = time.to_string();
    if time.len() == 5 {
        time.push_str(":00");
    }
    let offset = match offset {
        None | Some("Z") | Some("z") => "+00:00".to_string(),
        Some(o) => {
            let digits: String = o[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            if o.starts_with('-') && digits.chars().all(|c| c == '0') {
                return None;
            }
            let minutes = if digits.len() == 4 {
                &digits[2..]
            } else {
                "00"
            };
            format!("{}{}:{}", &o[..1], &digits[..2], minutes)
        }
    };
    DateTime::parse_from_rfc3339(&format!("{date}T{time}{offset}"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The date, time and offset of a timestamp of the form
/// `YYYY-MM-DDThh:mm[:ss[.f…]][Z|z|±hh[[:]mm]]`, matched by hand: with a regex and its
/// captures this was 3 % of the server's instructions for a batch (callgrind).
fn timestamp_parts(s: &str) -> Option<(&str, &str, Option<&str>)> {
    let b = s.as_bytes();
    let digits = |at: usize, n: usize| {
        b.get(at..at + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let is = |at: usize, c: u8| b.get(at) == Some(&c);
    let date_and_minutes = digits(0, 4)
        && is(4, b'-')
        && digits(5, 2)
        && is(7, b'-')
        && digits(8, 2)
        && is(10, b'T')
        && digits(11, 2)
        && is(13, b':')
        && digits(14, 2);
    if !date_and_minutes {
        return None;
    }
    let mut end = 16;
    if is(16, b':') && digits(17, 2) {
        end = 19;
        if is(19, b'.') && digits(20, 1) {
            end = 21;
            while digits(end, 1) {
                end += 1;
            }
        }
    }
    let offset = &s[end..];
    let valid_offset = match offset.as_bytes() {
        [] | [b'Z'] | [b'z'] => true,
        [b'+' | b'-', rest @ ..] => match rest {
            [h1, h2] => h1.is_ascii_digit() && h2.is_ascii_digit(),
            [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => {
                [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
            }
            _ => false,
        },
        _ => false,
    };
    valid_offset.then(|| {
        (
            &s[..10],
            &s[11..end],
            (!offset.is_empty()).then_some(offset),
        )
    })
}

/// How Cairn writes the timestamps it assigns: RFC 3339 in UTC with milliseconds.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iris() {
        for ok in [
            "http://adlnet.gov/expapi/verbs/attempted",
            "urn:uuid:7b5a6c9e-1b62-4b2b-9a57-2c1b8b8a8e9f",
            "https://example.com/ü",
        ] {
            assert!(is_iri(ok), "{ok}");
        }
        for bad in [
            "",
            "not an iri",
            "www.example.com/no-scheme",
            "http://exa mple.com",
        ] {
            assert!(!is_iri(bad), "{bad}");
        }
    }

    /// Accepted strings are remembered; the answers stay the same the second time, and a
    /// string the IRI check accepted is not thereby a language tag.
    #[test]
    fn remembered_answers_do_not_change() {
        for _ in 0..2 {
            assert!(is_iri("http://example.com/remembered"));
            assert!(!is_iri("not an iri"));
            assert!(is_language_tag("en-GB"));
            assert!(!is_language_tag("http://example.com/remembered"));
        }
        let a = Accepted::default();
        assert!(!a.check("x", |_| false));
        assert!(a.check("y", |_| true));
        assert!(a.check("y", |_| unreachable!("remembered")));
        assert!(
            !a.check("x", |_| false),
            "a rejection is not remembered as accepted"
        );
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "en-US", "zh-Hant-TW", "und", "es-419"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "english-language-tag", "en_US", "12345"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn durations() {
        for ok in [
            "PT1H0M0S",
            "P1DT12H",
            "P4W",
            "PT0.5S",
            "P1Y2M3DT4H5M6.7S",
            "PT16559.14S",
        ] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["", "P", "PT", "1H", "PT1H0M0", "P1W2D", "PT-1S", "P1.5"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        for ok in [
            "2013-05-18T05:32:34.804Z",
            "2013-05-18T05:32:34.804+00:00",
            "2013-05-18T05:32:34+0530",
            "2013-05-18T05:32:34-05",
            "2013-05-18T05:32:34",
        ] {
            assert!(parse_timestamp(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "2013-05-18",
            "05:32:34",
            "2013-05-18T05:32:34-00:00",
            "2013-05-18T05:32:34-0000",
            "2013-13-18T05:32:34Z",
            "2013-05-18 05:32:34Z",
            "not a timestamp",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
        let t = parse_timestamp("2013-05-18T05:32:34.804+02:00").unwrap();
        assert_eq!(format_timestamp(t), "2013-05-18T03:32:34.804Z");
    }

    /// The hand-written matcher finds what the grammar's regex captures, and fails where it fails.
    #[test]
    fn timestamp_parts_match_the_grammar() {
        let re = Regex::new(
            r"^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?$",
        )
        .unwrap();
        let base = "2013-05-18T05:32:34.804+02:00";
        let mut inputs: Vec<String> = (0..=base.len()).map(|n| base[..n].to_string()).collect();
        for tail in [
            "", "Z", "z", "+02", "-0530", "+05:30", "+5", "+053", "+05:3", "+05:300", "Zz", " ",
            "Z ", "+0a", "-00:00", "x",
        ] {
            for time in [
                "05:32",
                "05:32:34",
                "05:32:34.",
                "05:32:34.8",
                "05:32:34.80401",
                "05:3",
                "05:32:3",
                "05-32",
            ] {
                inputs.push(format!("2013-05-18T{time}{tail}"));
            }
        }
        inputs.extend(
            [
                "2013-05-18t05:32Z",
                "2013/05/18T05:32Z",
                "02013-05-18T05:32Z",
                "٢٠١٣-05-18T05:32Z",
            ]
            .map(String::from),
        );
        for s in &inputs {
            let expected = re.captures(s).map(|c| {
                (
                    c.get(1).unwrap().as_str(),
                    c.get(2).unwrap().as_str(),
                    c.get(3).map(|m| m.as_str()),
                )
            });
            assert_eq!(timestamp_parts(s), expected, "{s}");
        }
    }

    #[test]
    fn uuids() {
        assert!(parse_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaa0").is_some());
        assert!(parse_uuid("fd41c918b88b4b20a0a5a4c32391aaa0").is_none());
        assert!(parse_uuid("{fd41c918-b88b-4b20-a0a5-a4c32391aaa0}").is_none());
        assert!(parse_uuid("FD41C918-B88B-4B20-A0A5-A4C32391AAA0").is_some());
        assert!(parse_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaa").is_none());
        assert!(parse_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaa0 ").is_none());
        assert!(parse_uuid("fd41c918-b88b-4b20-a0a5_a4c32391aaa0").is_none());
        assert!(parse_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaag").is_none());
        assert!(parse_uuid("fd41c918b-88b-4b20-a0a5-a4c32391aaa0").is_none());
        assert!(parse_uuid("urn:uuid:fd41c918-b88b-4b20-a0a5-a4c3").is_none());
        assert!(parse_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaé").is_none());
    }
}
