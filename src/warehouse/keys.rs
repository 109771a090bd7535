//! Surrogate keys of the gold layer, computed once per statement at extract time (gold's
//! views and the BI copy only read them): the upper 63 bits of the MD5 of the natural key,
//! as a non-negative BIGINT. DuckDB computes the same value as `md5_number_upper(k) >> 1`
//! ([`sql`]), so a BI user can derive a key from an IRI, and older warehouse files are
//! filled in SQL when they gain the columns (`schema::upgrade`).

use std::collections::HashMap;

use md5::{Digest, Md5};

use super::flatten::Flat;

/// The key of a natural key given as parts concatenated without separators.
fn key_of(parts: &[&str]) -> i64 {
    let mut h = Md5::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let upper = u64::from_le_bytes(digest[..8].try_into().expect("an MD5 digest has 16 bytes"));
    (upper >> 1) as i64
}

/// The key of one natural key.
pub fn key(natural: &str) -> i64 {
    key_of(&[natural])
}

/// The DuckDB expression that gives [`key`] of the VARCHAR expression `natural` (NULL stays
/// NULL).
pub fn sql(natural: &str) -> String {
    format!("CAST(md5_number_upper({natural}) >> 1 AS BIGINT)")
}

/// The natural key of the actor: its IFI, or `anonymous` for an actor without one.
pub const ACTOR_NATURAL_SQL: &str = "coalesce(actor_ifi, 'anonymous')";
/// The natural key of the source: credential, authority and platform.
pub const SOURCE_NATURAL_SQL: &str = "coalesce(CAST(credential_id AS VARCHAR), '') || '|' || \
     coalesce(authority_ifi, '') || '|' || coalesce(platform, '')";

/// The keys of one `silver_statement` row.
#[derive(Debug, PartialEq)]
pub struct Keys {
    pub actor: i64,
    /// Set when the object is an Activity.
    pub activity: Option<i64>,
    pub course: Option<i64>,
    pub registration: Option<i64>,
    pub source: i64,
    /// The key of the least parent IRI (the assessment an answered item belongs to).
    pub assessment: Option<i64>,
}

/// Computes keys, remembering those of the natural keys seen before: within a batch the same
/// actors, activities and courses recur, and a lookup costs a fraction of an MD5.
#[derive(Default)]
pub struct KeyCache {
    known: HashMap<Box<str>, i64>,
}

impl KeyCache {
    fn key(&mut self, natural: &str) -> i64 {
        if let Some(k) = self.known.get(natural) {
            return *k;
        }
        let k = key(natural);
        self.known.insert(natural.into(), k);
        k
    }

    /// The keys of one statement (`credential_id` is the PostgreSQL column).
    pub fn keys(&mut self, f: &Flat<'_>, credential_id: Option<i64>) -> Keys {
        let mut credential = itoa::Buffer::new();
        Keys {
            actor: self.key(f.actor_ifi.as_deref().unwrap_or("anonymous")),
            activity: (f.object_type == "Activity")
                .then_some(f.object_id.as_deref())
                .flatten()
                .map(|id| self.key(id)),
            course: f.course_iri.as_deref().map(|c| self.key(c)),
            // Registrations are unique to a learner and course: rarely seen twice in a batch.
            registration: f.registration.as_deref().map(key),
            source: key_of(&[
                credential_id.map(|c| credential.format(c)).unwrap_or(""),
                "|",
                f.authority_ifi.as_deref().unwrap_or(""),
                "|",
                f.platform.as_deref().unwrap_or(""),
            ]),
            assessment: f.parent_iris.iter().min().map(|p| self.key(p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_and_duckdb_compute_the_same_keys() {
        let c = duckdb::Connection::open_in_memory().unwrap();
        for natural in [
            "",
            "abc",
            "mbox:mailto:learner@example.com",
            "http://example.com/activities/ünïcødé/日本語",
            "1|mbox:mailto:lrs@example.com|Cairn",
        ] {
            let from_sql: i64 = c
                .query_row(&format!("SELECT {}", sql("?")), [natural], |r| r.get(0))
                .unwrap();
            assert_eq!(key(natural), from_sql, "{natural}");
            assert!(key(natural) >= 0);
        }
        // md5('abc') = 900150983cd24fb0…: the upper 64 bits little-endian, shifted right once.
        assert_eq!(key("abc"), (0xb04fd23c98500190u64 >> 1) as i64);
    }

    #[test]
    fn the_source_key_joins_its_parts_like_the_sql_does() {
        let f = Flat {
            authority_ifi: Some("mbox:mailto:lrs@example.com".into()),
            ..Flat::default()
        };
        let mut cache = KeyCache::default();
        let k = cache.keys(&f, Some(12));
        assert_eq!(k.source, key("12|mbox:mailto:lrs@example.com|"));
        assert_eq!(cache.keys(&Flat::default(), None).source, key("||"));
        assert_eq!(cache.keys(&Flat::default(), None).actor, key("anonymous"));
    }
}
