/**
 * The packaging-line PLC as an OPC UA server (node-opcua-server): the catalog's nodes in the
 * server's own namespace (ns=1), driven by the packaging-plc signal model (state machine,
 * counters, sealer temperature), analog items with an EURange (so percent deadbands work, Part 8
 * §5.3.2), a writable speed setpoint and a command node. Fault injection: restart() stops the
 * server and starts a fresh one on the same port — sessions and subscriptions are gone.
 */
import { mkdirSync } from "node:fs";
import { deviceType, type MetricValues } from "@bitvelocity/devices";
import type { Namespace, UAObject } from "node-opcua-address-space";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { DataType, MessageSecurityMode, SecurityPolicy, StatusCodes, Variant } from "node-opcua-client";
import { OPCUAServer } from "node-opcua-server";
import { Rng } from "../prng.js";
import { createModel, type DeviceModel } from "../signals/index.js";

export interface PlcServerOptions {
  /** 0 picks a free port on the first start; restarts keep it. */
  readonly port?: number;
  /** Certificate store of the server (its own key pair is created there once; reuse it across runs, creation is slow). */
  readonly pkiDir: string;
  /** Offered security; default None plus Sign and SignAndEncrypt with Basic256Sha256. */
  readonly secure?: boolean;
  readonly users?: readonly { readonly username: string; readonly password: string }[];
  readonly allowAnonymous?: boolean;
  /** Model step in ms (default 200). */
  readonly tickMs?: number;
  readonly seed?: number;
  /** Extra Double variables ns=1;s=Bench.N, integers 0-100 that change every second (load tests with many monitored items). */
  readonly extraVariables?: number;
}

const ANALOG: Record<string, { low: number; high: number }> = {
  speed: { low: 0, high: 600 },
  speed_setpoint: { low: 0, high: 600 },
  sealer_temperature: { low: 0, high: 300 },
  motor_current: { low: 0, high: 100 },
};
const UINT32 = new Set(["good_count", "reject_count"]);
/** Getter-backed variables: the fastest sampling the server grants (Part 3 §5.6.2 MinimumSamplingInterval). */
const MIN_SAMPLING_MS = 50;

export class PlcServer {
  private server: OPCUAServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private port: number;
  private readonly model: DeviceModel;
  private values: MetricValues;
  /** Writes seen, for tests and the console. */
  readonly writes: { nodeId: string; value: unknown }[] = [];

  constructor(private readonly options: PlcServerOptions) {
    this.port = options.port ?? 0;
    this.model = createModel("packaging-plc", Rng.from(options.seed ?? 1, "plc"), (options.tickMs ?? 200) / 1000);
    this.values = this.model.sample(Date.now());
  }

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}/UA/BitVelocityPLC`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<string> {
    mkdirSync(this.options.pkiDir, { recursive: true });
    const serverCertificateManager = new OPCUACertificateManager({
      rootFolder: this.options.pkiDir,
      automaticallyAcceptUnknownCertificate: true,
    });
    const secure = this.options.secure ?? true;
    const users = this.options.users ?? [];
    const server = new OPCUAServer({
      port: this.port,
      resourcePath: "/UA/BitVelocityPLC",
      serverCertificateManager,
      securityModes: secure
        ? [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt]
        : [MessageSecurityMode.None],
      securityPolicies: secure ? [SecurityPolicy.None, SecurityPolicy.Basic256Sha256] : [SecurityPolicy.None],
      allowAnonymous: this.options.allowAnonymous ?? true,
      userManager: { isValidUser: (u: string, p: string) => users.some((x) => x.username === u && x.password === p) },
      buildInfo: { productName: "bv-sim packaging PLC", manufacturerName: "BitVelocity" },
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    if (!addressSpace) throw new Error("OPC UA server has no address space");
    this.build(addressSpace.getOwnNamespace(), addressSpace.rootFolder.objects);
    await server.start();
    if (this.port === 0) this.port = server.endpoints[0]?.port ?? 0;
    this.server = server;
    this.timer ??= setInterval(() => {
      this.values = this.model.sample(Date.now());
    }, this.options.tickMs ?? 200);
    this.timer.unref();
    return this.endpoint;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
    await server?.shutdown(0);
  }

  /** A PLC power cycle: the server goes away and comes back on the same port with no sessions. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  current(): MetricValues {
    return { ...this.values };
  }

  private build(ns: Namespace, objects: UAObject): void {
    const type = deviceType("packaging-plc");
    const plc = ns.addObject({ browseName: "PackagingLine", organizedBy: objects });
    for (const node of type?.protocols.opcua?.nodes ?? []) {
      const metric = node.metric;
      const nodeId = node.nodeId;
      const browseName = nodeId.split("=").pop() ?? metric;
      const get = (): Variant => {
        const v = this.values[metric];
        if (typeof v === "string") return new Variant({ dataType: DataType.String, value: v });
        if (UINT32.has(metric)) return new Variant({ dataType: DataType.UInt32, value: Number(v) });
        return new Variant({ dataType: DataType.Double, value: Number(v) });
      };
      const set =
        metric === "speed_setpoint"
          ? (variant: Variant) => {
              this.writes.push({ nodeId, value: variant.value });
              const outcome = this.model.apply("set_speed", { speed: Number(variant.value) });
              this.values = { ...this.values, speed_setpoint: Number(variant.value) };
              return outcome.ok ? StatusCodes.Good : StatusCodes.BadOutOfRange;
            }
          : undefined;
      const range = ANALOG[metric];
      if (range) {
        ns.addAnalogDataItem({
          componentOf: plc,
          browseName,
          nodeId,
          dataType: "Double",
          engineeringUnitsRange: range,
          minimumSamplingInterval: MIN_SAMPLING_MS,
          accessLevel: set ? "CurrentRead | CurrentWrite" : "CurrentRead",
          userAccessLevel: set ? "CurrentRead | CurrentWrite" : "CurrentRead",
          value: set ? { get, set } : { get },
        });
      } else {
        ns.addVariable({
          componentOf: plc,
          browseName,
          nodeId,
          dataType: typeof this.values[metric] === "string" ? "String" : UINT32.has(metric) ? "UInt32" : "Double",
          minimumSamplingInterval: MIN_SAMPLING_MS,
          value: { get },
        });
      }
    }
    // The command node: a client writes "start", "stop" or "reset_counters"; it reads back "".
    ns.addVariable({
      componentOf: plc,
      browseName: "Command",
      nodeId: "ns=1;s=Line.Command",
      dataType: "String",
      minimumSamplingInterval: MIN_SAMPLING_MS,
      accessLevel: "CurrentRead | CurrentWrite",
      userAccessLevel: "CurrentRead | CurrentWrite",
      value: {
        get: () => new Variant({ dataType: DataType.String, value: "" }),
        set: (variant: Variant) => {
          this.writes.push({ nodeId: "ns=1;s=Line.Command", value: variant.value });
          const outcome = this.model.apply(String(variant.value), {});
          if (outcome.ok) this.values = this.model.sample(Date.now());
          return outcome.ok ? StatusCodes.Good : StatusCodes.BadInvalidArgument;
        },
      },
    });
    for (let i = 0; i < (this.options.extraVariables ?? 0); i++) {
      const phase = i;
      ns.addVariable({
        componentOf: plc,
        browseName: `Bench${i}`,
        nodeId: `ns=1;s=Bench.${i}`,
        dataType: "Double",
        minimumSamplingInterval: MIN_SAMPLING_MS,
        value: {
          get: () =>
            new Variant({ dataType: DataType.Double, value: Math.round(50 + 50 * Math.sin(Math.floor(Date.now() / 1000) + phase)) }),
        },
      });
    }
  }
}
