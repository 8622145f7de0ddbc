// Commit pacing: at most one commit per window, a reading after a quiet window committed at once,
// and an early commit when a batch's worth waits.
import { describe, expect, it } from "vitest";
import { CommitQueue, type Pending } from "./commit-queue.js";

const WINDOW_MS = 200;

function queue(batchSize = 64, awaitedBatchSize = 32) {
  const commits: number[] = [];
  const started = performance.now();
  const q: CommitQueue = new CommitQueue(
    { commitIntervalMs: WINDOW_MS, maxPending: 10_000, batchSize, awaitedBatchSize },
    () => {
      commits.push(performance.now() - started);
      for (const item of q.take()) item.resolve(0);
    },
    () => undefined,
  );
  const add = (awaited = false) =>
    q.add(
      (settle) =>
        ({
          kind: "dead",
          input: { deviceId: "d", topic: "t", payload: new Uint8Array(), reason: "r" },
          label: "l",
          awaited,
          ...settle,
        }) as Pending,
    );
  return { q, add, commits, started };
}

describe("CommitQueue pacing", () => {
  it("commits a reading after a quiet window at once, and the next no sooner than one window later", async () => {
    const { add, commits } = queue();
    await add();
    expect(commits).toHaveLength(1);
    expect(commits[0]).toBeLessThan(WINDOW_MS / 2);
    await add();
    expect(commits).toHaveLength(2);
    expect((commits[1] as number) - (commits[0] as number)).toBeGreaterThanOrEqual(WINDOW_MS - 5);
  });

  it("takes everything that arrived during the window in one commit", async () => {
    const { add, commits } = queue();
    await add();
    await Promise.all(Array.from({ length: 10 }, () => add()));
    expect(commits).toHaveLength(2);
  });

  it("commits early, without waiting for the window, once a batch's worth waits", async () => {
    const { add, commits } = queue(8);
    await add();
    await Promise.all(Array.from({ length: 8 }, () => add()));
    expect(commits).toHaveLength(2);
    expect((commits[1] as number) - (commits[0] as number)).toBeLessThan(WINDOW_MS / 2);
  });

  it("commits early on fewer appends when devices wait for them (QoS 1), later for the others", async () => {
    const { add, commits } = queue(8, 4);
    await add();
    // Seven not awaited: below both thresholds, they wait for the window.
    const unawaited = Promise.all(Array.from({ length: 7 }, () => add(false)));
    await new Promise((r) => setTimeout(r, WINDOW_MS / 4));
    expect(commits).toHaveLength(1);
    await unawaited;
    expect((commits[1] as number) - (commits[0] as number)).toBeGreaterThanOrEqual(WINDOW_MS - 5);
    // Four awaited: a commit at once, without the window.
    await Promise.all(Array.from({ length: 4 }, () => add(true)));
    expect(commits).toHaveLength(3);
    expect((commits[2] as number) - (commits[1] as number)).toBeLessThan(WINDOW_MS / 2);
  });

  it("offers without a promise: the refusal comes back at once, nothing queued", async () => {
    const refused: string[] = [];
    const q = new CommitQueue(
      { commitIntervalMs: WINDOW_MS, maxPending: 1, batchSize: 64, awaitedBatchSize: 32 },
      () => undefined,
      () => refused.push("busy"),
    );
    const item = (): Pending => ({
      kind: "dead",
      input: { deviceId: "d", topic: "t", payload: new Uint8Array(), reason: "r" },
      label: "l",
      resolve: () => undefined,
      reject: () => undefined,
    });
    expect(q.offer(item())).toBeUndefined();
    expect(q.offer(item())?.code).toBe("OUTBOX_BUSY");
    expect(q.length).toBe(1);
    expect(refused).toEqual(["busy"]);
    q.take();
    q.close();
    expect(q.offer(item())?.code).toBe("OUTBOX_CLOSED");
  });
});
