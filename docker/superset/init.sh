#!/usr/bin/env bash
# One-off Superset set-up: database migrations, an admin user, and Cairn's dashboard (the
# database connection to the BI copy, four datasets, four charts) imported from the export.
set -euo pipefail
superset db upgrade
superset fab create-admin --username "${ADMIN_USERNAME:-admin}" --firstname Admin --lastname Cairn \
  --email admin@example.com --password "${ADMIN_PASSWORD:-admin}" || true
superset init
python -c "import shutil; shutil.make_archive('/tmp/cairn_dashboard', 'zip', '/app', 'cairn_dashboard')"
superset import-dashboards -p /tmp/cairn_dashboard.zip -u "${ADMIN_USERNAME:-admin}"
