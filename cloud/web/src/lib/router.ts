/** Hash routing: #/login, #/ (fleet), #/devices/:id, #/edges/:id, #/alerts, #/account, #/users, #/chat[/:room], #/shop, #/orders[/:id], #/inventory, #/catalog, #/add-edge, #/releases. */

export type Route =
  | { name: "login"; next: string }
  | { name: "fleet" }
  | { name: "device"; id: string }
  | { name: "edge"; id: string }
  | { name: "alerts" }
  | { name: "account" }
  | { name: "users" }
  | { name: "chat"; room: string | null }
  | { name: "shop" }
  | { name: "orders" }
  | { name: "order"; id: string }
  | { name: "inventory" }
  | { name: "catalog" }
  | { name: "add-edge" }
  | { name: "releases" }
  | { name: "not-found"; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "") || "/";
  const [pathname, search = ""] = path.split("?", 2) as [string, string?];
  if (pathname === "/login") return { name: "login", next: new URLSearchParams(search).get("next") ?? "/" };
  if (pathname === "/" || pathname === "") return { name: "fleet" };
  if (pathname === "/alerts") return { name: "alerts" };
  if (pathname === "/account") return { name: "account" };
  if (pathname === "/users") return { name: "users" };
  if (pathname === "/chat") return { name: "chat", room: null };
  const chatRoom = /^\/chat\/([^/]+)\/?$/.exec(pathname);
  if (chatRoom) return { name: "chat", room: decodeURIComponent(chatRoom[1]!) };
  if (pathname === "/shop") return { name: "shop" };
  if (pathname === "/orders") return { name: "orders" };
  if (pathname === "/inventory") return { name: "inventory" };
  if (pathname === "/catalog") return { name: "catalog" };
  const order = /^\/orders\/([^/]+)\/?$/.exec(pathname);
  if (order) return { name: "order", id: decodeURIComponent(order[1]!) };
  if (pathname === "/add-edge") return { name: "add-edge" };
  if (pathname === "/releases") return { name: "releases" };
  const device = /^\/devices\/([^/]+)\/?$/.exec(pathname);
  if (device) return { name: "device", id: decodeURIComponent(device[1]!) };
  const edge = /^\/edges\/([^/]+)\/?$/.exec(pathname);
  if (edge) return { name: "edge", id: decodeURIComponent(edge[1]!) };
  return { name: "not-found", path: pathname };
}

export const href = {
  fleet: () => "#/",
  alerts: () => "#/alerts",
  account: () => "#/account",
  users: () => "#/users",
  chat: (room?: string) => (room ? `#/chat/${encodeURIComponent(room)}` : "#/chat"),
  shop: () => "#/shop",
  orders: () => "#/orders",
  order: (id: string) => `#/orders/${encodeURIComponent(id)}`,
  inventory: () => "#/inventory",
  catalog: () => "#/catalog",
  addEdge: () => "#/add-edge",
  releases: () => "#/releases",
  device: (id: string) => `#/devices/${encodeURIComponent(id)}`,
  edge: (id: string) => `#/edges/${encodeURIComponent(id)}`,
  login: (next?: string) => (next && next !== "/" && next !== "/login" ? `#/login?next=${encodeURIComponent(next)}` : "#/login"),
};

export function currentPath(): string {
  return location.hash.replace(/^#/, "") || "/";
}

export function navigate(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}
