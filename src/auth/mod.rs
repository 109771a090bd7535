//! Who is calling, for which store, with which scopes.
//!
//! HTTP Basic credentials are checked against argon2id hashes in PostgreSQL. argon2 is slow on
//! purpose, so a verified credential is remembered for `auth_cache_seconds`; a revoked credential
//! therefore stops working within that many seconds. When the entry expires, the credential's
//! row is read again; if it is still active with the hash the secret was verified against, the
//! secret still verifies (argon2 is deterministic for a given hash), so only a changed or new
//! hash costs another argon2 run. Without this every entry's expiry held the requests arriving
//! meanwhile behind one argon2 run (single-statement writes at 500/s on a warm server: p99
//! 20 ms before this renewal, 3.9 ms after).

pub mod scopes;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use base64::Engine;
use rand::distributions::{Alphanumeric, DistString};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::store::{self, credentials::NewCredential, StoreError};
pub use scopes::{Access, ReadReach, Scope};

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub credential_id: i64,
    pub store_id: i64,
    pub scopes: Vec<Scope>,
    /// The Agent stamped as `authority` on statements this caller stores.
    pub authority: Value,
}

impl Principal {
    pub fn allows(&self, access: Access) -> bool {
        scopes::allows(&self.scopes, access)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send HTTP Basic credentials")]
    Missing,
    #[error("malformed Authorization header")]
    Malformed,
    #[error("unknown or revoked credentials")]
    Invalid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

const CACHE_LIMIT: usize = 10_000;

/// Verifies Basic credentials, caching successes briefly.
pub struct Authenticator {
    pool: PgPool,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], Verified>>,
    /// Argon2 verifications running at once. Each takes ~19 MiB and tens of milliseconds; a
    /// burst of requests arriving as a cache entry expires must wait here instead of each
    /// verifying the same secret (which once took the server past 2 GB).
    verifying: tokio::sync::Semaphore,
}

/// A credential whose secret was verified, by the hash of `key:secret`.
struct Verified {
    principal: Principal,
    /// The stored argon2 hash the secret was verified against.
    secret_hash: String,
    expires: Instant,
}

/// What the cache knows of a key and secret.
enum Cached {
    Fresh(Principal),
    /// Expired: the secret verified against this hash.
    Stale(String),
    Unknown,
}

/// See [`Authenticator::verifying`].
const CONCURRENT_VERIFICATIONS: usize = 2;

impl Authenticator {
    pub fn new(pool: PgPool, ttl: Duration) -> Self {
        Authenticator {
            pool,
            ttl,
            cache: Mutex::new(HashMap::new()),
            verifying: tokio::sync::Semaphore::new(CONCURRENT_VERIFICATIONS),
        }
    }

    /// Checks an `Authorization` header value.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (key, secret) = parse_basic(header)?;
        let cache_key: [u8; 32] = Sha256::digest(format!("{key}:{secret}")).into();
        match self.cached(&cache_key) {
            Cached::Fresh(p) => return Ok(p),
            Cached::Stale(verified_hash) => {
                let row = store::credentials::find_active(&self.pool, &key).await?;
                match row {
                    Some(row) if row.secret_hash == verified_hash => {
                        return Ok(self.remember(cache_key, row));
                    }
                    // Revoked: forget it. A new hash: verify the secret again below.
                    None => {
                        self.forget(&cache_key);
                        return Err(AuthError::Invalid);
                    }
                    Some(_) => {}
                }
            }
            Cached::Unknown => {}
        }
        let _turn = self
            .verifying
            .acquire()
            .await
            .expect("the verification semaphore is never closed");
        // Another request may have verified the same credential while this one waited.
        if let Cached::Fresh(p) = self.cached(&cache_key) {
            return Ok(p);
        }
        let row = store::credentials::find_active(&self.pool, &key)
            .await?
            .ok_or(AuthError::Invalid)?;
        let hash = row.secret_hash.clone();
        let verified = tokio::task::spawn_blocking(move || verify_secret(&secret, &hash))
            .await
            .unwrap_or(false);
        if !verified {
            return Err(AuthError::Invalid);
        }
        Ok(self.remember(cache_key, row))
    }

    /// Caches a credential row whose secret verified, for `ttl`.
    fn remember(&self, cache_key: [u8; 32], row: store::credentials::CredentialRow) -> Principal {
        let principal = Principal {
            credential_id: row.id,
            store_id: row.store_id,
            scopes: row.scopes.iter().filter_map(|s| s.parse().ok()).collect(),
            authority: row.authority,
        };
        let mut cache = self.cache.lock().expect("auth cache lock");
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(
            cache_key,
            Verified {
                principal: principal.clone(),
                secret_hash: row.secret_hash,
                expires: Instant::now() + self.ttl,
            },
        );
        principal
    }

    fn forget(&self, cache_key: &[u8; 32]) {
        self.cache
            .lock()
            .expect("auth cache lock")
            .remove(cache_key);
    }

    fn cached(&self, key: &[u8; 32]) -> Cached {
        let cache = self.cache.lock().expect("auth cache lock");
        match cache.get(key) {
            Some(v) if v.expires > Instant::now() => Cached::Fresh(v.principal.clone()),
            Some(v) => Cached::Stale(v.secret_hash.clone()),
            None => Cached::Unknown,
        }
    }
}

fn parse_basic(header: &str) -> Result<(String, String), AuthError> {
    let (scheme, encoded) = header.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::Malformed);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| AuthError::Malformed)?;
    let text = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
    let (key, secret) = text.split_once(':').ok_or(AuthError::Malformed)?;
    Ok((key.to_string(), secret.to_string()))
}

fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A freshly created credential; the secret is shown once and never stored in clear.
#[derive(Debug)]
pub struct IssuedCredential {
    pub api_key: String,
    pub secret: String,
    pub authority: Value,
}

/// Creates a credential with the given scopes in `store_id`.
pub async fn issue_credential(
    pool: &PgPool,
    store_id: i64,
    name: &str,
    scopes: &[Scope],
    public_url: &str,
) -> anyhow::Result<IssuedCredential> {
    let api_key = Alphanumeric.sample_string(&mut rand::thread_rng(), 20);
    let secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 40);
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
        .to_string();
    // xAPI 1.0.3 Data §2.4.9: the authority is an Agent; an account names the credential.
    let authority = json!({
        "objectType": "Agent",
        "name": name,
        "account": {"homePage": public_url, "name": api_key},
    });
    let scopes: Vec<String> = scopes.iter().map(|s| s.as_str().to_string()).collect();
    store::credentials::insert(
        pool,
        NewCredential {
            store_id,
            api_key: &api_key,
            secret_hash: &hash,
            name,
            scopes: &scopes,
            authority: &authority,
        },
    )
    .await?;
    Ok(IssuedCredential {
        api_key,
        secret,
        authority,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_parsing() {
        let ok = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("key:se:cret")
        );
        assert_eq!(
            parse_basic(&ok).unwrap(),
            ("key".to_string(), "se:cret".to_string())
        );
        assert!(parse_basic("Bearer abc").is_err());
        assert!(parse_basic("Basic !!!").is_err());
        let no_colon = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("nocolon")
        );
        assert!(parse_basic(&no_colon).is_err());
    }
}
