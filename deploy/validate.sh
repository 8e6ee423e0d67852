#!/usr/bin/env bash
# Checks deploy/ offline, as CI does (deploy/local/test.sh runs it): the Dockerfile with
# hadolint; every overlay under deploy/k8s/overlays rendered by `kubectl kustomize`, its
# built-in kinds against Kubernetes' schemas in strict mode (kubernetes-validate) and its
# CloudNativePG resources against the schemas in deploy/k8s/schemas (check-jsonschema); the
# NATS Helm values against deploy/k8s/nats/values.schema.json; then checkov's policies on the
# rendered manifests and the Dockerfile. Any finding fails: fix it, or skip it in the manifest
# with a reason (checkov.io/skipN annotations) and list it in deploy/README.md.
#
# The tools (deploy/requirements.txt) go into a virtual environment of their own, made once
# and reused while the requirements stay the same. Needs python3 (3.11) with pip and venv,
# and kubectl (for its built-in kustomize); nothing here talks to a cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

# The oldest Kubernetes the manifests must work on: the preStop `sleep` action needs 1.30.
KUBERNETES_VERSION=1.34.0

say() { printf '[deploy] %s\n' "$*" >&2; }

venv="${RI_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/regional-invest/deploy-venv}"
want="$(sha256sum deploy/requirements.txt | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])')"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$want" ]; then
    say "installing the checks (deploy/requirements.txt) into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r deploy/requirements.txt
    echo "$want" >"$venv/.requirements"
fi
export PATH="$venv/bin:$PATH"

if ! command -v kubectl >/dev/null 2>&1; then
    say "installing kubectl (it renders the kustomize overlays, offline)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1 || true
fi
if ! command -v kubectl >/dev/null 2>&1; then
    say "kubectl is missing: it renders the kustomize overlays (kubectl kustomize, offline)"
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say "hadolint deploy/Dockerfile"
hadolint deploy/Dockerfile

rendered=()
for overlay in deploy/k8s/overlays/*/; do
    name=$(basename "$overlay")
    say "rendering $overlay"
    mkdir -p "$work/rendered"
    kubectl kustomize "$overlay" >"$work/rendered/$name.yaml"
    rendered+=("$work/rendered/$name.yaml")
done

say "validating the manifests against Kubernetes $KUBERNETES_VERSION and the CRD schemas"
python deploy/validate_manifests.py "$KUBERNETES_VERSION" "${rendered[@]}"

say "checking the NATS Helm values"
check-jsonschema --schemafile deploy/k8s/nats/values.schema.json deploy/k8s/nats/values.yaml

say "checkov on the rendered manifests and the Dockerfile"
# One run over one directory (checkov ignores --file beside --directory): the rendered
# overlays and a copy of deploy/Dockerfile. --skip-download: no policy updates or guidelines
# from the vendor's service (offline).
cp deploy/Dockerfile "$work/rendered/Dockerfile"
checkov --quiet --compact --skip-download \
    --framework kubernetes dockerfile --directory "$work/rendered"

say "deploy/ is valid"
