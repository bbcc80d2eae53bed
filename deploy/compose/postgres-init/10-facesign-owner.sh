#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised: the schema owner and its database.
# The migrate service then creates the facesign_app group role and the facesign_api login
# (docs/deploy.md, "Database roles").
set -eu
psql -v ON_ERROR_STOP=1 -v owner_password="$FACESIGN_OWNER_DB_PASSWORD" --username "$POSTGRES_USER" --dbname postgres <<'SQL'
CREATE ROLE facesign_owner LOGIN CREATEROLE PASSWORD :'owner_password';
CREATE DATABASE facesign OWNER facesign_owner;
SQL
