/** Coalesce bursts of live events into at most one render per `ms`. */
export function throttle(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: number | null = null;
  let last = 0;
  const run = () => {
    timer = null;
    last = Date.now();
    fn();
  };
  const call = () => {
    if (timer !== null) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = window.setTimeout(run, wait);
  };
  call.cancel = () => {
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
  };
  return call;
}
