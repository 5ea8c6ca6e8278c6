import { describe, expect, it } from 'vitest';
import { IpcError } from './invoke';
import { Request, type Ticket } from './request.svelte';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (raw: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('request state', () => {
  it('goes idle -> loading -> ok with the answer', async () => {
    const r = new Request<number>();
    expect(r.status).toBe('idle');
    const d = deferred<number>();
    const running = r.run(() => d.promise);
    expect(r.status).toBe('loading');
    expect(r.loading).toBe(true);
    d.resolve(42);
    expect(await running).toBe(42);
    expect(r.status).toBe('ok');
    expect(r.data).toBe(42);
    expect(r.error).toBeNull();
    expect(r.settled).toBe(true);
  });

  it('turns a rejection into an IpcError and keeps the previous answer', async () => {
    const r = new Request<string>();
    await r.run(async () => 'first');
    const result = await r.run(async () => {
      throw { code: 'network', message: 'unreachable' };
    });
    expect(result).toBeUndefined();
    expect(r.status).toBe('error');
    expect(r.failed).toBe(true);
    expect(r.error).toBeInstanceOf(IpcError);
    expect(r.error?.code).toBe('network');
    expect(r.data).toBe('first');
  });

  it('can forget the previous answer when a new call starts', async () => {
    const r = new Request<string>({ clearOnRun: true });
    await r.run(async () => 'first');
    const d = deferred<string>();
    void r.run(() => d.promise);
    expect(r.data).toBeNull();
  });

  it('drops an answer that arrives after a newer call started', async () => {
    const r = new Request<string>();
    const slow = deferred<string>();
    const fast = deferred<string>();
    const first = r.run(() => slow.promise);
    const second = r.run(() => fast.promise);
    fast.resolve('new');
    expect(await second).toBe('new');
    slow.resolve('old');
    expect(await first).toBeUndefined();
    expect(r.data).toBe('new');
    expect(r.status).toBe('ok');
  });

  it('drops a late failure of an older call', async () => {
    const r = new Request<string>();
    const slow = deferred<string>();
    const first = r.run(() => slow.promise);
    await r.run(async () => 'new');
    slow.reject({ code: 'timeout', message: 'late' });
    await first;
    expect(r.status).toBe('ok');
    expect(r.error).toBeNull();
  });

  it('drops answers in flight when reset', async () => {
    const r = new Request<string>();
    const d = deferred<string>();
    const running = r.run(() => d.promise);
    r.reset();
    d.resolve('late');
    expect(await running).toBeUndefined();
    expect(r.status).toBe('idle');
    expect(r.data).toBeNull();
    expect(r.settled).toBe(false);
  });

  it('may start as loading, and tickets tell whether a call is still current', () => {
    const r = new Request<number>({ loading: true });
    expect(r.status).toBe('loading');
    const a = r.begin();
    expect(a.current).toBe(true);
    const b = r.begin();
    expect(a.current).toBe(false);
    expect(b.current).toBe(true);
    r.resolve(1);
    expect(r.status).toBe('ok');
  });

  it('shows progress of the current call only, and clears it when a new call starts', async () => {
    const r = new Request<string, { done: number; rows: string[] }>();
    const d = deferred<string>();
    let first!: Ticket<{ done: number; rows: string[] }>;
    const running = r.run((ticket) => {
      first = ticket;
      return d.promise;
    }, { done: 0, rows: [] });
    expect(r.progress).toEqual({ done: 0, rows: [] });
    first.progress((shown) => ({ done: 1, rows: [...(shown?.rows ?? []), 'a'] }));
    first.progress((shown) => ({ done: 2, rows: [...(shown?.rows ?? []), 'b'] }));
    expect(r.progress).toEqual({ done: 2, rows: ['a', 'b'] });
    d.resolve('done');
    await running;
    // The last progress stays with the answer until the next call.
    expect(r.progress?.done).toBe(2);

    const second = r.begin();
    expect(r.progress).toBeNull();
    first.progress({ done: 9, rows: [] });
    expect(r.progress).toBeNull();
    second.progress({ done: 1, rows: [] });
    expect(r.progress?.done).toBe(1);
    r.reset();
    expect(r.progress).toBeNull();
  });

  it('undoes an abandoned call: on a newer call, on reset, at once when already abandoned', () => {
    const r = new Request<string>();
    const undone: string[] = [];
    const a = r.begin();
    a.onAbandon(() => undone.push('a'));
    expect(undone).toEqual([]);
    const b = r.begin();
    expect(undone).toEqual(['a']);
    b.onAbandon(() => undone.push('b'));
    r.reset();
    expect(undone).toEqual(['a', 'b']);
    a.onAbandon(() => undone.push('late'));
    expect(undone).toEqual(['a', 'b', 'late']);
  });

  it('does not undo a call that settled', async () => {
    const r = new Request<string>();
    const undone: string[] = [];
    await r.run(async (ticket) => {
      ticket.onAbandon(() => undone.push('ok'));
      return 'answer';
    });
    await r.run(async (ticket) => {
      ticket.onAbandon(() => undone.push('failed'));
      throw { code: 'network', message: 'unreachable' };
    });
    r.begin();
    r.reset();
    expect(undone).toEqual([]);
  });
});

