#!/bin/sh
# The official postgres image runs this once, on an empty data directory: one role and one database per
# service (GLASSBOX_DATABASES, the names of the registered services), each database owned by its role. The
# development password is the service's name; production databases are created by their operators.
set -eu
for name in $GLASSBOX_DATABASES; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE "$name" LOGIN PASSWORD '$name';
CREATE DATABASE "$name" OWNER "$name";
SQL
done
