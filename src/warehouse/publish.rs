//! Read-only artefacts for BI tools and lake engines (research notes A2): a DuckDB snapshot of
//! the gold layer swapped in by an atomic rename, and Parquet files (facts hive-partitioned by
//! day). BI tools can never open the warehouse itself while Cairn holds it read-write.

use std::path::{Path, PathBuf};

use super::schema::GOLD_RELATIONS;
use super::{Warehouse, WarehouseError};

/// Gold relations published for BI: everything but the personal data (`dim_actor_pii` stays
/// in the warehouse; BI users see pseudonymous actor keys).
pub fn bi_relations() -> impl Iterator<Item = &'static str> {
    GOLD_RELATIONS
        .iter()
        .copied()
        .filter(|r| *r != "dim_actor_pii")
}

/// A path as a SQL string literal (ATTACH and COPY take no bound parameters).
fn literal(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

fn remove_if_exists(p: &Path) -> Result<(), WarehouseError> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!("cannot remove {}: {e}", p.display()).into()),
    }
}

impl Warehouse {
    /// Writes the gold layer as tables into a new DuckDB file beside `target`, then renames it
    /// over `target` (atomic on POSIX: readers see the old or the new snapshot, never a torn
    /// one). Storage version v1.4.0 (header 67): readable by DuckDB 1.4.x and 1.5.x, i.e.
    /// Superset's `duckdb<2,>=1.4.2` and Metabase's duckdb_jdbc 1.5.5 (research notes A2).
    pub async fn publish(&self, target: &Path) -> Result<(), WarehouseError> {
        let _running = self.running.lock().await;
        let (target, budget) = (target.to_path_buf(), self.budget.clone());
        self.with_conn(move |c| {
            if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            }
            let tmp = PathBuf::from(format!("{}.tmp", target.display()));
            remove_if_exists(&tmp)?;
            remove_if_exists(&PathBuf::from(format!("{}.tmp.wal", target.display())))?;
            c.execute_batch(&format!(
                "ATTACH {} AS bi_snapshot (STORAGE_VERSION 'v1.4.0')",
                literal(&tmp)
            ))?;
            // Each table under the lowered budget on its own, so a table that runs out of
            // memory is copied again alone (`with_budget_or_normal`); a report that starts
            // meanwhile raises the budget (`budget`). DETACH, which checkpoints the new file,
            // runs under the normal budget: the copies have written their row groups by then,
            // and a checkpoint that runs out of memory invalidates the database.
            let copied = bi_relations().try_for_each(|rel| {
                super::with_budget_or_normal(c, &budget, super::DUCKDB_PUBLICATION_LIMITS, || {
                    c.execute_batch(&format!(
                        "CREATE TABLE bi_snapshot.{rel} AS SELECT * FROM main.{rel}"
                    ))
                })
            });
            c.execute_batch("DETACH bi_snapshot")?;
            super::release_memory(c, &budget);
            copied?;
            std::fs::rename(&tmp, &target).map_err(|e| {
                anyhow::anyhow!(
                    "cannot rename {} to {}: {e}",
                    tmp.display(),
                    target.display()
                )
            })?;
            Ok(())
        })
        .await
    }

    /// Gold as Parquet under `dir`: dimensions as `<name>.parquet`, facts as hive-partitioned
    /// `<name>/date_key=YYYYMMDD/*.parquet`. Written to a sibling directory first and swapped
    /// in, so readers never see a half-written export.
    pub async fn export_parquet(&self, dir: &Path) -> Result<Vec<String>, WarehouseError> {
        let _running = self.running.lock().await;
        let dir = dir.to_path_buf();
        self.with_conn(move |c| {
            let name = dir
                .file_name()
                .ok_or_else(|| anyhow::anyhow!("{} is not a directory name", dir.display()))?
                .to_string_lossy()
                .to_string();
            let tmp = dir.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
            let old = dir.with_file_name(format!(".{name}.old-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            std::fs::create_dir_all(&tmp)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", tmp.display()))?;
            let mut written = Vec::new();
            for rel in bi_relations() {
                let sql = if rel.starts_with("fact_") {
                    format!(
                        "COPY (SELECT * FROM {rel}) TO {} (FORMAT parquet, PARTITION_BY (date_key))",
                        literal(&tmp.join(rel))
                    )
                } else {
                    format!(
                        "COPY (SELECT * FROM {rel}) TO {} (FORMAT parquet)",
                        literal(&tmp.join(format!("{rel}.parquet")))
                    )
                };
                c.execute_batch(&sql)?;
                written.push(rel.to_string());
            }
            if dir.exists() {
                std::fs::rename(&dir, &old)
                    .map_err(|e| anyhow::anyhow!("cannot move {} aside: {e}", dir.display()))?;
            }
            std::fs::rename(&tmp, &dir)
                .map_err(|e| anyhow::anyhow!("cannot rename into {}: {e}", dir.display()))?;
            let _ = std::fs::remove_dir_all(&old);
            Ok(written)
        })
        .await
    }
}
