#!/usr/bin/env bash
# A local stand-in for AWS + ECR + a Docker engine, for the interop suite and benchmarks.
#
#   stack.sh up                 install what is missing, start everything, write $STACK_STATE/env
#   stack.sh down               stop what `up` started (by recorded PID), remove the /etc/hosts block
#   stack.sh down --purge       ... and delete the state dir except the moto venv
#   stack.sh down --purge-all   ... and the venv too
#   stack.sh status             what runs, from the PID file
#   stack.sh init               only create (and mark) the state dir
#
# What `up` runs (every address on loopback; nothing else is touched outside the state dir
# but the "ecr-xacct-interop" block of /etc/hosts and apt packages it installs):
#   moto_server      STACK_MOTO_ADDR   (127.0.0.1:4599)  fake ECR + STS, from a pinned venv
#   awsproxy.py      STACK_PROXY_ADDR  (127.0.0.1:4598)  counts requests, rewrites expiresAt
#   docker-registry  STACK_REG_ADDR    (127.0.0.2:443)   <account>.dkr.ecr.<region>.amazonaws.com,
#                                                        htpasswd AWS:<account>-auth-token, TLS
#   docker-registry  STACK_OWNER_ADDR  (127.0.0.3:443)   <owner>.dkr.ecr.<region>.amazonaws.com,
#                                                        htpasswd AWS:<owner>-auth-token, TLS
#   docker-registry  STACK_OPEN_ADDR   (127.0.0.2:6500)  open.interop.test, no auth, TLS
#   dockerd          unix://$STACK_STATE/docker.sock    trusts the private CA via SSL_CERT_FILE
# The ECR registries listen on port 443 of their own loopback address, so image names and
# credHelpers keys carry no port, exactly as with real ECR.
#
# Knobs (environment): STACK_STATE (/tmp/xacct-interop; keep it short: unix socket paths),
#   STACK_WITH_AWS=1, STACK_WITH_REGISTRIES=1, STACK_WITH_DOCKER=1, STACK_SEED=1,
#   STACK_DOCKER_STORAGE (overlay2, falls back to vfs), STACK_MOTO_SPEC (moto[server]==5.2.5),
#   STACK_REGION (eu-central-1), STACK_ACCOUNT (123456789012), STACK_OWNER_ACCOUNT
#   (111122223333), STACK_MOTO_ADDR, STACK_PROXY_ADDR, STACK_REG_ADDR, STACK_OWNER_ADDR,
#   STACK_OPEN_ADDR, STACK_OPEN_HOST (open.interop.test), STACK_EXPIRES_IN (43200: the
#   rewritten token lifetime), STACK_EXTRA_HOSTS (more names for the hosts block and the
#   certificate, e.g. API host names of a TLS front door a benchmark adds) mapped to
#   STACK_EXTRA_HOSTS_IP (127.0.0.1).
# A later script can add its own pieces with the same helpers: source this file with
# STACK_LIB_ONLY=1 to get stack_start/stack_stop/stack_wait and the settings.
set -uo pipefail
STACK_HERE=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

STATE=${STACK_STATE:-/tmp/xacct-interop}
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
STATE=${STATE%/}
case $STATE in
  /|/tmp|/var|/var/tmp|/root|/home|/usr|/etc|/opt|/srv|/run|/work) echo "[stack] refusing STACK_STATE=$STATE" >&2; exit 2 ;;
esac
MARKER=$STATE/.xacct-interop-stack   # purge deletes only a directory that carries it
PIDS=$STATE/pids
LOGS=$STATE/logs
VENV=$STATE/venv
HOSTS_FILE=${STACK_HOSTS_FILE:-/etc/hosts}
BEGIN_MARK="# BEGIN ecr-xacct-interop"
END_MARK="# END ecr-xacct-interop"

WITH_AWS=${STACK_WITH_AWS:-1}
WITH_REGISTRIES=${STACK_WITH_REGISTRIES:-1}
WITH_DOCKER=${STACK_WITH_DOCKER:-1}
SEED=${STACK_SEED:-1}
DOCKER_STORAGE=${STACK_DOCKER_STORAGE:-overlay2}
MOTO_SPEC=${STACK_MOTO_SPEC:-moto[server]==5.2.5}
REGION=${STACK_REGION:-eu-central-1}
ACCOUNT=${STACK_ACCOUNT:-123456789012}
OWNER_ACCOUNT=${STACK_OWNER_ACCOUNT:-111122223333}
MOTO_ADDR=${STACK_MOTO_ADDR:-127.0.0.1:4599}
PROXY_ADDR=${STACK_PROXY_ADDR:-127.0.0.1:4598}
REG_ADDR=${STACK_REG_ADDR:-127.0.0.2:443}
OWNER_ADDR=${STACK_OWNER_ADDR:-127.0.0.3:443}
OPEN_ADDR=${STACK_OPEN_ADDR:-127.0.0.2:6500}
OPEN_HOST=${STACK_OPEN_HOST:-open.interop.test}
EXPIRES_IN=${STACK_EXPIRES_IN:-43200}
EXTRA_HOSTS=${STACK_EXTRA_HOSTS:-}
EXTRA_HOSTS_IP=${STACK_EXTRA_HOSTS_IP:-127.0.0.1}

REG_HOST=$ACCOUNT.dkr.ecr.$REGION.amazonaws.com
OWNER_HOST=$OWNER_ACCOUNT.dkr.ecr.$REGION.amazonaws.com
REG_PASSWORD=$ACCOUNT-auth-token          # what moto's token for the account decodes to
OWNER_PASSWORD=$OWNER_ACCOUNT-auth-token
IMAGE=interop/base:v1                     # seeded in both ECR registries

stack_log() { printf '[stack] %s\n' "$*" >&2; }
stack_die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
ip_of() { echo "${1%:*}"; }
port_of() { echo "${1##*:}"; }
# The name a client uses for a registry: host, plus :port unless 443.
ref_of() { if [ "$(port_of "$2")" = 443 ]; then echo "$1"; else echo "$1:$(port_of "$2")"; fi; }
REG=$(ref_of "$REG_HOST" "$REG_ADDR")
OWNER_REG=$(ref_of "$OWNER_HOST" "$OWNER_ADDR")
OPEN_REG=$(ref_of "$OPEN_HOST" "$OPEN_ADDR")

# ------------------------------------------------------------------ processes by PID
stack_pid() { [ -f "$PIDS" ] && awk -v n="$1" '$1==n{p=$2} END{print p}' "$PIDS"; }
stack_running() {  # PID exists and is not a zombie waiting for init to reap it
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}
stack_matches() {  # PID PATTERN: the PID still runs the program we started
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}
stack_pattern() { [ -f "$PIDS" ] && awk -v n="$1" '$1==n{$1=""; $2=""; sub(/^ +/, ""); p=$0} END{print p}' "$PIDS"; }
stack_alive() { stack_matches "$(stack_pid "$1")" "$(stack_pattern "$1")"; }
stack_record() {  # NAME PID PATTERN (no PID: forget NAME)
  local t; t=$(mktemp "$STATE/tmp/pids.XXXXXX")
  { [ -f "$PIDS" ] && awk -v n="$1" '$1!=n' "$PIDS"; [ -z "${2:-}" ] || echo "$1 $2 $3"; } > "$t"
  mv -f "$t" "$PIDS"
}
# stack_start NAME PATTERN CMD...: starts CMD in its own session, output to $LOGS/NAME.log.
stack_start() {
  local name=$1 pat=$2; shift 2
  if stack_alive "$name"; then stack_log "$name already running (pid $(stack_pid "$name"))"; return 0; fi
  setsid "$@" >> "$LOGS/$name.log" 2>&1 < /dev/null &
  stack_record "$name" "$!" "$pat"
  stack_log "started $name (pid $!)"
}
# stack_wait SECONDS NAME CMD...: until CMD succeeds; fails early if NAME died.
stack_wait() {
  local secs=$1 name=$2 i; shift 2
  for ((i = 0; i < secs * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    if [ "$name" != - ] && ! stack_alive "$name"; then
      stack_log "$name exited; tail of $LOGS/$name.log:"; tail -n 15 "$LOGS/$name.log" >&2 2>/dev/null
      return 1
    fi
    sleep 0.2
  done
  stack_log "$name not ready after ${secs}s; tail of $LOGS/$name.log:"
  tail -n 15 "$LOGS/$name.log" >&2 2>/dev/null
  return 1
}
stack_stop() {  # NAME: TERM, then KILL after 15 s; only if the PID still runs our program
  local name=$1 pid pat i
  pid=$(stack_pid "$name"); [ -n "$pid" ] || return 0
  pat=$(stack_pattern "$name")
  if stack_matches "$pid" "$pat"; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 150; i++)); do stack_running "$pid" || break; sleep 0.1; done
    if stack_running "$pid"; then stack_log "$name ($pid) ignored TERM; KILL"; kill -KILL "$pid" 2>/dev/null; fi
    stack_log "stopped $name (pid $pid)"
  fi
  stack_record "$name"
}

# ------------------------------------------------------------------ /etc/hosts block
hosts_lines() {
  [ "$WITH_REGISTRIES" = 1 ] && {
    echo "$(ip_of "$REG_ADDR") $REG_HOST"
    echo "$(ip_of "$OWNER_ADDR") $OWNER_HOST"
    echo "$(ip_of "$OPEN_ADDR") $OPEN_HOST"
  }
  local h; for h in $EXTRA_HOSTS; do echo "$EXTRA_HOSTS_IP $h"; done
}
hosts_write() {  # rewrites the block in place (cat >), so a bind-mounted file works
  local t; t=$(mktemp "$STATE/tmp/hosts.XXXXXX")
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" 'index($0,b)==1{s=1} !s{print} index($0,e)==1{s=0}' "$HOSTS_FILE" > "$t"
  if [ "${1:-}" = add ]; then
    { echo "$BEGIN_MARK (docker-credential-ecr-xacct interop stack: tests/interop/stack.sh down removes it)"
      hosts_lines
      echo "$END_MARK"; } >> "$t"
  fi
  cmp -s "$t" "$HOSTS_FILE" || cat "$t" > "$HOSTS_FILE"
  rm -f "$t"
}

# ------------------------------------------------------------------ up
install_packages() {
  local need=() have_py=1
  command -v python3 >/dev/null || { need+=(python3); have_py=0; }
  [ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl)
  if [ "$WITH_REGISTRIES" = 1 ]; then
    command -v docker-registry >/dev/null || need+=(docker-registry)
    command -v htpasswd >/dev/null || need+=(apache2-utils)
  fi
  [ "$SEED" = 1 ] && { command -v skopeo >/dev/null || need+=(skopeo); }
  if [ "$WITH_DOCKER" = 1 ]; then
    { command -v dockerd >/dev/null && command -v docker >/dev/null; } || need+=(docker.io)
  fi
  if [ "$WITH_AWS" = 1 ] && [ $have_py = 1 ] && [ ! -x "$VENV/bin/moto_server" ] &&
     ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    need+=(python3-venv)
  fi
  if ((${#need[@]})); then
    command -v apt-get >/dev/null || stack_die "missing ${need[*]} and no apt-get to install them"
    stack_log "apt-get install ${need[*]}"
    timeout 600 apt-get update -q >/dev/null || stack_die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "${need[@]}" \
      > "$LOGS/apt.log" 2>&1 || { tail -n 20 "$LOGS/apt.log" >&2; stack_die "apt-get install failed"; }
  fi
  if [ "$WITH_AWS" = 1 ]; then
    if [ ! -x "$VENV/bin/moto_server" ] || [ "$(cat "$VENV/.spec" 2>/dev/null)" != "$MOTO_SPEC" ]; then
      stack_log "creating $VENV with $MOTO_SPEC"
      rm -rf "$VENV"
      python3 -m venv "$VENV" > "$LOGS/venv.log" 2>&1 || {
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q python3-venv >> "$LOGS/venv.log" 2>&1
        rm -rf "$VENV"; python3 -m venv "$VENV" >> "$LOGS/venv.log" 2>&1; } ||
        { tail -n 20 "$LOGS/venv.log" >&2; stack_die "python3 -m venv failed"; }
      timeout 900 "$VENV/bin/pip" install -q "$MOTO_SPEC" >> "$LOGS/venv.log" 2>&1 ||
        { tail -n 20 "$LOGS/venv.log" >&2; rm -rf "$VENV"; stack_die "pip install $MOTO_SPEC failed"; }
      echo "$MOTO_SPEC" > "$VENV/.spec"
    fi
  fi
}

make_certs() {
  local ca=$STATE/ca san h
  mkdir -p "$ca/certs"
  if [ ! -s "$ca/ca.crt" ] || [ ! -s "$ca/ca.key" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout "$ca/ca.key" -out "$ca/ca.crt" \
      -subj "/CN=ecr-xacct interop CA $(date +%s)" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || stack_die "openssl: CA"
    rm -f "$ca/server.crt"
  fi
  san="DNS:localhost,IP:127.0.0.1,IP:$(ip_of "$REG_ADDR"),IP:$(ip_of "$OWNER_ADDR"),IP:$(ip_of "$OPEN_ADDR")"
  san+=",DNS:$REG_HOST,DNS:$OWNER_HOST,DNS:$OPEN_HOST"
  for h in $EXTRA_HOSTS; do san+=",DNS:$h"; done
  if [ ! -s "$ca/server.crt" ] || [ "$(cat "$ca/san" 2>/dev/null)" != "$san" ] ||
     ! openssl x509 -in "$ca/server.crt" -noout -checkend 86400 >/dev/null 2>&1; then
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$ca/server.key" -out "$ca/server.csr" \
      -subj "/CN=$REG_HOST" 2>/dev/null || stack_die "openssl: server key"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
      "$san" > "$ca/server.ext"
    openssl x509 -req -sha256 -days 7 -in "$ca/server.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
      -CAcreateserial -extfile "$ca/server.ext" -out "$ca/server.crt" 2>/dev/null || stack_die "openssl: server cert"
    echo "$san" > "$ca/san"
  fi
  chmod 600 "$ca/ca.key" "$ca/server.key"
  cp "$ca/ca.crt" "$ca/certs/ca.crt"                        # for skopeo --cert-dir
  { cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null; cat "$ca/ca.crt"; } > "$ca/bundle.crt"
}

registry_up() {  # NAME ADDR HOST [PASSWORD]: a docker-registry; htpasswd user AWS if PASSWORD
  local name=$1 addr=$2 host=$3 password=${4:-} dir=$STATE/$1 want=401
  mkdir -p "$dir/data"
  {
    echo "version: 0.1"
    echo "log: {level: info, fields: {service: $name}}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $dir/data}"
    echo "  delete: {enabled: true}"
    echo "  maintenance: {uploadpurging: {enabled: false}}"
    echo "http:"
    echo "  addr: $addr"
    echo "  secret: interop-not-a-secret-$name"
    echo "  tls: {certificate: $STATE/ca/server.crt, key: $STATE/ca/server.key}"
    if [ -n "$password" ]; then
      echo "auth:"
      echo "  htpasswd: {realm: $name, path: $dir/htpasswd}"
    fi
  } > "$dir/config.yml"
  if [ -n "$password" ]; then
    htpasswd -Bbc "$dir/htpasswd" AWS "$password" 2>/dev/null || stack_die "htpasswd failed"
  else
    want=200
  fi
  stack_start "$name" "docker-registry serve $dir/config.yml" docker-registry serve "$dir/config.yml"
  local url; url="https://$host:$(port_of "$addr")/v2/"
  stack_wait 30 "$name" sh -c "curl -s -o /dev/null -w '%{http_code}' --max-time 5 --noproxy '*' \
    --cacert '$STATE/ca/ca.crt' --resolve '$host:$(port_of "$addr"):$(ip_of "$addr")' '$url' | grep -qx $want" ||
    stack_die "$name did not come up on $addr"
}

dockerd_up() {
  local storage=$DOCKER_STORAGE i ok
  mkdir -p "$STATE/docker" "$STATE/de"
  [ -d /run/docker ] || touch "$STATE/created-run-docker"   # dockerd makes /run/docker/plugins
  printf '{ "deprecated-key-path": "%s" }\n' "$STATE/docker-key.json" > "$STATE/daemon.json"
  for storage in "$storage" vfs; do
    stack_start dockerd "dockerd --config-file $STATE/daemon.json" \
      env -u DOCKER_HOST -u DOCKER_CONFIG -u AWS_CA_BUNDLE -u HTTP_PROXY -u HTTPS_PROXY \
        -u http_proxy -u https_proxy SSL_CERT_FILE="$STATE/ca/bundle.crt" \
      dockerd --config-file "$STATE/daemon.json" --data-root "$STATE/docker" --exec-root "$STATE/de" \
        -H "unix://$STATE/docker.sock" --pidfile "$STATE/dockerd.pid" \
        --iptables=false --ip6tables=false --bridge=none --storage-driver "$storage"
    ok=0
    for ((i = 0; i < 300; i++)); do
      DOCKER_HOST=unix://$STATE/docker.sock DOCKER_CONFIG=$STATE/tmp timeout 10 docker version >/dev/null 2>&1 && { ok=1; break; }
      stack_alive dockerd || break
      sleep 0.2
    done
    if [ $ok = 1 ]; then
      DOCKER_STORAGE=$storage
      local cpid; cpid=$(cat "$STATE/de/containerd/containerd.pid" 2>/dev/null || true)
      [ -n "$cpid" ] && stack_record containerd "$cpid" containerd
      return 0
    fi
    stack_log "dockerd with storage driver $storage did not start; tail of its log:"
    tail -n 8 "$LOGS/dockerd.log" >&2
    stack_stop dockerd
    [ "$storage" = vfs ] && break
    stack_log "retrying with vfs"
    unmount_under "$STATE/docker"
  done
  stack_die "dockerd did not start"
}

seed() {  # push IMAGE to both ECR registries with the registry password (no helper involved)
  local layout=$STATE/image-oci
  python3 "$STACK_HERE/mkimage.py" "$layout" v1 "base-$ACCOUNT" >/dev/null &&
    python3 "$STACK_HERE/mkimage.py" "$layout" owner "base-$OWNER_ACCOUNT" >/dev/null || stack_die "mkimage.py failed"
  local args=(--dest-cert-dir "$STATE/ca/certs" --format v2s2)
  TMPDIR=$STATE/tmp timeout 120 skopeo copy -q "${args[@]}" --dest-creds "AWS:$REG_PASSWORD" \
    "oci:$layout:v1" "docker://$REG/$IMAGE" >> "$LOGS/seed.log" 2>&1 &&
  TMPDIR=$STATE/tmp timeout 120 skopeo copy -q "${args[@]}" --dest-creds "AWS:$OWNER_PASSWORD" \
    "oci:$layout:owner" "docker://$OWNER_REG/$IMAGE" >> "$LOGS/seed.log" 2>&1 ||
    { tail -n 10 "$LOGS/seed.log" >&2; stack_die "seeding $IMAGE failed"; }
  REG_DIGEST=$(TMPDIR=$STATE/tmp timeout 60 skopeo inspect --cert-dir "$STATE/ca/certs" \
    --creds "AWS:$REG_PASSWORD" --format '{{.Digest}}' "docker://$REG/$IMAGE")
  OWNER_DIGEST=$(TMPDIR=$STATE/tmp timeout 60 skopeo inspect --cert-dir "$STATE/ca/certs" \
    --creds "AWS:$OWNER_PASSWORD" --format '{{.Digest}}' "docker://$OWNER_REG/$IMAGE")
}

write_env() {
  local t; t=$(mktemp "$STATE/tmp/env.XXXXXX")
  {
    echo "# written by tests/interop/stack.sh up; source it"
    local kv
    for kv in \
      "STACK_STATE=$STATE" "STACK_LOGS=$LOGS" "STACK_VENV=$VENV" "STACK_PY=$VENV/bin/python" \
      "STACK_CA=$STATE/ca/ca.crt" "STACK_CA_DIR=$STATE/ca/certs" "STACK_CA_BUNDLE=$STATE/ca/bundle.crt" \
      "STACK_SERVER_CERT=$STATE/ca/server.crt" "STACK_SERVER_KEY=$STATE/ca/server.key" \
      "STACK_REGION=$REGION" "STACK_ACCOUNT=$ACCOUNT" "STACK_OWNER_ACCOUNT=$OWNER_ACCOUNT" \
      "STACK_MOTO_URL=http://$MOTO_ADDR" "STACK_PROXY_URL=http://$PROXY_ADDR" \
      "STACK_PROXY_STATS=http://$PROXY_ADDR/__interop__/stats" "STACK_PROXY_LOG=$LOGS/proxy-requests.log" \
      "STACK_REG_HOST=$REG_HOST" "STACK_REG=$REG" "STACK_REG_PASSWORD=$REG_PASSWORD" \
      "STACK_OWNER_HOST=$OWNER_HOST" "STACK_OWNER_REG=$OWNER_REG" "STACK_OWNER_PASSWORD=$OWNER_PASSWORD" \
      "STACK_OPEN_HOST=$OPEN_HOST" "STACK_OPEN_REG=$OPEN_REG" \
      "STACK_IMAGE=$IMAGE" "STACK_REG_DIGEST=${REG_DIGEST:-}" "STACK_OWNER_DIGEST=${OWNER_DIGEST:-}" \
      "STACK_DOCKER_HOST=$([ "$WITH_DOCKER" = 1 ] && echo "unix://$STATE/docker.sock")" \
      "STACK_DOCKER_STORAGE=$([ "$WITH_DOCKER" = 1 ] && echo "$DOCKER_STORAGE")"; do
      printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
    done
  } > "$t"
  mv -f "$t" "$STATE/env"
}

init() {  # the state dir, marked as ours
  if [ -e "$STATE" ] && [ "$(stat -c %u "$STATE")" != 0 ]; then stack_die "$STATE is not owned by root"; fi
  if [ -d "$STATE" ] && [ ! -e "$MARKER" ] && [ -n "$(ls -A "$STATE")" ]; then
    stack_die "$STATE exists, is not empty and was not made by stack.sh; set STACK_STATE elsewhere"
  fi
  mkdir -p "$STATE/tmp" "$LOGS" || stack_die "cannot create $STATE"
  touch "$MARKER"
  chmod 755 "$STATE"
}

up() {
  [ "$(id -u)" = 0 ] || stack_die "run as root (edits /etc/hosts, runs dockerd)"
  init
  install_packages
  make_certs
  hosts_write add
  if [ "$WITH_AWS" = 1 ]; then
    stack_start moto "moto_server" "$VENV/bin/moto_server" -H "$(ip_of "$MOTO_ADDR")" -p "$(port_of "$MOTO_ADDR")"
    stack_wait 90 moto curl -sf --max-time 5 --noproxy '*' "http://$MOTO_ADDR/moto-api/" ||
      stack_die "moto did not come up on $MOTO_ADDR"
    stack_start proxy "awsproxy.py" "$VENV/bin/python" "$STACK_HERE/awsproxy.py" --listen "$PROXY_ADDR" \
      --upstream "$MOTO_ADDR" --log "$LOGS/proxy-requests.log" --expires-in "$EXPIRES_IN"
    stack_wait 30 proxy curl -sf --max-time 5 --noproxy '*' "http://$PROXY_ADDR/__interop__/health" ||
      stack_die "the proxy did not come up on $PROXY_ADDR"
  fi
  if [ "$WITH_REGISTRIES" = 1 ]; then
    registry_up registry "$REG_ADDR" "$REG_HOST" "$REG_PASSWORD"
    registry_up registry-owner "$OWNER_ADDR" "$OWNER_HOST" "$OWNER_PASSWORD"
    registry_up registry-open "$OPEN_ADDR" "$OPEN_HOST"
    [ "$SEED" = 1 ] && seed
  fi
  [ "$WITH_DOCKER" = 1 ] && dockerd_up
  write_env
  stack_log "up; environment in $STATE/env"
}

# ------------------------------------------------------------------ down
unmount_under() {  # never rm -rf through a mount a killed dockerd left behind
  local m
  for m in $(awk -v s="$1/" 'index($2 "/", s) == 1 {print $2}' /proc/self/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || stack_log "cannot unmount $m"
  done
}

down() {
  local mode=${1:-} name
  if [ -f "$PIDS" ]; then
    mkdir -p "$STATE/tmp"
    # dockerd first (it stops its containerd), then the rest
    for name in dockerd containerd $(awk '$1!="dockerd" && $1!="containerd"{print $1}' "$PIDS"); do
      stack_stop "$name"
    done
    rm -f "$PIDS"
  fi
  if grep -q "^$BEGIN_MARK" "$HOSTS_FILE" 2>/dev/null; then
    mkdir -p "$STATE/tmp"; hosts_write remove; stack_log "removed the ecr-xacct-interop block from $HOSTS_FILE"
  fi
  if [ -f "$STATE/created-run-docker" ]; then   # only if dockerd made it and left it empty
    rmdir /run/docker/plugins /run/docker 2>/dev/null; rm -f "$STATE/created-run-docker"
  fi
  [ -d "$STATE" ] || return 0
  unmount_under "$STATE"
  case $mode in
    --purge|--purge-all)
      [ -e "$MARKER" ] || [ -z "$(ls -A "$STATE")" ] || stack_die "$STATE was not made by stack.sh (no $MARKER); not deleting"
      if awk -v s="$STATE/" 'index($2 "/", s) == 1 {f=1} END{exit !f}' /proc/self/mounts; then
        stack_die "still mounted under $STATE; not deleting"
      fi
      if [ "$mode" = --purge-all ]; then rm -rf "$STATE"
      else find "$STATE" -mindepth 1 -maxdepth 1 ! -name venv ! -name "${MARKER##*/}" -exec rm -rf {} +; fi
      stack_log "deleted $STATE$([ "$mode" = --purge ] && echo '/* (kept the venv)')" ;;
  esac
}

status() {
  [ -f "$PIDS" ] || { echo "nothing running (no $PIDS)"; return 0; }
  local name pid pat
  while read -r name pid pat; do
    if stack_matches "$pid" "$pat"; then echo "$name $pid running"; else echo "$name $pid gone"; fi
  done < "$PIDS"
}

if [ "${STACK_LIB_ONLY:-0}" != 1 ]; then
  case ${1:-} in
    up) up ;;
    init) init ;;
    down) case ${2:-} in ''|--purge|--purge-all) down "${2:-}" ;; *) stack_die "usage: stack.sh down [--purge|--purge-all]" ;; esac ;;
    status) status ;;
    *) echo "usage: stack.sh up | down [--purge|--purge-all] | status | init" >&2; exit 2 ;;
  esac
fi
