/**
 * `bv-edge opcua browse <endpoint>`: walks a server's address space from the Objects folder
 * (hierarchical references, Part 3 §7.3) and lists its variables with node id, browse path and
 * data type, to write a connector's `nodes:`. Security None, anonymous, no certificate trust needed.
 */
import { BvError, errorMessage } from "@bitvelocity/common";
import { AttributeIds, BrowseDirection, type ClientSession, DataType, NodeClass, OPCUAClient } from "node-opcua-client";

export interface BrowsedVariable {
  readonly nodeId: string;
  readonly path: string;
  readonly dataType: string;
}

const HIERARCHICAL = "HierarchicalReferences";

export async function browseVariables(endpoint: string, options: { maxNodes?: number } = {}): Promise<BrowsedVariable[]> {
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 } });
  try {
    await client.connect(endpoint);
  } catch (err) {
    throw new BvError("OPCUA_CONNECT_FAILED", "transient", `cannot connect to ${endpoint}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    const session = await client.createSession();
    const found = await walk(session, options.maxNodes ?? 10_000);
    await session.close();
    return found;
  } finally {
    await client.disconnect();
  }
}

async function walk(session: ClientSession, maxNodes: number): Promise<BrowsedVariable[]> {
  const out: BrowsedVariable[] = [];
  const seen = new Set<string>(["ns=0;i=85"]);
  const queue: { nodeId: string; path: string }[] = [{ nodeId: "ns=0;i=85", path: "Objects" }];
  while (queue.length > 0 && seen.size < maxNodes) {
    const node = queue.shift() as { nodeId: string; path: string };
    const result = await session.browse({
      nodeId: node.nodeId,
      browseDirection: BrowseDirection.Forward,
      referenceTypeId: HIERARCHICAL,
      includeSubtypes: true,
      nodeClassMask: NodeClass.Object | NodeClass.Variable,
      resultMask: 63,
    });
    for (const ref of result.references ?? []) {
      const id = ref.nodeId.toString();
      // The standard Server object (ns=0) is large and the same everywhere: skipped.
      if (seen.has(id) || id === "ns=0;i=2253") continue;
      seen.add(id);
      const path = `${node.path}/${ref.browseName.name ?? id}`;
      // Namespace 0 holds the standard's own nodes; a device's variables live in the server's namespaces.
      if (ref.nodeClass === NodeClass.Variable && ref.nodeId.namespace !== 0) out.push({ nodeId: id, path, dataType: "" });
      queue.push({ nodeId: id, path });
    }
  }
  const types = await session.read(out.map((v) => ({ nodeId: v.nodeId, attributeId: AttributeIds.DataType })));
  return out.map((v, i) => {
    const dt = types[i]?.value.value as { namespace?: number; value?: unknown } | undefined;
    const name = dt?.namespace === 0 && typeof dt.value === "number" ? (DataType[dt.value] ?? String(dt.value)) : String(dt ?? "");
    return { ...v, dataType: name };
  });
}
