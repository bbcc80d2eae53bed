#!/bin/sh
# The image's command: one image, several jobs. tini (the entrypoint) runs this as its child, so
# signals reach node and zombies are reaped.
#
#   serve                   the server; FACESIGN_ROLES says which roles (api, worker or both)
#   migrate                 schema migrations, then the application's login role (as the owner)
#   migrate --schema-only   migrations only, where a DBA manages login roles (no CREATEROLE)
#   db-roles                the application's login role only
#   create-admin --email <address> --name <name>
#                           the first administrator; password from FACESIGN_ADMIN_PASSWORD
#   <anything else>         run as given (e.g. `node dist/server/audit/verify-cli.js`)
set -eu

ensure_login_role() {
  if [ ! -f dist/server/db/roles-cli.js ]; then
    echo "facesign: this build has no dist/server/db/roles-cli.js; create the login role as docs/deploy.md shows" >&2
    exit 1
  fi
  node dist/server/db/roles-cli.js
}

command="${1:-serve}"
case "$command" in
  serve)
    exec node dist/server/main.js
    ;;
  migrate)
    if [ -z "${MIGRATION_DATABASE_URL:-}" ]; then
      echo "facesign migrate: MIGRATION_DATABASE_URL (the schema owner) is not set" >&2
      exit 78
    fi
    node dist/server/db/migrate-cli.js
    if [ "${2:-}" != "--schema-only" ]; then ensure_login_role; fi
    ;;
  db-roles)
    ensure_login_role
    ;;
  create-admin)
    shift
    exec node dist/server/users/create-admin-cli.js "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
