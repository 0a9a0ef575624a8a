"""Check live answers of tremplind against docs/openapi.json.

Python standard library plus jsonschema (Debian's python3-jsonschema 4.10,
Draft 2020-12; newer versions with the `referencing` library work too).

    load(path=None)          the document, read once and cached
    check(method, path, status, headers, body)
                             raise AssertionError when the answer is not one
                             the document describes
    check_document()         sanity checks of the document itself
    add_plugins(names)       paths under /v1/<name>/ belong to these plugins
                             (x-plugin-paths): answers there are checked as
                             JSON, with errors of the document's shapes, and
                             not against any path of the document

`headers` may be a dict (any case), a list of (name, value) pairs, an
http.client.HTTPMessage, or None to skip the header checks. `body` may be
bytes, str, or the already-parsed JSON value.
"""

import json
import os
import re

import jsonschema
from jsonschema import Draft202012Validator

try:  # jsonschema >= 4.18
    import referencing
    import referencing.jsonschema
except ImportError:  # Debian 12: jsonschema 4.10, RefResolver
    referencing = None

__all__ = ["load", "check", "check_document", "add_plugins", "DocumentError"]

HERE = os.path.dirname(os.path.abspath(__file__))
DOC_NAME = "docs/openapi.json"
# The document is registered under this URI, so that a "#/components/..."
# reference inside any part of it resolves against the whole document.
DOC_URI = "https://tremplin.invalid/docs/openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROLES = ("eti", "cip", "coordinator", "admin")

# The daemon checks the request's size, its query string and the caller's
# identity before it routes, so a path it does not know, or a method a path
# does not take, may also meet these answers (components/responses).
PRE_ROUTING = {400: "BadRequest", 403: "Forbidden", 413: "PayloadTooLarge", 503: "Unavailable"}
# The connection layer answers these on any path and method, before anything
# else (and 400, 413, 503 above), then closes the connection.
CONNECTION = {408: "RequestTimeout", 417: "ExpectationFailed", 429: "TooManyConnections",
              501: "NotImplemented"}
UNKNOWN_PATH = {**PRE_ROUTING, 404: "NotFound"}
UNKNOWN_METHOD = {**PRE_ROUTING, 405: "MethodNotAllowed"}
# Objects the server returns list every property in "required", except these,
# which are present only sometimes (JSON pointer of the object schema -> names).
OPTIONAL_PROPERTIES = {"/components/schemas/Error/properties/error": {"field"},
                       # only Lua scripts have it
                       "/components/schemas/Plugin": {"script"},
                       # only records that belong to a contract or a PASS have them
                       "/components/schemas/PersonEventPayload": {"contract_id", "pass_id"}}
# An object schema may be free-form only when it says so ("x-free-form": true):
# an event's payload, whose shape its type (or the plugin that publishes it) decides.
FREE_FORM = "x-free-form"
# A record of a person's file ("x-policy": true): each property is present or
# absent as the confidentiality policy decides for the caller (GET /v1/policy),
# so only those in "required" must always be there.
POLICY = "x-policy"
# The errors a plugin's route may answer, and the document's response for each.
PLUGIN_ERRORS = {400: "BadRequestBody", 403: "Forbidden", 404: "NotFound",
                 405: "MethodNotAllowed", 409: "Conflict", 413: "PayloadTooLarge",
                 415: "UnsupportedMediaType", 422: "ValidationFailed", 500: "Internal",
                 503: "Unavailable", 507: "InsufficientStorage"}

_plugins = set()  # names of the plugins whose paths check() leaves to them


def add_plugins(names):
    """Paths under /v1/<name>/ (and /v1/<name>) now belong to these plugins.

    The harness names the plugins of each daemon's configuration. A name that
    is the first segment of a path of the document stays the document's.
    """
    for n in names:
        _plugins.add(n)


class DocumentError(AssertionError):
    """docs/openapi.json itself is wrong."""


_docs = {}  # absolute path -> state
_current = None


class _State:
    def __init__(self, path, doc):
        self.path = path
        self.doc = doc
        self.validators = {}  # JSON pointer -> validator
        self.templates = None  # [(template, compiled matcher)]

    # -- references -----------------------------------------------------

    def resolve_pointer(self, pointer):
        """The value at a JSON pointer ("/components/schemas/Error") of the document."""
        node = self.doc
        if pointer in ("", "#"):
            return node
        if pointer.startswith("#"):
            pointer = pointer[1:]
        if not pointer.startswith("/"):
            raise KeyError(pointer)
        for part in pointer[1:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                node = node[int(part)]
            else:
                node = node[part]
        return node

    def deref(self, obj, pointer):
        """Follow $ref of a (non-schema) object: (object, its pointer)."""
        seen = set()
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            if not ref.startswith("#/") or ref in seen:
                raise DocumentError("%s: cannot follow $ref %r" % (self.path, ref))
            seen.add(ref)
            pointer = ref[1:]
            try:
                obj = self.resolve_pointer(pointer)
            except (KeyError, IndexError, ValueError, TypeError):
                raise DocumentError("%s: $ref %r leads nowhere" % (self.path, ref)) from None
        return obj, pointer

    # -- schemas --------------------------------------------------------

    def validator(self, pointer):
        """A Draft 2020-12 validator for the schema at `pointer` in the document."""
        v = self.validators.get(pointer)
        if v is None:
            schema = {"$ref": DOC_URI + "#" + _escape_fragment(pointer)}
            if referencing is not None:
                resource = referencing.Resource.from_contents(
                    self.doc, default_specification=referencing.jsonschema.DRAFT202012)
                registry = referencing.Registry().with_resource(DOC_URI, resource)
                v = Draft202012Validator(schema, registry=registry)
            else:
                resolver = jsonschema.RefResolver(
                    base_uri=DOC_URI, referrer=self.doc, store={DOC_URI: self.doc})
                v = Draft202012Validator(schema, resolver=resolver)
            self.validators[pointer] = v
        return v

    def errors(self, pointer, instance):
        return sorted(self.validator(pointer).iter_errors(instance),
                      key=lambda e: (len(e.path), list(map(str, e.path))))

    # -- paths ----------------------------------------------------------

    def path_param_schema(self, item, item_ptr, name):
        """The pointer of the schema of path parameter `name` (path or operation level)."""
        candidates = [(item.get("parameters", []), item_ptr + "/parameters")]
        for m in HTTP_METHODS:
            if m in item:
                candidates.append((item[m].get("parameters", []), "%s/%s/parameters" % (item_ptr, m)))
        for params, ptr in candidates:
            for i, p in enumerate(params):
                p, pptr = self.deref(p, "%s/%d" % (ptr, i))
                if p.get("in") == "path" and p.get("name") == name and "schema" in p:
                    return pptr + "/schema"
        return None

    def match(self, path):
        """(template, path item, its pointer) for a concrete path, or (None, None, None)."""
        segs = path.split("/")
        best = None
        for tmpl, item in self.doc.get("paths", {}).items():
            tsegs = tmpl.split("/")
            if len(tsegs) != len(segs):
                continue
            item_ptr = "/paths/" + _escape(tmpl)
            item, item_ptr = self.deref(item, item_ptr)
            literal = 0
            for t, s in zip(tsegs, segs):
                m = re.fullmatch(r"\{([^{}]+)\}", t)
                if m is None:
                    if t != s:
                        break
                    literal += 1
                elif not self.segment_ok(item, item_ptr, m.group(1), s):
                    break
            else:
                # Concrete segments win over templated ones (OpenAPI's rule).
                if best is None or literal > best[0]:
                    best = (literal, tmpl, item, item_ptr)
        return (None, None, None) if best is None else best[1:]

    def plugin_of(self, path):
        """The plugin a path the document does not know belongs to, or None.

        x-plugin-paths gives the prefix ("/v1/{plugin}/") and the schema of a
        plugin's name; only names given to add_plugins() count, and never the
        first segment of one of the document's own paths.
        """
        spec = self.doc.get("x-plugin-paths")
        if not isinstance(spec, dict) or not _plugins:
            return None
        head = spec.get("prefix", "").split("{plugin}")[0]
        if not head or not path.startswith(head):
            return None
        name = path[len(head):].split("/", 1)[0]
        if name not in _plugins:
            return None
        if self.errors("/x-plugin-paths/plugin", name):
            return None
        core = {t[len(head):].split("/", 1)[0] for t in self.doc.get("paths", {})
                if t.startswith(head)}
        return None if name in core else name

    def segment_ok(self, item, item_ptr, name, seg):
        if seg == "":
            return False
        sptr = self.path_param_schema(item, item_ptr, name)
        if sptr is None:
            return True
        schema, _ = self.deref(self.resolve_pointer(sptr), sptr)
        if schema.get("type") == "integer":
            # As the router reads it: decimal digits, no sign, no leading zero.
            if not re.fullmatch(r"0|[1-9][0-9]*", seg):
                return False
            value = int(seg)
        else:
            value = seg
        return not self.errors(sptr, value)


def _escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def _escape_fragment(pointer):
    # "{" and "}" are not allowed in URI fragments; RefResolver unquotes them.
    return pointer.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def _default_path():
    top = os.environ.get("TOP_SRCDIR")
    if top:
        return os.path.join(top, DOC_NAME)
    return os.path.normpath(os.path.join(HERE, "..", "..", DOC_NAME))


def _state(path=None):
    global _current
    if path is None and _current is not None:
        return _current
    path = os.path.abspath(path or _default_path())
    st = _docs.get(path)
    if st is None:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        st = _State(path, doc)
        _docs[path] = st
    _current = st
    return st


def load(path=None):
    """The OpenAPI document (default: $TOP_SRCDIR/docs/openapi.json), cached.

    Loading a path makes it the document that check() uses from then on.
    """
    return _state(path).doc


# ---------------------------------------------------------------------------
# Answers


def _headers(headers):
    if headers is None:
        return None
    items = headers.items() if hasattr(headers, "items") else headers
    out = {}
    for k, v in items:
        k = k.lower()
        out[k] = v if k not in out else out[k] + ", " + v
    return out


def _media_type(value):
    return (value or "").split(";")[0].strip().lower()


def _is_json(media):
    return media == "application/json" or media.endswith("+json")


def _short(value, n=300):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= n else text[:n] + "..."


def _where(e):
    return "$" + "".join("[%r]" % p if isinstance(p, int) else "." + str(p) for p in e.absolute_path)


def _check_answer(st, what, status, resp, resp_ptr, headers, body, method):
    """Check an answer against one response object of the document."""
    resp, resp_ptr = st.deref(resp, resp_ptr)
    # Headers the document requires, and their values.
    if headers is not None:
        for name, h in resp.get("headers", {}).items():
            h, hptr = st.deref(h, resp_ptr + "/headers/" + _escape(name))
            value = headers.get(name.lower())
            if value is None:
                if h.get("required"):
                    raise AssertionError("%s answered %d without the %s header docs/openapi.json "
                                         "requires" % (what, status, name))
                continue
            if "schema" in h:
                errs = st.errors(hptr + "/schema", value)
                if errs:
                    raise AssertionError("%s answered %d with %s: %r, which docs/openapi.json "
                                         "does not allow: %s" % (what, status, name, value,
                                                                 errs[0].message))
    content = resp.get("content")
    empty = body is None or (isinstance(body, (bytes, bytearray, str)) and len(body) == 0)
    if not content:
        if not empty:
            raise AssertionError("%s answered %d with a body, and docs/openapi.json describes none: "
                                 "%s" % (what, status, _short(body)))
        return
    media = None
    if headers is not None:
        media = _media_type(headers.get("content-type"))
        listed = {k.lower(): k for k in content}
        if media not in listed:
            raise AssertionError("%s answered %d with Content-Type %r; docs/openapi.json lists %s"
                                 % (what, status, headers.get("content-type"),
                                    ", ".join(sorted(content))))
        media = listed[media]
    elif len(content) == 1:
        media = next(iter(content))
    else:
        media = next((k for k in content if _is_json(k.lower())), next(iter(content)))
    if not _is_json(media.lower()):
        return  # e.g. the backup: only its Content-Type is checked
    if empty and method == "HEAD":
        return  # HEAD answers carry headers only
    if "schema" not in content[media]:
        return
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError("%s answered %d with a body that is not UTF-8: %s: %s"
                                 % (what, status, e, _short(bytes(body))))
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as e:
            raise AssertionError("%s answered %d with a body that is not JSON (%s): %s"
                                 % (what, status, e, _short(body)))
    sptr = "%s/content/%s/schema" % (resp_ptr, _escape(media))
    errs = st.errors(sptr, body)
    if errs:
        lines = ["%s: %s" % (_where(e), e.message) for e in errs[:5]]
        if len(errs) > 5:
            lines.append("... and %d more" % (len(errs) - 5))
        raise AssertionError("%s answered %d with a body that does not match docs/openapi.json "
                             "(#%s):\n  %s\nbody: %s" % (what, status, sptr, "\n  ".join(lines),
                                                         _short(json.dumps(body, ensure_ascii=False),
                                                                1000)))


def _check_plugin_answer(st, what, status, headers, body, method):
    """A plugin's path: JSON answers; errors as the document's responses say."""
    if status >= 400:
        name = PLUGIN_ERRORS.get(status)
        if name is None:
            raise AssertionError("%s (a plugin's path) answered %d: the errors are %s"
                                 % (what, status, ", ".join(str(s) for s in sorted(PLUGIN_ERRORS))))
        _check_answer(st, what, status, {"$ref": "#/components/responses/" + name}, "",
                      headers, body, method)
        return
    if not 200 <= status < 300:
        raise AssertionError("%s (a plugin's path) answered %d, neither a success nor an error"
                             % (what, status))
    # A success: JSON, whose shape the plugin documents; or a report as CSV (reply_text).
    if headers is not None and _media_type(headers.get("content-type")) == "text/csv":
        return
    if headers is not None and _media_type(headers.get("content-type")) != "application/json":
        raise AssertionError("%s (a plugin's path) answered %d with Content-Type %r, not JSON"
                             % (what, status, headers.get("content-type")))
    if isinstance(body, (bytes, bytearray, str)) and method != "HEAD":
        try:
            json.loads(body)
        except ValueError as e:
            raise AssertionError("%s (a plugin's path) answered %d with a body that is not JSON "
                                 "(%s): %s" % (what, status, e, _short(body))) from None


def check(method, path, status, headers, body, doc_path=None):
    """Raise AssertionError unless docs/openapi.json describes this answer.

    method: "GET", ...; path: the request path as sent, maybe with a query
    string; status: the HTTP status; headers: the answer's headers (or None);
    body: bytes, str or the parsed JSON value.
    """
    st = _state(doc_path)
    method = method.upper()
    status = int(status)
    headers = _headers(headers)
    concrete = path.split("#", 1)[0].split("?", 1)[0]
    what = "%s %s" % (method, concrete)
    tmpl, item, item_ptr = st.match(concrete)

    if status in CONNECTION:
        _check_answer(st, what, status, {"$ref": "#/components/responses/" + CONNECTION[status]},
                      "", headers, body, method)
        return
    if tmpl is None and st.plugin_of(concrete) is not None:
        _check_plugin_answer(st, what, status, headers, body, method)
        return
    if tmpl is None:
        # The daemon answers a JSON 404 on paths it does not know.
        if status not in UNKNOWN_PATH:
            raise AssertionError("%s answered %d: docs/openapi.json has no such path, so the answer "
                                 "must be 404 (or %s)" % (what, status, ", ".join(
                                     str(s) for s in sorted(PRE_ROUTING))))
        name = UNKNOWN_PATH[status]
        _check_answer(st, what, status, {"$ref": "#/components/responses/" + name}, "",
                      headers, body, method)
        return

    ops = {m.upper(): m for m in HTTP_METHODS if m in item}
    if method not in ops:
        if status not in UNKNOWN_METHOD:
            raise AssertionError("%s answered %d: docs/openapi.json has no %s operation on %s, so "
                                 "the answer must be 405 (or %s)" % (
                                     what, status, method, tmpl, ", ".join(
                                         str(s) for s in sorted(PRE_ROUTING))))
        if status == 405 and headers is not None:
            allow = headers.get("allow")
            got = sorted(m.strip().upper() for m in (allow or "").split(",") if m.strip())
            if got != sorted(ops):
                raise AssertionError("%s answered 405 with Allow: %r; docs/openapi.json has %s on %s"
                                     % (what, allow, ", ".join(sorted(ops)), tmpl))
        name = UNKNOWN_METHOD[status]
        _check_answer(st, what, status, {"$ref": "#/components/responses/" + name}, "",
                      headers, body, method)
        return

    op_ptr = "%s/%s" % (item_ptr, ops[method])
    responses = item[ops[method]].get("responses", {})
    for key in (str(status), "%dXX" % (status // 100), "%dxx" % (status // 100), "default"):
        if key in responses:
            break
    else:
        raise AssertionError("%s answered %d, not in docs/openapi.json (%s %s lists %s)"
                             % (what, status, method, tmpl, ", ".join(sorted(responses))))
    _check_answer(st, what, status, responses[key], "%s/responses/%s" % (op_ptr, _escape(key)),
                  headers, body, method)


# ---------------------------------------------------------------------------
# The document itself


def _walk(node, pointer=""):
    """Every (pointer, dict) in the document."""
    if isinstance(node, dict):
        yield pointer, node
        for k, v in node.items():
            yield from _walk(v, "%s/%s" % (pointer, _escape(str(k))))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, "%s/%d" % (pointer, i))


def _schema_pointers(st):
    """Pointers of every schema the document holds outside components/schemas' insides."""
    doc = st.doc
    out = ["/components/schemas/" + _escape(k) for k in doc.get("components", {}).get("schemas", {})]
    for ptr, node in _walk(doc):
        if ptr.startswith("/components/schemas/"):
            continue
        if "schema" in node and isinstance(node["schema"], dict) and (
                "/parameters/" in ptr or "/headers/" in ptr or "/content/" in ptr):
            out.append(ptr + "/schema")
    return out


def _response_object_schemas(st, ptr, seen):
    """Pointers of the object schemas (type object) reachable from the schema at ptr."""
    if ptr in seen:
        return
    seen.add(ptr)
    node = st.resolve_pointer(ptr)
    if not isinstance(node, dict):
        return
    if node.get("type") == "object" or (isinstance(node.get("type"), list) and "object" in node["type"]):
        yield ptr
    if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        yield from _response_object_schemas(st, node["$ref"][1:], seen)
    for kw in ("properties", "patternProperties", "$defs"):
        for k in node.get(kw, {}):
            yield from _response_object_schemas(st, "%s/%s/%s" % (ptr, kw, _escape(k)), seen)
    for kw in ("items", "additionalProperties", "not", "if", "then", "else", "contains"):
        if isinstance(node.get(kw), dict):
            yield from _response_object_schemas(st, "%s/%s" % (ptr, kw), seen)
    for kw in ("allOf", "anyOf", "oneOf", "prefixItems"):
        for i, _ in enumerate(node.get(kw, [])):
            yield from _response_object_schemas(st, "%s/%s/%d" % (ptr, kw, i), seen)


def check_document(path=None):
    """Raise DocumentError when docs/openapi.json is not sound.

    Every $ref resolves; every operation has responses with descriptions and
    valid status codes, x-roles, unique operationIds and declared path
    parameters; 201 answers declare Location; every schema compiles and
    accepts its own examples; every object the server returns forbids
    properties it does not list and requires all those it lists.
    """
    st = _state(path) if path is not None else _state()
    doc = st.doc
    problems = []

    if doc.get("openapi") != "3.1.0":
        problems.append("openapi is %r, not '3.1.0'" % doc.get("openapi"))
    info = doc.get("info", {})
    for k in ("title", "version"):
        if not info.get(k):
            problems.append("info.%s is missing" % k)

    # Every $ref resolves.
    for ptr, node in _walk(doc):
        ref = node.get("$ref")
        if ref is None or not isinstance(ref, str):
            continue
        if not ref.startswith("#/"):
            problems.append("%s: $ref %r is not local to the document" % (ptr, ref))
            continue
        try:
            st.resolve_pointer(ref[1:])
        except (KeyError, IndexError, ValueError, TypeError):
            problems.append("%s: $ref %r leads nowhere" % (ptr, ref))
    if problems:
        raise DocumentError("%s:\n  %s" % (st.path, "\n  ".join(problems)))

    # Operations.
    op_ids = {}
    returned = {}  # object schema pointer -> the first operation returning it
    for tmpl, item in doc.get("paths", {}).items():
        item_ptr = "/paths/" + _escape(tmpl)
        item, item_ptr = st.deref(item, item_ptr)
        if not tmpl.startswith("/"):
            problems.append("path %r does not start with /" % tmpl)
        ops = [m for m in HTTP_METHODS if m in item]
        if not ops:
            problems.append("%s has no operation" % tmpl)
        for name in re.findall(r"\{([^{}]+)\}", tmpl):
            sptr = st.path_param_schema(item, item_ptr, name)
            if sptr is None:
                problems.append("%s: path parameter {%s} is not declared" % (tmpl, name))
        for m in ops:
            op = item[m]
            where = "%s %s" % (m.upper(), tmpl)
            oid = op.get("operationId")
            if oid:
                if oid in op_ids:
                    problems.append("%s: operationId %r also used by %s" % (where, oid, op_ids[oid]))
                op_ids[oid] = where
            roles = op.get("x-roles")
            if not roles or not isinstance(roles, list) or not set(roles) <= set(ROLES):
                problems.append("%s: x-roles %r is not a non-empty list of %s" % (where, roles, ROLES))
            responses = op.get("responses")
            if not responses:
                problems.append("%s has no responses" % where)
                continue
            for code, resp in responses.items():
                if not re.fullmatch(r"[1-5][0-9][0-9]|[1-5]XX|default", code):
                    problems.append("%s: %r is not a status code" % (where, code))
                resp, rptr = st.deref(resp, "%s/%s/responses/%s" % (item_ptr, m, code))
                if "description" not in resp:
                    problems.append("%s: response %s has no description" % (where, code))
                if code == "201" and "location" not in {h.lower() for h in resp.get("headers", {})}:
                    problems.append("%s: 201 declares no Location header" % where)
                if code[0] in "45":
                    ctype = resp.get("content", {}).get("application/json")
                    if ctype is None:
                        problems.append("%s: error %s has no application/json content" % (where, code))
                for media, mt in resp.get("content", {}).items():
                    if _is_json(media.lower()):
                        sptr = "%s/content/%s/schema" % (rptr, _escape(media))
                        for optr in _response_object_schemas(st, sptr, set()):
                            returned.setdefault(optr, where)
    for optr, where in returned.items():
        o = st.resolve_pointer(optr)
        props = set(o.get("properties", {}))
        if o.get(FREE_FORM) is True and not props:
            continue
        if o.get("additionalProperties") is not False:
            problems.append("#%s (returned by %s) does not set additionalProperties: false"
                            % (optr, where))
        missing = props - set(o.get("required", [])) - OPTIONAL_PROPERTIES.get(optr, set())
        if o.get(POLICY) is True:
            missing = set()
        if missing:
            problems.append("#%s (returned by %s) does not require %s"
                            % (optr, where, ", ".join(sorted(missing))))

    # Every schema compiles, and accepts its examples.
    for sptr in _schema_pointers(st):
        schema = st.resolve_pointer(sptr)
        try:
            Draft202012Validator.check_schema(schema)
            st.validator(sptr).is_valid(None)
        except jsonschema.exceptions.SchemaError as e:
            problems.append("#%s is not a valid schema: %s" % (sptr, e.message))
            continue
        except Exception as e:  # an unresolvable reference, a bad pattern...
            problems.append("#%s does not compile: %s" % (sptr, e))
            continue
        for i, ex in enumerate(schema.get("examples", []) if isinstance(schema, dict) else []):
            for e in st.errors(sptr, ex)[:1]:
                problems.append("#%s: example %d does not match: %s: %s" % (sptr, i, _where(e),
                                                                           e.message))
    # Patterns must compile in Python's re (ECMA-262 subset used here).
    for ptr, node in _walk(doc):
        pat = node.get("pattern")
        if isinstance(pat, str):
            try:
                re.compile(pat)
            except re.error as e:
                problems.append("%s: pattern %r: %s" % (ptr, pat, e))

    # check() leans on these.
    spec = doc.get("x-plugin-paths")
    if spec is not None and not (isinstance(spec, dict) and "{plugin}" in spec.get("prefix", "")
                                 and isinstance(spec.get("plugin"), dict)):
        problems.append("x-plugin-paths needs a prefix holding {plugin} and a plugin schema")
    for name in set(UNKNOWN_PATH.values()) | set(UNKNOWN_METHOD.values()) | set(CONNECTION.values()):
        if name not in doc.get("components", {}).get("responses", {}):
            problems.append("components/responses/%s is missing (check() needs it)" % name)
    if problems:
        raise DocumentError("%s:\n  %s" % (st.path, "\n  ".join(problems)))
    return True
