#!/usr/bin/env bash
# Builds the Dockerfile as written and boots the image, on a machine that reaches no container
# registry (CI runs it): the Node.js base image is assembled from Debian's archive (debootstrap) and
# the Node.js on PATH, then podman builds the image and buildah runs its `migrate`, api and worker
# commands against the local PostgreSQL and Redis and a versitygw bucket with Object Lock.
# Needs root, Debian, Node.js 24 on PATH, and versitygw from dev/real-livekit/install.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"

log() { printf '[image] %s\n' "$*"; }
fail() { printf '[image] FAILED: %s\n' "$*" >&2; exit 1; }

missing=()
for tool in podman:podman buildah:buildah debootstrap:debootstrap openssl:openssl curl:curl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_version="$(node --version | sed 's/^v//')"
[ "${node_version%%.*}" -ge 24 ] || fail "Node.js 24 must be first on PATH (found $node_version)"
versitygw="$root/.cache/real-livekit/bin/versitygw"
[ -x "$versitygw" ] || fail "versitygw is missing: run dev/real-livekit/install.sh"

# The stand-in for node:<version>-bookworm-slim: Debian bookworm (minbase), this Node.js and npm, the
# node user (uid 1000), and this machine's CA bundle so npm reaches the registry the way the host does.
base="localhost/facesign-base:node-$node_version-bookworm"
if ! podman image exists "$base"; then
  log "assembling $base"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  install -m 0755 "$(command -v node)" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  chroot "$rootfs" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home node'
  chroot "$rootfs" apt-get clean
  tar -C "$rootfs" -c . | podman import --quiet --change 'CMD ["node"]' --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$base" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

image="localhost/facesign:build-and-boot"
log "building $image from the Dockerfile (base $base)"
# chroot isolation: crun cannot create containers in this sandbox (cgroups); docker format keeps HEALTHCHECK.
build_log="$(mktemp)"
podman build --isolation=chroot --network=host --format docker \
  --build-arg "NODE_IMAGE=$base" -f Dockerfile -t "$image" . >"$build_log" 2>&1 || { tail -n 60 "$build_log"; rm -f "$build_log"; fail "podman build"; }
rm -f "$build_log"

work="$(mktemp -d)"
suffix="$(openssl rand -hex 4)"
db="fs_image_$suffix"
owner="fs_image_owner_$suffix"
login="fs_image_api_$suffix"
container=""
pids=()
# The tini that a `buildah run` started (its descendant), to signal it as an orchestrator would.
tini_under() {
  local child
  for child in $(ps -o pid= --ppid "$1"); do
    if [ "$(ps -o comm= -p "$child")" = tini ]; then echo "$child"; return 0; fi
    tini_under "$child" && return 0
  done
  return 1
}
cleanup() {
  local pid tini
  for pid in "${pids[@]}"; do
    tini="$(tini_under "$pid")" && { kill "$tini" 2>/dev/null || true; }
    kill "$pid" 2>/dev/null || true
  done
  if [ -n "$container" ]; then buildah rm "$container" >/dev/null 2>&1 || true; fi
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $login" -c "DROP ROLE IF EXISTS $owner" >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 --scan --pattern "$db:*" | xargs -r redis-cli -h 127.0.0.1 del >/dev/null 2>&1 || true
  podman rmi "$image" >/dev/null 2>&1 || true
  podman image prune -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_http() { # url, expected status, seconds
  for _ in $(seq 1 "$3"); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = "$2" ] && return 0
    sleep 1
  done
  return 1
}

psql -h 127.0.0.1 -U postgres -qc "CREATE ROLE $owner LOGIN CREATEROLE PASSWORD '$(openssl rand -hex 16)'" -c "CREATE DATABASE $db OWNER $owner" >/dev/null
s3_port="$(free_port)"
mkdir -p "$work/s3/buckets" "$work/s3/versions" "$work/signing"
s3_key="image$suffix"
s3_secret="$(openssl rand -hex 16)"
ROOT_ACCESS_KEY_ID="$s3_key" ROOT_SECRET_ACCESS_KEY="$s3_secret" \
  "$versitygw" --port "127.0.0.1:$s3_port" --health /health posix --versioning-dir "$work/s3/versions" "$work/s3/buckets" >"$work/versitygw.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$s3_port/health" 200 30 || fail "versitygw did not start"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=facesign image check" \
  -keyout "$work/signing/signing-key.pem" -out "$work/signing/signing-cert.pem" 2>/dev/null
chmod 0644 "$work/signing/"*.pem

container="$(buildah from "$image")"
env_args=(
  --env PUBLIC_URL=https://verify.bank.test
  --env "DATABASE_URL=postgresql://$login:$(openssl rand -hex 16)@127.0.0.1:5432/$db"
  --env "MIGRATION_DATABASE_URL=postgresql://$owner@127.0.0.1:5432/$db"
  --env REDIS_URL=redis://127.0.0.1:6379 --env "REDIS_PREFIX=$db"
  --env "S3_ENDPOINT=http://127.0.0.1:$s3_port" --env S3_BUCKET=recordings --env S3_FORCE_PATH_STYLE=true
  --env "S3_ACCESS_KEY_ID=$s3_key" --env "S3_SECRET_ACCESS_KEY=$s3_secret"
  --env SIGNING_KEY_FILE=/run/secrets/facesign-signing/signing-key.pem
  --env SIGNING_CERT_FILE=/run/secrets/facesign-signing/signing-cert.pem
)
# As the image runs: uid 1000, tini first (-s: here it is not PID 1), the image's own command.
in_image() { buildah run --isolation=chroot --user 1000:1000 "${env_args[@]}" -v "$work/signing:/run/secrets/facesign-signing:ro" "$@"; }

log "creating the bucket with Object Lock (the image's AWS SDK)"
in_image "$container" -- node --input-type=module -e "
  import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
  const s3 = new S3Client({ endpoint: process.env.S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY } });
  await s3.send(new CreateBucketCommand({ Bucket: process.env.S3_BUCKET, ObjectLockEnabledForBucket: true }));" \
  >"$work/bucket.log" 2>&1 || { cat "$work/bucket.log"; fail "bucket creation"; }

log "migrate"
in_image "$container" -- /usr/bin/tini -s -- /usr/local/bin/facesign migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; fail "migrate"; }
grep -q "database role $login: created" "$work/migrate.log" || { cat "$work/migrate.log"; fail "migrate did not create $login"; }

log "create-admin"
admin_password="$(openssl rand -hex 12)"
in_image --env "FACESIGN_ADMIN_PASSWORD=$admin_password" "$container" -- /usr/bin/tini -s -- /usr/local/bin/facesign create-admin \
  --email admin@image.test --name "Image Admin" >"$work/admin.log" 2>&1 || { cat "$work/admin.log"; fail "create-admin"; }
grep -q "created administrator admin@image.test" "$work/admin.log" || { cat "$work/admin.log"; fail "create-admin did not create the admin"; }

declare -A role_pids
start_role() { # role, port
  in_image --env "FACESIGN_ROLES=$1" --env "PORT=$2" "$container" -- /usr/bin/tini -s -- /usr/local/bin/facesign serve >"$work/$1.log" 2>&1 &
  role_pids[$1]=$!
  pids+=($!)
}
api_port="$(free_port)"
worker_port="$(free_port)"
start_role api "$api_port"
start_role worker "$worker_port"
for role in api worker; do
  port_var="${role}_port"
  wait_http "http://127.0.0.1:${!port_var}/readyz" 200 120 || { tail -n 30 "$work/$role.log"; fail "$role: /readyz never answered 200"; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${!port_var}/healthz")" = 200 ] || fail "$role: /healthz"
done
readyz="$(curl -s "http://127.0.0.1:$api_port/readyz")"
for expected in '"enforcedBy":"object_lock"' '"evidencePdfFont":{"status":"up"' '"objectStorage":{"status":"up"'; do
  case "$readyz" in *"$expected"*) ;; *) fail "api /readyz lacks $expected: $readyz" ;; esac
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/")" = 200 ] || fail "api: the console is not served"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$worker_port/")" = 404 ] || fail "worker: serves more than its probes"
# The administrator create-admin made signs in (the login route wants JSON; the answer sets the session cookie).
login_status="$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -H "origin: https://verify.bank.test" \
  --data "{\"email\":\"admin@image.test\",\"password\":\"$admin_password\"}" "http://127.0.0.1:$api_port/api/auth/login")"
[ "$login_status" = 200 ] || fail "the administrator from create-admin cannot sign in (HTTP $login_status)"

# The Dockerfile's own HEALTHCHECK command, run in the image against the api.
mapfile -d '' healthcheck < <(node -e '
  const text = require("fs").readFileSync("Dockerfile", "utf8").replace(/\\\n/g, " ");
  const line = text.split("\n").find((l) => l.startsWith("HEALTHCHECK"));
  for (const arg of JSON.parse(line.slice(line.indexOf("CMD") + 3).trim())) process.stdout.write(arg + "\0");')
[ "${#healthcheck[@]}" -gt 0 ] || fail "no HEALTHCHECK command in the Dockerfile"
in_image --env "PORT=$api_port" "$container" -- "${healthcheck[@]}" || fail "the HEALTHCHECK command fails against a healthy server"

log "stopping api and worker (SIGTERM to tini)"
for role in api worker; do
  tini="$(tini_under "${role_pids[$role]}")" || fail "$role: no tini process"
  kill -TERM "$tini"
done
for role in api worker; do
  for _ in $(seq 1 30); do kill -0 "${role_pids[$role]}" 2>/dev/null || break; sleep 1; done
  grep -q '"msg":"stopped"' "$work/$role.log" || { tail -n 20 "$work/$role.log"; fail "$role did not stop gracefully"; }
done
log "built, migrated, and served as api and worker: ok"
