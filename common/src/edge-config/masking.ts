/**
 * Secrets in a configuration document never travel back to a browser: they are shown as MASK, and
 * a MASK sent back means "keep what is stored". A secret is found by its key name (token,
 * secret_hash, password, …) and addressed by a path in which list items with an `id` are named by
 * it (`devices[pump-1].secret_hash`), so reordering or inserting devices keeps each one's secret.
 */
import { yamlPackage } from "../simple-yaml.js";

export const MASK = "********";

/** Key names whose values are secrets (`*_file` and `*_env` name where a secret is, and are not). */
export function isSecretKey(key: string): boolean {
  if (key.endsWith("_file") || key.endsWith("_env")) return false;
  return /(^|_)(token|secret|secret_hash|password|passphrase|private_key|api_key)$/.test(key);
}

function keyOf(node: unknown): string | undefined {
  return yamlPackage().isScalar(node) ? String(node.value) : undefined;
}

/** A readable path for the pair, from its ancestors (Document, maps, pairs, sequences). */
function pathOf(ancestors: readonly unknown[], key: string): string {
  const { isMap, isPair, isSeq } = yamlPackage();
  const parts: string[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const a = ancestors[i];
    if (isPair(a)) parts.push(keyOf(a.key) ?? "?");
    else if (isSeq(a)) {
      const item = ancestors[i + 1];
      const index = a.items.indexOf(item as never);
      const id = isMap(item) ? item.get("id") : undefined;
      const last = parts.pop() ?? "";
      parts.push(`${last}[${typeof id === "string" ? id : index}]`);
    }
  }
  parts.push(key);
  return parts.join(".");
}

/** Calls `fn` for every secret scalar of the document with its path; `fn` may replace the value. */
function eachSecret(yaml: string, fn: (path: string, value: unknown, set: (v: string) => void) => void): string {
  const { isScalar, parseDocument, visit } = yamlPackage();
  const doc = parseDocument(yaml);
  if (doc.errors.length > 0) return yaml;
  visit(doc, {
    Pair(_key, pair, ancestors) {
      const key = keyOf(pair.key);
      if (key === undefined || !isSecretKey(key) || !isScalar(pair.value)) return;
      const scalar = pair.value;
      fn(pathOf(ancestors, key), scalar.value, (v) => {
        scalar.value = v;
        // A plain `********` would be a YAML alias; anything else is written as simply as it can be.
        scalar.type = v === MASK ? "QUOTE_DOUBLE" : "PLAIN";
      });
    },
  });
  return doc.toString({ lineWidth: 0 });
}

/** The document with every secret value replaced by MASK (invalid YAML is returned as written: it holds no parsed secret). */
export function maskSecrets(yaml: string): string {
  if (yamlPackage().parseDocument(yaml).errors.length > 0) return yaml;
  let changed = false;
  const out = eachSecret(yaml, (_path, value, set) => {
    if (value !== null && value !== "") {
      set(MASK);
      changed = true;
    }
  });
  return changed ? out : yaml;
}

/** Path → value of every secret in a stored document. */
export function secretsOf(yaml: string): Map<string, string> {
  const found = new Map<string, string>();
  eachSecret(yaml, (path, value) => {
    if (typeof value === "string") found.set(path, value);
  });
  return found;
}

/**
 * The edited document with each MASK put back to the stored secret at the same path. A MASK with
 * no stored secret behind it is a problem (the admin must type the value).
 */
export function unmaskSecrets(edited: string, stored: string | undefined): { yaml: string; problems: string[] } {
  const secrets = stored === undefined ? new Map<string, string>() : secretsOf(stored);
  const problems: string[] = [];
  let changed = false;
  const yaml = eachSecret(edited, (path, value, set) => {
    if (value !== MASK) return;
    const kept = secrets.get(path);
    if (kept === undefined) problems.push(`${path}: ${MASK} keeps a stored secret, but none is stored here; type the value`);
    else {
      set(kept);
      changed = true;
    }
  });
  return { yaml: changed ? yaml : edited, problems };
}
