/**
 * One fetch per key at a time, shared by every concurrent caller: for credentials (an OAuth
 * token, a PAN-OS API key) that all actions of an asset need and that a cold cache would
 * otherwise have each of N concurrent actions fetch for itself.
 *
 * The shared work runs under its own AbortSignal, aborted only once every caller waiting for it
 * has given up, so one caller's timeout never fails the others. A caller whose own signal aborts
 * stops waiting at once and gets `abortError()`.
 */
export type SingleFlight<T> = (key: string, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>, abortError: () => unknown) => Promise<T>;

interface Flight<T> {
  promise: Promise<T>;
  waiters: number;
  controller: AbortController;
}

export function singleFlight<T>(): SingleFlight<T> {
  const inflight = new Map<string, Flight<T>>();
  return (key, signal, work, abortError) => {
    if (signal.aborted) return Promise.reject(abortError());
    let flight = inflight.get(key);
    if (flight === undefined) {
      const controller = new AbortController();
      const f: Flight<T> = { promise: Promise.resolve().then(() => work(controller.signal)), waiters: 0, controller };
      // Settled or abandoned flights leave the map at once: a later caller starts a new one.
      const leave = () => { if (inflight.get(key) === f) inflight.delete(key); };
      f.promise.then(leave, leave);
      inflight.set(key, f);
      flight = f;
    }
    const f = flight;
    f.waiters++;
    return new Promise<T>((resolve, reject) => {
      let waiting = true;
      const stop = (): boolean => {
        if (!waiting) return false;
        waiting = false;
        f.waiters--;
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      function onAbort(): void {
        if (!stop()) return;
        if (f.waiters === 0) {
          if (inflight.get(key) === f) inflight.delete(key);
          f.controller.abort(signal.reason);
        }
        reject(abortError());
      }
      signal.addEventListener('abort', onAbort, { once: true });
      f.promise.then((v) => { if (stop()) resolve(v); }, (err: unknown) => { if (stop()) reject(err); });
    });
  };
}
