import { describe, expect, it } from "vitest";
import { FleetScheduler, type ScheduledTask } from "./scheduler.js";

function task(log: string[], name: string): ScheduledTask {
  return { scheduleToken: 0, runScheduled: () => log.push(name) };
}

describe("FleetScheduler", () => {
  it("runs tasks in due order with one timer, and a re-schedule or cancel replaces the earlier one", async () => {
    const log: string[] = [];
    const s = new FleetScheduler();
    const tasks = Array.from({ length: 50 }, (_, i) => task(log, `t${i}`));
    tasks.forEach((t, i) => {
      s.at(t, 5 + i * 2);
    });
    s.at(tasks[10]!, 200); // moved to the end
    s.cancel(tasks[20]!);
    await new Promise((r) => setTimeout(r, 300));
    const expected = tasks.map((_, i) => `t${i}`).filter((n) => n !== "t10" && n !== "t20");
    expect(log).toEqual([...expected, "t10"]);
    s.stop();
  });

  it("a task may schedule itself again from runScheduled; stop() ends everything", async () => {
    const s = new FleetScheduler();
    let runs = 0;
    const t: ScheduledTask = {
      scheduleToken: 0,
      runScheduled() {
        runs += 1;
        s.at(t, 5);
      },
    };
    s.at(t, 0);
    await new Promise((r) => setTimeout(r, 120));
    expect(runs).toBeGreaterThan(5);
    s.stop();
    const after = runs;
    await new Promise((r) => setTimeout(r, 50));
    expect(runs).toBe(after);
  });
});
