import type { Clock } from '../../../../src/producers/snmp/index.ts';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

/** Lets promise chains started by a timer run before the next timer fires. */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * A clock whose time moves only when the test says so. Timers fire in time order; promise
 * callbacks they start run to completion between two timers.
 */
export class FakeClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #seq = 0;

  constructor(startMs: number) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { id: ++this.#seq, at: this.#now + Math.max(0, ms), callback };
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Timers pending now. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Runs every timer due up to `ms` from now, in order, then sets the time to it. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#timers.reduce<Timer | undefined>(
        (a, t) => (a === undefined || t.at < a.at || (t.at === a.at && t.id < a.id) ? t : a),
        undefined,
      );
      if (next === undefined || next.at > until) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await settle();
    }
    this.#now = until;
    await settle();
  }

  /** Moves time forward without firing timers: a blocked event loop or a suspended process. */
  jump(ms: number): void {
    this.#now += ms;
  }
}
