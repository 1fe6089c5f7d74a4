#!/usr/bin/env bash
# Back up a RenewMap PostGIS database (pg_dump, custom format), restore the backup into an
# empty database (pg_restore) and compare every table's row count with the source: a backup
# is known good only once it has been restored. Exit 0 when every count matches.
#
#   scripts/backup-check.sh SOURCE_URL EMPTY_TARGET_URL [DUMP_FILE]
#
# URLs as in RENEWMAP_DATABASE_URL (postgresql+psycopg://…) or plain libpq URLs. The target
# must be an empty database (createdb -T template0 NAME). Run it on a schedule against a
# scratch server; keep DUMP_FILE (default renewmap-<UTC time>.dump) as the backup.
#
# Photos and attached files are not in the dump: they live in the blob store (a directory,
# RENEWMAP_BLOB_DIR, or a bucket, RENEWMAP_BLOB_S3_*), which is backed up beside it (after
# the dump: a blob is written before its row, so a later copy holds every file the dump
# names). With CHECK_BLOBS=1 and the RENEWMAP_BLOB_* settings pointing at the restored copy
# of the store, `renewmap blobs check` then confirms every file a restored row names is
# there (RENEWMAP_CLI: how to run renewmap, default "renewmap").
set -euo pipefail

src=${1:?usage: backup-check.sh SOURCE_URL EMPTY_TARGET_URL [DUMP_FILE]}
dst=${2:?usage: backup-check.sh SOURCE_URL EMPTY_TARGET_URL [DUMP_FILE]}
dump=${3:-renewmap-$(date -u +%Y%m%dT%H%M%SZ).dump}
src=${src/postgresql+psycopg:/postgresql:}
dst=${dst/postgresql+psycopg:/postgresql:}

counts() {
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "
    SELECT table_name || ' ' || (xpath('/row/n/text()', query_to_xml(
             format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name),
             false, true, '')))[1]::text
    FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
    ORDER BY table_name"
}

pg_dump --format=custom --no-owner --file="$dump" "$src"
before=$(counts "$src")
pg_restore --no-owner --exit-on-error --dbname="$dst" "$dump"
after=$(counts "$dst")
if [ "$before" != "$after" ]; then
  echo "backup-check: row counts differ after restoring $dump" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
tables=$(echo "$before" | wc -l)
rows=$(echo "$before" | awk '{s += $2} END {print s}')
echo "backup-check: $dump restored, $tables tables and $rows rows match"
if [ "${CHECK_BLOBS:-0}" = 1 ]; then
  # shellcheck disable=SC2086 # RENEWMAP_CLI may be a command with arguments
  if ! RENEWMAP_DATABASE_URL="${dst/postgresql:/postgresql+psycopg:}" \
      ${RENEWMAP_CLI:-renewmap} --lang en blobs check; then
    echo "backup-check: files named by the restored rows are missing from the blob store" >&2
    exit 1
  fi
  echo "backup-check: every photo and file the restored rows name is in the blob store"
fi
