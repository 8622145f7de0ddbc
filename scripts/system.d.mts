import type { ChildProcess } from "node:child_process";

export const ROOT: string;
export const BINS: { cloud: string; edge: string; sim: string };
export function checkPortFree(port: number, host?: string): Promise<void>;

export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly ready: Promise<Record<string, number>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logs(): string;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnService(options: {
  name: string;
  bin: string;
  args: string[];
  env?: Record<string, string>;
  listeners?: string[];
  onLine?: (line: string, parsed: unknown) => void;
  inheritOutput?: boolean;
  /** Flags for node itself, before the script. */
  nodeArgs?: string[];
}): Service;

export interface ProvisionedDevice {
  deviceId: string;
  deviceType: string;
  name: string;
  secret: string;
}

export interface Prepared {
  dir: string;
  files: { cloud: string; edge: string; devices: string; scenario: string; ackedLog: string };
  secrets: { edgeToken: string; adminPassword: string; fleetSecret: string };
  devices: ProvisionedDevice[];
  scenario: unknown;
}

export function prepareSystem(options: {
  dir: string;
  scenarioFile?: string;
  scenarioOverrides?: Record<string, unknown>;
  ports?: Partial<Record<"http" | "grpc" | "mqtt" | "mqttWs" | "edgeHttp", number>>;
  secrets?: Partial<Prepared["secrets"]>;
  extraUsers?: { username: string; role: "viewer" | "operator" | "admin"; password: string }[];
  cloudOverrides?: Record<string, unknown>;
  edgeOverrides?: Record<string, unknown>;
}): Prepared;

interface StartOptions {
  env?: Record<string, string>;
  inheritOutput?: boolean;
}
export function startCloud(prepared: Prepared, options?: StartOptions): Service;
export const EDGE_NODE_ARGS: string[];
export function startEdge(prepared: Prepared, grpcPort: number, options?: StartOptions & { nodeArgs?: string[] }): Service;
export function startSim(prepared: Prepared, mqttPort: number, options?: StartOptions & { args?: string[] }): Service;
