/**
 * V8 isolates for playbook executions (isolated-vm). One execution has an isolate to itself: a
 * memory bomb that exhausts its isolate's heap, or code that runs past its time limit, ends that
 * execution only. Isolates are reused one execution after another (each with a fresh context, so
 * nothing of one run is visible to the next), a few are kept idle, and one that failed is thrown
 * away. A new isolate costs ~3.5 ms and ~1.1 MB; a context ~0.7 ms.
 */
import ivm from 'isolated-vm';

export interface PoolOptions {
  /** Heap limit of each isolate, MB (isolated-vm's minimum is 8). */
  memoryLimitMb: number;
  /** Isolates kept for the next executions when idle. */
  idle: number;
  /** An isolate is retired after this many executions (its heap only grows). */
  maxUses: number;
}

export class PooledIsolate {
  uses = 0;
  /** Compiled bundles by hash: compiling once per isolate, running once per context. */
  readonly scripts = new Map<string, ivm.Script>();
  constructor(readonly isolate: ivm.Isolate) {}
}

export class IsolatePool {
  private readonly free: PooledIsolate[] = [];
  private closed = false;

  constructor(private readonly opts: PoolOptions) {}

  acquire(): PooledIsolate {
    if (this.closed) throw new Error('the sandbox is shut down');
    for (let p = this.free.pop(); p; p = this.free.pop()) {
      if (!p.isolate.isDisposed) return p;
    }
    return new PooledIsolate(new ivm.Isolate({ memoryLimit: this.opts.memoryLimitMb }));
  }

  /** Back to the pool after an execution; `healthy` false (timeout, out of memory, error) disposes it. */
  release(p: PooledIsolate, healthy: boolean): void {
    p.uses++;
    if (!healthy || this.closed || p.isolate.isDisposed || p.uses >= this.opts.maxUses || this.free.length >= this.opts.idle) {
      if (!p.isolate.isDisposed) p.isolate.dispose();
      return;
    }
    this.free.push(p);
  }

  close(): void {
    this.closed = true;
    for (const p of this.free.splice(0)) if (!p.isolate.isDisposed) p.isolate.dispose();
  }
}
