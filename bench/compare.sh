#!/bin/bash
# Side-by-side benchmark: docker-credential-ecr-xacct (ours, release build) against
# Debian's docker-credential-ecr-login (the reference), on one machine in one run, both
# talking to the same local stand-in for ECR:
#
#   helper --https--> api.ecr.<region>.amazonaws.com  (/etc/hosts block -> 127.0.0.1)
#          nginx 127.0.0.1:443, private CA made at run time, expiresAt rewritten to 2100
#          --http--> moto_server 127.0.0.1:$BENCH_MOTO_PORT (pip moto[server], venv in the state dir)
#
# Usage (as root, from anywhere):
#   bash bench/compare.sh [--runs N] [--profile] [--build-time] [--keep] [--out FILE]
#   bash bench/compare.sh --purge      # delete the state dir and the apt packages this script installed
#
#   --runs N      hyperfine runs per single-process case (default 30, split into 3 rounds that
#                 alternate ours and the reference; multi-process cases use N/3, at least 6)
#   --profile     also: strace and callgrind instruction counts of our hit / miss / list /
#                 version paths (builds a symbol-carrying copy under the state dir)
#                 -> profile.md next to the results file
#   --profile-only  the profile without the timing cases
#   --build-time  also: time `cargo build --release` from clean in a throw-away target dir (niced)
#   --keep        leave the per-run files (CA, nginx config, caches, logs) in the state dir
#   --out FILE    results file (default bench/results.md)
# Env: BENCH_STATE (default /tmp/ecr-xacct-bench), BENCH_MOTO_PORT (default 4580),
#      BENCH_OURS / BENCH_REF (binaries), BENCH_MOTO_SPEC (default moto[server]==5.2.5),
#      BENCH_NICE (default -10: raise priority over other work on the machine).
#
# Needs: Debian 12 (apt), PyPI (moto), crates.io (hyperfine 1.19 with --input, built once into
# the state dir; our helper, built and installed there by ../install.sh) and cargo.
# BENCH_OURS=<binary> skips building ours.
#
# Outside the state dir it touches only: the "# BEGIN ecr-xacct-bench" block of /etc/hosts
# (removed on exit), /usr/sbin/policy-rc.d while apt runs (only if absent; removed again),
# and apt packages it installs (listed in $BENCH_STATE/installed-packages; --purge removes them).
# It needs 127.0.0.1:443 free and fails with a clear message if something listens there.
set -euo pipefail
export LC_ALL=C

HERE=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
STATE=${BENCH_STATE:-/tmp/ecr-xacct-bench}
MOTO_PORT=${BENCH_MOTO_PORT:-4580}
MOTO_SPEC=${BENCH_MOTO_SPEC:-moto[server]==5.2.5}
OURS=${BENCH_OURS:-}
REF=${BENCH_REF:-/usr/bin/docker-credential-ecr-login}
NICE=${BENCH_NICE:--10}
OUT=$HERE/results.md
RUNS=30
PROFILE=0 PROFILE_ONLY=0 BUILD_TIME=0 KEEP=0 PURGE=0
REGION=us-west-2                 # every helper call goes to this region's API
MARK="ecr-xacct-bench"           # /etc/hosts block markers

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=${2:?}; shift ;;
    --profile) PROFILE=1 ;;
    --profile-only) PROFILE=1 PROFILE_ONLY=1 ;;
    --build-time) BUILD_TIME=1 ;;
    --keep) KEEP=1 ;;
    --purge) PURGE=1 ;;
    --out) OUT=${2:?}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
case $RUNS in ''|*[!0-9]*) die "--runs wants a number" ;; esac
[ "$RUNS" -ge 3 ] || die "--runs must be at least 3"
[ "$(id -u)" = 0 ] || die "run as root (binds 127.0.0.1:443, edits /etc/hosts, may apt-get install)"
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
case $STATE in /*) ;; *) die "BENCH_STATE must be an absolute path" ;; esac
case $STATE$OURS$REF in *[[:space:]]*) die "BENCH_STATE, BENCH_OURS and BENCH_REF must not contain white space" ;; esac

if [ $PURGE = 1 ]; then
  if [ -s "$STATE/installed-packages" ]; then
    log "apt-get purge: $(tr '\n' ' ' < "$STATE/installed-packages")"
    # shellcheck disable=SC2046
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get purge -y -q $(cat "$STATE/installed-packages") >/dev/null
  fi
  rm -rf -- "$STATE"; log "removed $STATE"; exit 0
fi

RUN=$STATE/run                   # per-run files; deleted on exit unless --keep
ORIG_HOME=$HOME                  # the helpers get an empty HOME; cargo/rustup need the real one
mkdir -p "$STATE"
[ "$(stat -c %u "$STATE")" = 0 ] || die "$STATE is not owned by root"

# ------------------------------------------------------------------ cleanup
MOTO_PID="" NGINX_PID="" POLICY_RC=0 BUILD_DIR=""
hosts_unblock() {
  grep -q "^# BEGIN $MARK" /etc/hosts 2>/dev/null || return 0
  local t; t=$(mktemp)
  awk -v b="# BEGIN $MARK" -v e="# END $MARK" 'index($0,b)==1{s=1} !s{print} index($0,e)==1{s=0}' /etc/hosts > "$t"
  cat "$t" > /etc/hosts; rm -f "$t"      # in place: a bind-mounted /etc/hosts keeps working
}
stop_pid() {  # stop_pid PID PATTERN: TERM, then KILL after 10 s, only if it still runs PATTERN
  local pid=$1 pat=$2 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pat" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$NGINX_PID" nginx
  stop_pid "$MOTO_PID" moto_server
  hosts_unblock
  if [ $POLICY_RC = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ -n "$BUILD_DIR" ]; then rm -rf -- "$BUILD_DIR"; fi
  if [ $KEEP = 0 ]; then rm -rf -- "$RUN"; else log "kept $RUN"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ preflight
# listening on 127.0.0.1:PORT, or on a wildcard address (which covers it); other loopback
# addresses (127.0.0.2:443, ...) do not conflict
port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | awk '{print $4}' | grep -Eq '^(127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]|\[::ffff:127\.0\.0\.1\]):[0-9]+$' ; }
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ss || need+=(iproute2)
if ((${#need[@]})); then :; fi
check_ports() {
  if port_busy 443; then
    ss -Hltnp "sport = :443" >&2 || true
    die "127.0.0.1:443 is already in use (above). This benchmark needs it for its TLS front door: stop that server first (for the shared test rig: bash ../shared/rig/down.sh --clean), then rerun."
  fi
  if port_busy "$MOTO_PORT"; then
    ss -Hltnp "sport = :$MOTO_PORT" >&2 || true
    die "port $MOTO_PORT (moto) is in use; set BENCH_MOTO_PORT to a free port"
  fi
}
have ss && check_ports

# ------------------------------------------------------------------ packages
[ -x "$REF" ] || need+=(amazon-ecr-credential-helper)
have hyperfine || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
have nginx || need+=(nginx-light)
have openssl || need+=(openssl)
have gcc || need+=(gcc libc6-dev)
have curl || need+=(curl)
[ -x /usr/bin/python3 ] || need+=(python3)
[ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ $PROFILE = 1 ]; then have valgrind || need+=(valgrind); have strace || need+=(strace); fi
if ((${#need[@]})); then
  log "apt-get install ${need[*]}"
  if [ ! -e /usr/sbin/policy-rc.d ]; then   # keep apt from starting nginx's own service on :80
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; POLICY_RC=1
  fi
  before=$(dpkg-query -W -f '${Package}\n' 2>/dev/null | sort)
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive timeout 1800 apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  comm -13 <(echo "$before") <(dpkg-query -W -f '${Package}\n' | sort) >> "$STATE/installed-packages"
  if [ $POLICY_RC = 1 ]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC=0; fi
  check_ports
fi
if [ ! -x "$STATE/venv/bin/moto_server" ]; then
  log "creating $STATE/venv with $MOTO_SPEC"
  rm -rf "$STATE/venv"
  /usr/bin/python3 -m venv "$STATE/venv"
  timeout 1200 "$STATE/venv/bin/pip" install -q "$MOTO_SPEC"
fi

find_cargo() { command -v cargo 2>/dev/null || { [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ] && echo "${CARGO_HOME:-$HOME/.cargo}/bin/cargo"; }; }
# hyperfine: every case runs with --shell=none (hyperfine's shell-start correction is noisier
# than the ~1 ms measured here) and needs --input for stdin, which Debian's 1.15 lacks: build
# 1.19.0 from crates.io once into the state dir when cargo is there.
HYPERFINE=$(command -v hyperfine || true)
if ! "$HYPERFINE" --help 2>/dev/null | grep -q -- '--input'; then
  if [ ! -x "$STATE/tools/bin/hyperfine" ] && CARGO=$(find_cargo); then
    log "building hyperfine 1.19.0 from crates.io into $STATE/tools (Debian's has no --input; ~2 min)"
    nice -n 10 timeout 1800 "$CARGO" install hyperfine --version 1.19.0 --locked --root "$STATE/tools" -q ||
      log "WARNING: could not build hyperfine 1.19.0; falling back to Debian's with a launcher"
  fi
  [ -x "$STATE/tools/bin/hyperfine" ] && HYPERFINE=$STATE/tools/bin/hyperfine
fi
HF_INPUT=0; "$HYPERFINE" --help 2>/dev/null | grep -q -- '--input' && HF_INPUT=1

# ------------------------------------------------------------------ our binary
# The default binary is (re)built so that it matches the tree and Cargo.toml (a no-op when it is
# up to date); a binary named by BENCH_OURS is taken as it is.
if [ -z "${BENCH_OURS:-}" ]; then
  # Exactly what users get: install.sh's build (static on Linux/glibc), into the state dir.
  OURS=$STATE/prefix/bin/docker-credential-ecr-xacct
  CARGO=$(find_cargo) || die "cargo is not installed (install Rust >= the crate's rust-version with rustup, or set BENCH_OURS)"
  log "install.sh --prefix $STATE/prefix (niced; the build is a no-op when up to date)"
  (cd "$ROOT" && PATH="$(dirname "$CARGO"):$PATH" HOME=$ORIG_HOME nice -n 10 timeout 5400 ./install.sh --prefix "$STATE/prefix" > "$STATE/install.log" 2>&1) ||
    { tail -n 20 "$STATE/install.log" >&2; die "install.sh failed"; }
fi
[ -x "$OURS" ] || die "$OURS is missing"
[ -x "$REF" ] || die "reference helper $REF is missing"

# ------------------------------------------------------------------ per-run files
rm -rf -- "$RUN"
mkdir -p "$RUN"/{ca,nginx/tmp,logs,json,in,cache,home,out}
chmod 755 "$STATE" "$RUN"
ACCOUNTS=()
for i in $(seq 1 20); do ACCOUNTS+=("$(printf '1000000000%02d' "$i")"); done
for i in $(seq 1 20); do printf '%s.dkr.ecr.%s.amazonaws.com' "${ACCOUNTS[$((i - 1))]}" "$REGION" > "$RUN/in/$(printf %02d "$i").txt"; done
IN1=$RUN/in/01.txt
API_HOSTS="api.ecr.$REGION.amazonaws.com sts.$REGION.amazonaws.com sts.amazonaws.com api.ecr-public.us-east-1.amazonaws.com"

log "private CA and server certificate"
(
  cd "$RUN/ca"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -keyout ca.key -out ca.crt \
    -subj "/CN=ecr-xacct bench CA (throw-away)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  san="DNS:localhost,IP:127.0.0.1"; for h in $API_HOSTS; do san+=",DNS:$h"; done
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr -subj "/CN=api.ecr.$REGION.amazonaws.com" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$san" > server.ext
  openssl x509 -req -sha256 -days 2 -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -extfile server.ext -out server.crt 2>/dev/null
  cat /etc/ssl/certs/ca-certificates.crt ca.crt > bundle.crt
  chmod 600 ca.key server.key; chmod 644 bundle.crt
)
BUNDLE=$RUN/ca/bundle.crt

log "/etc/hosts block $MARK"
hosts_unblock
{
  echo "# BEGIN $MARK (bench/compare.sh; removed when it exits)"
  for h in $API_HOSTS; do echo "127.0.0.1 $h"; done
  echo "# END $MARK"
} >> /etc/hosts

# A canned ECR Public answer: moto has none, and without it the reference's `list` retries a
# 500 for ~3 s. Token: base64 "AWS:public-auth-token".
PUBLIC_ANSWER='{"authorizationData":{"authorizationToken":"QVdTOnB1YmxpYy1hdXRoLXRva2Vu","expiresAt":4102444800}}'
cat > "$RUN/nginx.conf" <<EOF
# generated by bench/compare.sh
user root;
worker_processes 1;
daemon off;
pid $RUN/nginx/nginx.pid;
error_log $RUN/logs/nginx-error.log notice;
events { worker_connections 512; }
http {
  log_format bench '\$msec sni=\$ssl_server_name "\$request" \$status target="\$http_x_amz_target" ua="\$http_user_agent"';
  access_log $RUN/logs/access.log bench;
  client_body_temp_path $RUN/nginx/tmp/body;
  proxy_temp_path $RUN/nginx/tmp/proxy;
  fastcgi_temp_path $RUN/nginx/tmp/fastcgi;
  uwsgi_temp_path $RUN/nginx/tmp/uwsgi;
  scgi_temp_path $RUN/nginx/tmp/scgi;
  ssl_certificate $RUN/ca/server.crt;
  ssl_certificate_key $RUN/ca/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:443 ssl default_server;
    server_name api.ecr.$REGION.amazonaws.com sts.$REGION.amazonaws.com sts.amazonaws.com localhost;
    location / {
      proxy_pass http://127.0.0.1:$MOTO_PORT;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_set_header Connection "";
      proxy_set_header Accept-Encoding "";
      # moto's tokens always expire in 2015: move them to 2100 so that caches work
      sub_filter_types application/x-amz-json-1.1 application/json;
      sub_filter_once off;
      sub_filter '"expiresAt": 1420070400' '"expiresAt": 4102444800';
    }
  }
  server {
    listen 127.0.0.1:443 ssl;
    server_name api.ecr-public.us-east-1.amazonaws.com;
    location / {
      default_type application/x-amz-json-1.1;
      return 200 '$PUBLIC_ANSWER';
    }
  }
}
EOF
NGINX=(nginx -e "$RUN/logs/nginx-error.log" -p "$RUN/nginx/" -c "$RUN/nginx.conf")
"${NGINX[@]}" -t >/dev/null 2>&1 || { "${NGINX[@]}" -t || true; die "nginx config invalid"; }

wait_until() {  # wait_until SECONDS WHAT CMD...
  local t=$1 what=$2 i; shift 2
  for ((i = 0; i < t * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what did not come up within $t s; see $RUN/logs (rerun with --keep to look)"
}
log "starting moto on 127.0.0.1:$MOTO_PORT and nginx on 127.0.0.1:443"
check_ports
setsid "$STATE/venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" > "$RUN/logs/moto.log" 2>&1 < /dev/null &
MOTO_PID=$!
setsid "${NGINX[@]}" > "$RUN/logs/nginx-stderr.log" 2>&1 < /dev/null &
NGINX_PID=$!
wait_until 60 moto curl -sf -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/"
wait_until 20 nginx curl -sf -o /dev/null --cacert "$RUN/ca/ca.crt" "https://api.ecr.$REGION.amazonaws.com/moto-api/"
kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited; see $RUN/logs"
ACCESS=$RUN/logs/access.log

# ------------------------------------------------------------------ the floor
cat > "$RUN/floor.c" <<'EOF'
/* The floor: start a process, read one small file, write it to stdout. */
#include <fcntl.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char buf[4096];
  int fd = open(argc > 1 ? argv[1] : "/dev/null", O_RDONLY);
  if (fd < 0) return 1;
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0) write(1, buf, (size_t)n);
  close(fd);
  return 0;
}
EOF
gcc -O2 -o "$RUN/floor" "$RUN/floor.c"
# Fallback for a hyperfine without --input (Debian's 1.15): every case then runs through this
# launcher (env(1) plus stdin from a file, one more exec), which adds ~1 ms to each case here.
cat > "$RUN/run.c" <<'EOF'
/* run [-i FILE] [-u NAME]... [NAME=VALUE]... /abs/CMD [ARG]... */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "-i") && i + 1 < argc) {
      int fd = open(argv[++i], O_RDONLY);
      if (fd < 0 || dup2(fd, 0) < 0) return 126;
      close(fd);
    } else if (!strcmp(argv[i], "-u") && i + 1 < argc) {
      unsetenv(argv[++i]);
    } else if (argv[i][0] != '/' && strchr(argv[i], '=')) {
      putenv(argv[i]);
    } else {
      break;
    }
  }
  if (i >= argc) return 125;
  execv(argv[i], argv + i);
  return 127;
}
EOF
gcc -O2 -o "$RUN/run" "$RUN/run.c"
R=$RUN/run

cat > "$RUN/burst.sh" <<'EOF'
# burst.sh HELPER INPUT N [OUTDIR]: N concurrent `get`s, then wait for all of them
h=$1 in=$2 n=$3 out=${4:-}
i=0
while [ $i -lt $n ]; do
  if [ -n "$out" ]; then "$h" get < "$in" > "$out/$i.out" 2> "$out/$i.err" & else "$h" get < "$in" > /dev/null & fi
  i=$((i + 1))
done
wait
EOF
cat > "$RUN/get20.sh" <<EOF
# get20.sh HELPER: \`get\` for 20 registries (20 owner accounts, one region) one after another
for f in $RUN/in/??.txt; do "\$1" get < "\$f" > /dev/null || exit 1; done
EOF

# ------------------------------------------------------------------ environment of both helpers
for v in $(compgen -e); do
  case $v in
    AWS_*|ECR_XACCT_*|SSL_CERT_*|XDG_*|DOCKER_*|[Hh][Tt][Tt][Pp]*_[Pp][Rr][Oo][Xx][Yy]|[Nn][Oo]_[Pp][Rr][Oo][Xx][Yy]|[Aa][Ll][Ll]_[Pp][Rr][Oo][Xx][Yy]|GODEBUG|GOGC|GOMAXPROCS|RUST_LOG|RUST_BACKTRACE) unset "$v" ;;
  esac
done
export HOME=$RUN/home
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=$REGION
export AWS_CA_BUNDLE=$BUNDLE SSL_CERT_FILE=$BUNDLE
export ECR_XACCT_CONFIG=$RUN/home/no-config.toml   # absent: an empty config
export TMPDIR=$RUN/out

# ------------------------------------------------------------------ checks
calls() { local n; n=$(grep -c 'GetAuthorizationToken' "$ACCESS" 2>/dev/null) || true; echo "${n:-0}"; }
requests() { local n; n=$(wc -l < "$ACCESS" 2>/dev/null) || true; echo "${n:-0}"; }
cachedir() { echo "$RUN/cache/$1-$2"; }   # cachedir HELPER CASE
cenv() { echo "AWS_ECR_CACHE_DIR=$1 ECR_XACCT_CACHE_DIR=$1"; }
check_answer() {  # check_answer WHO FILE
  grep -Eq '"Username":"AWS","Secret":"[0-9]{12}-auth-token"' "$2" ||
    die "$1 gave a wrong answer: $(head -c 300 "$2"; cat "${2%.out}.err" 2>/dev/null | head -c 500)"
}
for who in ours ref; do
  H=$OURS; [ $who = ref ] && H=$REF
  c=$(cachedir $who check); mkdir -p "$c"
  before=$(calls)
  env AWS_ECR_CACHE_DIR="$c" ECR_XACCT_CACHE_DIR="$c" timeout 60 "$H" get < "$IN1" > "$RUN/out/check-$who.out" 2> "$RUN/out/check-$who.err" || true
  check_answer $who "$RUN/out/check-$who.out"
  env AWS_ECR_CACHE_DIR="$c" ECR_XACCT_CACHE_DIR="$c" timeout 60 "$H" get < "$IN1" > "$RUN/out/check2-$who.out" 2>&1 || true
  check_answer $who "$RUN/out/check2-$who.out"
  n=$(( $(calls) - before ))
  [ "$n" = 1 ] || log "WARNING: $who made $n API calls for a miss then a hit (expected 1): the cache case will not be a hit"
done
log "both helpers answer; stand-in OK"

# ------------------------------------------------------------------ timing
MANIFEST=$RUN/manifest.tsv; : > "$MANIFEST"
META=$RUN/meta.txt; : > "$META"
meta() { printf '%s\t%s\n' "$1" "$2" >> "$META"; }
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
SMALL=$(( RUNS / 3 > 6 ? RUNS / 3 : 6 ))
hf() {  # hf CASE WHO RUNS WARMUP PREPARE INPUT ENV COMMAND ROUND  (ENV: words for env(1), e.g. "-u X A=b")
  local name=$1 who=$2 runs=$3 warm=$4 prep=$5 input=$6 envs=$7 cmd=$8 round=$9 before req_before
  [ $PROFILE_ONLY = 0 ] || return 0
  local json=$RUN/json/$name-$who-$round.json
  local args=(-N --style basic --runs "$runs" --warmup "$warm" --export-json "$json" -n "$name-$who")
  [ -n "$prep" ] && args+=(--prepare "$prep")
  if [ $HF_INPUT = 0 ]; then   # old hyperfine: stdin and environment through the launcher
    cmd="$R${input:+ -i $input}${envs:+ $envs} $cmd"; envs=""
  else
    args+=(--input "${input:-null}")
  fi
  before=$(calls); req_before=$(requests)
  log "$name / $who (round $round)"
  # shellcheck disable=SC2086
  env $envs nice -n "$NICE" timeout 1800 "$HYPERFINE" "${args[@]}" "$cmd" > "$RUN/logs/hyperfine-$name-$who-$round.txt" 2>&1 ||
    { cat "$RUN/logs/hyperfine-$name-$who-$round.txt" >&2; die "hyperfine failed for $name/$who"; }
  sleep 0.5   # nginx logs a request after the client may have gone
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$who" "$json" \
    $(( $(calls) - before )) $(( $(requests) - req_before )) $(( runs + warm )) >> "$MANIFEST"
}
ROUNDS=3
both() {  # both CASE RUNS WARMUP PREPARE INPUT ENV COMMAND (@H@ = helper, @C@ = its cache dir)
  # ROUNDS alternating rounds (ours, reference; the floor too for the hit case) so that a change
  # of load on the machine falls on both helpers; the report pools the runs of all rounds.
  local name=$1 runs=$2 warm=$3 prep=$4 input=$5 envs=$6 cmd=$7 who h c p e x k per
  per=$(( (runs + ROUNDS - 1) / ROUNDS )); [ $per -ge 2 ] || per=2
  for ((k = 1; k <= ROUNDS; k++)); do
    if [ "$name" = hit ]; then hf floor floor $per "$warm" "" "$IN1" "" "$RUN/floor $RUN/in/entry.json" $k; fi
    for who in ours ref; do
      h=$OURS; [ $who = ref ] && h=$REF
      c=$(cachedir $who "$name")
      p=${prep//@H@/$h}; p=${p//@C@/$c}
      e=${envs//@H@/$h}; e=${e//@C@/$c}
      x=${cmd//@H@/$h}; x=${x//@C@/$c}
      hf "$name" $who $per "$warm" "$p" "$input" "$e" "$x" $k
    done
  done
}
warm() {  # warm CASE INPUT...: fill both helpers' caches for CASE
  local name=$1 who h c f; shift
  for who in ours ref; do
    h=$OURS; [ $who = ref ] && h=$REF
    c=$(cachedir $who "$name"); rm -rf "$c"; mkdir -p "$c"
    for f in "$@"; do env AWS_ECR_CACHE_DIR="$c" ECR_XACCT_CACHE_DIR="$c" timeout 60 "$h" get < "$f" > /dev/null; done
  done
}
CE="AWS_ECR_CACHE_DIR=@C@ ECR_XACCT_CACHE_DIR=@C@"
ENTRY=$(ls "$(cachedir ours check)"/*.json | head -1)   # our cache file: what a hit reads
cp "$ENTRY" "$RUN/in/entry.json"

both version "$RUNS" 2 "" "" "" "@H@ version"
warm hit "$IN1"
both hit "$RUNS" 2 "" "$IN1" "$CE" "@H@ get"
warm hit-nobundle "$IN1"
both hit-nobundle "$RUNS" 2 "" "$IN1" "-u AWS_CA_BUNDLE $CE" "@H@ get"
both miss "$RUNS" 2 "" "$IN1" "AWS_ECR_DISABLE_CACHE=1 $CE" "@H@ get"
both miss-nobundle "$RUNS" 2 "" "$IN1" "-u AWS_CA_BUNDLE AWS_ECR_DISABLE_CACHE=1 $CE" "@H@ get"
both cold "$RUNS" 2 "rm -rf @C@" "$IN1" "$CE" "@H@ get"
warm list "$RUN"/in/??.txt
both list "$RUNS" 2 "" "" "$CE" "@H@ list"
warm get20-warm "$RUN"/in/??.txt
both get20-warm "$SMALL" 1 "" "" "$CE" "/bin/sh $RUN/get20.sh @H@"
both get20-cold "$SMALL" 1 "rm -rf @C@" "" "$CE" "/bin/sh $RUN/get20.sh @H@"
both burst32-cold "$SMALL" 1 "rm -rf @C@" "" "$CE" "/bin/sh $RUN/burst.sh @H@ $IN1 32"

if [ $PROFILE_ONLY = 0 ]; then
# one burst of 32 cold `get`s per helper, every answer checked, API calls counted exactly
# (three bursts each: the reference's count depends on timing)
for who in ours ref; do
  h=$OURS; [ $who = ref ] && h=$REF
  counts=() oks=()
  for k in 1 2 3; do
    c=$(cachedir $who burst-check-$k); o=$RUN/out/burst-$who-$k
    rm -rf "$c" "$o"; mkdir -p "$c" "$o"
    before=$(calls)
    env AWS_ECR_CACHE_DIR="$c" ECR_XACCT_CACHE_DIR="$c" timeout 120 sh "$RUN/burst.sh" "$h" "$IN1" 32 "$o"
    sleep 0.5
    counts+=($(( $(calls) - before )))
    ok=0; for f in "$o"/*.out; do grep -Eq '"Secret":"[0-9]{12}-auth-token"' "$f" && ok=$((ok + 1)); done
    oks+=("$ok")
  done
  meta "burst_calls_$who" "${counts[*]}"
  meta "burst_ok_$who" "${oks[*]}"
done

# peak RSS: median of 11 runs of /usr/bin/time -f %M (KiB)
rss() {  # rss ENV-ASSIGNMENTS... -- CMD...
  local vals=() i
  for i in $(seq 11); do
    vals+=("$(env "$@" 2>&1 >/dev/null < "$IN1" | tail -1)")
  done
  printf '%s\n' "${vals[@]}" | sort -n | sed -n 6p
}
for who in ours ref; do
  h=$OURS; [ $who = ref ] && h=$REF
  c=$(cachedir $who hit)
  meta "rss_hit_$who" "$(rss AWS_ECR_CACHE_DIR="$c" ECR_XACCT_CACHE_DIR="$c" /usr/bin/time -f %M "$h" get)"
  c=$(cachedir $who miss)
  meta "rss_miss_$who" "$(rss AWS_ECR_DISABLE_CACHE=1 AWS_ECR_CACHE_DIR="$c" ECR_XACCT_CACHE_DIR="$c" /usr/bin/time -f %M "$h" get)"
  meta "size_$who" "$(stat -L -c %s "$h")"
  meta "file_$who" "$(file -bL "$h" 2>/dev/null | cut -d, -f1-2 || true)"
done
meta rss_floor "$(rss /usr/bin/time -f %M "$RUN/floor" "$IN1")"
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------ optional: build time
if [ $BUILD_TIME = 1 ]; then
  CARGO=$(find_cargo) || die "--build-time needs cargo"
  BUILD_DIR=$(mktemp -d /tmp/ecr-xacct-buildtime.XXXXXX)
  log "cargo build --release from clean in $BUILD_DIR (niced; minutes on 2 cores)"
  (cd "$ROOT" && HOME=$ORIG_HOME timeout 1800 "$CARGO" fetch --locked -q) || die "cargo fetch failed"
  meta build_load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
  t0=$(date +%s.%N)
  (cd "$ROOT" && PATH="$(dirname "$CARGO"):$PATH" HOME=$ORIG_HOME CARGO_TARGET_DIR=$BUILD_DIR nice -n 10 timeout 7200 ./install.sh --prefix "$BUILD_DIR/prefix" > "$BUILD_DIR/install.log" 2>&1) || die "timed build failed"
  t1=$(date +%s.%N)
  meta build_seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", b - a}')"
  meta build_load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
  meta build_size "$(stat -c %s "$BUILD_DIR/release/docker-credential-ecr-xacct")"
  meta build_cargo "$(HOME=$ORIG_HOME "$CARGO" --version)"
  rm -rf -- "$BUILD_DIR"; BUILD_DIR=""
fi

# ------------------------------------------------------------------ report
meta date "$(date -u +%FT%TZ)"
meta nproc "$(nproc)"
meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
meta kernel "$(uname -r)"
meta runs "$RUNS"
meta small_runs "$SMALL"
meta rounds "$ROUNDS"
meta nice "$NICE"
meta ours_version "$("$OURS" version 2>/dev/null | head -1)"
meta ref_version "$("$REF" version 2>/dev/null | head -1)"
meta ours_path "${OURS#"$ROOT"/}"
meta ref_path "$REF"
meta moto "$("$STATE/venv/bin/pip" show moto 2>/dev/null | awk '/^Version/{print $2}')"
meta nginx "$(nginx -v 2>&1 | sed 's/.*nginx\///')"
meta hyperfine "$("$HYPERFINE" --version | awk '{print $2}')$([ $HF_INPUT = 1 ] || echo ' (no --input: through a launcher, +~1 ms per case)')"
meta git "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' + uncommitted changes to src/ or Cargo files')"
mkdir -p "$(dirname "$OUT")"
/usr/bin/python3 - "$MANIFEST" "$META" > "$OUT.tmp" <<'PY'
import json, sys
manifest, metafile = sys.argv[1], sys.argv[2]
meta = {}
for line in open(metafile):
    k, _, v = line.rstrip("\n").partition("\t")
    meta[k] = v
import statistics
pool = {}
order = []
for line in open(manifest):
    case, who, path, calls, reqs, execs = line.rstrip("\n").split("\t")
    r = json.load(open(path))["results"][0]
    d = pool.setdefault((case, who), dict(times=[], cpu=0.0, n=0, calls=0, reqs=0, execs=0, rounds=[]))
    d["times"] += r["times"]
    d["cpu"] += (r["user"] + r["system"]) * len(r["times"])
    d["n"] += len(r["times"])
    d["rounds"].append(r["median"] * 1000)
    d["calls"] += int(calls); d["reqs"] += int(reqs); d["execs"] += int(execs)
    if case == "hit" and ("floor", "floor") in pool and "floor" not in order:
        order.append("floor")
    if case not in order:
        order.append(case)
if ("floor", "floor") in pool and "floor" in order:
    order.remove("floor"); order.insert(0, "floor")
rows = {}
for k, d in pool.items():
    rows[k] = dict(median=statistics.median(d["times"]) * 1000, cpu=d["cpu"] / d["n"] * 1000,
                   min=min(d["times"]) * 1000, rounds=d["rounds"], n=d["n"],
                   calls=d["calls"], reqs=d["reqs"], execs=d["execs"])

def ms(x):
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"

def per_run(n, e):
    v = n / e
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"

what = {
    "floor": "floor: C program that reads one small file",
    "version": "`version`: process start only",
    "hit": "`get`, cache hit",
    "hit-nobundle": "`get`, cache hit, no AWS_CA_BUNDLE",
    "miss": "`get`, cache off (AWS_ECR_DISABLE_CACHE=1)",
    "miss-nobundle": "`get`, cache off, no AWS_CA_BUNDLE",
    "cold": "`get`, empty cache (fetch + write)",
    "list": "`list` (20 cached registries)",
    "get20-warm": "20 registries in a row, warm cache",
    "get20-cold": "20 registries in a row, empty cache",
    "burst32-cold": "32 concurrent `get`s, empty cache",
}
out = []
p = out.append
p("# docker-credential-ecr-xacct vs docker-credential-ecr-login")
p("")
p(f"Generated by `bench/compare.sh` on {meta['date']}; git {meta['git']}.  ")
p(f"Machine: {meta['nproc']} CPUs, {meta['cpu']}, Linux {meta['kernel']}.  ")
p(f"Load average (1/5/15 min) before: {meta['load_before']}, after: {meta['load_after']} "
  f"(other work was running; compare ratios, not absolute times).  ")
p(f"Ours: `{meta['ours_path']}` ({meta['ours_version']}); reference: `{meta['ref_path']}` "
  f"({meta['ref_version']}).  ")
p(f"Stand-in: moto {meta['moto']} behind nginx {meta['nginx']} TLS on 127.0.0.1:443; "
  f"hyperfine {meta['hyperfine']}, nice {meta['nice']}; {meta['runs']} runs per case (multi-process cases "
  f"{meta['small_runs']}) in {meta['rounds']} rounds alternating ours / reference (and the floor with the hit), "
  f"warm-up 2 (1) per round; medians of wall time over all runs; CPU = mean user+system time of the "
  f"process tree; every command is spawned directly (`--shell=none`, stdin from a file).")
p("")
p("| case | ours ms | reference ms | ours/ref | CPU ms (user+sys): ours | ref | API calls per run: ours | ref |")
p("|---|---:|---:|---:|---:|---:|---:|---:|")
for case in order:
    if case == "floor":
        f = rows[(case, "floor")]
        p(f"| {what[case]} | {ms(f['median'])} | | | {ms(f['cpu'])} | | | |")
        continue
    o, r = rows[(case, "ours")], rows[(case, "ref")]
    p(f"| {what.get(case, case)} | {ms(o['median'])} | {ms(r['median'])} | "
      f"{o['median'] / r['median']:.2f}x | {ms(o['cpu'])} | {ms(r['cpu'])} | "
      f"{per_run(o['reqs'], o['execs'])} | {per_run(r['reqs'], r['execs'])} |")
def kib(k):
    return f"{int(k) / 1024:.1f} MiB"
def sz(b):
    return f"{int(b) / 1048576:.2f} MiB ({int(b):,} B)"
ri = lambda a, b: f"{int(a) / int(b):.2f}x"
p(f"| peak RSS, `get` hit | {kib(meta['rss_hit_ours'])} | {kib(meta['rss_hit_ref'])} | {ri(meta['rss_hit_ours'], meta['rss_hit_ref'])} | | | | |")
p(f"| peak RSS, `get` miss | {kib(meta['rss_miss_ours'])} | {kib(meta['rss_miss_ref'])} | {ri(meta['rss_miss_ours'], meta['rss_miss_ref'])} | | | | |")
p(f"| peak RSS, floor | {kib(meta['rss_floor'])} | | | | | | |")
p(f"| binary size | {sz(meta['size_ours'])} | {sz(meta['size_ref'])} | {ri(meta['size_ours'], meta['size_ref'])} | | | | |")
p("")
p(f"32 concurrent cold `get`s, three checked bursts: GetAuthorizationToken calls per burst: ours "
  f"**{meta['burst_calls_ours']}** (right answers: {meta['burst_ok_ours']} of 32), the reference "
  f"**{meta['burst_calls_ref']}** ({meta['burst_ok_ref']} of 32).  ")
p(f"Binaries: ours {meta['file_ours']}; reference {meta['file_ref']}.")
if "build_seconds" in meta:
    p("")
    p(f"Build: `install.sh` (cargo rustc --release --locked, static on Linux/glibc) from clean (crates already downloaded, nice 10): "
      f"**{meta['build_seconds']} s** wall, binary {sz(meta['build_size'])}; {meta['build_cargo']}; "
      f"load {meta['build_load_before']} -> {meta['build_load_after']}.")
p("")
p("## Targets")
p("")
p("| target | measured | verdict |")
p("|---|---|---|")
def target(name, measured, ok):
    p(f"| {name} | {measured} | {'met' if ok else '**missed**'} |")
    print(f"{'MET   ' if ok else 'MISSED'} {name}: {measured}", file=sys.stderr)
def cmp(a, b):
    """'0.31x (1.80 vs 5.80 ms; CPU 0.25x)': wall medians, then the CPU-time ratio."""
    return (f"{a['median'] / b['median']:.2f}x ({ms(a['median'])} vs {ms(b['median'])} ms; "
            f"CPU {a['cpu'] / b['cpu']:.2f}x)")
ho, hr, fl = rows[("hit", "ours")], rows[("hit", "ref")], rows[("floor", "floor")]
target("cache-hit `get` <= 0.25x reference", cmp(ho, hr), ho["median"] <= 0.25 * hr["median"])
target("cache-hit `get` within 1.5x of the floor", cmp(ho, fl), ho["median"] <= 1.5 * fl["median"])
for c in ("miss", "miss-nobundle", "cold"):
    o, r = rows[(c, "ours")], rows[(c, "ref")]
    target(f"`{c}` no slower than reference", cmp(o, r), o["median"] <= r["median"])
b = [int(x) for x in meta["burst_calls_ours"].split()]
target("32 concurrent cold `get`s = exactly 1 API call", f"{' '.join(map(str, b))} per burst (reference: {meta['burst_calls_ref']})",
       all(x == 1 for x in b) and all(x == "32" for x in meta["burst_ok_ours"].split()))
lo = rows[("list", "ours")]
target("`list` < 5 ms and no network", f"{ms(lo['median'])} ms, {lo['reqs']} requests in {lo['execs']} runs", lo["median"] < 5 and lo["reqs"] == 0)
a, bb = int(meta["rss_hit_ours"]), int(meta["rss_hit_ref"])
target("peak RSS on a hit <= half the reference", f"{a / bb:.2f}x ({kib(a)} vs {kib(bb)})", 2 * a <= bb)
a, bb = int(meta["size_ours"]), int(meta["size_ref"])
target("binary no larger than the reference's", f"{a / bb:.2f}x ({sz(a)} vs {sz(bb)})", a <= bb)
p("")
p("Verdicts use the wall-time medians; the CPU ratio (user+system, less sensitive to other load) "
  "is shown next to them. Cases: see bench/README.md. \"API calls per run\" counts every request "
  "that reached the front door (warm-up included) divided by the number of executions.")
print("\n".join(out))
PY
mv -f "$OUT.tmp" "$OUT"
rm -rf "$STATE/last"; mkdir -p "$STATE/last"; cp -r "$RUN/json" "$MANIFEST" "$META" "$RUN/logs" "$STATE/last/" 2>/dev/null || true
log "results: $OUT"
cat "$OUT"

fi  # PROFILE_ONLY

# ------------------------------------------------------------------ optional: profile
# Where our time goes: instruction counts (callgrind; this VM has no hardware counters for
# perf) and syscalls (strace). The benchmarked binary is stripped, so the per-function view
# comes from a symbol-carrying build of the same source (--profile builds it under the state
# dir, or set BENCH_PROF_BIN). callgrind cannot run the reference (Go runtime + cgo signal
# handling asserts in valgrind 3.19), so it gets strace only.
if [ $PROFILE = 1 ]; then
  PROF_OUT=${OUT%/*}/profile.md
  P=$RUN/prof; mkdir -p "$P" "${OUT%/*}"
  PBIN=${BENCH_PROF_BIN:-}
  if [ -z "$PBIN" ]; then
    CARGO=$(find_cargo) || die "--profile needs cargo (or BENCH_PROF_BIN)"
    log "profile: building a symbol-carrying copy in $STATE/target-prof (niced)"
    (cd "$ROOT" && HOME=$ORIG_HOME CARGO_TARGET_DIR=$STATE/target-prof CARGO_PROFILE_RELEASE_STRIP=false \
       CARGO_PROFILE_RELEASE_DEBUG=line-tables-only nice -n 10 timeout 7200 "$CARGO" build --release --locked -q) ||
      die "symbol build failed"
    PBIN=$STATE/target-prof/release/docker-credential-ecr-xacct
  fi
  c_hit=$(cachedir ours hit) c_list=$(cachedir ours list) c_miss=$(cachedir ours miss)
  # name | environment | stdin | argv (binary first; @B@ = binary under study)
  pcases=(
    "floor||$IN1|$RUN/floor $RUN/in/entry.json"
    "version|||@B@ version"
    "hit|ECR_XACCT_CACHE_DIR=$c_hit|$IN1|@B@ get"
    "list|ECR_XACCT_CACHE_DIR=$c_list||@B@ list"
    "miss|ECR_XACCT_NO_CACHE=1 ECR_XACCT_TIMEOUT=120 ECR_XACCT_CACHE_DIR=$c_miss|$IN1|@B@ get"
    "miss-nobundle|-u AWS_CA_BUNDLE ECR_XACCT_NO_CACHE=1 ECR_XACCT_TIMEOUT=120 ECR_XACCT_CACHE_DIR=$c_miss|$IN1|@B@ get"
  )
  : > "$P/summary.tsv"
  for pc in "${pcases[@]}"; do
    IFS='|' read -r name envs input argv <<< "$pc"
    for flavour in stripped symbols; do
      b=$OURS; [ $flavour = symbols ] && b=$PBIN
      [ $name = floor ] && [ $flavour = symbols ] && continue
      cmd=${argv//@B@/$b}
      # shellcheck disable=SC2086
      env $envs timeout 300 valgrind --tool=callgrind --callgrind-out-file="$P/cg-$name-$flavour.out" \
        $cmd < "${input:-/dev/null}" > /dev/null 2> "$P/cg-$name-$flavour.err" || log "callgrind $name/$flavour failed"
    done
    # shellcheck disable=SC2086
    env $envs timeout 120 strace -f -qq -o "$P/strace-$name.txt" ${argv//@B@/$OURS} < "${input:-/dev/null}" > /dev/null 2>&1 || true
    printf '%s\tours\t%s\n' "$name" "$P/strace-$name.txt" >> "$P/summary.tsv"
  done
  for name in hit miss; do
    c=$(cachedir ref "$name"); e=""; [ $name = miss ] && e="AWS_ECR_DISABLE_CACHE=1"
    # shellcheck disable=SC2086
    env $e AWS_ECR_CACHE_DIR="$c" timeout 120 strace -f -qq -o "$P/strace-ref-$name.txt" "$REF" get < "$IN1" > /dev/null 2>&1 || true
    printf '%s\tref\t%s\n' "$name" "$P/strace-ref-$name.txt" >> "$P/summary.tsv"
  done
  for name in hit miss; do
    callgrind_annotate --inclusive=yes --threshold=100 "$P/cg-$name-symbols.out" > "$P/annotate-incl-$name.txt" 2>/dev/null || true
    callgrind_annotate --threshold=100 "$P/cg-$name-symbols.out" > "$P/annotate-self-$name.txt" 2>/dev/null || true
  done
  /usr/bin/python3 - "$P" "$(date -u +%FT%TZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" > "$PROF_OUT.tmp" <<'PY'
import collections, os, re, sys
P, date, load = sys.argv[1], sys.argv[2], sys.argv[3]

def by_object(path):
    """Self cost per object file, straight from the callgrind.out format."""
    names, cost, ob, skip = {}, collections.Counter(), "?", False
    def resolve(kind, rest):
        m = re.match(r"\((\d+)\)(?: (.*))?", rest)
        if not m:
            return rest
        if m.group(2) is not None:
            names[(kind, m.group(1))] = m.group(2)
        return names.get((kind, m.group(1)), "?")
    total = 0
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("ob="):
            ob = resolve("ob", line[3:])
        elif line.startswith("cob="):
            resolve("ob", line[4:])
        elif line.startswith(("fn=", "cfn=", "fl=", "fi=", "fe=", "cfi=", "cfl=")):
            pass
        elif line.startswith("calls="):
            skip = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            if skip:
                skip = False
                continue
            parts = line.split()
            if len(parts) > 1:
                cost[os.path.basename(ob)] += int(parts[1])
        elif line.startswith("summary:") or line.startswith("totals:"):
            total = int(line.split()[1])
    return total, cost

def group(obj):
    if obj.startswith("ld-linux"):
        return "ld.so (loading, relocation)"
    if obj.startswith(("libc.so", "libm.so", "libgcc_s")):
        return "libc/libm/libgcc_s"
    return "the program itself"

out = []
p = out.append
p("# Where our helper's time goes (instruction counts, syscalls)")
p("")
p(f"Generated by `bench/compare.sh --profile` on {date}; load average {load}. Instruction counts "
  "come from callgrind (deterministic, unaffected by load); this VM exposes no hardware counters to "
  "perf. Counts cover the whole process: dynamic loader, libc, Rust runtime start-up and our code.")
p("")
p("| case | instructions (stripped release binary) | ld.so | libc/libm/libgcc_s | program | syscalls |")
p("|---|---:|---:|---:|---:|---:|")
strace = {}
for line in open(os.path.join(P, "summary.tsv")):
    name, who, path = line.rstrip("\n").split("\t")
    calls_ = []
    try:
        for l in open(path, errors="replace"):
            l = re.sub(r"^\d+\s+", "", l)
            if l.startswith(("+++", "---", "<...")):
                continue
            m = re.match(r"([a-z_0-9]+)\(", l)
            if m:
                calls_.append(m.group(1))
    except OSError:
        pass
    strace[(name, who)] = calls_
for name in ("floor", "version", "hit", "list", "miss", "miss-nobundle"):
    f = os.path.join(P, f"cg-{name}-stripped.out")
    if not os.path.exists(f):
        continue
    total, cost = by_object(f)
    g = collections.Counter()
    for k, v in cost.items():
        g[group(k)] += v
    n = len(strace.get((name, "ours"), []))
    label = "floor (C, reads one file)" if name == "floor" else f"ours `{name}`"
    p(f"| {label} | {total:,} | {g['ld.so (loading, relocation)']:,} | {g['libc/libm/libgcc_s']:,} | "
      f"{g['the program itself']:,} | {n} |")
for name in ("hit", "miss"):
    n = len(strace.get((name, "ref"), []))
    if n:
        p(f"| reference `{name}` | (valgrind cannot run it) | | | | {n} |")
p("")
for name in ("hit", "miss"):
    for who, label in (("ours", "ours"), ("ref", "reference")):
        lst = strace.get((name, who), [])
        if lst:
            c = collections.Counter(lst)
            p(f"Syscalls, {label} `{name}` ({len(lst)}): " + ", ".join(f"{k} {v}" for k, v in c.most_common(16))
              + (", ..." if len(c) > 16 else ""))
            p("")

# attribution from the symbol-carrying build (inclusive instructions; inlined code is counted
# where it was inlined, so the parts overlap and do not add up)
PARTS = {
    "hit": [
        ("whole process", r"PROGRAM TOTALS"),
        ("dynamic loader: map libgcc_s/libm/libc, relocate, bind (`_dl_start`)", r"rtld\.c:_dl_start "),
        ("  relocation processing (`_dl_relocate_object`: RELATIVE relocs + symbol binding)", r"dl-reloc\.c:_dl_relocate_object "),
        ("  symbol lookups (`_dl_lookup_symbol_x`)", r"dl-lookup\.c:_dl_lookup_symbol_x "),
        ("Rust std start-up: `pthread_getattr_np` (parses /proc/self/maps with sscanf)", r"pthread_getattr_np"),
        ("`main` (all of our code)", r"(docker_credential_ecr_xacct::main|src/main\.rs:main)"),
        ("  `cli::run`", r"cli\.rs:ecr_xacct::cli::run"),
        ("  clap: building the command (`augment_args`)", r"augment_args"),
        ("  clap: parsing (`Command::_do_parse`)", r"Command::_do_parse"),
        ("  cache key (`Identity::fingerprint`)", r"Identity::fingerprint"),
        ("    SHA-256 (`compress256`; software under valgrind, SHA-NI natively)", r"compress256"),
        ("    environment reads (`std::env::_var_os`)", r"std::env::_var_os"),
        ("  cache file read + JSON (`Cache::read`)", r"Cache::read"),
    ],
    "miss": [
        ("whole process", r"PROGRAM TOTALS"),
        ("`main` (lookup, SDK, TLS, request)", r"(docker_credential_ecr_xacct::main|src/main\.rs:main)"),
        ("  SDK config load (`ConfigLoader::load`; builds the default credential chain)", r"ConfigLoader::load::\{\{closure\}\} \["),
        ("    STS client the chain builds for web identity (`sts::Client::from_conf`)", r"aws_sdk_sts::client::Client::from_conf \["),
        ("  ECR client (`ecr::Client::from_conf`)", r"aws_sdk_ecr::client::Client::from_conf \["),
        ("  HTTPS connector builds, all (`ConnectorBuilder::build`)", r"ConnectorBuilder<.*>::build \["),
        ("    thrown away: built by the SDK's `validate_base_client_config`", r"HttpClient>::validate_base_client_config \["),
        ("    used: built for the request (`http_connector`)", r"HttpClient>::http_connector \["),
        ("  PEM parsing of the CA bundle (`rustls_pki_types::pem::read`)", r"rustls_pki_types::pem::read \["),
        ("  trust anchors from certificates (`anchor_from_trusted_cert`)", r"anchor_from_trusted_cert \["),
        ("  TLS: server certificate check (`verify_server_cert`)", r"WebPkiServerVerifier as rustls::verify::ServerCertVerifier>::verify_server_cert \["),
        ("  TLS: key exchange (`x25519_ecdh`)", r"x25519_ecdh \["),
        ("  `regex_lite::Regex::new` (SDK endpoint/config code)", r"regex_lite::string::Regex::new \["),
        ("  tokio runtime (`Builder::build`)", r"tokio::runtime::builder::Builder::build \["),
    ],
}
for case, parts in PARTS.items():
    incl = os.path.join(P, f"annotate-incl-{case}.txt")
    if not os.path.exists(incl):
        continue
    text = open(incl, errors="replace").read().splitlines()
    def inclusive(pattern):
        best = 0
        for l in text:
            m = re.match(r"^\s*([\d,]+) \(", l)
            if m and re.search(pattern, l):
                best = max(best, int(m.group(1).replace(",", "")))
        return best
    tot = inclusive(r"PROGRAM TOTALS")
    p(f"## `{case}`: where the instructions go")
    p("")
    p("| part | instructions (inclusive) | share |")
    p("|---|---:|---:|")
    for label, pat in parts:
        v = inclusive(pat)
        if v >= 1000:
            p(f"| {label} | {v:,} | {100 * v / tot:.1f}% |")
    p("")
for name in ("hit", "miss"):
    f = os.path.join(P, f"annotate-incl-{name}.txt")
    if not os.path.exists(f):
        continue
    p(f"## `{name}`: top functions by inclusive instructions (symbol-carrying build of the same source)")
    p("")
    p("```")
    rows = 0
    for line in open(f, errors="replace"):
        if re.match(r"^\s*[\d,]+ \(", line) and "PROGRAM TOTALS" not in line:
            line = re.sub(r"/root/\.cargo/registry/src/[^/]+/", "", line.rstrip())
            line = re.sub(r"/rustc/[0-9a-f]+/library/", "std:", line)
            p(line[:220])
            rows += 1
            if rows >= 45:
                break
    p("```")
    p("")
print("\n".join(out))
PY
  mv -f "$PROF_OUT.tmp" "$PROF_OUT"
  rm -rf "$STATE/last/prof"; mkdir -p "$STATE/last"; cp -r "$P" "$STATE/last/prof"
  log "profile: $PROF_OUT (raw data: $STATE/last/prof)"
fi
