/**
 * Ordered delivery: hands step outcomes to the playbook one at a time, in an order that replay
 * can reproduce exactly, so that every execution of a run numbers its steps the same way.
 *
 * Why: a step's position (`seq`) is taken when the playbook calls it, and which call comes next
 * depends on which earlier outcome the playbook saw first. With parallel branches that is the
 * vendors' timing. So each outcome is handed over alone, the playbook runs until every branch is
 * blocked again (all microtasks drained: one `setImmediate`), and only then the next one goes; the
 * place of each outcome in that order (its `resolution`) is journaled with it. Replay hands the
 * recorded outcomes back in recorded order — as Temporal replays history events — so the playbook
 * makes the same calls in the same order, whatever the latencies were.
 *
 * History first: while recorded outcomes remain to be handed back, no new work starts. A step the
 * journal does not answer (new, or whose outcome was lost in a crash) waits until the replay has
 * caught up with the journal; a replay that cannot catch up is non-determinism, found before
 * anything new was sent. After that, outcomes are handed over in the order they arrive.
 */
export class Delivery {
  /** Recorded resolutions in order (normally 0 … n-1). */
  private readonly history: number[];
  private historyIdx = 0;
  /** Recorded outcomes the playbook asked for, by resolution, waiting for their turn. */
  private readonly asked = new Map<number, () => void>();
  /** Live outcomes in arrival order; each gets the next resolution when handed over. */
  private readonly live: Array<(resolution: number) => void> = [];
  /** Work held back until the history is replayed. */
  private deferred: Array<() => void> = [];
  private nextResolution: number;
  private draining = false;

  /** `recorded`: the resolutions in the journal; `settled` runs after each hand-over has drained. */
  constructor(recorded: readonly number[], private readonly settled: () => void) {
    this.history = [...recorded].sort((a, b) => a - b);
    this.nextResolution = this.history.length > 0 ? this.history[this.history.length - 1]! + 1 : 0;
  }

  /** True while recorded outcomes remain to be handed back. */
  get replaying(): boolean {
    return this.historyIdx < this.history.length;
  }

  /** The resolution the replay waits for next, when replaying. */
  get expected(): number | undefined {
    return this.history[this.historyIdx];
  }

  /** Something is being handed over, or can be handed over now. */
  get busy(): boolean {
    if (this.draining) return true;
    if (this.replaying) return this.asked.has(this.history[this.historyIdx]!);
    return this.live.length > 0;
  }

  /** A recorded outcome: handed over at its recorded place. */
  replay(resolution: number, hand: () => void): void {
    this.asked.set(resolution, hand);
    this.pump();
  }

  /** A live outcome: handed over after those before it, with the next resolution. */
  arrive(hand: (resolution: number) => void): void {
    this.live.push(hand);
    this.pump();
  }

  /** Runs `start` now, or once the history has been replayed. */
  whenLive(start: () => void): void {
    if (this.replaying) this.deferred.push(start);
    else start();
  }

  private pump(): void {
    if (this.draining) return;
    let hand: () => void;
    if (this.replaying) {
      const r = this.history[this.historyIdx]!;
      const h = this.asked.get(r);
      if (!h) return;
      this.asked.delete(r);
      this.historyIdx++;
      hand = h;
    } else {
      const h = this.live.shift();
      if (!h) return;
      const r = this.nextResolution++;
      hand = () => h(r);
    }
    this.draining = true;
    hand();
    if (!this.replaying && this.deferred.length > 0) {
      const start = this.deferred;
      this.deferred = [];
      for (const s of start) s();
    }
    // Microtasks (the playbook's continuation) all run before this callback.
    setImmediate(() => {
      this.draining = false;
      this.pump();
      this.settled();
    });
  }
}
