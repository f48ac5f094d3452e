#!/usr/bin/env python3
"""Checks that src/ keeps its layers: every `crate::` path a module names must point down.

Layers, lowest first (a module may use its own folder and any folder of a lower layer):

    0  sys/      syscalls and all the unsafe code       uses nothing of ours
    0  http/     pure protocol: bytes in, status out     uses nothing of ours
    1  runtime/  the loop, timers, buffers, transports   uses sys
    2  site/     URL path -> what it names on disk       uses sys, http
    3  server/   the task kinds and their wiring         uses runtime, site, http, sys
    4  the top   lib.rs, main.rs, config.rs, config/     uses anything

It also refuses any import cycle between files, inside a folder too. It reads `use crate::`
and `use super::` lines and `crate::` paths in code (comments, strings and a file's inline
test module are skipped), resolves each to the file that defines the longest matching module
path, and prints every violation.
Exit status: 0 when the tree is clean, 1 otherwise.
"""

import re
import sys
from pathlib import Path

RANKS = {"sys": 0, "http": 0, "runtime": 1, "site": 2, "server": 3}
TOP_RANK = 4
# The only files allowed beside the layer folders: lib.rs and main.rs, and config.rs with
# the modules of its own folder, config/.
TOP_FILES = {(), ("config",)}

USE_RE = re.compile(r"\buse\s+crate::([^;]*);", re.S)
PATH_RE = re.compile(r"\bcrate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)")
SUPER_USE_RE = re.compile(r"\buse\s+super::([^;]*);", re.S)
# An inline test module sits at the end of its file; its `super::` is the file itself.
INLINE_TESTS_RE = re.compile(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{")
COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
STRING_RE = re.compile(r'b?"(?:\\.|[^"\\])*"')


def module_of(path: Path, src: Path) -> tuple:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def expand_use(tree: str) -> list:
    """`a::{b, c::d}` -> ["a::b", "a::c::d"]; good enough for rustfmt'd use trees."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [tree.split("as")[0] if "::" not in tree else tree]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    items, depth, current = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    items.append(current)
    out = []
    for item in filter(None, items):
        for expanded in expand_use(item):
            out.append(prefix + expanded if expanded != "self" else prefix.rstrip(":"))
    return out


def references(text: str, module: tuple) -> set:
    """The module paths `text` names: `crate::` paths, and `use super::` paths read from
    `module`'s parent (`a/b.rs` and `a/b/mod.rs` alike are module `a::b`, whose parent is `a`)."""
    code = STRING_RE.sub('""', COMMENT_RE.sub("", text))
    inline_tests = INLINE_TESTS_RE.search(code)
    if inline_tests:
        code = code[: inline_tests.start()]
    paths = set()
    for match in USE_RE.finditer(code):
        paths.update(expand_use(match.group(1)))
    paths.update(m.group(1) for m in PATH_RE.finditer(code))
    parent = "::".join(module[:-1])
    for match in SUPER_USE_RE.finditer(code):
        paths.update(f"{parent}::{p}" if parent else p for p in expand_use(match.group(1)))
    return {tuple(p for p in path.split("::") if p and p != "*") for path in paths if path}


def resolve(path: tuple, modules: set) -> tuple:
    for length in range(len(path), 0, -1):
        if path[:length] in modules:
            return path[:length]
    return ()


def rank(module: tuple) -> int:
    if len(module) <= 1 and (not module or module[0] not in RANKS):
        return TOP_RANK
    return RANKS.get(module[0], TOP_RANK)


def main() -> int:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    files = {module_of(p, src): p for p in sorted(src.rglob("*.rs"))}
    modules = set(files)
    edges = {m: set() for m in modules}
    problems = []
    for module, path in files.items():
        if rank(module) == TOP_RANK and module[:1] not in TOP_FILES:
            problems.append(f"{path}: not in a layer folder ({', '.join(sorted(RANKS))})")
        for ref in sorted(references(path.read_text(), module)):
            target = resolve(ref, modules)
            if not target or target == module:
                continue
            if target in edges[module]:
                continue
            edges[module].add(target)
            same_folder = module[:1] == target[:1] and rank(module) < TOP_RANK
            if not same_folder and rank(target) >= rank(module):
                problems.append(
                    f"{path}: uses crate::{'::'.join(target)} "
                    f"(layer {rank(target)} from layer {rank(module)})"
                )

    # Cycles: depth-first search over file-level edges. A folder's mod.rs declares its children
    # with `mod`, which is not a `crate::` path; only what it really uses counts.
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt) :] + [nxt]
                problems.append("import cycle: " + " -> ".join("::".join(m) or "crate" for m in cycle))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(modules):
        if node not in state:
            visit(node)

    for problem in problems:
        print(problem)
    print(f"layers: {len(modules)} modules, {sum(map(len, edges.values()))} edges, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
