/**
 * How many LLM requests go out at once, and how fast: one limiter per server and model in the
 * worker process, shared by every batch and document it runs, so --llm-concurrency is a bound
 * on the worker, not on each document.
 *
 * - Concurrency adapts to rate limits (AIMD, like TCP): a 429 halves the limit, and each run of
 *   `limit` answers raises it by one again, up to --llm-concurrency.
 * - A Retry-After holds every request to that server until it has passed, not only the one that
 *   got it: the others would only collect more 429s.
 * - --rpm and --tpm are token buckets (a minute's worth at most), for providers whose quotas are
 *   known; tokens are estimated before the request (characters / 4).
 * - A slot is two places: one among the requests at the server (`limit`), given back as soon as
 *   the reply is read, and one among the answers not yet journaled (UNSAVED_PER_SLOT x `limit`),
 *   given back once the reply is written to the journal (journalLog.ts: before its sync). A kill -9
 *   loses at most that many answers.
 */
export interface LimiterSettings {
  concurrency: number;
  rpm?: number;
  tpm?: number;
}

type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

class Bucket {
  private level: number;
  private at = Date.now();
  constructor(private readonly perMinute: number) {
    this.level = Math.min(perMinute, Math.max(1, perMinute / 60)); // start with a second's worth: no burst at start
  }
  /** Milliseconds until `amount` is available (0: take it now). */
  wait(amount: number): number {
    const now = Date.now();
    this.level = Math.min(this.perMinute, this.level + ((now - this.at) / 60_000) * this.perMinute);
    this.at = now;
    const need = Math.min(amount, this.perMinute); // a request bigger than a minute's quota still goes, alone
    if (this.level >= need) {
      this.level -= need;
      return 0;
    }
    return Math.ceil(((need - this.level) / this.perMinute) * 60_000);
  }
}

/**
 * Answers not yet journaled, per request slot. At 1, a reply holds its slot until it is written (a kill -9 can no longer lose it),
 * and a kill loses at most --llm-concurrency answers. 2 lets the server take the next request
 * while a reply is written, at the price of twice the answers lost to a kill; on the 2-core
 * bench machine it gave no more requests/s, because the journal writes themselves (libuv's
 * thread pool, fsync, a saturated main thread) were the limit (docs/llm-throughput.md).
 */
export const UNSAVED_PER_SLOT = 1;

/** What `acquire` gives: a place at the server and a place among the unsaved answers. */
export interface LimiterSlot {
  /** The reply is read: the server may take the next request. */
  replied(): void;
  /** Done with the request (its reply journaled, or it failed): frees both places. */
  release(): void;
}

export class RequestLimiter {
  private limit: number;
  private inFlight = 0;
  /** Sent and not yet journaled (in flight at the server, or being written). */
  private unsaved = 0;
  private answersSinceRaise = 0;
  private holdUntil = 0;
  /** Waiters woken but not yet running: they count against the limit so we never over-wake. */
  private waking = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly requests?: Bucket;
  private readonly tokens?: Bucket;

  constructor(
    private settings: LimiterSettings,
    private readonly sleep: Sleep = abortableSleep,
  ) {
    this.limit = settings.concurrency;
    if (settings.rpm) this.requests = new Bucket(settings.rpm);
    if (settings.tpm) this.tokens = new Bucket(settings.tpm);
  }

  get current(): { limit: number; inFlight: number; unsaved: number; queued: number } {
    return { limit: this.limit, inFlight: this.inFlight, unsaved: this.unsaved, queued: this.waiters.length };
  }

  /**
   * A later run on the same worker may ask for a different bound. A lower one applies at once;
   * a higher one too, unless 429s have held the limit below the old bound: then it creeps up
   * from where it is, as after any 429. (Creeping up from the old bound instead left a worker
   * that ran at --llm-concurrency 8 needing some 2,000 answers to reach a later run's 64.)
   */
  reconfigure(settings: LimiterSettings): void {
    if (settings.concurrency !== this.settings.concurrency) {
      const heldByRateLimits = this.limit < this.settings.concurrency;
      this.limit = heldByRateLimits ? Math.min(this.limit, settings.concurrency) : settings.concurrency;
    }
    this.settings = settings;
    this.wake();
  }

  /**
   * Waits for a slot (and quota). `onWait` hears how long a quota or Retry-After wait will be,
   * for progress and accounting.
   */
  async acquire(estimatedTokens: number, signal?: AbortSignal, onWait?: (ms: number) => void): Promise<LimiterSlot> {
    while (!this.hasRoom()) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiters.indexOf(go);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal!.reason);
        };
        this.waiters.push(go);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      this.waking--;
    }
    this.inFlight++;
    this.unsaved++;
    try {
      for (;;) {
        const hold = this.holdUntil - Date.now();
        const wait = Math.max(hold, this.requests?.wait(1) ?? 0);
        if (wait <= 0) break;
        onWait?.(wait);
        await this.sleep(wait, signal);
      }
      const tokenWait = this.tokens?.wait(estimatedTokens) ?? 0;
      if (tokenWait > 0) {
        onWait?.(tokenWait);
        await this.sleep(tokenWait, signal);
      }
    } catch (err) {
      this.inFlight--;
      this.unsaved--;
      this.wake();
      throw err;
    }
    let replied = false;
    let released = false;
    const slot: LimiterSlot = {
      replied: () => {
        if (replied) return;
        replied = true;
        this.inFlight--;
        this.wake();
      },
      release: () => {
        if (released) return;
        slot.replied();
        released = true;
        this.unsaved--;
        this.wake();
      },
    };
    return slot;
  }

  /** An answer came back: creep the limit back up towards the configured bound. */
  onAnswer(): void {
    if (this.limit >= this.settings.concurrency) return;
    if (++this.answersSinceRaise >= this.limit) {
      this.answersSinceRaise = 0;
      this.limit++;
      this.wake();
    }
  }

  /** A 429: halve the limit, and hold everyone until the server's Retry-After has passed. */
  onRateLimited(retryAfterMs: number | undefined): void {
    this.limit = Math.max(1, Math.floor(this.limit / 2));
    this.answersSinceRaise = 0;
    if (retryAfterMs !== undefined) this.holdUntil = Math.max(this.holdUntil, Date.now() + retryAfterMs);
  }

  /** Room for one more (waiters woken but not yet running count as taken: we never over-wake). */
  private hasRoom(): boolean {
    return this.inFlight + this.waking < this.limit && this.unsaved + this.waking < this.limit * UNSAVED_PER_SLOT;
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.hasRoom()) {
      this.waking++;
      this.waiters.shift()!();
    }
  }
}

const limiters = new Map<string, RequestLimiter>();

/** Every limiter of this process, by server and model: for benches and diagnostics. */
export function limiterStates(): Map<string, RequestLimiter['current']> {
  return new Map([...limiters].map(([target, l]) => [target, l.current]));
}

/** The worker-wide limiter for one server and model. */
export function limiterFor(target: string, settings: LimiterSettings): RequestLimiter {
  let l = limiters.get(target);
  if (!l) {
    l = new RequestLimiter(settings);
    limiters.set(target, l);
  } else {
    l.reconfigure(settings);
  }
  return l;
}
