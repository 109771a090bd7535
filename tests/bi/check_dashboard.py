"""Checks the Superset dashboard export in docker/superset/cairn_dashboard against a published
BI copy: every YAML file parses, every link (dataset → database, chart → dataset, dashboard
position → chart) points at an object of the export, and every dataset's SQL runs through
SQLAlchemy + duckdb-engine (as Superset runs it) on the BI copy. Prints one line per dataset.

Usage: python check_dashboard.py EXPORT_DIR /abs/path/warehouse-bi.duckdb
"""
import pathlib
import sys

import sqlalchemy
import yaml

root, path = pathlib.Path(sys.argv[1]), sys.argv[2]
load = lambda p: yaml.safe_load(p.read_text())
meta = load(root / "metadata.yaml")
assert meta["type"] == "Dashboard" and meta["version"] == "1.0.0", meta
databases = {d["uuid"]: d for d in map(load, (root / "databases").glob("*.yaml"))}
datasets = {d["uuid"]: d for d in map(load, (root / "datasets").rglob("*.yaml"))}
charts = {c["uuid"]: c for c in map(load, (root / "charts").glob("*.yaml"))}
dashboards = list(map(load, (root / "dashboards").glob("*.yaml")))
assert databases and datasets and charts and dashboards
for d in databases.values():
    assert d["sqlalchemy_uri"].startswith("duckdb:////"), d["sqlalchemy_uri"]
    assert d["extra"]["engine_params"]["connect_args"]["read_only"] is True
for ds in datasets.values():
    assert ds["database_uuid"] in databases, ds["table_name"]
    names = [c["column_name"] for c in ds["columns"]]
    assert ds["main_dttm_col"] in names + [None], ds["table_name"]
for c in charts.values():
    assert c["dataset_uuid"] in datasets, c["slice_name"]
for dash in dashboards:
    placed = [v["meta"]["uuid"] for v in dash["position"].values()
              if isinstance(v, dict) and v.get("type") == "CHART"]
    assert sorted(placed) == sorted(charts), (placed, list(charts))

engine = sqlalchemy.create_engine(
    f"duckdb:///{path}", connect_args={"read_only": True}, poolclass=sqlalchemy.pool.NullPool
)
with engine.connect() as con:
    for ds in sorted(datasets.values(), key=lambda d: d["table_name"]):
        result = con.execute(sqlalchemy.text(ds["sql"]))
        columns = list(result.keys())
        rows = result.fetchall()
        expected = [c["column_name"] for c in ds["columns"]]
        assert columns == expected, (ds["table_name"], columns, expected)
        print(f"dataset {ds['table_name']} {len(rows)}")
print("dashboard ok")
