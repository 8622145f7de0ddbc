/** The dashboard's composition root: session check, hash routing, page lifecycle. */
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import type { User } from "@bitvelocity/api";
import { header } from "./components/header.js";
import { toasts } from "./components/toasts.js";
import { errorBox } from "./components/ui.js";
import { activeAlerts } from "./lib/alerts.js";
import { ApiError, api, setUnauthorizedHandler } from "./lib/api.js";
import { chat } from "./lib/chat.js";
import { h, replace } from "./lib/dom.js";
import { live } from "./lib/live.js";
import { currentPath, href, navigate, parseRoute } from "./lib/router.js";
import { type Page, Scope } from "./lib/scope.js";
import { session } from "./lib/session.js";
import { accountPage } from "./pages/account.js";
import { alertsPage } from "./pages/alerts.js";
import { chatPage } from "./pages/chat.js";
import { devicePage } from "./pages/device.js";
import { edgePage } from "./pages/edge.js";
import { fleetPage } from "./pages/fleet.js";
import { inventoryPage } from "./pages/inventory.js";
import { loginPage } from "./pages/login.js";
import { orderPage } from "./pages/order.js";
import { ordersPage } from "./pages/orders.js";
import { shopPage } from "./pages/shop.js";

const app = document.getElementById("app")!;
let page: Page | null = null;
let chrome: { el: HTMLElement; slot: HTMLElement; scope: Scope; user: User } | null = null;

function signedIn(user: User): void {
  session.set(user);
  live.start();
  chat.start();
  activeAlerts.start();
  void activeAlerts.reload();
}

function signedOut(): void {
  session.set(null);
  activeAlerts.stop();
  live.stop();
  chat.stop();
  chrome?.scope.dispose();
  chrome = null;
}

setUnauthorizedHandler(() => {
  if (!session.user) return;
  const path = currentPath();
  signedOut();
  navigate(href.login(path));
});

live.setRejectedHandler(async () => {
  try {
    await api.me();
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      const path = currentPath();
      signedOut();
      navigate(href.login(path));
      return false;
    }
    return true;
  }
});

function logout(): void {
  api
    .logout()
    .catch(() => {})
    .finally(() => {
      signedOut();
      navigate(href.login());
    });
}

function show(next: Page, withChrome: boolean): void {
  page?.scope.dispose();
  page = next;
  document.title = `${next.title} · BitVelocity`;
  if (!withChrome) {
    chrome?.scope.dispose();
    chrome = null;
    replace(app, next.el);
    return;
  }
  const user = session.user!;
  if (!chrome || chrome.user !== user) {
    chrome?.scope.dispose();
    const scope = new Scope();
    const slot = h("div", { class: "slot" });
    chrome = { el: h("div", { class: "shell" }, header(user, scope, logout), slot, toasts(scope)), slot, scope, user };
  }
  replace(chrome.slot, next.el);
  if (app.firstChild !== chrome.el) replace(app, chrome.el);
  window.scrollTo(0, 0);
}

/** A page whose code loads as its own chunk: a loading state until it is there. */
function lazyPage(title: string, load: () => Promise<Page>): Page {
  const scope = new Scope();
  const el = h("div", null, h("main", { class: "page" }, "Loading…"));
  load()
    .then((page) => {
      if (scope.disposed) {
        page.scope.dispose();
        return;
      }
      scope.add(() => page.scope.dispose());
      replace(el, page.el);
    })
    .catch((err: unknown) => {
      if (!scope.disposed) replace(el, h("main", { class: "page" }, errorBox(err)));
    });
  return { el, scope, title };
}

function route(): void {
  const r = parseRoute(location.hash);
  if (r.name === "login") {
    if (session.user) {
      navigate(`#${r.next}`);
      return;
    }
    show(
      loginPage((user) => {
        signedIn(user);
        navigate(`#${r.next}`);
      }),
      false,
    );
    return;
  }
  if (!session.user) {
    navigate(href.login(currentPath()));
    return;
  }
  switch (r.name) {
    case "fleet":
      show(fleetPage(), true);
      break;
    case "device":
      show(devicePage(r.id), true);
      break;
    case "edge":
      show(edgePage(r.id), true);
      break;
    case "alerts":
      show(alertsPage(), true);
      break;
    case "account":
      show(accountPage(), true);
      break;
    case "shop":
      show(shopPage(), true);
      break;
    case "orders":
      show(ordersPage(), true);
      break;
    case "order":
      show(orderPage(r.id), true);
      break;
    case "inventory":
      show(inventoryPage(), true);
      break;
    // Admin pages, rarely opened: each its own chunk (the main chunk stays within its size budget).
    case "catalog":
      show(
        lazyPage("Catalog", () => import("./pages/catalog.js").then((m) => m.catalogPage())),
        true,
      );
      break;
    case "users":
      show(
        lazyPage("Users", () => import("./pages/users.js").then((m) => m.usersPage())),
        true,
      );
      break;
    case "chat":
      show(chatPage(r.room), true);
      break;
    case "add-edge":
      show(
        lazyPage("Add edge", () => import("./pages/add-edge.js").then((m) => m.addEdgePage())),
        true,
      );
      break;
    case "releases":
      // Admin-only and rarely opened: its own chunk (the main chunk stays within its size budget).
      show(
        lazyPage("Releases", () => import("./pages/releases.js").then((m) => m.releasesPage())),
        true,
      );
      break;
    default:
      show(
        {
          el: h("main", { class: "page" }, errorBox(`Nothing at ${r.path}`), h("a", { href: href.fleet() }, "Back to the fleet")),
          scope: new Scope(),
          title: "Not found",
        },
        true,
      );
  }
}

async function boot(): Promise<void> {
  try {
    const { user } = await api.me();
    signedIn(user);
  } catch {
    session.set(null);
  }
  window.addEventListener("hashchange", route);
  route();
}

void boot();
