/**
 * Ordered delivery: hands step outcomes to the playbook one at a time, in an order that replay
 * can reproduce exactly, so that every execution of a run numbers its steps the same way.
 *
 * Why: a step's position (`seq`) is taken when the playbook calls it, and which call comes next
 * depends on which earlier outcome the playbook saw first. With parallel branches that is the
 * vendors' timing. So each outcome is handed over alone, from a macrotask of its own, and the
 * playbook runs until every branch is blocked again (all microtasks drained) before the next; the
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
  /** A hand-over is scheduled for the next macrotask. */
  private scheduled = false;
  private segmentReplayed: boolean;

  /**
   * `recorded`: the resolutions in the journal; `settled` runs after each hand-over has drained;
   * `resumed`: the run has executed before (its first segment of code is a replay too).
   */
  constructor(
    recorded: readonly number[],
    private readonly settled: () => void,
    resumed: boolean,
  ) {
    this.segmentReplayed = resumed;
    this.history = [...recorded].sort((a, b) => a - b);
    this.nextResolution = this.history.length > 0 ? this.history[this.history.length - 1]! + 1 : 0;
  }

  /** True while recorded outcomes remain to be handed back. */
  get replaying(): boolean {
    return this.historyIdx < this.history.length;
  }

  /**
   * The code running now reacts to a recorded outcome (or is a resumed run's first segment): an
   * earlier execution ran it already. False while it reacts to a live outcome (new ground).
   */
  get replayedSegment(): boolean {
    return this.segmentReplayed;
  }

  /** The resolution the replay waits for next, when replaying. */
  get expected(): number | undefined {
    return this.history[this.historyIdx];
  }

  /** Something is being handed over, or can be handed over now. */
  get busy(): boolean {
    if (this.scheduled) return true;
    if (this.replaying) return this.asked.has(this.history[this.historyIdx]!);
    return this.live.length > 0;
  }

  /** A recorded outcome: handed over at its recorded place. */
  replay(resolution: number, hand: () => void): void {
    this.asked.set(resolution, hand);
    this.schedule();
  }

  /** A live outcome: handed over after those before it, with the next resolution. */
  arrive(hand: (resolution: number) => void): void {
    this.live.push(hand);
    this.schedule();
  }

  /** Runs `start` now, or once the history has been replayed. */
  whenLive(start: () => void): void {
    if (this.replaying) this.deferred.push(start);
    else start();
  }

  /**
   * Hand-overs happen only from a macrotask of their own, never from inside the playbook's
   * microtasks: the code that asked for a step (or reacted to the previous outcome) has run as far
   * as it can, in every execution alike, before the next outcome reaches it.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.handOne()) this.schedule();
      this.settled();
    });
  }

  /** Hands over the next outcome, if its turn has come; true when one was handed over. */
  private handOne(): boolean {
    let hand: () => void;
    this.segmentReplayed = this.replaying;
    if (this.replaying) {
      const r = this.history[this.historyIdx]!;
      const h = this.asked.get(r);
      if (!h) return false;
      this.asked.delete(r);
      this.historyIdx++;
      hand = h;
    } else {
      const h = this.live.shift();
      if (!h) return false;
      const r = this.nextResolution++;
      hand = () => h(r);
    }
    hand();
    if (!this.replaying && this.deferred.length > 0) {
      const start = this.deferred;
      this.deferred = [];
      for (const s of start) s();
    }
    return true;
  }
}
