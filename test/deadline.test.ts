import { describe, expect, test } from "bun:test";
import { deadline, within } from "../lib/_deadline.ts";

describe("deadline()", () => {
  test("passes the value or the rejection through when the promise is in time", async () => {
    expect(await deadline(Promise.resolve(42), 1000, () => new Error("late"))).toBe(42);
    await expect(deadline(Promise.reject(new RangeError("bad")), 1000, () => new Error("late"))).rejects.toThrow(
      RangeError,
    );
  });

  test("rejects with the caller's error, made when the time runs out", async () => {
    let made = 0;
    const late = deadline(new Promise(() => {}), 10, () => new TypeError(`late ${++made}`));
    expect(made).toBe(0);
    await expect(late).rejects.toThrow("late 1");
    expect(made).toBe(1);
  });
});

describe("within()", () => {
  test("true in time, false after, and a rejection in time rejects", async () => {
    expect(await within(Bun.sleep(1), 1000)).toBe(true);
    expect(await within(new Promise(() => {}), 10)).toBe(false);
    await expect(within(Promise.reject(new Error("failed")), 1000)).rejects.toThrow("failed");
  });
});

test("no timer outlives a wait that ended: a child that only waits exits at once", async () => {
  // A 10 s limit on waits that end at once: were a timer left behind, the child would live 10 s.
  const code = `
    import { deadline, within } from ${JSON.stringify(new URL("../lib/_deadline.ts", import.meta.url).pathname)};
    await deadline(Promise.resolve(1), 10_000, () => new Error("late"));
    await within(Promise.resolve(), 10_000);
  `;
  const started = performance.now();
  const child = Bun.spawn([process.execPath, "-e", code], { stdout: "inherit", stderr: "inherit" });
  expect(await child.exited).toBe(0);
  expect(performance.now() - started).toBeLessThan(5000);
});
