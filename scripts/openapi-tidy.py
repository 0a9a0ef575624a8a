#!/usr/bin/env python3
"""Apply the house rules to docs/openapi.json, the ones third-party tools ask for.

    scripts/openapi-tidy.py            rewrite docs/openapi.json in place
    scripts/openapi-tidy.py --check    exit 1, naming each place, if a rule would change it

The rules (each idempotent, so the script can run again after anyone adds paths):

1. `"security": []` at the root: the API has no scheme a client could send; the
   daemon identifies the caller by its peer credentials on the Unix socket.
2. `info.license` and `info.contact` are present (the values below).
3. No keyword beside a `$ref` in a schema (Prism and other OpenAPI 3.0-minded tools
   ignore them): `{"$ref": R, k: v...}` becomes `{"allOf": [{"$ref": R}, {k: v...}]}`,
   with the annotations (description, title, default, examples, deprecated, readOnly,
   writeOnly, $comment, x-*) and unevaluated* kept beside the `allOf`, where they mean
   what they meant. A Reference Object elsewhere (a response, a parameter) may keep
   its summary and description, as OpenAPI 3.1 allows.
4. Every operation lists 405 (components/responses/MethodNotAllowed): the daemon
   answers it, with Allow, on every path for the methods the path does not take.
5. No raw `<...>` in a description or summary (Markdown would take it for an HTML
   tag and drop it): a word holding one is put in a code span, `lua:<name>`.

The file is written as json.dumps(indent=2, ensure_ascii=False) plus a newline, the
form it is kept in, so a run that changes nothing leaves it byte for byte.
"""

import json
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(TOP, "docs", "openapi.json")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

LICENSE = {"name": "No licence chosen yet: all rights reserved"}
CONTACT = {"name": "The Tremplin maintainers"}
ANNOTATIONS = {"description", "title", "default", "examples", "deprecated", "readOnly",
               "writeOnly", "$comment"}
OUTER = {"unevaluatedProperties", "unevaluatedItems"}
# A word (no space, no backtick, no parenthesis) holding a <...>.
RAW = re.compile(r'[^\s`()]*<[^<>\s`]+>[^\s`()]*')


def _ordered(d, key, value, after):
    """d with key set to value, placed after the first key of `after` d has."""
    if key in d:
        d[key] = value
        return d
    out = {}
    placed = False
    for k, v in d.items():
        out[k] = v
        if not placed and k in after:
            out[key] = value
            placed = True
    if not placed:
        out[key] = value
    return out


def _in_schema(path):
    """Whether the node at path (a list of keys) is a schema, not a Reference Object."""
    return "schema" in path or (len(path) >= 2 and path[0] == "components" and path[1] == "schemas")


def _split_ref(node):
    outer = {k: v for k, v in node.items()
             if k != "$ref" and (k in ANNOTATIONS or k in OUTER or k.startswith("x-"))}
    inner = {k: v for k, v in node.items() if k != "$ref" and k not in outer}
    parts = [{"$ref": node["$ref"]}] + ([inner] if inner else [])
    new = {}
    for k in node:  # keep the annotations where they were, allOf where $ref was
        if k == "$ref":
            new["allOf"] = parts
        elif k in outer:
            new[k] = outer[k]
    return new


def _code_span(text):
    parts = re.split(r"(`[^`]*`)", text)
    for i, part in enumerate(parts):
        if part.startswith("`"):
            continue

        def wrap(m):
            word = m.group(0)
            lead = re.match(r'^["\']*', word).group(0)
            trail = re.search(r'["\'.,;:!?]*$', word).group(0)
            core = word[len(lead):len(word) - len(trail)]
            if lead and trail.startswith(lead):  # "x" -> `x`, its quotes dropped
                trail = trail[len(lead):]
                lead = ""
            return "%s`%s`%s" % (lead, core, trail)

        parts[i] = RAW.sub(wrap, part)
    return "".join(parts)


def tidy(doc, changes):
    # 1, 2
    if doc.get("security") != []:
        changes.append("/security: set to [] (peer credentials, no scheme)")
        doc = _ordered(doc, "security", [], ("servers", "info"))
    info = doc.setdefault("info", {})
    for key, value in (("license", LICENSE), ("contact", CONTACT)):
        if key not in info:
            changes.append("/info/%s: added" % key)
            doc["info"] = info = _ordered(info, key, value, ("version",))

    # 3, 5
    def walk(node, path):
        if isinstance(node, dict):
            if "$ref" in node and len(node) > 1 and _in_schema(path):
                changes.append("/%s: $ref with %s beside it -> allOf" % (
                    "/".join(path), ", ".join(sorted(k for k in node if k != "$ref"))))
                node = _split_ref(node)
            for k in list(node):
                v = node[k]
                if k in ("description", "summary") and isinstance(v, str):
                    nv = _code_span(v)
                    if nv != v:
                        changes.append("/%s/%s: <...> put in a code span" % ("/".join(path), k))
                        node[k] = nv
                    continue
                node[k] = walk(v, path + [k])
            return node
        if isinstance(node, list):
            return [walk(v, path + [str(i)]) for i, v in enumerate(node)]
        return node

    doc = walk(doc, [])

    # 4
    for tmpl, item in doc.get("paths", {}).items():
        for m in HTTP_METHODS:
            op = item.get(m)
            if not isinstance(op, dict) or "405" in op.get("responses", {}):
                continue
            resp = op.setdefault("responses", {})
            changes.append("/paths/%s/%s/responses: 405 added" % (tmpl, m))
            resp["405"] = {"$ref": "#/components/responses/MethodNotAllowed"}
            op["responses"] = dict(sorted(resp.items(), key=lambda kv: kv[0]))
    return doc


def main(argv):
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        sys.stderr.write("usage: %s [--check]\n" % argv[0])
        return 64
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    changes = []
    doc = tidy(json.loads(text), changes)
    out = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if check:
        for c in changes:
            print("docs/openapi.json%s" % c)
        if out != text and not changes:
            print("docs/openapi.json: not in its kept form (json.dumps indent=2, ensure_ascii=False)")
        return 1 if out != text else 0
    if out != text:
        with open(DOC + ".tmp", "w", encoding="utf-8") as f:
            f.write(out)
        os.replace(DOC + ".tmp", DOC)
    print("%d change%s" % (len(changes), "" if len(changes) == 1 else "s"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
