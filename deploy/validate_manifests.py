#!/usr/bin/env python3
"""Checks rendered Kubernetes manifests offline; run by deploy/validate.sh in its venv.

Usage: validate_manifests.py KUBERNETES_VERSION RENDERED.yaml [RENDERED.yaml ...]

Every document must be either
- a built-in kind (its API group is the core group, has no dot, or ends in .k8s.io): validated
  with kubernetes-validate in strict mode (unknown fields refused) against the given Kubernetes
  version; a built-in kind that version has no schema for is an error, not a warning; or
- a custom resource with a schema committed under deploy/k8s/schemas/: validated with
  check-jsonschema.
Anything else fails: nothing is deployed unchecked.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import kubernetes_validate
import yaml

SCHEMAS = Path(__file__).resolve().parent / "k8s" / "schemas"
CUSTOM = {
    ("postgresql.cnpg.io/v1", "Cluster"): SCHEMAS / "cnpg-cluster.schema.json",
    ("postgresql.cnpg.io/v1", "Pooler"): SCHEMAS / "cnpg-pooler.schema.json",
}


def is_builtin(api_version):
    group = api_version.rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def name_of(doc):
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    version, files = sys.argv[1], sys.argv[2:]
    failures = 0
    custom_docs = {}
    checked = 0
    for path in files:
        docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d is not None]
        if not docs:
            print(f"FAIL {path}: no documents")
            failures += 1
        for doc in docs:
            api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
            where = f"{path}: {api_version} {name_of(doc)}"
            if (api_version, kind) in CUSTOM:
                custom_docs.setdefault((api_version, kind), []).append((where, doc))
                continue
            if not is_builtin(api_version):
                print(f"FAIL {where}: a custom resource without a schema in {SCHEMAS}")
                failures += 1
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
                checked += 1
            except kubernetes_validate.SchemaNotFoundError:
                print(f"FAIL {where}: Kubernetes {version} has no such kind")
                failures += 1
            except kubernetes_validate.ValidationError as e:
                at = ".".join(str(p) for p in e.path)
                print(f"FAIL {where}: {at}: {e.message}")
                failures += 1
    with tempfile.TemporaryDirectory() as tmp:
        for (api_version, kind), docs in sorted(custom_docs.items()):
            instances = []
            for i, (where, doc) in enumerate(docs):
                instance = Path(tmp) / f"{kind}-{i}.yaml"
                instance.write_text(yaml.safe_dump(doc))
                instances.append(str(instance))
                print(f"     {where} -> {instance.name}")
            result = subprocess.run(
                ["check-jsonschema", "--schemafile", str(CUSTOM[(api_version, kind)]), *instances],
                check=False,
            )
            if result.returncode != 0:
                failures += 1
            else:
                checked += len(docs)
    if failures:
        print(f"manifests: {failures} failed, {checked} valid")
        return 1
    print(f"manifests: {checked} valid (Kubernetes {version}, strict; custom resources by their schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
