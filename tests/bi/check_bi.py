"""Opens Cairn's published BI copy the way Superset does (research notes A3): with the Python
`duckdb` package at a version Superset 6.1's [duckdb] extra allows, read-only, and through
SQLAlchemy with duckdb-engine. Prints what it found; exits non-zero on any failure.

Usage: python check_bi.py /abs/path/warehouse-bi.duckdb
"""
import sys

import duckdb
import sqlalchemy

path = sys.argv[1]
con = duckdb.connect(path, read_only=True)
tables = sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
facts = con.execute("SELECT count(*) FROM fact_statement").fetchone()[0]
con.close()

engine = sqlalchemy.create_engine(
    f"duckdb:///{path}", connect_args={"read_only": True}, poolclass=sqlalchemy.pool.NullPool
)
inspected = sorted(sqlalchemy.inspect(engine).get_table_names())
with engine.connect() as c:
    by_verb = c.execute(
        sqlalchemy.text(
            "SELECT v.verb_iri, count(*) FROM fact_statement f "
            "JOIN dim_verb v USING (verb_key) GROUP BY 1 ORDER BY 1"
        )
    ).fetchall()
assert tables == inspected, (tables, inspected)
print(f"duckdb {duckdb.__version__}")
print("tables " + ",".join(tables))
print(f"fact_statement {facts}")
for verb, n in by_verb:
    print(f"verb {verb} {n}")
