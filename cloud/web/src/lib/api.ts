/** The REST client: JSON in and out, errors as ApiError, a 401 sends the operator to the login page. */
import type {
  Alert,
  AlertRule,
  ApiToken,
  AuditEntry,
  ChatHistory,
  ChatRoom,
  Command,
  CreateClaimBody,
  CreatedClaim,
  DeadLetter,
  Device,
  DeviceType,
  Edge,
  EdgeClaim,
  Gap,
  Problem,
  Reading,
  RuleBody,
  SeriesPoint,
  Site,
  User,
  UserAccount,
} from "@bitvelocity/api";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let onUnauthorized: () => void = () => {};

/** Called on any 401 outside the login call itself. */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { accept: "application/json", ...headers } };
  if (body instanceof Blob) {
    // A file as it is (a release package), not JSON.
    init.body = body;
    init.headers = { accept: "application/json", "content-type": body.type || "application/octet-stream", ...headers };
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { accept: "application/json", "content-type": "application/json", ...headers };
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "NETWORK", `Cannot reach the server (${err instanceof Error ? err.message : String(err)})`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; problems?: Problem[] } } | null)?.error;
    const error = new ApiError(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? (res.statusText || `HTTP ${res.status}`),
      e?.problems ?? [],
    );
    if (res.status === 401 && path !== "/api/auth/login" && path !== "/api/auth/me") onUnauthorized();
    throw error;
  }
  return data as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

const enc = encodeURIComponent;

export const api = {
  login: (username: string, password: string) => request<{ user: User }>("POST", "/api/auth/login", { username, password }),
  logout: () => request<void>("POST", "/api/auth/logout"),
  me: () => request<{ user: User }>("GET", "/api/auth/me"),
  catalog: () => request<{ types: DeviceType[] }>("GET", "/api/catalog"),
  sites: () => request<{ sites: Site[] }>("GET", "/api/sites"),
  edges: () => request<{ edges: Edge[] }>("GET", "/api/edges"),
  edge: (id: string) => request<{ edge: Edge }>("GET", `/api/edges/${enc(id)}`),
  devices: (filter: { site?: string; edge?: string; type?: string; q?: string; state?: string } = {}) =>
    request<{ devices: Device[] }>("GET", `/api/devices${query(filter)}`),
  device: (id: string) => request<{ device: Device }>("GET", `/api/devices/${enc(id)}`),
  readings: (id: string, range: { from?: number; to?: number; limit?: number }) =>
    request<{ readings: Reading[] }>("GET", `/api/devices/${enc(id)}/readings${query(range)}`),
  series: (id: string, p: { metric: string; from?: number; to?: number; resolution: "raw" | "1m" | "1h" }) =>
    request<{ points: SeriesPoint[] }>("GET", `/api/devices/${enc(id)}/series${query(p)}`),
  sendCommand: (id: string, name: string, params: Record<string, unknown>) =>
    request<{ command: Command }>("POST", `/api/devices/${enc(id)}/commands`, { name, params }),
  commands: (id: string) => request<{ commands: Command[] }>("GET", `/api/devices/${enc(id)}/commands`),
  alerts: (q: { state?: string; subject?: string; limit?: number } = {}) => request<{ alerts: Alert[] }>("GET", `/api/alerts${query(q)}`),
  ackAlert: (id: string) => request<{ alert: Alert }>("POST", `/api/alerts/${enc(id)}/ack`),
  resolveAlert: (id: string) => request<{ alert: Alert }>("POST", `/api/alerts/${enc(id)}/resolve`),
  rules: () => request<{ rules: AlertRule[] }>("GET", "/api/alert-rules"),
  createRule: (rule: RuleBody) => request<{ rule: AlertRule }>("POST", "/api/alert-rules", rule),
  updateRule: (id: string, rule: RuleBody) => request<{ rule: AlertRule }>("PUT", `/api/alert-rules/${enc(id)}`, rule),
  deleteRule: (id: string) => request<void>("DELETE", `/api/alert-rules/${enc(id)}`),
  gaps: (edgeId: string, limit = 50) => request<{ gaps: Gap[] }>("GET", `/api/edges/${enc(edgeId)}/gaps${query({ limit })}`),
  deadLetters: (edgeId: string, limit = 50) =>
    request<{ deadLetters: DeadLetter[] }>("GET", `/api/edges/${enc(edgeId)}/dead-letters${query({ limit })}`),
  tokens: () => request<{ tokens: ApiToken[] }>("GET", "/api/tokens"),
  claims: () => request<{ claims: EdgeClaim[]; certificateFingerprint: string | null }>("GET", "/api/provisioning/claims"),
  createClaim: (body: CreateClaimBody) => request<CreatedClaim>("POST", "/api/provisioning/claims", body),
  createToken: (body: { name: string; role: string; ttl_days?: number }) =>
    request<{ token: string; apiToken: ApiToken }>("POST", "/api/tokens", body),
  revokeToken: (id: string) => request<{ apiToken: ApiToken }>("DELETE", `/api/tokens/${enc(id)}`),
  users: () => request<{ users: UserAccount[] }>("GET", "/api/users"),
  createUser: (body: { username: string; role: string; password: string }) => request<{ user: UserAccount }>("POST", "/api/users", body),
  updateUser: (username: string, body: { role?: string; password?: string; disabled?: boolean }) =>
    request<{ user: UserAccount }>("PUT", `/api/users/${enc(username)}`, body),
  chatRooms: () => request<{ rooms: ChatRoom[] }>("GET", "/api/chat/rooms"),
  chatHistory: (room: string, before?: number, limit = 50) =>
    request<ChatHistory>("GET", `/api/chat/rooms/${enc(room)}/messages${query({ before, limit })}`),
  chatRead: (room: string, seq: number) => request<{ room: ChatRoom }>("POST", `/api/chat/rooms/${enc(room)}/read`, { seq }),
  chatDirect: (user: string) => request<{ room: ChatRoom }>("POST", "/api/chat/direct", { user }),
  audit: (limit = 100) => request<{ entries: AuditEntry[] }>("GET", `/api/audit${query({ limit })}`),
};
