#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks real HTTP responses against docs/openapi.yaml: each one's route and method are in the
spec, its status is one the spec declares for them, and a JSON body validates against the
declared schema (its required fields and types). The integration tests record every request
they make (tests/support/http_client.c, bpt_http_record) as one JSON object a line:
{"method", "path" (with the query), "status", "ctype", "body"}.

    openapi_check.py SPEC RECORDS     exit 0: all conform; 1: the failures are printed; 2: usage

Debian packages: python3-yaml, python3-jsonschema (scripts/deps.sh)."""
import json
import re
import sys

import jsonschema
import yaml


def openapi_to_jsonschema(node):
    """OpenAPI 3.0 schema objects are JSON Schema (draft 4-ish) plus `nullable` (other
    OpenAPI keywords, such as example, are unknown to JSON Schema and ignored)."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items()}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def route_table(spec):
    """(regex, template) per path, literal ones first: /bots/heartbeat is not bot 'heartbeat'."""
    routes = []
    for template in spec.get("paths", {}):
        params = template.count("{")
        rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        routes.append((params, re.compile(rx), template))
    routes.sort(key=lambda r: r[0])
    return [(rx, t) for _, rx, t in routes]


def find_route(routes, path):
    path = path.split("?", 1)[0]
    for rx, template in routes:
        if rx.match(path):
            return template
    return None


def check(spec, root, routes, rec):
    """The failures of one recorded response, as a list of strings."""
    method = rec["method"].lower()
    template = find_route(routes, rec["path"])
    if template is None:
        return []  # a path the API does not have: its 404 is the generic one
    op = spec["paths"][template].get(method)
    if op is None:
        return []  # a method the route does not take: the generic 405
    responses = op.get("responses", {})
    status = str(rec["status"])
    resp = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
    if resp is None:
        return ["%s %s: status %s is not declared (declared: %s)" %
                (rec["method"], rec["path"], status, ", ".join(sorted(responses)))]
    if "$ref" in resp:
        resp = resolve(spec, resp["$ref"])
    content = resp.get("content", {})
    if not content:
        return []
    ctype = rec.get("ctype", "")
    key = ctype if ctype in content else None
    for k in content:  # else the media type without its parameters
        if key is None and k.split(";")[0].strip() == ctype.split(";")[0].strip():
            key = k
    if key is None:
        return ["%s %s: %s answered as %s; the spec says %s" %
                (rec["method"], rec["path"], status, ctype or "(none)", ", ".join(content))]
    ctype = key.split(";")[0].strip()
    schema = content[key].get("schema")
    if ctype != "application/json" or not schema:
        return []
    try:
        body = json.loads(rec["body"])
    except ValueError as e:
        return ["%s %s: %s body is not JSON: %s" % (rec["method"], rec["path"], status, e)]
    validator = jsonschema.Draft4Validator(
        openapi_to_jsonschema(schema), resolver=jsonschema.RefResolver("", root))
    return ["%s %s: %s: %s at /%s" % (rec["method"], rec["path"], status, e.message,
                                       "/".join(str(p) for p in e.absolute_path))
            for e in validator.iter_errors(body)]


def resolve(spec, ref):
    node = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        spec = yaml.safe_load(f)
    root = openapi_to_jsonschema(spec)  # what the schemas' $refs resolve against
    routes = route_table(spec)
    failures, checked = [], 0
    with open(argv[2]) as f:
        for line in f:
            if line.strip():
                checked += 1
                failures += check(spec, root, routes, json.loads(line))
    for msg in failures:
        print("openapi: " + msg)
    print("openapi: %d responses checked against %s, %d failures" % (checked, argv[1],
                                                                      len(failures)))
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
