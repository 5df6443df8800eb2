#!/usr/bin/env bash
# A real PostgreSQL 17 + pgvector server for the RAG store's tests and benchmarks (issue 17). Debian 12 has no pgvector;
# Debian trixie packages it (postgresql-17-pgvector), so this script keeps a minimal trixie chroot with PostgreSQL in it
# and runs the server there, as the chroot's postgres user, listening on loopback only.
#
#   bench/pg_trixie.sh setup   create or update the chroot (cached in $GENSHARP_PG_CHROOT, default
#                              /var/cache/gensharp/trixie-pg); idempotent; a few minutes the first time
#   bench/pg_trixie.sh start   setup, then a fresh server (initdb into a temporary folder inside the chroot,
#                              CREATE EXTENSION vector) on 127.0.0.1:$GENSHARP_PG_PORT (default 54329), unless one
#                              already answers there; prints its Npgsql connection string on stdout, e.g.
#                                export GENSHARP_PG=$(bench/pg_trixie.sh start)
#   bench/pg_trixie.sh stop    stop that server and delete its data folder
#
# Needs root (debootstrap, mount, chroot). Trust authentication, loopback only: a test server, not a deployment.
set -euo pipefail

MIRROR=http://deb.debian.org/debian
DIR=${GENSHARP_PG_CHROOT:-/var/cache/gensharp/trixie-pg}
PORT=${GENSHARP_PG_PORT:-54329}
PACKAGES=(postgresql-17 postgresql-17-pgvector)
PGBIN=/usr/lib/postgresql/17/bin
DATA=/var/tmp/gensharp-pg-$PORT          # inside the chroot
CONN="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=gensharp"

[[ $(id -u) == 0 ]] || { echo "pg_trixie.sh: needs root (debootstrap, mount, chroot)" >&2; exit 1; }
# The mounts live in a private mount namespace: they vanish with the last process in it (the server, once started), and
# nothing stays bind-mounted under DIR on the host.
if [[ -z "${GENSHARP_PG_NS:-}" ]]; then
  GENSHARP_PG_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

mode=${1:-start}
log() { echo "pg_trixie: $*" >&2; }
in_root() { chroot "$DIR" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"; }
as_postgres() { chroot --userspec=postgres:postgres "$DIR" /usr/bin/env -i HOME=/var/lib/postgresql PATH=$PGBIN:/usr/bin:/bin LANG=C.UTF-8 "$@"; }
answers() { in_root $PGBIN/pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; }

mount_all() {
  mount --bind /proc "$DIR/proc"
  mount --bind /dev "$DIR/dev"
}

setup() {
  local start=$SECONDS
  # One setup at a time: test runs in several work trees start this script together, and two apt-gets in one chroot
  # leave it broken ("Unmet dependencies"). The lock is released when the script's process ends.
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock 9
  command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap >&2; }
  if [[ ! -x "$DIR/usr/bin/apt-get" ]]; then
    log "debootstrap trixie into $DIR ..."
    mkdir -p "$(dirname "$DIR")"
    debootstrap --variant=minbase trixie "$DIR" "$MIRROR" >&2
  fi
  if [[ ! -x "$DIR$PGBIN/postgres" || ! -f "$DIR/usr/share/postgresql/17/extension/vector.control" ]]; then
    mount_all
    cp -L /etc/resolv.conf "$DIR/etc/resolv.conf" 2>/dev/null || true
    # No default cluster at install time (we initdb our own), and no service starts inside the chroot.
    mkdir -p "$DIR/etc/postgresql-common"
    echo "create_main_cluster = false" > "$DIR/etc/postgresql-common/createcluster.conf"
    printf '#!/bin/sh\nexit 101\n' > "$DIR/usr/sbin/policy-rc.d"; chmod +x "$DIR/usr/sbin/policy-rc.d"
    log "installing ${PACKAGES[*]} ..."
    in_root DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false update -qq >&2
    # A chroot left half-configured (a run killed mid-install) is repaired first.
    in_root DEBIAN_FRONTEND=noninteractive dpkg --configure -a >&2 || true
    in_root DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -f >&2 || true
    in_root DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2
    in_root apt-get clean
    umount "$DIR/dev" "$DIR/proc"
  fi
  log "chroot ready at $DIR ($((SECONDS - start)) s)"
  exec 9>&-   # close the lock before the server starts: it would inherit the descriptor and hold the lock
}

case $mode in
  setup) setup ;;
  start)
    setup
    if answers; then log "a server already answers on 127.0.0.1:$PORT"; echo "$CONN"; exit 0; fi
    t0=$SECONDS
    mount_all
    rm -rf "${DIR:?}$DATA"
    mkdir -p "$DIR$DATA"
    chroot "$DIR" chown postgres:postgres "$DATA"
    as_postgres initdb -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    # Small, test-sized settings; maintenance_work_mem lets an HNSW build of ~1M vectors stay in memory.
    as_postgres pg_ctl -D "$DATA" -l "$DATA/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DATA -c shared_buffers=512MB -c maintenance_work_mem=1GB -c max_connections=100 -c fsync=off -c full_page_writes=off" >&2
    as_postgres psql -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE gensharp" >&2
    as_postgres psql -q -h 127.0.0.1 -p "$PORT" -U postgres -d gensharp -c "CREATE EXTENSION IF NOT EXISTS vector" >&2
    log "server up on 127.0.0.1:$PORT in $((SECONDS - t0)) s (pgvector $(as_postgres psql -tA -h 127.0.0.1 -p "$PORT" -U postgres -d gensharp -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'"))"
    echo "$CONN"
    ;;
  stop)
    if [[ -f "$DIR$DATA/postmaster.pid" ]]; then
      as_postgres $PGBIN/pg_ctl -D "$DATA" -m fast -w stop >&2 || kill "$(head -1 "$DIR$DATA/postmaster.pid")" 2>/dev/null || true
    fi
    rm -rf "${DIR:?}$DATA"
    log "stopped"
    ;;
  *) echo "usage: bench/pg_trixie.sh setup|start|stop" >&2; exit 2 ;;
esac
