import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { hashSecret } from "../secrets.js";
import { hasConfigPath, localKeyProblems, parseConfigDocument, remoteDocumentProblems } from "./document.js";
import { MASK, maskSecrets, secretsOf, unmaskSecrets } from "./masking.js";

const hash = hashSecret("device-secret");

describe("remote configuration documents", () => {
  it("accepts a partial document: the edge's file fills in the rest", () => {
    expect(remoteDocumentProblems(stringify({ devices: [{ id: "env-1", type: "env-sensor", secret_hash: hash }] }), "edge-1")).toEqual([]);
    expect(remoteDocumentProblems("", "edge-1")).toEqual([]);
  });

  it("lists every problem at once, with its path", () => {
    const problems = remoteDocumentProblems(
      stringify({ edge_id: "edge-2", data_dir: "/tmp", mqtt: { limits: { max_connections: 0 } }, devices: [{ id: "a", type: "toaster" }] }),
      "edge-1",
    );
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "data_dir",
      "devices.0.secret_hash",
      "devices.0.type",
      "edge_id",
      "mqtt.limits.max_connections",
    ]);
  });

  it("refuses what is not a YAML mapping", () => {
    expect(remoteDocumentProblems("a: [", "edge-1")[0]).toMatch(/^\(document\): not valid YAML/);
    expect(remoteDocumentProblems("- 1", "edge-1")).toEqual(["(document): expected a mapping at the top level"]);
    expect(parseConfigDocument("~")).toEqual({ doc: {} });
  });

  it("keeps machine keys local", () => {
    expect(localKeyProblems({ edge_id: "edge-1" }, "edge-1")).toEqual([]);
    expect(localKeyProblems({ devices_file: "x.yaml" }, "edge-1")[0]).toMatch(/^devices_file:/);
    expect(hasConfigPath({ uplink: { url: "x" } }, "uplink.url")).toBe(true);
    expect(hasConfigPath({ uplink: { url: "x" } }, "uplink.token")).toBe(false);
  });
});

describe("secrets in documents", () => {
  const stored = stringify({
    devices: [
      { id: "a", type: "env-sensor", secret_hash: hash },
      { id: "b", type: "env-sensor", secret_hash: hashSecret("other") },
    ],
    uplink: { token: "edge-token", tls: { key_file: "/etc/key.pem" } },
    connectors: [{ id: "plc", auth: { password_env: "PLC_PASSWORD" } }],
  });

  it("masks tokens, hashes and passwords, never file names or env names", () => {
    const masked = maskSecrets(stored);
    expect(masked).not.toContain("edge-token");
    expect(masked).not.toContain(hash);
    expect(masked).toContain(`token: "${MASK}"`);
    expect(masked).toContain("key_file: /etc/key.pem");
    expect(masked).toContain("password_env: PLC_PASSWORD");
    expect([...secretsOf(stored).keys()].sort()).toEqual(["devices[a].secret_hash", "devices[b].secret_hash", "uplink.token"]);
  });

  it("puts a masked value back to the stored secret of the same item, even when the list is reordered", () => {
    const edited = stringify({
      devices: [
        { id: "c", type: "env-sensor", secret_hash: hashSecret("new") },
        { id: "b", type: "env-sensor", secret_hash: MASK },
        { id: "a", type: "env-sensor", secret_hash: MASK },
      ],
      uplink: { token: MASK },
    });
    const { yaml, problems } = unmaskSecrets(edited, stored);
    expect(problems).toEqual([]);
    const back = secretsOf(yaml);
    expect(back.get("devices[a].secret_hash")).toBe(hash);
    expect(back.get("devices[b].secret_hash")).toBe(secretsOf(stored).get("devices[b].secret_hash"));
    expect(back.get("uplink.token")).toBe("edge-token");
  });

  it("refuses a masked value with nothing stored behind it", () => {
    const { problems } = unmaskSecrets(stringify({ devices: [{ id: "z", type: "env-sensor", secret_hash: MASK }] }), stored);
    expect(problems).toEqual([`devices[z].secret_hash: ${MASK} keeps a stored secret, but none is stored here; type the value`]);
  });
});
