#!/usr/bin/env python3
"""Test files for bench.sh scenarios 8-11 (python3 stdlib only).

  gen_files.py random FILE BYTES       incompressible random data (scenario 8)
  gen_files.py js FILE [--size N] [--seed S]
                                       one JavaScript-like file (scenario 9)
  gen_files.py js-many DIR COUNT [--size N] [--seed S]
                                       COUNT distinct JS-like files DIR/cNNNNN.js
                                       (scenario 11)
  gen_files.py many DIR COUNT [--dirs D] [--size N] [--seed S]
                                       COUNT files DIR/dXX/fNNNNN.bin, file i in
                                       directory i % D (scenario 10)

The JS text is built from a few hundred generated lines of plausible code
(functions, consts, object literals, calls, comments) whose identifiers come
from a word list, each file a different random selection and order of lines
with varying literals, so it compresses like real minified-ish source
(gzip -6: roughly 4-6x), not like one repeated line or random bytes.
Everything is seeded: the same arguments give the same bytes.
"""

import argparse
import os
import random
import sys

WORDS = """
account action active add address after align all amount animate append apply
array async attach attr auth base batch before begin bind block body bool
border bounds buffer build button cache call callback cancel canvas capture
cell change channel check child class clear click client clone close code
collect color column commit compare compile component config connect console
content context control convert cookie copy count create current cursor data
date debounce decode default defer define delay delete detail device dialog
diff disable dispatch display document done draw drop each edit element emit
enable encode end entry error event every expand export extend fetch field
file filter find first flag flush focus form format frame from get global
grid group handle hash header height hidden history hook host icon index init
input insert item join key label last layout length limit line link list
listen load local lock log loop map mark match max measure media merge message
method min mode model module mount move name node normal notify number object
offset open option order origin output owner page panel params parent parse
patch path pending point policy pop position post prefix prev print process
promise props proxy push query queue range ready record reduce ref refresh
register reject remove render replace request reset resize resolve response
result retry route row rule run save scale schedule scope screen scroll search
select send session set shadow shift show signal size slice sort source splice
split stack start state status step store stream string style submit subscribe
success swap sync table tag target task template text theme throttle tick time
timer title toggle token total track transform tree trigger type unit update
upload url user valid value version view visible wait watch width window word
worker wrap write
""".split()

KEYWORDS_TMPL = [
    "function {f}({a}, {b}) {{",
    "  const {v} = {a}.{p}({b}, {n});",
    "  let {v} = this.{p} || {{}};",
    "  if ({a} === null || {a} === undefined) return {n};",
    "  if (!{v}.{p}) {{ {v}.{p} = [] }}",
    "  for (let i = 0; i < {a}.length; i++) {{",
    "    {v}[i] = {f}({a}[i], '{s}');",
    "  }}",
    "  return {v}.{p}({b}).then(({c}) => {c}.{q});",
    "}}",
    "export const {V} = {{ {p}: {n}, {q}: '{s}', {r}: {bool} }};",
    "const {v} = require('./{p}/{q}');",
    "import {{ {F}, {G} }} from './{p}-{q}.js';",
    "// {S}: {p} the {q} before {r} ({n})",
    "/* {S} {q} when {r} changes; see #{n} */",
    "{v}.addEventListener('{p}', function ({c}) {{ {c}.preventDefault(); }});",
    "document.querySelector('#{p}-{q}').classList.toggle('{r}', {bool});",
    "class {F} extends {G} {{",
    "  constructor({a}) {{ super({a}); this.{p} = {a}.{q} ?? {n}; }}",
    "  get {p}() {{ return this._{p}; }}",
    "  async {f}({a}) {{ await this.{q}({a}); return this.{r}; }}",
    "  static {f}({a}, {b} = {n}) {{ return new {F}({{ {a}, {b} }}); }}",
    "}}",
    "throw new Error(`{S} {p} failed: ${{{a}.{q}}}`);",
    "const {v} = Object.assign({{}}, {a}, {{ {p}: {b}.{q} }});",
    "{v}.{p} = ({a}) => ({a} * {n}) % {m};",
    "console.log('[{p}] {q}', {a}, {b});",
    "switch ({a}.{p}) {{ case '{q}': return {n}; case '{r}': return {m}; default: break; }}",
    "const {v} = [{n}, {m}, {k}, '{s}', '{t}'];",
    "module.exports.{f} = {f};",
    "setTimeout(() => {f}({a}, {b}), {n});",
    "while ({a}.{p} > {n}) {{ {a}.{p} -= {m}; }}",
    "return {a}.map(({c}) => {c}.{p}).filter(Boolean).join('{s}');",
]


def camel(rng, n):
    ws = [rng.choice(WORDS) for _ in range(n)]
    return ws[0] + "".join(w.capitalize() for w in ws[1:])


def pascal(rng, n):
    return "".join(rng.choice(WORDS).capitalize() for _ in range(n))


def js_line(rng):
    t = rng.choice(KEYWORDS_TMPL)
    return t.format(
        f=camel(rng, rng.randint(1, 3)), a=rng.choice(WORDS), b=rng.choice(WORDS) + "s",
        c=rng.choice("xyzeo"), v=camel(rng, 2), p=rng.choice(WORDS), q=rng.choice(WORDS),
        r=rng.choice(WORDS), s=rng.choice(WORDS), t=camel(rng, 2),
        V=camel(rng, 2).upper(), F=pascal(rng, 2), G=pascal(rng, 1),
        S=" ".join(rng.choice(WORDS) for _ in range(3)).capitalize(),
        n=rng.randint(0, 5000), m=rng.randint(1, 64), k=rng.randint(0, 10 ** 6),
        bool=rng.choice(("true", "false")),
    )


def js_pool(seed, n=600):
    """The few hundred distinct lines files are built from."""
    rng = random.Random(seed)
    return [js_line(rng) for _ in range(n)]


def js_text(pool, rng, size, header):
    out = [header]
    total = len(header) + 1
    while total < size:
        # Runs of consecutive pool lines (like repeated idioms), at random
        # places, with a fresh line now and then: realistic redundancy.
        start = rng.randrange(len(pool))
        for line in pool[start:start + rng.randint(3, 12)]:
            if rng.random() < 0.15:
                line = js_line(rng)
            out.append(line)
            total += len(line) + 1
    data = ("\n".join(out) + "\n").encode()
    return data[:size - 1] + b"\n"


def write(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def cmd_random(a):
    left = a.bytes
    chunk = 1 << 22
    os.makedirs(os.path.dirname(a.file) or ".", exist_ok=True)
    with open(a.file, "wb") as f:
        while left > 0:
            n = min(chunk, left)
            f.write(os.urandom(n))
            left -= n
        f.flush()
        os.fsync(f.fileno())


def cmd_js(a):
    pool = js_pool(a.seed)
    rng = random.Random(a.seed + 1)
    write(a.file, js_text(pool, rng, a.size, "/* app.js: generated by gen_files.py */"))


def cmd_js_many(a):
    pool = js_pool(a.seed)
    rng = random.Random(a.seed + 2)
    for i in range(a.count):
        write(os.path.join(a.dir, "c%05d.js" % i),
              js_text(pool, rng, a.size, "/* c%05d.js: generated by gen_files.py */" % i))


def cmd_many(a):
    rng = random.Random(a.seed)
    for d in range(a.dirs):
        os.makedirs(os.path.join(a.dir, "d%02d" % d), exist_ok=True)
    for i in range(a.count):
        with open(os.path.join(a.dir, "d%02d" % (i % a.dirs), "f%05d.bin" % i), "wb") as f:
            f.write(rng.randbytes(a.size))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("random")
    s.add_argument("file")
    s.add_argument("bytes", type=int)
    s = sub.add_parser("js")
    s.add_argument("file")
    s.add_argument("--size", type=int, default=100 * 1024)
    s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("js-many")
    s.add_argument("dir")
    s.add_argument("count", type=int)
    s.add_argument("--size", type=int, default=100 * 1024)
    s.add_argument("--seed", type=int, default=2)
    s = sub.add_parser("many")
    s.add_argument("dir")
    s.add_argument("count", type=int)
    s.add_argument("--dirs", type=int, default=100)
    s.add_argument("--size", type=int, default=1024)
    s.add_argument("--seed", type=int, default=3)
    a = p.parse_args()
    {"random": cmd_random, "js": cmd_js, "js-many": cmd_js_many, "many": cmd_many}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
