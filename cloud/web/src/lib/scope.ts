/** Everything a page starts (timers, subscriptions, charts) is registered here and undone on leave. */

export class Scope {
  private readonly disposers: Array<() => void> = [];
  private closed = false;

  get disposed(): boolean {
    return this.closed;
  }

  add(fn: () => void): void {
    if (this.closed) fn();
    else this.disposers.push(fn);
  }

  every(ms: number, fn: () => void): void {
    const id = window.setInterval(fn, ms);
    this.add(() => window.clearInterval(id));
  }

  listen(target: EventTarget, name: string, fn: (e: Event) => void): void {
    target.addEventListener(name, fn);
    this.add(() => target.removeEventListener(name, fn));
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.disposers.splice(0).reverse()) {
      try {
        fn();
      } catch (err) {
        console.error("scope: dispose failed", err);
      }
    }
  }
}

export interface Page {
  readonly el: HTMLElement;
  readonly scope: Scope;
  readonly title: string;
}
