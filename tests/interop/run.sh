#!/usr/bin/env bash
# End-to-end interop suite: the installed docker-credential-ecr-xacct driven by real clients
# (docker CLI + dockerd, skopeo) against a real registry, with moto as the AWS stand-in.
# Run as root from anywhere; see tests/interop/README.md. Prints one PASS/FAIL line per case
# and, last, "N passed, N failed"; exits non-zero if any case failed.
#
# Knobs: INTEROP_STATE (/tmp/xacct-interop), INTEROP_DOCKER (docker CLI to drive; default the
# first `docker` on PATH), INTEROP_CASES ("1 2 3 4 5 6 7 8"), INTEROP_KEEP=1 (leave the state
# dir for inspection; processes and the /etc/hosts block are still removed),
# INTEROP_CMD_TIMEOUT (120 s per client command), INTEROP_INSTALL_TIMEOUT (3600 s for
# install.sh, which may wait for a cargo lock), plus the STACK_* knobs of stack.sh.
set -uo pipefail
HERE=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(CDPATH='' cd -- "$HERE/../.." && pwd)
export STACK_STATE=${INTEROP_STATE:-${STACK_STATE:-/tmp/xacct-interop}}
S=$STACK_STATE
CASES=${INTEROP_CASES:-1 2 3 4 5 6 7 8}
CMD_TIMEOUT=${INTEROP_CMD_TIMEOUT:-120}
INSTALL_TIMEOUT=${INTEROP_INSTALL_TIMEOUT:-3600}
RUN_ID=$(date +%s)-$$
HELPER=docker-credential-ecr-xacct
BOUND=15          # seconds a failing lookup may take, with ECR_XACCT_TIMEOUT=5
CHILD=            # the long-running child being waited for (set-up step or case subshell)
PASSED=0 FAILED=0

declare -A TITLE=(
  [1]="docker pull through dockerd; a second pull (new CLI process) uses the cached token"
  [2]="docker push of a locally made image"
  [3]="skopeo inspect and skopeo copy through credHelpers"
  [4]="cross-account: AssumeRole into the owner account, owner's token used by docker"
  [5]="non-ECR registry: helper says not-found, clients carry on anonymously"
  [6]="AWS unreachable, no cached token: the user sees the ecr-xacct: message, within the bound"
  [7]="docker login (get+store) and docker logout (erase) drop the cached token"
  [8]="raw moto (expiresAt in 2015): the token is used once, not cached, with a warning"
)
declare -A DIAG=([1]="registry dockerd" [2]="registry dockerd" [3]="registry" [4]="registry-owner dockerd"
  [5]="registry-open dockerd" [6]="dockerd" [7]="registry dockerd" [8]="registry moto")

log() { printf '[interop] %s\n' "$*"; }
redact() {  # never print a registry password or token
  sed -E 's/[0-9]{12}-auth-token/<token>/g; s/"Secret":"[^"]*"/"Secret":"<redacted>"/g; s/QVdTO[A-Za-z0-9+\/=_-]{8,}/<token-b64>/g'
}

cleanup() {
  local rc=$? f p
  trap - EXIT INT TERM
  if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then   # interrupted: stop what runs now
    kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null
  fi
  for f in "$S"/cases/*/*.pid; do   # processes a case started (the black hole), by PID
    [ -f "$f" ] && p=$(cat "$f") && tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -q python && kill "$p" 2>/dev/null
  done
  if [ "${INTEROP_KEEP:-0}" = 1 ]; then
    "$HERE/stack.sh" down > "$S/logs/stack-down.log" 2>&1
    log "state kept in $S (INTEROP_KEEP=1); remove it with: $HERE/stack.sh down --purge"
  else
    "$HERE/stack.sh" down --purge > /dev/null 2>&1 || "$HERE/stack.sh" down --purge
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ case plumbing
# x LABEL CMD...: runs a client command with a timeout; its output is $OUT, its status $RC,
# its duration in seconds $SECS; everything goes to the case log (redacted).
x() {
  local label=$1; shift
  OUT=$CASE_DIR/$label.out
  local t0 t1
  t0=$(date +%s.%N)
  timeout -k 5 "$CMD_TIMEOUT" "$@" > "$OUT" 2>&1 < /dev/null &
  XPID=$!; wait "$XPID"; RC=$?; XPID=
  t1=$(date +%s.%N)
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  { echo "\$ $*"; redact < "$OUT" | tail -n 25; echo "-> exit $RC in ${SECS}s"; } >> "$CASE_LOG"
  [ "$RC" != 124 ] || echo "   (timed out after ${CMD_TIMEOUT}s)" >> "$CASE_LOG"
  return 0
}
# helper_get LABEL SERVER [VAR=VALUE...]: the installed helper run directly, as a client runs it;
# stdout in $OUT, stderr (debug traces) in $ERR.
helper_get() {
  local label=$1 server=$2; shift 2
  OUT=$CASE_DIR/$label.out ERR=$CASE_DIR/$label.err
  local t0 t1
  t0=$(date +%s.%N)
  printf '%s' "$server" > "$CASE_DIR/$label.in"
  timeout -k 5 "$CMD_TIMEOUT" env "$@" "$HELPER" get < "$CASE_DIR/$label.in" > "$OUT" 2> "$ERR" &
  XPID=$!; wait "$XPID"; RC=$?; XPID=
  t1=$(date +%s.%N)
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  { echo "\$ printf %s $server | $* $HELPER get"; redact < "$OUT"; echo "-> exit $RC in ${SECS}s; stderr:"
    redact < "$ERR" | tail -n 12 | sed 's/^/   /'; } >> "$CASE_LOG"
}
note() { echo "   $*" >> "$CASE_LOG"; }
ok() { echo "   ok: $*" >> "$CASE_LOG"; }
fail() { echo "   FAILED: $*" >> "$CASE_LOG"; return 1; }
# count OP|total: requests the AWS stand-in has seen (at the counting proxy)
count() {
  curl -sf --max-time 5 --noproxy '*' "$STACK_PROXY_STATS" | "$STACK_PY" -c '
import json, sys
d = json.load(sys.stdin)
print(d["total"] if sys.argv[1] == "total" else d["counts"].get(sys.argv[1], 0))' "$1" 2>/dev/null || echo "?"
}
# last_event OP FIELD: a field of the last request of that operation (key_id, registry_ids, ...)
last_event() {
  curl -sf --max-time 5 --noproxy '*' "$STACK_PROXY_STATS" | "$STACK_PY" -c '
import json, sys
ev = [e for e in json.load(sys.stdin)["events"] if e["op"] == sys.argv[1]]
v = ev[-1][sys.argv[2]] if ev else ""
print(",".join(v) if isinstance(v, list) else v)' "$1" "$2" 2>/dev/null
}
use_cache() { export ECR_XACCT_CACHE_DIR=$S/cache/$1; mkdir -p "$S/cache"; }
cached_entries() { find "$ECR_XACCT_CACHE_DIR" -name '*.json' 2>/dev/null | wc -l; }
digest_of() {  # REF PASSWORD: manifest digest, asked with the registry password (not the helper)
  TMPDIR=$S/tmp timeout 60 skopeo inspect --cert-dir "$STACK_CA_DIR" --creds "AWS:$2" \
    --format '{{.Digest}} {{index .Labels "org.interop.image"}}' "docker://$1" 2>/dev/null
}
tarball() {  # DIR TEXT: a one-file root filesystem for `docker import`
  mkdir -p "$1"; printf '%s\n' "$2" > "$1/interop.txt"; tar -C "$1" -cf "$1.tar" interop.txt
}
free_port() { "$STACK_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

print_diag() {  # the case log and the logs that matter for it, redacted
  local n=$1 f
  echo "  --- case $n log (tail; full: $CASE_LOG) ---"
  tail -n 45 "$CASE_LOG" | redact | sed 's/^/  | /'
  echo "  --- AWS stand-in requests (tail of $STACK_PROXY_LOG) ---"
  tail -n 6 "$STACK_PROXY_LOG" 2>/dev/null | sed 's/^/  | /'
  for f in ${DIAG[$n]}; do
    echo "  --- $f (tail of $S/logs/$f.log) ---"
    grep -v 'level=info' "$S/logs/$f.log" 2>/dev/null | tail -n 6 | redact | cut -c1-300 | sed 's/^/  | /'
  done
}

run_case() {
  local n=$1 t0=$SECONDS
  CASE_DIR=$S/cases/$n CASE_LOG=$S/cases/$n/case.log
  mkdir -p "$CASE_DIR"
  echo "== case $n: ${TITLE[$n]}" > "$CASE_LOG"
  # a subshell per case: its environment changes stay in it; waited for in the background so
  # that a signal reaches our trap at once (the subshell then stops its own child)
  ( XPID="" BHPID=""
    trap 'kill -TERM $XPID $BHPID 2>/dev/null; exit 143' TERM
    "case_$n" ) &
  CHILD=$!; wait "$CHILD"; local rc=$?; CHILD=
  if [ $rc = 0 ]; then
    echo "PASS $n ${TITLE[$n]} ($((SECONDS - t0))s)"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $n ${TITLE[$n]} ($((SECONDS - t0))s): $(grep '^   FAILED: ' "$CASE_LOG" | tail -n 1 | sed 's/^   FAILED: //' | redact)"
    print_diag "$n"
    FAILED=$((FAILED + 1))
  fi
}

# ------------------------------------------------------------------ cases
case_1() {
  use_cache c1
  local img=$STACK_REG/$STACK_IMAGE n0 n1 n2
  x rmi0 "$DOCKER" rmi -f "$img"
  n0=$(count ecr.GetAuthorizationToken)
  x pull1 "$DOCKER" pull "$img"
  [ "$RC" = 0 ] || fail "first docker pull $img failed (exit $RC)" || return 1
  grep -q "$STACK_REG_DIGEST" "$OUT" || fail "docker pull did not report the seeded digest $STACK_REG_DIGEST" || return 1
  x label "$DOCKER" image inspect --format '{{index .Config.Labels "org.interop.image"}}' "$img"
  [ "$(cat "$OUT")" = "base-$STACK_ACCOUNT" ] || fail "pulled image lacks label base-$STACK_ACCOUNT" || return 1
  n1=$(count ecr.GetAuthorizationToken)
  [ "$n1" = $((n0 + 1)) ] || fail "first pull: expected 1 GetAuthorizationToken at the stand-in, saw $n0 -> $n1" || return 1
  [ "$(last_event ecr.GetAuthorizationToken registry_ids)" = "$STACK_ACCOUNT" ] ||
    fail "GetAuthorizationToken did not name registry $STACK_ACCOUNT" || return 1
  ok "first pull: digest and label right, 1 token request for $STACK_ACCOUNT"
  x rmi1 "$DOCKER" rmi "$img"
  [ "$RC" = 0 ] || fail "docker rmi failed" || return 1
  x pull2 "$DOCKER" pull "$img"
  [ "$RC" = 0 ] || fail "second docker pull failed (exit $RC)" || return 1
  grep -q "Downloaded newer image\|Pull complete" "$OUT" || fail "second pull did not download the image again" || return 1
  n2=$(count ecr.GetAuthorizationToken)
  [ "$n2" = "$n1" ] || fail "second pull (new docker CLI process) asked AWS again ($n1 -> $n2): the cache was not used" || return 1
  ok "second pull: downloaded again with no new token request"
  x list "$HELPER" list
  grep -q "\"https://$STACK_REG_HOST\":\"AWS\"" "$OUT" || fail "'$HELPER list' does not show https://$STACK_REG_HOST" || return 1
}

case_2() {
  use_cache c1   # the user's cache, as left by case 1
  local ref=$STACK_REG/interop/pushed:$RUN_ID label=pushed-$RUN_ID digest got n0 n1
  tarball "$CASE_DIR/rootfs" "pushed by the interop suite, run $RUN_ID"
  x import "$DOCKER" import -c "LABEL org.interop.image=$label" "$CASE_DIR/rootfs.tar" "$ref"
  [ "$RC" = 0 ] || fail "docker import failed" || return 1
  n0=$(count ecr.GetAuthorizationToken)
  x push "$DOCKER" push "$ref"
  [ "$RC" = 0 ] || fail "docker push $ref failed (exit $RC)" || return 1
  n1=$(count ecr.GetAuthorizationToken)
  digest=$(grep -o 'digest: sha256:[0-9a-f]*' "$OUT" | head -n 1 | cut -d' ' -f2)
  [ -n "$digest" ] || fail "docker push printed no digest" || return 1
  got=$(digest_of "$ref" "$STACK_REG_PASSWORD")
  note "registry has: $got; docker pushed: $digest; token requests: $n0 -> $n1"
  [ "$got" = "$digest $label" ] || fail "the registry does not hold what docker pushed ($got vs $digest $label)" || return 1
  [ "$n1" = "$n0" ] || [ "$n1" = "$((n0 + 1))" ] || fail "push made $n0 -> $n1 token requests (want at most 1)" || return 1
  ok "pushed $ref, digest $digest, present in the registry"
}

case_3() {
  use_cache c3
  local src=$STACK_REG/$STACK_IMAGE dst=$STACK_REG/interop/copied:$RUN_ID n0 n1 got
  export TMPDIR=$S/tmp
  n0=$(count ecr.GetAuthorizationToken)
  x inspect skopeo inspect --cert-dir "$STACK_CA_DIR" "docker://$src"
  [ "$RC" = 0 ] || fail "skopeo inspect docker://$src failed (exit $RC)" || return 1
  grep -q "\"Digest\": \"$STACK_REG_DIGEST\"" "$OUT" || fail "skopeo inspect shows another digest" || return 1
  grep -q "\"org.interop.image\": \"base-$STACK_ACCOUNT\"" "$OUT" || fail "skopeo inspect shows no base-$STACK_ACCOUNT label" || return 1
  ok "skopeo inspect: digest and label right"
  x copy skopeo copy --src-cert-dir "$STACK_CA_DIR" --dest-cert-dir "$STACK_CA_DIR" "docker://$src" "docker://$dst"
  [ "$RC" = 0 ] || fail "skopeo copy to docker://$dst failed (exit $RC)" || return 1
  got=$(digest_of "$dst" "$STACK_REG_PASSWORD")
  [ "$got" = "$STACK_REG_DIGEST base-$STACK_ACCOUNT" ] || fail "the copy in the registry is not the source image ($got)" || return 1
  ok "skopeo copy: $dst holds $STACK_REG_DIGEST"
  n1=$(count ecr.GetAuthorizationToken)
  [ "$n1" = $((n0 + 1)) ] || fail "two skopeo processes made $n0 -> $n1 token requests; expected 1 (then the cache)" || return 1
  ok "one token request for both skopeo processes"
}

case_4() {
  use_cache c4
  local img=$STACK_OWNER_REG/$STACK_IMAGE a0 a1 g0 g1 key code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --noproxy '*' --cacert "$STACK_CA" \
    -u "AWS:$STACK_REG_PASSWORD" "https://$STACK_OWNER_REG/v2/")
  [ "$code" = 401 ] || fail "the owner's registry should refuse account $STACK_ACCOUNT's token, got HTTP $code" || return 1
  ok "the owner's registry refuses the consumer account's token (401)"
  a0=$(count sts.AssumeRole); g0=$(count ecr.GetAuthorizationToken)
  x rmi0 "$DOCKER" rmi -f "$img"
  x pull1 "$DOCKER" pull "$img"
  [ "$RC" = 0 ] || fail "docker pull $img failed (exit $RC)" || return 1
  grep -q "$STACK_OWNER_DIGEST" "$OUT" || fail "docker pull did not report the owner's digest" || return 1
  x label "$DOCKER" image inspect --format '{{index .Config.Labels "org.interop.image"}}' "$img"
  [ "$(cat "$OUT")" = "base-$STACK_OWNER_ACCOUNT" ] || fail "pulled image lacks label base-$STACK_OWNER_ACCOUNT" || return 1
  a1=$(count sts.AssumeRole); g1=$(count ecr.GetAuthorizationToken)
  note "AssumeRole $a0 -> $a1, GetAuthorizationToken $g0 -> $g1"
  [ "$a1" = $((a0 + 1)) ] || fail "expected 1 sts:AssumeRole at the stand-in, saw $a0 -> $a1" || return 1
  [ "$g1" = $((g0 + 1)) ] || fail "expected 1 GetAuthorizationToken, saw $g0 -> $g1" || return 1
  [ "$(last_event sts.AssumeRole key_id)" = "$AWS_ACCESS_KEY_ID" ] || fail "AssumeRole was not signed with the consumer's keys" || return 1
  key=$(last_event ecr.GetAuthorizationToken key_id)
  case $key in ASIA*) ;; *) fail "GetAuthorizationToken was signed with $key, not with the role's session keys (ASIA...)" || return 1 ;; esac
  [ "$(last_event ecr.GetAuthorizationToken registry_ids)" = "$STACK_OWNER_ACCOUNT" ] ||
    fail "GetAuthorizationToken did not name the owner registry $STACK_OWNER_ACCOUNT" || return 1
  ok "consumer keys -> AssumeRole -> GetAuthorizationToken($STACK_OWNER_ACCOUNT) with the role's keys -> pull"
  x rmi1 "$DOCKER" rmi "$img"
  x pull2 "$DOCKER" pull "$img"
  [ "$RC" = 0 ] || fail "second docker pull $img failed" || return 1
  [ "$(count sts.AssumeRole) $(count ecr.GetAuthorizationToken)" = "$a1 $g1" ] ||
    fail "second pull called AWS again (the role's token should be cached)" || return 1
  ok "second pull: no AssumeRole, no token request"
  # the consumer's own registry, same config: no role (the entry matches the owner only)
  x rmi2 "$DOCKER" rmi -f "$STACK_REG/$STACK_IMAGE"
  x pull3 "$DOCKER" pull "$STACK_REG/$STACK_IMAGE"
  [ "$RC" = 0 ] || fail "docker pull of the consumer's own registry failed" || return 1
  [ "$(count sts.AssumeRole)" = "$a1" ] || fail "the consumer's own registry went through AssumeRole" || return 1
  [ "$(last_event ecr.GetAuthorizationToken key_id)" = "$AWS_ACCESS_KEY_ID" ] ||
    fail "the consumer's own registry was not asked with the consumer's keys" || return 1
  ok "the consumer's own registry is served with the consumer's keys, no role"
}

case_5() {
  use_cache c5
  local ref=$STACK_OPEN_REG/interop/anon:$RUN_ID t0
  export TMPDIR=$S/tmp
  "$STACK_PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(c.get("credHelpers",{}).get(sys.argv[2])!="ecr-xacct")' \
    "$DOCKER_CONFIG/config.json" "$STACK_OPEN_REG" || fail "config.json does not map $STACK_OPEN_REG to ecr-xacct" || return 1
  t0=$(count total)
  helper_get get "$STACK_OPEN_REG"
  [ "$RC" = 1 ] && [ "$(cat "$OUT")" = "credentials not found in native keychain" ] ||
    fail "helper get $STACK_OPEN_REG: want exactly 'credentials not found in native keychain', exit 1" || return 1
  ok "the helper answers not-found for $STACK_OPEN_REG"
  tarball "$CASE_DIR/rootfs" "anonymous push, run $RUN_ID"
  x import "$DOCKER" import -c "LABEL org.interop.image=anon-$RUN_ID" "$CASE_DIR/rootfs.tar" "$ref"
  [ "$RC" = 0 ] || fail "docker import failed" || return 1
  x push "$DOCKER" push "$ref"
  [ "$RC" = 0 ] || fail "docker push $ref (anonymous) failed (exit $RC)" || return 1
  x rmi "$DOCKER" rmi "$ref"
  x pull "$DOCKER" pull "$ref"
  [ "$RC" = 0 ] || fail "docker pull $ref (anonymous) failed (exit $RC)" || return 1
  x inspect skopeo inspect --cert-dir "$STACK_CA_DIR" "docker://$ref"
  [ "$RC" = 0 ] || fail "skopeo inspect docker://$ref (anonymous) failed (exit $RC)" || return 1
  grep -q "\"org.interop.image\": \"anon-$RUN_ID\"" "$OUT" || fail "skopeo inspect shows another image" || return 1
  ok "docker push, docker pull and skopeo inspect went on anonymously"
  # A broken helper config must not break a non-ECR registry either; the helper's warning,
  # passed through by the client, shows that the client did ask the helper for this host.
  printf 'this is = [ not toml\n' > "$CASE_DIR/broken.toml"
  x rmi2 "$DOCKER" rmi "$ref"
  x pull-broken env ECR_XACCT_CONFIG="$CASE_DIR/broken.toml" "$DOCKER" pull "$ref"
  [ "$RC" = 0 ] || fail "with a broken config file, docker pull $ref failed (exit $RC)" || return 1
  grep -q 'ecr-xacct: warning' "$OUT" || fail "docker pull shows no helper warning: did the client ask the helper for $STACK_OPEN_REG?" || return 1
  ok "with a broken config: pull still works, the helper's warning reached the docker CLI's output"
  [ "$(count total)" = "$t0" ] || fail "the AWS stand-in was called for a non-ECR registry ($t0 -> $(count total))" || return 1
  [ "$(cached_entries)" = 0 ] || fail "something was cached for a non-ECR registry" || return 1
  ok "no AWS request, nothing cached"
}

# one failing lookup through the helper, docker and skopeo; $1 = what the endpoint is
fail_checks() {
  local what=$1 img=$STACK_REG/$STACK_IMAGE ver major
  helper_get "get-$what" "$STACK_REG"
  [ "$RC" = 1 ] || fail "[$what] helper get: exit $RC, want 1" || return 1
  [ "$(wc -l < "$OUT")" = 1 ] && grep -q '^ecr-xacct: ' "$OUT" ||
    fail "[$what] helper get: stdout is not one line starting 'ecr-xacct: '" || return 1
  awk -v s="$SECS" -v b="$BOUND" 'BEGIN{exit !(s < b)}' || fail "[$what] helper took ${SECS}s (bound ${BOUND}s)" || return 1
  ok "[$what] helper: one ecr-xacct: line, exit 1, ${SECS}s"
  x "rmi-$what" "$DOCKER" rmi -f "$img"
  ver=$("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null); major=${ver%%.*}
  # `docker create` asks the helper itself before pulling, and (docker CLI >= 23) reports its error
  x "create-$what" "$DOCKER" create --network none "$img"
  [ "$RC" != 0 ] || fail "[$what] docker create succeeded without credentials" || return 1
  awk -v s="$SECS" -v b="$BOUND" 'BEGIN{exit !(s < b)}' || fail "[$what] docker took ${SECS}s (bound ${BOUND}s)" || return 1
  if [ "${major:-0}" -ge 23 ] 2>/dev/null; then
    grep -q 'out: `ecr-xacct: ' "$OUT" || fail "[$what] docker $ver output lacks the helper's ecr-xacct: message" || return 1
    ok "[$what] docker $ver shows the helper's message, ${SECS}s"
  else
    note "[$what] docker CLI $ver drops credential-helper errors (pulls anonymously); the message is checked with skopeo"
  fi
  x "skopeo-$what" env TMPDIR="$S/tmp" skopeo inspect --cert-dir "$STACK_CA_DIR" "docker://$img"
  [ "$RC" != 0 ] || fail "[$what] skopeo inspect succeeded without credentials" || return 1
  grep -q 'out: `ecr-xacct: ' "$OUT" || fail "[$what] skopeo output lacks the helper's ecr-xacct: message" || return 1
  awk -v s="$SECS" -v b="$BOUND" 'BEGIN{exit !(s < b)}' || fail "[$what] skopeo took ${SECS}s (bound ${BOUND}s)" || return 1
  ok "[$what] skopeo shows the helper's message, ${SECS}s"
}

case_6() {
  use_cache c6
  export ECR_XACCT_TIMEOUT=5
  local t0 port bh
  t0=$(count total)
  # (a) nothing listens on the endpoint
  port=$(free_port)
  export AWS_ENDPOINT_URL=http://127.0.0.1:$port
  fail_checks closed-port || return 1
  # (b) the endpoint accepts connections and never answers: only the time bound ends it
  port=$(free_port)
  "$STACK_PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(128)
time.sleep(float(sys.argv[2]))' "$port" 600 > /dev/null 2>&1 &
  bh=$! BHPID=$!
  echo "$bh" > "$CASE_DIR/blackhole.pid"
  export AWS_ENDPOINT_URL=http://127.0.0.1:$port
  sleep 0.3
  fail_checks black-hole
  local rc=$?
  kill "$bh" 2>/dev/null; wait "$bh" 2>/dev/null
  [ $rc = 0 ] || return 1
  [ "$(cached_entries)" = 0 ] || fail "a token got cached although AWS never answered" || return 1
  [ "$(count total)" = "$t0" ] || fail "the real stand-in was called ($t0 -> $(count total))" || return 1
  ok "nothing cached, the stand-in untouched"
}

case_7() {
  use_cache c7
  local g0 g1 g2
  g0=$(count ecr.GetAuthorizationToken)
  x login "$DOCKER" login "$STACK_REG"
  [ "$RC" = 0 ] || fail "docker login $STACK_REG failed (exit $RC)" || return 1
  grep -q "Login Succeeded" "$OUT" || fail "docker login did not say Login Succeeded" || return 1
  g1=$(count ecr.GetAuthorizationToken)
  [ "$g1" = $((g0 + 1)) ] || fail "docker login: expected 1 token request, saw $g0 -> $g1" || return 1
  "$STACK_PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); a=c.get("auths",{}).get(sys.argv[2],{})
sys.exit(bool(a.get("auth") or a.get("password") or a.get("identitytoken")))' "$DOCKER_CONFIG/config.json" "$STACK_REG" ||
    fail "docker login wrote a secret into config.json instead of using the helper" || return 1
  ok "docker login: 1 token request, Login Succeeded, no secret in config.json"
  x list1 "$HELPER" list
  grep -q "\"https://$STACK_REG_HOST\":\"AWS\"" "$OUT" || fail "'$HELPER list' does not show the logged-in registry" || return 1
  x logout "$DOCKER" logout "$STACK_REG"
  [ "$RC" = 0 ] || fail "docker logout $STACK_REG failed (exit $RC)" || return 1
  grep -q "Removing login credentials" "$OUT" || fail "docker logout did not remove credentials" || return 1
  grep -qi "warning" "$OUT" && { fail "docker logout warned (erase failed?)"; return 1; }
  x list2 "$HELPER" list
  grep -q "$STACK_REG_HOST" "$OUT" && { fail "'$HELPER list' still shows $STACK_REG_HOST after logout"; return 1; }
  [ "$(cached_entries)" = 0 ] || fail "a cached token survived docker logout" || return 1
  ok "docker logout: erased, nothing cached"
  x pull "$DOCKER" pull "$STACK_REG/$STACK_IMAGE"
  [ "$RC" = 0 ] || fail "docker pull after logout failed (exit $RC)" || return 1
  g2=$(count ecr.GetAuthorizationToken)
  [ "$g2" = $((g1 + 1)) ] || fail "after logout the next lookup should fetch a fresh token: $g1 -> $g2" || return 1
  ok "the next pull fetched a fresh token"
}

case_8() {
  use_cache c8
  export AWS_ENDPOINT_URL=$STACK_MOTO_URL   # moto itself: no expiry rewrite
  local img=$STACK_REG/$STACK_IMAGE
  x rmi "$DOCKER" rmi -f "$img"
  x pull "$DOCKER" pull "$img"
  [ "$RC" = 0 ] || fail "docker pull with moto's expired token failed (exit $RC)" || return 1
  grep -q "not caching" "$OUT" || fail "no 'not caching' warning from the helper in docker's output" || return 1
  [ "$(cached_entries)" = 0 ] || fail "a token that expired in 2015 was cached" || return 1
  x list "$HELPER" list
  [ "$(cat "$OUT")" = "{}" ] || fail "'$HELPER list' shows a registry for an uncached token" || return 1
  ok "pull worked with the token, the warning reached the user, nothing cached"
}

# ------------------------------------------------------------------ set-up
setup_failed() {
  local n
  echo "FAIL setup: $*"
  for n in $CASES; do echo "FAIL $n ${TITLE[$n]} (not run: set-up failed)"; FAILED=$((FAILED + 1)); done
  echo "0 passed, $FAILED failed"
  exit 1
}

[ "$(id -u)" = 0 ] || { echo "run as root (dockerd, /etc/hosts)"; setup_failed "not root"; }
for n in $CASES; do [ -n "${TITLE[$n]:-}" ] || { echo "unknown case $n in INTEROP_CASES"; exit 2; }; done
log "state $S; previous leftovers, if any, are removed first"
"$HERE/stack.sh" down --purge > /dev/null 2>&1 || "$HERE/stack.sh" down --purge || setup_failed "cannot clean $S"
"$HERE/stack.sh" init || setup_failed "cannot create $S"
t_setup=$SECONDS
log "bringing the stack up (packages, moto venv, CA, registries, dockerd)"
timeout 1800 "$HERE/stack.sh" up > "$S/logs/stack-up.log" 2>&1 &
CHILD=$!; wait "$CHILD" ||
  { tail -n 25 "$S/logs/stack-up.log"; setup_failed "stack.sh up failed (log: $S/logs/stack-up.log)"; }
. "$S/env"

# the helper's world: dummy consumer keys, the stand-in behind the counting proxy, our files only
for v in $(env | grep -o '^AWS_[A-Z_]*' ; env | grep -o '^ECR_XACCT_[A-Z_]*'); do unset "$v"; done
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy REGISTRY_AUTH_FILE DOCKER_CERT_PATH DOCKER_TLS_VERIFY DOCKER_CONTEXT
mkdir -p "$S/aws" "$S/xacct" "$S/cases" "$S/tmp"
: > "$S/aws/config"; : > "$S/aws/credentials"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export AWS_CONFIG_FILE=$S/aws/config AWS_SHARED_CREDENTIALS_FILE=$S/aws/credentials
export AWS_ACCESS_KEY_ID=AKIAINTEROPCONSUMER1 AWS_SECRET_ACCESS_KEY=interop-dummy-secret-not-real
export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=$STACK_PROXY_URL
export ECR_XACCT_CONFIG=$S/xacct/config.toml ECR_XACCT_LOG=debug ECR_XACCT_CACHE_DIR=$S/cache/default
cat > "$ECR_XACCT_CONFIG" <<EOF
# interop suite: images of the owner account are pulled through a role in that account
[[registry]]
match = "$STACK_OWNER_ACCOUNT"
role_arn = "arn:aws:iam::$STACK_OWNER_ACCOUNT:role/ecr-pull"
session_name = "interop"
EOF
export DOCKER_CONFIG=$S/docker-config DOCKER_HOST=$STACK_DOCKER_HOST TMPDIR=$S/tmp
mkdir -p "$DOCKER_CONFIG"

[ -x "$ROOT/install.sh" ] || [ -f "$ROOT/install.sh" ] || setup_failed "$ROOT/install.sh not found"
log "installing with: install.sh --prefix $S/prefix $STACK_REG $STACK_OWNER_REG (cargo build --release; may take minutes)"
t_install=$SECONDS
(cd "$ROOT" && exec timeout "$INSTALL_TIMEOUT" bash ./install.sh --prefix "$S/prefix" "$STACK_REG" "$STACK_OWNER_REG") \
  > "$S/logs/install.log" 2>&1 &
CHILD=$!; wait "$CHILD" || { tail -n 25 "$S/logs/install.log"; setup_failed "install.sh failed (log: $S/logs/install.log)"; }
t_install=$((SECONDS - t_install))
export PATH=$S/prefix/bin:$PATH
[ "$(command -v "$HELPER")" = "$S/prefix/bin/$HELPER" ] || setup_failed "install.sh did not put $HELPER in $S/prefix/bin"
"$STACK_PY" - "$DOCKER_CONFIG/config.json" "$STACK_REG" "$STACK_OWNER_REG" <<'EOF' || setup_failed "install.sh did not map the registries to ecr-xacct in $DOCKER_CONFIG/config.json"
import json, sys
helpers = json.load(open(sys.argv[1])).get("credHelpers", {})
missing = [h for h in sys.argv[2:] if helpers.get(h) != "ecr-xacct"]
if missing:
    print("credHelpers lacks %s: %s" % (missing, helpers))
    sys.exit(1)
EOF
# a registry that is not ECR, mapped to the helper all the same (configure-docker refuses such hosts)
"$STACK_PY" - "$DOCKER_CONFIG/config.json" "$STACK_OPEN_REG" <<'EOF' || setup_failed "cannot edit config.json"
import json, sys
path, host = sys.argv[1:]
conf = json.load(open(path))
conf.setdefault("credHelpers", {})[host] = "ecr-xacct"
open(path, "w").write(json.dumps(conf, indent=2) + "\n")
EOF

DOCKER=${INTEROP_DOCKER:-$(command -v docker)}
log "docker CLI $("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null) ($DOCKER), dockerd $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null) ($STACK_DOCKER_STORAGE), skopeo $(skopeo --version | awk '{print $3}'), $("$HELPER" version)"
log "set-up took $((SECONDS - t_setup))s (install.sh ${t_install}s)"

# ------------------------------------------------------------------ run
for n in $CASES; do run_case "$n"; done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
