/**
 * The dashboard's Releases page at phone width in headless Chromium: an admin publishes a package
 * (a mismatched version is refused with the reason), rolls it out to one site, the connected edge
 * of that site is offered it over EdgeSync, and its report ("rolled-back" with the reason) shows in
 * the Edges table and on the edge's page. axe-core finds no serious or critical violation.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EDGE_TOKEN, EdgeLink, PASSWORDS, startTestCloud, type TestCloud } from "../../cloud/src/test-support.js";
import { CHROMIUM, hasChromium, missingService, tempDir } from "./support.js";

const skip = missingService(`Chromium at ${CHROMIUM}`, hasChromium());
const ROOT = join(import.meta.dirname, "../..");
const ARTIFACTS = process.env.BV_ARTIFACTS_DIR ?? join(ROOT, "test-artifacts");
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: () => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } })
      .axe;
    const { violations } = await axe.run();
    return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.nodes.length})`);
  });
}

/** A small valid bv-edge package (dpkg-deb reads its Version and Architecture back). */
function tinyDeb(dir: string, version: string): string {
  const stage = join(dir, "stage");
  mkdirSync(join(stage, "DEBIAN"), { recursive: true });
  mkdirSync(join(stage, "usr/lib/bv-edge/dist"), { recursive: true });
  writeFileSync(join(stage, "usr/lib/bv-edge/dist/bin.js"), "// agent\n");
  writeFileSync(
    join(stage, "DEBIAN/control"),
    `Package: bv-edge\nVersion: ${version}\nArchitecture: amd64\nMaintainer: t <t@example.com>\nDescription: test\n`,
  );
  const deb = join(dir, `bv-edge_${version}_amd64.deb`);
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", stage, deb], { stdio: "ignore" });
  return deb;
}

describe.skipIf(skip !== undefined)("Releases page", () => {
  let cloud: TestCloud;
  let browser: Browser;
  let link: EdgeLink | undefined;
  const dir = tempDir("releases-page");

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    cloud = await startTestCloud({}, { dashboardDir: join(ROOT, "cloud/dist/dashboard") });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
  }, 60_000);

  afterAll(async () => {
    link?.close();
    await browser?.close();
    await cloud?.close();
  });

  it("publishes, rolls out to a site and shows each edge's update state at 375 px", { timeout: 120_000 }, async () => {
    link = new EdgeLink(cloud.grpcAddress);
    link.hello("edge-2", EDGE_TOKEN, [], { agentVersion: "0.1.0" });
    await link.next("welcome");

    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true });
    const page = await context.newPage();
    await page.goto(`${cloud.url}/#/login`);
    await page.getByTestId("login-username").fill("admin");
    await page.getByTestId("login-password").fill(PASSWORDS.admin);
    await page.getByTestId("login-submit").click();
    await expect.poll(() => page.getByTestId("current-user").textContent(), { timeout: 10_000 }).toContain("admin");
    await page.goto(`${cloud.url}/#/releases`);
    await page.getByTestId("release-form").waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    const deb = tinyDeb(dir, "0.2.0");
    await page.getByTestId("release-file").setInputFiles(deb);
    expect(await page.getByTestId("release-version").inputValue()).toBe("0.2.0");
    // A version that is not the package's: refused with the reason.
    await page.getByTestId("release-version").fill("0.9.0");
    await page.getByTestId("release-publish").click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/the package is bv-edge 0\.2\.0 for amd64, not 0\.9\.0/);
    await page.getByTestId("release-version").fill("0.2.0");
    await page.getByTestId("release-publish").click();
    await expect.poll(() => page.getByTestId("release-result").textContent()).toMatch(/Published 0\.2\.0 for amd64/);

    await page.getByTestId("release-rollout-open").first().click();
    await page.locator('[data-testid="rollout-site"][value="site-2"]').check();
    await page.getByTestId("rollout-apply").click();
    await expect.poll(() => page.getByTestId("rollout-result").textContent()).toMatch(/offered now to 1 connected edge/);
    const offer = (await link.next("releaseOffer")).releaseOffer;
    expect(offer.version).toBe("0.2.0");

    link.send({
      kind: {
        $case: "updateReport",
        updateReport: {
          version: "0.2.0",
          state: "rolled-back",
          error: "the new agent did not reach the cloud within 180 s",
          runningVersion: "0.1.0",
          timeMs: Date.now(),
        },
      },
    });
    const row = page.locator('[data-testid="edge-update-row"][data-edge-id="edge-2"]');
    await expect.poll(() => row.getAttribute("data-state"), { timeout: 15_000 }).toBe("rolled-back");
    expect(await row.textContent()).toContain("did not reach the cloud within 180 s");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, "releases-375.png"), fullPage: true });

    await page.goto(`${cloud.url}/#/edges/edge-2`);
    await expect.poll(() => page.getByTestId("edge-update-state").textContent(), { timeout: 10_000 }).toBe("rolled-back");
    expect(await page.getByTestId("edge-update-running").textContent()).toBe("0.1.0");
    expect(await page.getByTestId("edge-update-error").textContent()).toContain("did not reach the cloud");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, "edge-update-375.png"), fullPage: true });
  });
});
