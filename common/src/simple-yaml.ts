/**
 * YAML for configuration files, fast for the plain block style the edge's files are written in
 * (`bv-sim provision`'s devices file, edge/deploy/edge.yaml, the docs' examples): block mappings
 * with plain keys, block sequences (of scalars or of mappings, also at the parent key's indent),
 * double- or single-quoted scalars, plain scalars of the YAML 1.2 core schema (null, booleans,
 * decimal integers and floats, strings), `[]`, `{}` and comments. A file of 1,000 devices is read
 * in a few milliseconds without loading the `yaml` package.
 *
 * Anything outside that subset (flow collections with content, block scalars, anchors, tags,
 * multi-line scalars, tabs, several documents, duplicate keys, hex/octal/inf/nan…) is handed to
 * the `yaml` package, loaded at that moment; its parse is the reference, so errors read the same.
 * The fast path returns what `yaml.parse` returns for the subset (tested on the repository's
 * configuration files and on generated ones).
 */
import { createRequire } from "node:module";
import type * as Yaml from "yaml";

/** Returned by the fast path for a document outside its subset. */
const UNSUPPORTED: unique symbol = Symbol("unsupported");
type Unsupported = typeof UNSUPPORTED;

let yamlModule: typeof Yaml | undefined;

/** The `yaml` package, loaded on first use (its CommonJS build is the one Node resolves either way). */
export function yamlPackage(): typeof Yaml {
  yamlModule ??= createRequire(import.meta.url)("yaml") as typeof Yaml;
  return yamlModule;
}

/** `yaml.parse(text)`, through the fast path when the text is inside its subset. */
export function parseYaml(text: string): unknown {
  const fast = parseSimpleYaml(text);
  return fast === UNSUPPORTED ? yamlPackage().parse(text) : fast;
}

/** The fast path alone: `{ value }`, or null when the text is outside its subset (tests, tools). */
export function parseSimpleYamlOnly(text: string): { value: unknown } | null {
  const fast = parseSimpleYaml(text);
  return fast === UNSUPPORTED ? null : { value: fast };
}

interface Line {
  readonly indent: number;
  readonly text: string;
}

const KEY = /^([A-Za-z_][A-Za-z0-9_.-]*):(?: +(.*))?$/;
const NON_STRING_KEY = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;
const DOUBLE_QUOTED = /^"((?:[^"\\]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*)"(?: +#.*)? *$/;
const SINGLE_QUOTED = /^'((?:[^']|'')*)'(?: +#.*)? *$/;
/** Plain scalars: no indicator first (`@`, `%`, `,` … may not start one), nothing that needs YAML's finer rules. */
const PLAIN_CHARS = /^[A-Za-z0-9_./$+=~^()-][A-Za-z0-9_./:$+=~^@(),;%?&*! -]*$/;
const NULL = /^(?:~|null|Null|NULL)$/;
const TRUE = /^(?:true|True|TRUE)$/;
const FALSE = /^(?:false|False|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
/** Core-schema forms the fast path leaves to the yaml package. */
const OTHER_CORE = /^(?:[-+]?0[xo]|[-+]?\.(?:inf|Inf|INF)$|\.(?:nan|NaN|NAN)$)/;

function lines(text: string): Line[] | Unsupported {
  if (text.includes("\t") || text.startsWith("\uFEFF")) return UNSUPPORTED;
  const out: Line[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.includes("\r")) return UNSUPPORTED;
    const text = line.trimStart();
    if (text === "" || text.startsWith("#")) continue;
    const indent = line.length - text.length;
    if (indent === 0 && /^(?:---|\.\.\.|%)/.test(text)) return UNSUPPORTED;
    out.push({ indent, text: text.trimEnd() });
  }
  return out;
}

function scalar(s: string): unknown {
  if (s.startsWith('"')) {
    const m = DOUBLE_QUOTED.exec(s);
    if (!m) return UNSUPPORTED;
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return UNSUPPORTED;
    }
  }
  if (s.startsWith("'")) {
    const m = SINGLE_QUOTED.exec(s);
    return m ? (m[1] as string).replaceAll("''", "'") : UNSUPPORTED;
  }
  const hash = s.indexOf(" #");
  const plain = (hash >= 0 ? s.slice(0, hash) : s).trimEnd();
  if (plain === "[]") return [];
  if (plain === "{}") return {};
  if (!PLAIN_CHARS.test(plain) || plain.includes(": ") || plain.endsWith(":") || plain.startsWith("- ") || plain === "-")
    return UNSUPPORTED;
  if (NULL.test(plain)) return null;
  if (TRUE.test(plain)) return true;
  if (FALSE.test(plain)) return false;
  if (INT.test(plain)) return Number.parseInt(plain, 10);
  if (FLOAT.test(plain)) return Number.parseFloat(plain);
  if (OTHER_CORE.test(plain)) return UNSUPPORTED;
  return plain;
}

const isItem = (l: Line | undefined, indent: number) =>
  l !== undefined && l.indent === indent && (l.text === "-" || l.text.startsWith("- "));

class Parser {
  private i = 0;
  constructor(private readonly ls: Line[]) {}

  document(): unknown {
    const first = this.ls[0];
    if (!first) return null;
    const value = this.block(first.indent);
    return this.i === this.ls.length ? value : UNSUPPORTED;
  }

  private block(indent: number): unknown {
    return isItem(this.ls[this.i], indent) ? this.sequence(indent) : this.mapping(indent, undefined);
  }

  /** The value after `key:` or `-` with nothing on its line: a nested block, or null. */
  private nested(indent: number, seqAtSameIndent: boolean): unknown {
    const next = this.ls[this.i];
    if (next && next.indent > indent) return this.block(next.indent);
    if (seqAtSameIndent && isItem(next, indent)) return this.sequence(indent);
    return null;
  }

  /** A scalar on the line just read: the next line may not continue it. */
  private inline(s: string, indent: number): unknown {
    const value = scalar(s);
    const next = this.ls[this.i];
    return next && next.indent > indent ? UNSUPPORTED : value;
  }

  /** A block mapping at `indent`; `firstText` is its first line when it starts after a `- `. */
  private mapping(indent: number, firstText: string | undefined): unknown {
    const out: Record<string, unknown> = {};
    let text = firstText;
    if (text === undefined) {
      const l = this.ls[this.i];
      if (!l || l.indent !== indent) return UNSUPPORTED;
      text = l.text;
    }
    for (;;) {
      this.i++;
      const m = KEY.exec(text);
      if (!m) return UNSUPPORTED;
      const key = m[1] as string;
      if (NON_STRING_KEY.test(key) || key === "__proto__" || Object.hasOwn(out, key)) return UNSUPPORTED;
      const rest = m[2];
      const value = rest === undefined || rest === "" || rest.startsWith("#") ? this.nested(indent, true) : this.inline(rest, indent);
      if (value === UNSUPPORTED) return UNSUPPORTED;
      out[key] = value;
      const next = this.ls[this.i];
      if (!next || next.indent < indent) return out;
      if (next.indent > indent || isItem(next, indent)) return UNSUPPORTED;
      text = next.text;
    }
  }

  private sequence(indent: number): unknown {
    const out: unknown[] = [];
    for (;;) {
      const l = this.ls[this.i];
      if (!isItem(l, indent)) return out;
      const body = (l as Line).text.slice(1);
      const rest = body.trimStart();
      const col = indent + 1 + (body.length - rest.length);
      let value: unknown;
      if (rest === "" || rest.startsWith("#")) {
        this.i++;
        value = this.nested(indent, false);
      } else if (rest.startsWith("-")) {
        return UNSUPPORTED; // a sequence in a sequence, or a scalar starting with "-" (numbers included): the package decides
      } else if (KEY.test(rest) && !rest.startsWith('"') && !rest.startsWith("'")) {
        value = this.mapping(col, rest);
      } else {
        this.i++;
        value = this.inline(rest, indent);
      }
      if (value === UNSUPPORTED) return UNSUPPORTED;
      out.push(value);
      const next = this.ls[this.i];
      if (next && next.indent > indent) return UNSUPPORTED;
    }
  }
}

function parseSimpleYaml(text: string): unknown {
  const ls = lines(text);
  if (ls === UNSUPPORTED) return UNSUPPORTED;
  return new Parser(ls).document();
}
