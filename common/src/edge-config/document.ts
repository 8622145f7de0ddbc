/**
 * Remote configuration documents (docs/edge-sync.md, config lane): YAML in the edge config's own
 * schema, laid over the edge's file. The document wins where it speaks; the file (and its `BV_*`
 * environment) fills in the rest. Mappings merge key by key; lists and values replace.
 *
 * A few keys belong to the machine, not to the document: `edge_id` (it must name this edge),
 * `data_dir` (the remote versions live there) and `devices_file` (a path on the edge). The cloud
 * checks a document with the same schema, over a stand-in for the file.
 */
import { formatIssues, mergeConfig } from "../config.js";
import { parseYaml } from "../simple-yaml.js";
import { edgeConfigSchema } from "./edge.js";

export type ConfigDocument = Record<string, unknown>;

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True when the dotted path is set in the document (an env variable does not override it then). */
export function hasConfigPath(doc: ConfigDocument, path: string): boolean {
  let node: unknown = doc;
  for (const key of path.split(".")) {
    if (!isMapping(node) || !(key in node)) return false;
    node = node[key];
  }
  return true;
}

/** The document as a mapping, or why it is not one. An empty document is an empty mapping. */
export function parseConfigDocument(yaml: string): { doc: ConfigDocument } | { problems: string[] } {
  let doc: unknown;
  try {
    doc = parseYaml(yaml);
  } catch (err) {
    return { problems: [`(document): not valid YAML: ${err instanceof Error ? err.message : String(err)}`] };
  }
  if (doc === null || doc === undefined) return { doc: {} };
  if (!isMapping(doc)) return { problems: ["(document): expected a mapping at the top level"] };
  return { doc };
}

/** Keys a remote document may not set (they belong to the machine), as `path: message`. */
export function localKeyProblems(doc: ConfigDocument, edgeId: string): string[] {
  const problems: string[] = [];
  if ("edge_id" in doc && doc.edge_id !== edgeId)
    problems.push(`edge_id: is ${JSON.stringify(doc.edge_id)}, but this document is for edge ${edgeId}`);
  if ("data_dir" in doc) problems.push("data_dir: belongs to the edge's file (remote versions are kept there); remove it");
  if ("devices_file" in doc) problems.push("devices_file: names a file on the edge; list the devices under devices instead");
  return problems;
}

/** The token the cloud validates with when a document keeps the edge's own (it never sees the real one). */
const TOKEN_STAND_IN = "kept-on-the-edge";

/**
 * Every problem with a remote document, checked as the cloud can: the schema over a file that
 * holds only the edge id and a token. The edge checks again over its real file.
 */
export function remoteDocumentProblems(yaml: string, edgeId: string): string[] {
  const parsed = parseConfigDocument(yaml);
  if ("problems" in parsed) return parsed.problems;
  const problems = localKeyProblems(parsed.doc, edgeId);
  const merged = mergeConfig({ edge_id: edgeId, uplink: { token: TOKEN_STAND_IN } }, parsed.doc);
  const result = edgeConfigSchema.safeParse(merged);
  if (!result.success) problems.push(...formatIssues(result.error.issues));
  return problems;
}
