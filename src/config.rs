//! Typed settings: defaults < optional TOML file < `CAIRN_*` environment < command-line flags.
//!
//! Every value arrives as text from one of those layers and is parsed here, so that an invalid
//! value stops start-up with a message naming the key and where the value came from.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::xapi::XapiVersion;

/// A value that must never be printed (database URLs carry passwords).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every setting Cairn understands, with its default, as documented in the README.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server binds (`listen`).
    pub listen: SocketAddr,
    /// External PostgreSQL; `None` runs the managed local cluster in `data_dir`.
    pub database_url: Option<Secret>,
    /// Where Cairn keeps its files (managed PostgreSQL cluster, later the warehouse).
    pub data_dir: PathBuf,
    /// Directory holding `initdb` and `postgres` for the managed cluster; searched for when unset.
    pub pg_bin_dir: Option<PathBuf>,
    /// Largest request body accepted, in bytes; larger requests get 413.
    pub max_body_bytes: usize,
    /// Connections of each PostgreSQL pool: reads and documents, and statement writes
    /// (`store::write_pool`), so up to twice this many.
    pub db_max_connections: u32,
    /// How long a verified credential is trusted without checking PostgreSQL again.
    pub auth_cache_seconds: u64,
    /// Base URL clients use to reach Cairn; the home page of credential authorities.
    pub public_url: String,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_timeout_seconds: u64,
    /// Log filter in `RUST_LOG` syntax.
    pub log: String,
    /// Version stated on responses to requests that carry no version header (`/about`,
    /// and the 400 such requests get elsewhere).
    pub default_xapi_version: XapiVersion,
    /// The analytics warehouse file; `None` means `<data_dir>/warehouse.duckdb`.
    pub warehouse_path: Option<PathBuf>,
    /// Seconds between ETL runs inside `cairn serve`; 0 turns the loop (and the warehouse) off.
    pub etl_interval_seconds: u64,
    /// The read-only BI copy of the gold layer; `None` means `<data_dir>/warehouse-bi.duckdb`.
    pub bi_path: Option<PathBuf>,
    /// Least seconds between BI copy publications by `cairn serve`; 0 turns publishing off.
    pub bi_publish_interval_seconds: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            database_url: None,
            data_dir: PathBuf::from("cairn-data"),
            pg_bin_dir: None,
            max_body_bytes: 16 * 1024 * 1024,
            db_max_connections: 16,
            auth_cache_seconds: 5,
            public_url: "http://localhost:8080".into(),
            shutdown_timeout_seconds: 30,
            log: "info".into(),
            default_xapi_version: XapiVersion::V2_0_0,
            warehouse_path: None,
            etl_interval_seconds: 5,
            bi_path: None,
            bi_publish_interval_seconds: 60,
        }
    }
}

/// The keys accepted in the config file and as `CAIRN_<KEY>` variables.
pub const KEYS: &[&str] = &[
    "listen",
    "database_url",
    "data_dir",
    "pg_bin_dir",
    "max_body_bytes",
    "db_max_connections",
    "auth_cache_seconds",
    "public_url",
    "shutdown_timeout_seconds",
    "log",
    "default_xapi_version",
    "warehouse_path",
    "etl_interval_seconds",
    "bi_path",
    "bi_publish_interval_seconds",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid setting `{key}` (from {origin}): {reason}")]
    Invalid {
        key: String,
        origin: String,
        reason: String,
    },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("unknown setting `{key}` in config file {path}; known settings: {known}")]
    UnknownKey {
        key: String,
        path: String,
        known: String,
    },
}

/// One raw value and the layer it came from (for error messages).
#[derive(Debug, Clone)]
struct Raw {
    value: String,
    source: String,
}

/// Collects raw values layer by layer; later layers win.
#[derive(Debug, Default)]
pub struct Layers {
    values: BTreeMap<&'static str, Raw>,
}

impl Layers {
    /// Defaults < file < environment; command-line overrides are applied with [`Layers::set`].
    pub fn load(
        config_file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut layers = Layers::default();
        let file = match config_file {
            Some(path) => Some(path.to_path_buf()),
            None => {
                let default = PathBuf::from("cairn.toml");
                default.exists().then_some(default)
            }
        };
        if let Some(path) = file {
            layers.read_file(&path)?;
        }
        // The usual name DATABASE_URL works too, below CAIRN_DATABASE_URL.
        if let Some(url) = env("DATABASE_URL").filter(|v| !v.is_empty()) {
            layers.set("database_url", url, "environment variable DATABASE_URL");
        }
        for key in KEYS {
            let var = format!("CAIRN_{}", key.to_uppercase());
            if let Some(value) = env(&var).filter(|v| !v.is_empty()) {
                layers.set(key, value, &format!("environment variable {var}"));
            }
        }
        Ok(layers)
    }

    fn read_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::File {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        for (key, value) in table {
            let Some(known) = KEYS.iter().find(|k| **k == key) else {
                return Err(ConfigError::UnknownKey {
                    key,
                    path: shown,
                    known: KEYS.join(", "),
                });
            };
            let value = match value {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            self.set(known, value, &format!("config file {shown}"));
        }
        Ok(())
    }

    /// Sets `key` from a named source, overriding earlier layers.
    pub fn set(&mut self, key: &'static str, value: String, source: &str) {
        self.values.insert(
            key,
            Raw {
                value,
                source: source.to_string(),
            },
        );
    }

    /// Sets `key` from a command-line flag when the flag was given.
    pub fn flag(&mut self, key: &'static str, flag: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.set(key, v.to_string(), &format!("command-line flag {flag}"));
        }
    }

    /// Parses every collected value into typed settings.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        for (key, raw) in &self.values {
            let invalid = |reason: String| ConfigError::Invalid {
                key: key.to_string(),
                origin: raw.source.clone(),
                reason,
            };
            let v = raw.value.trim();
            match *key {
                "listen" => {
                    s.listen = v.parse().map_err(|_| {
                        invalid(format!("`{v}` is not an address like 127.0.0.1:8080"))
                    })?
                }
                "database_url" => {
                    if !(v.starts_with("postgres://") || v.starts_with("postgresql://")) {
                        return Err(invalid(
                            "must be a postgres:// or postgresql:// URL".to_string(),
                        ));
                    }
                    s.database_url = Some(Secret::new(v))
                }
                "data_dir" => s.data_dir = PathBuf::from(v),
                "pg_bin_dir" => s.pg_bin_dir = Some(PathBuf::from(v)),
                "max_body_bytes" => s.max_body_bytes = positive(v).map_err(invalid)?,
                "db_max_connections" => {
                    s.db_max_connections = positive(v).map_err(invalid)?;
                }
                "auth_cache_seconds" => {
                    s.auth_cache_seconds = v
                        .parse()
                        .map_err(|_| invalid(format!("`{v}` is not a number of seconds")))?
                }
                "public_url" => {
                    if !(v.starts_with("http://") || v.starts_with("https://")) {
                        return Err(invalid(format!("`{v}` is not an http(s) URL")));
                    }
                    s.public_url = v.trim_end_matches('/').to_string()
                }
                "shutdown_timeout_seconds" => {
                    s.shutdown_timeout_seconds = positive(v).map_err(invalid)?
                }
                "log" => {
                    tracing_subscriber::EnvFilter::try_new(v)
                        .map_err(|e| invalid(format!("not a log filter: {e}")))?;
                    s.log = v.to_string()
                }
                "default_xapi_version" => {
                    s.default_xapi_version = XapiVersion::from_header(v)
                        .ok_or_else(|| invalid(format!("`{v}` is not 1.0.3 or 2.0.0")))?
                }
                "warehouse_path" => s.warehouse_path = Some(PathBuf::from(v)),
                "etl_interval_seconds" => {
                    s.etl_interval_seconds = v
                        .parse()
                        .map_err(|_| invalid(format!("`{v}` is not a number of seconds")))?
                }
                "bi_path" => s.bi_path = Some(PathBuf::from(v)),
                "bi_publish_interval_seconds" => {
                    s.bi_publish_interval_seconds = v
                        .parse()
                        .map_err(|_| invalid(format!("`{v}` is not a number of seconds")))?
                }
                _ => unreachable!("keys are checked when collected"),
            }
        }
        Ok(s)
    }
}

impl Settings {
    /// Where the warehouse lives: `warehouse_path`, or `warehouse.duckdb` in `data_dir`.
    pub fn warehouse_file(&self) -> PathBuf {
        self.warehouse_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("warehouse.duckdb"))
    }

    /// Where the BI copy is published: `bi_path`, or `warehouse-bi.duckdb` in `data_dir`.
    pub fn bi_file(&self) -> PathBuf {
        self.bi_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("warehouse-bi.duckdb"))
    }
}

fn positive<T: std::str::FromStr + PartialOrd + Default>(v: &str) -> Result<T, String> {
    match v.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => Err(format!("`{v}` is not a positive whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("cairn-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("cairn.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nmax_body_bytes = 1000\n",
        )
        .unwrap();
        let env = env_of(&[
            ("CAIRN_MAX_BODY_BYTES", "2000"),
            ("DATABASE_URL", "postgres://a@b/c"),
        ]);
        let mut layers = Layers::load(Some(&file), &env).unwrap();
        layers.flag("data_dir", "--data-dir", Some("/tmp/x"));
        let s = layers.settings().unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.max_body_bytes, 2000);
        assert_eq!(s.database_url.unwrap().expose(), "postgres://a@b/c");
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn cairn_database_url_wins_over_database_url() {
        let env = env_of(&[
            ("CAIRN_DATABASE_URL", "postgres://x@y/1"),
            ("DATABASE_URL", "postgres://a@b/c"),
        ]);
        let s = Layers::load(None, &env).unwrap().settings().unwrap();
        assert_eq!(s.database_url.unwrap().expose(), "postgres://x@y/1");
    }

    #[test]
    fn invalid_values_name_the_key_and_source() {
        let env = env_of(&[("CAIRN_LISTEN", "not-an-address")]);
        let err = Layers::load(None, &env)
            .unwrap()
            .settings()
            .unwrap_err()
            .to_string();
        assert!(err.contains("`listen`"), "{err}");
        assert!(err.contains("CAIRN_LISTEN"), "{err}");
    }

    #[test]
    fn secrets_are_not_debug_printed() {
        let s = Secret::new("postgres://user:hunter2@host/db");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
