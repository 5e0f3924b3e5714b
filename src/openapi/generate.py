#!/usr/bin/env python3
"""Regenerates src/openapi/definitions.json: upstream's swagger-2.0 definitions for the
kinds keelson serves.

Where the data comes from
-------------------------
PyPI's `kubernetes-validate` 1.37.0 wheel ships the Kubernetes 1.32 OpenAPI definitions
(generated upstream from the Go types) converted to JSON Schema, in
`kubernetes_validate/kubernetes-json-schema/v1.32.0-local/_definitions.json`. That is a
maintained, pinned copy of upstream's schemas, so keelson does not hand-write any.

This script turns that JSON Schema back into the swagger-2.0 shape kube-apiserver serves
at /openapi/v2 (`definitions`, refs `#/definitions/NAME`):
  * `#/$defs/NAME` refs become `#/definitions/NAME`;
  * nullable types (`["string", "null"]`) become the plain type;
  * the `enum` the converter injected on `apiVersion` and `kind` is dropped;
  * IntOrString and Quantity, which the converter turned into `oneOf`, get back
    upstream's `{"type": "string", "format": "int-or-string"}` / `{"type": "string"}`
    with upstream's descriptions;
  * everything else (x-kubernetes-* extensions, required, format, additionalProperties,
    descriptions) is kept as is.
Only definitions reachable from the served kinds (and their lists) and from the meta
types the API paths use are written.

The served kinds are read from src/kinds/*.rs (each kind's `typed::<k8s_openapi::api::
GROUP::VERSION::KIND>` schema), so adding a kind there and re-running this picks it up.

How to regenerate
-----------------
    python3 src/openapi/generate.py            # downloads the wheel with pip
    python3 src/openapi/generate.py --wheel kubernetes_validate-1.37.0-py3-none-any.whl

The wheel's sha256 is checked either way. Standard library only (pip is run as a
program to download). The tests never run this script; they read its committed output.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "kubernetes-validate"
VERSION = "1.37.0"
WHEEL = "kubernetes_validate-1.37.0-py3-none-any.whl"
WHEEL_SHA256 = "85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"
MEMBER = "kubernetes_validate/kubernetes-json-schema/v1.32.0-local/_definitions.json"

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KINDS_DIR = os.path.join(ROOT, "src", "kinds")
OUTPUT = os.path.join(HERE, "definitions.json")

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
# Types the API paths refer to besides the kinds themselves: error and delete bodies,
# watch events, patch bodies and the discovery documents.
PATH_TYPES = [
    META + "Status",
    META + "DeleteOptions",
    META + "WatchEvent",
    META + "Patch",
    META + "APIResourceList",
    META + "APIGroup",
    META + "APIGroupList",
    META + "APIVersions",
    "io.k8s.apimachinery.pkg.version.Info",
]

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
# Upstream's definitions of the two types the JSON Schema converter rewrote as oneOf
# (descriptions are upstream's, from the Go doc comments).
REPLACED = {
    INT_OR_STRING: {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.",
        "format": "int-or-string",
        "type": "string",
    },
    QUANTITY: {
        "description": "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= <signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the \"\" case in <decimalSI>.)\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> <sign>            ::= \"+\" | \"-\" <signedNumber>    ::= <number> | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; See: http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | \"\" | k | M | G | T | P | E\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn't choose the capitalization.)\n\n<decimalExponent> ::= \"e\" <signedNumber> | \"E\" <signedNumber> ```\n\nNo matter which of the three exponent forms is used, no quantity may represent a number greater than 2^63-1 in magnitude, nor may it have more than 3 decimal places. Numbers larger or more precise will be capped or rounded up. (E.g.: 0.1m will rounded up to 1m.) This may be extended in the future if we require larger or smaller quantities.\n\nWhen a Quantity is parsed from a string, it will remember the type of suffix it had, and will use the same type again when it is serialized.\n\nBefore serializing, Quantity will be put in \"canonical form\". This means that Exponent/suffix will be adjusted up or down (with a corresponding increase or decrease in Mantissa) such that:\n\n- No precision is lost - No fractional digits will be emitted - The exponent (or suffix) is as large as possible.\n\nThe sign will be omitted unless the number is negative.\n\nExamples:\n\n- 1.5 will be serialized as \"1500m\" - 1.5Gi will be serialized as \"1536Mi\"\n\nNote that the quantity will NEVER be internally represented by a floating point number. That is the whole point of this exercise.\n\nNon-canonical values will still parse as long as they are well formed, but will be re-emitted in their canonical form. (So always use canonical form, or don't diff.)\n\nThis format is intended to make it difficult to use these numbers without writing some sort of special handling code in the hopes that that will cause implementors to also use a fixed point implementation.",
        "type": "string",
    },
}

KIND_RE = re.compile(r"typed::<k8s_openapi::api::([a-z0-9_]+)::([a-z0-9]+)::([A-Za-z0-9]+)>")


def fetch_wheel(path):
    """The wheel's bytes, downloaded with pip unless a path is given; sha256 checked."""
    if path is None:
        tmp = tempfile.mkdtemp(prefix="kv-")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "-d", tmp, f"{PACKAGE}=={VERSION}"],
            check=True,
        )
        path = os.path.join(tmp, WHEEL)
    with open(path, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{path}: sha256 {digest}, expected {WHEEL_SHA256}")
    return path


def load_defs(wheel):
    with zipfile.ZipFile(wheel) as z:
        return json.loads(z.read(MEMBER))["$defs"]


def served_definitions():
    """Definition names of every kind src/kinds/ serves, e.g. io.k8s.api.apps.v1.Deployment."""
    names = set()
    for file in sorted(os.listdir(KINDS_DIR)):
        if file.endswith(".rs"):
            with open(os.path.join(KINDS_DIR, file)) as f:
                for group, version, kind in KIND_RE.findall(f.read()):
                    names.add(f"io.k8s.api.{group}.{version}.{kind}")
    if not names:
        sys.exit(f"no kinds found in {KINDS_DIR}")
    return sorted(names)


def convert(node, parent_key=None):
    """One JSON Schema node as upstream's swagger-2.0 node."""
    if isinstance(node, list):
        return [convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "type" and isinstance(value, list):
            plain = [t for t in value if t != "null"]
            out[key] = plain[0] if len(plain) == 1 else plain
        elif key == "enum" and parent_key in ("apiVersion", "kind"):
            continue  # injected by the converter; upstream has none
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: convert(prop, name) for name, prop in value.items()}
        else:
            out[key] = convert(value)
    return out


def refs(node):
    """Names of the definitions a node refers to."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/"):
                yield value.rsplit("/", 1)[1]
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def reachable(defs, roots):
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in defs:
            sys.exit(f"definition {name} not in the data")
        seen.add(name)
        todo.extend(refs(defs[name]))
    return seen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", help=f"an already downloaded {WHEEL}")
    parser.add_argument("--output", default=OUTPUT)
    args = parser.parse_args()

    defs = load_defs(fetch_wheel(args.wheel))
    kinds = served_definitions()
    roots = kinds + [k + "List" for k in kinds] + PATH_TYPES
    out = {}
    for name in sorted(reachable(defs, roots)):
        out[name] = REPLACED.get(name) or convert(defs[name])
    with open(args.output, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    print(f"{args.output}: {len(out)} definitions for {len(kinds)} kinds", file=sys.stderr)


if __name__ == "__main__":
    main()
