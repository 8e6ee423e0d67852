#!/usr/bin/env python3
"""Turns the openAPIV3Schema of CloudNativePG's Cluster and Pooler (as `generate/` writes them)
into JSON Schemas for check-jsonschema, as strict as the API server's field validation:

- the root gets apiVersion, kind and metadata, which a CRD's schema leaves to the API server;
- `nullable: true` becomes a union with null, `x-kubernetes-int-or-string` an anyOf;
- every object with properties and no `additionalProperties` (and not marked
  `x-kubernetes-preserve-unknown-fields`) refuses unknown fields, as `kubectl apply`'s strict
  field validation does;
- descriptions are dropped (the files stay small; the CRD reference has them).

Usage: openapi_to_jsonschema.py IN_DIR OUT_DIR
"""

import json
import sys
from pathlib import Path

KINDS = {"cluster": "Cluster", "pooler": "Pooler"}
GROUP_VERSION = "postgresql.cnpg.io/v1"


def convert(node):
    if isinstance(node, list):
        return [convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("description", "title", "nullable") or key.startswith("x-kubernetes-"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {name: convert(schema) for name, schema in value.items()}
        else:
            out[key] = convert(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    if node.get("nullable"):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif "anyOf" in out:
            out["anyOf"] = out["anyOf"] + [{"type": "null"}]
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    for name, kind in KINDS.items():
        schema = convert(json.loads((source / f"{name}-openapi.json").read_text()))
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        schema["$comment"] = (
            f"CloudNativePG 1.30.0 {kind} ({GROUP_VERSION}), from crates.io "
            "k8s-crds-cloud-native-pg 1.30.0 by deploy/k8s/schemas/generate; see README.md"
        )
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {"const": GROUP_VERSION}
        props["kind"] = {"const": kind}
        props["metadata"] = {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
        schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata", "spec"})
        schema["additionalProperties"] = False
        out = target / f"cnpg-{name}.schema.json"
        out.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        print(out, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
