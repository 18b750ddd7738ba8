#!/usr/bin/env bash
# docs/api.md is the API reference of every public header: it fails, naming
# what is missing, if
#   (a) a public header (include/circuit/**/*.h outside internal/) has no
#       section headed exactly "## circuit/<path>.h";
#   (b) a section "## circuit/<path>.h" names a header that does not exist
#       (or an internal one);
#   (c) a name the public headers declare at namespace scope in namespace
#       circuit (outside any namespace internal) never appears in the
#       reference's code (a `code span` or a fenced block): the classes,
#       structs, enums and their enumerators, type aliases, inline
#       constants, and free functions. Forward declarations and the
#       out-of-class definitions of members (X::f) are not declarations of
#       new names and are skipped.
#
#   tests/docs/api_reference_test.sh [API_MD [INCLUDE_DIR]]
#       (default: docs/api.md and include, or their runfiles under Bazel)
set -euo pipefail

if [[ $# -ge 1 ]]; then
  api_md="$1"
  include_dir="${2:-include}"
elif [[ -n "${TEST_SRCDIR:-}" ]]; then
  root="${TEST_SRCDIR}/${TEST_WORKSPACE:-circuit}"
  api_md="$root/docs/api.md"
  include_dir="$root/include"
else
  api_md="docs/api.md"
  include_dir="include"
fi
if [[ ! -f "$api_md" ]]; then
  echo "no API reference at $api_md" >&2
  exit 1
fi
if [[ ! -d "$include_dir/circuit" ]]; then
  echo "no headers under $include_dir/circuit" >&2
  exit 1
fi

exec /usr/bin/python3 - "$api_md" "$include_dir" <<'PY'
import pathlib
import re
import sys

api_md = pathlib.Path(sys.argv[1])
include_dir = pathlib.Path(sys.argv[2])
# Fewer names than this means the extraction broke, not that the API shrank.
MIN_NAMES = 30


def public_headers():
    headers = []
    for path in sorted((include_dir / "circuit").rglob("*.h")):
        rel = path.relative_to(include_dir).as_posix()
        if not rel.startswith("circuit/internal/"):
            headers.append(rel)
    return headers


def strip_source(text):
    """The header without comments, string and char literals, and
    preprocessor lines (a string's or a comment's brace must not count)."""
    text = re.sub(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                  lambda m: " " if m.group(0)[0] == "/" else '""', text, flags=re.S)
    return "\n".join("" if line.lstrip().startswith("#") else line
                      for line in text.split("\n"))


TYPE_RE = re.compile(r"^(?:template\s*<.*>\s*)?(class|struct|enum\s+class|enum\s+struct|enum)"
                     r"\s+(?:alignas\s*\([^)]*\)\s*)?([A-Za-z_]\w*)\b", re.S)
USING_RE = re.compile(r"^(?:template\s*<.*>\s*)?using\s+([A-Za-z_]\w*)\s*=", re.S)
CONSTANT_RE = re.compile(r"\bconstexpr\b[^=(]*?\b([A-Za-z_]\w*)\s*=")
FUNCTION_RE = re.compile(r"(?<![\w:])([A-Za-z_]\w*)\s*\(")
NOT_FUNCTIONS = {"decltype", "alignas", "sizeof", "noexcept", "static_assert", "operator",
                 "alignof", "requires", "__attribute__"}


def declarations(text):
    """Yields (kind, name) for each name declared at namespace scope in
    namespace circuit (and its public nested namespaces)."""
    # A stack of scopes: ("ns", name) or ("block", None). A statement is the
    # text since the last ';', '{' or '}' at namespace scope.
    stack = []
    statement = []
    enum_body = None  # collecting an enum's enumerators: [depth, chars]

    def public_scope():
        names = [name for kind, name in stack if kind == "ns"]
        return (all(kind == "ns" for kind, _ in stack) and names[:1] == ["circuit"]
                and "internal" not in names)

    for ch in text:
        if enum_body is not None:
            if ch == "{":
                enum_body[0] += 1
            elif ch == "}":
                enum_body[0] -= 1
                if enum_body[0] == 0:
                    for part in "".join(enum_body[1]).split(","):
                        m = re.match(r"\s*([A-Za-z_]\w*)", part)
                        if m:
                            yield "enumerator", m.group(1)
                    enum_body = None
                    stack.pop()
                    statement = []
                    continue
            enum_body[1].append(ch)
            continue
        if ch not in "{};":
            statement.append(ch)
            continue
        stmt = " ".join("".join(statement).split())
        statement = []
        if ch == "}":
            if stack:
                stack.pop()
            continue
        scope_is_public = public_scope()
        m = re.match(r"^(?:inline\s+)?namespace\s*([A-Za-z_]\w*)?$", stmt)
        if ch == "{" and m:
            stack.append(("ns", m.group(1) or "<anonymous>"))
            continue
        if ch == "{":
            stack.append(("block", None))
        if not scope_is_public or not stmt:
            continue
        stmt = re.sub(r"\[\[[^\]]*\]\]\s*", "", stmt)  # [[nodiscard]] and friends
        t = TYPE_RE.match(stmt)
        if t:
            if ch == "{":  # a definition; "class X;" declares nothing new
                kind = "enum" if t.group(1).startswith("enum") else t.group(1)
                yield kind, t.group(2)
                if kind == "enum":
                    enum_body = [1, []]
            continue
        u = USING_RE.match(stmt)
        if u:
            yield "alias", u.group(1)
            continue
        if re.match(r"^(?:static_assert|typedef|friend|extern|using)\b", stmt):
            continue
        c = CONSTANT_RE.search(stmt)
        paren = stmt.find("(")
        if c and (paren < 0 or c.start(1) < paren):
            yield "constant", c.group(1)
            continue
        for f in FUNCTION_RE.finditer(stmt):
            if f.group(1) in NOT_FUNCTIONS:
                continue
            # The first call-like name: a free function, unless qualified
            # (X::f, the out-of-class definition of a member).
            if f.start(1) < 2 or stmt[f.start(1) - 2:f.start(1)] != "::":
                yield "function", f.group(1)
            break


def code_text(markdown):
    """Everything in the reference that is code: fenced blocks and spans."""
    fences = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.S | re.M)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.S | re.M)
    spans = re.findall(r"(`+)(.+?)\1", prose, flags=re.S)
    return "\n".join(fences + [span for _, span in spans])


markdown = api_md.read_text(encoding="utf-8")
headers = public_headers()
sections = re.findall(r"^## (circuit/\S+\.h)[ \t]*$", markdown, flags=re.M)
failures = []

if not headers:
    failures.append(f"no public header found under {include_dir}/circuit")
for header in headers:
    if header not in sections:
        failures.append(f"(a) {header}: no section '## {header}' in {api_md}")
for section in sorted(set(sections)):
    if section not in headers:
        failures.append(f"(b) '## {section}': no such public header")
for section in sorted({s for s in sections if sections.count(s) > 1}):
    failures.append(f"(b) '## {section}': more than one section")

names = {}  # name -> (kind, first header declaring it)
for header in headers:
    text = strip_source((include_dir / header).read_text(encoding="utf-8"))
    for kind, name in declarations(text):
        names.setdefault(name, (kind, header))
if len(names) < MIN_NAMES:
    failures.append(f"(c) only {len(names)} names found in the public headers "
                    f"(expected at least {MIN_NAMES}): the extraction is broken")

code = code_text(markdown)
for name, (kind, header) in sorted(names.items(), key=lambda item: (item[1][1], item[0])):
    if not re.search(r"(?<![\w])" + re.escape(name) + r"(?![\w])", code):
        failures.append(f"(c) {header}: {kind} {name} is never mentioned in {api_md}'s code")

kinds = {}
for kind, _ in names.values():
    kinds[kind] = kinds.get(kind, 0) + 1
summary = ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items()))
for failure in failures:
    print("FAIL", failure, file=sys.stderr)
print(f"api reference: {len(headers)} public headers, {len(sections)} sections; "
      f"{len(names)} names checked ({summary}); problems: {len(failures)}")
sys.exit(1 if failures else 0)
PY
