/**
 * Issue 16 items 2, 3, 5 and 6: a page on another origin of the same site cannot use the
 * operator's session (form POST in Chromium, socket.io, SSE) while the dashboard itself still
 * works; security headers are sent; one address trying many usernames is throttled.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORDS, startTestCloud, type TestCloud } from "../../cloud/src/test-support.js";
import { ROOT } from "../../scripts/system.mjs";
import { CHROMIUM, hasChromium, missingService } from "../e2e/support.js";

let t: TestCloud;
let admin: string;
let attacker: Server;
let attackerUrl: string;

beforeAll(async () => {
  t = await startTestCloud({}, { dashboardDir: join(ROOT, "cloud/dist/dashboard") });
  admin = await t.login("admin");
  // The attacker's page: same host (same site), another port (another origin).
  attacker = createServer((_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end(`<!doctype html><title>cute cats</title>
<form id="f" method="POST" action="${t.url}/api/edges/edge-1/token"></form>
<script>document.getElementById("f").submit()</script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => attacker?.close(resolve));
  await t?.close();
});

const rotations = async () =>
  ((await (await t.api("/api/audit?action=edge.token.rotate", admin)).json()) as { entries: unknown[] }).entries.length;

describe("security headers", () => {
  it("are sent on the dashboard and the API: CSP with frame-ancestors none and no inline script, nosniff, DENY", async () => {
    for (const path of ["/", "/api/auth/me"]) {
      const res = await fetch(`${t.url}${path}`);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      expect(res.headers.get("x-powered-by"), path).toBe(null);
    }
  });
});

describe("a page of another origin", () => {
  it("cannot rotate an edge token with the admin's cookie (Chromium form POST), while the dashboard works", {
    timeout: 60_000,
  }, async (ctx) => {
    if (missingService("chromium", hasChromium())) return ctx.skip();
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
    try {
      const page = await (await browser.newContext()).newPage();
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(`${t.url}/#/login`);
      await page.getByTestId("login-username").fill("admin");
      await page.getByTestId("login-password").fill(PASSWORDS.admin);
      await page.getByTestId("login-submit").click();
      await expect.poll(() => page.getByTestId("current-user").textContent(), { timeout: 10_000 }).toContain("admin");
      const cookies = await page.context().cookies(t.url);
      expect(cookies.find((c) => c.name === "bv_session")).toMatchObject({ sameSite: "Strict", httpOnly: true });

      const before = await rotations();
      const response = page.waitForResponse((r) => r.url().endsWith("/api/edges/edge-1/token"), { timeout: 10_000 });
      await page.goto(attackerUrl);
      expect((await response).status()).toBe(403);
      expect(await rotations()).toBe(before);

      // The dashboard still works: its own state-changing call (logout) goes through.
      await page.goto(`${t.url}/`);
      await expect.poll(() => page.getByTestId("current-user").textContent(), { timeout: 10_000 }).toContain("admin");
      const logout = page.waitForResponse((r) => r.url().endsWith("/api/auth/logout"), { timeout: 10_000 });
      await page.getByTestId("logout").click();
      expect((await logout).status()).toBe(204);
      expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("cannot POST with a cookie from a cross-site fetch without Origin, unless it carries the CSRF token", async () => {
    const login = await fetch(`${t.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: PASSWORDS.alice }),
    });
    const cookies = login.headers.getSetCookie().map((c) => c.split(";")[0]);
    expect(login.headers.getSetCookie().join("\n")).toMatch(/bv_session=[^;]+;.*SameSite=Strict/i);
    const csrf = decodeURIComponent(cookies.find((c) => c?.startsWith("bv_csrf="))?.slice("bv_csrf=".length) ?? "");
    const post = (headers: Record<string, string>) =>
      fetch(`${t.url}/api/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: cookies.join("; "), ...headers },
        body: JSON.stringify({ name: "from a script" }),
      });
    expect((await post({ origin: "http://127.0.0.1:1" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "same-site" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "same-site", "x-csrf-token": "guess" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "same-site", "x-csrf-token": csrf })).status).toBe(201);
    expect((await post({ origin: t.url })).status).toBe(201);
  });

  it("cannot open socket.io with the cookie; the cloud's own origin can", async () => {
    const connect = (origin: string) =>
      new Promise<string>((resolve) => {
        const socket = io(t.url, {
          transports: ["websocket"],
          extraHeaders: { cookie: `bv_session=${admin}`, origin },
          reconnection: false,
        });
        socket.on("connect", () => {
          socket.close();
          resolve("connected");
        });
        socket.on("connect_error", (err) => {
          socket.close();
          resolve(`refused: ${err.message}`);
        });
      });
    expect(await connect("http://127.0.0.1:1")).toMatch(/^refused/);
    expect(await connect(t.url)).toBe("connected");
  });

  it("cannot read a device's SSE stream", async () => {
    const res = await fetch(`${t.url}/api/devices/nothing/stream`, {
      headers: { cookie: `bv_session=${admin}`, origin: "http://127.0.0.1:1" },
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ORIGIN_REFUSED");
  });
});

describe("login throttling", () => {
  it("slows one address trying 100 usernames, with Retry-After", async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${t.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: `user${i}`, password: "wrong-password" }),
      });
      statuses.push(res.status);
      if (res.status === 429) retryAfter ??= res.headers.get("retry-after");
    }
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(20);
    expect(statuses.slice(-50).every((s) => s === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});
