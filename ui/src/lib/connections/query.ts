// Search, filters and order of the connection list, fast at 10,000 connections: each
// connection's lowercase search text and sort keys are worked out once (per row object, so a live
// update redoes one row), each order is sorted once per list (not per keystroke), and typing
// only walks the sorted order testing `includes` on the prepared text; a query that only adds to
// the previous one narrows the previous answer.
import type { Connection, ConnectionKind, StateKind } from '../ipc/bindings';
import { whenIdle } from '../app/idle';

export type SortKey = 'address' | 'status' | 'expiry' | 'refresh';

export const SORTS: { key: SortKey; label: string }[] = [
  { key: 'address', label: 'Address' },
  { key: 'status', label: 'Status, attention first' },
  { key: 'expiry', label: 'Token expiry, soonest' },
  { key: 'refresh', label: 'Last refresh, newest' },
];

export interface Filters {
  /** Words to find in the address, display name, alias or app name (any case). */
  text: string;
  status: StateKind | 'all';
  /** A registration id. */
  app: string | 'all';
  kind: ConnectionKind | 'all';
}

export const NO_FILTERS: Filters = { text: '', status: 'all', app: 'all', kind: 'all' };

/** Attention first: what someone must act on, then what is in progress, then what is fine. */
const STATUS_RANK: Record<StateKind, number> = {
  needs_sign_in: 0,
  secret_expired: 1,
  no_access: 2,
  needs_consent: 3,
  retrying: 4,
  refreshing: 5,
  disconnected: 6,
  active: 7,
};

interface Keys {
  /** address, display name, alias and app name, lowercase, one per line. */
  text: string;
  address: string;
  id: string;
  rank: number;
  /** Epoch ms; NaN without one. */
  expiry: number;
  refresh: number;
}

const keys = new WeakMap<Connection, Keys>();

function time(iso: string | null): number {
  return iso === null ? Number.NaN : Date.parse(iso);
}

function keysOf(c: Connection): Keys {
  let k = keys.get(c);
  if (!k) {
    const address = c.address.toLowerCase();
    k = {
      address,
      id: c.id,
      text: [address, c.display_name ?? '', c.alias ?? '', c.registration_name]
        .join('\n')
        .toLowerCase(),
      rank: STATUS_RANK[c.state],
      expiry: time(c.access_expires_at),
      refresh: time(c.last_refresh_at),
    };
    keys.set(c, k);
  }
  return k;
}

/** By address; ties (none: addresses are unique per app) by id. */
function byAddress(a: Keys, b: Keys): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Numbers ascending (or descending), NaN (no date) last, then by address. */
function byNumber(value: (k: Keys) => number, descending: boolean) {
  return (a: Keys, b: Keys): number => {
    const x = value(a);
    const y = value(b);
    const nx = Number.isNaN(x);
    const ny = Number.isNaN(y);
    if (nx !== ny) return nx ? 1 : -1;
    if (!nx && x !== y) return descending ? y - x : x - y;
    return byAddress(a, b);
  };
}

const COMPARE: Record<SortKey, (a: Keys, b: Keys) => number> = {
  address: byAddress,
  status: byNumber((k) => k.rank, false),
  expiry: byNumber((k) => k.expiry, false),
  refresh: byNumber((k) => k.refresh, true),
};

/** The list in one order; a new array (the source is left as it is). */
export function sortConnections(list: readonly Connection[], sort: SortKey): Connection[] {
  const compare = COMPARE[sort];
  return list
    .map((c) => ({ c, k: keysOf(c) }))
    .sort((a, b) => compare(a.k, b.k))
    .map((p) => p.c);
}

/** Puts `c` into `sorted` (in `sort`'s order) where it belongs. */
function insertSorted(sorted: Connection[], c: Connection, sort: SortKey): void {
  const compare = COMPARE[sort];
  const k = keysOf(c);
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(keysOf(sorted[mid]!), k) <= 0) lo = mid + 1;
    else hi = mid;
  }
  sorted.splice(lo, 0, c);
}

/** The lowercase words of a search; every one must appear. */
export function searchWords(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter(Boolean);
}

function matches(c: Connection, f: Filters, words: string[]): boolean {
  if (f.status !== 'all' && c.state !== f.status) return false;
  if (f.kind !== 'all' && c.kind !== f.kind) return false;
  if (f.app !== 'all' && c.registration_id !== f.app) return false;
  if (words.length === 0) return true;
  const text = keysOf(c).text;
  for (const w of words) if (!text.includes(w)) return false;
  return true;
}

/** The connections of `sorted` (in its order) that pass every filter. */
export function filterConnections(sorted: readonly Connection[], f: Filters): Connection[] {
  const words = searchWords(f.text);
  if (words.length === 0 && f.status === 'all' && f.kind === 'all' && f.app === 'all') {
    return sorted.slice();
  }
  const out: Connection[] = [];
  for (const c of sorted) if (matches(c, f, words)) out.push(c);
  return out;
}

/** Whether every connection passing `next` also passes `previous` (so `next` can narrow it). */
export function narrows(previous: Filters, next: Filters): boolean {
  const same = (k: 'status' | 'kind' | 'app') => previous[k] === 'all' || previous[k] === next[k];
  if (!same('status') || !same('kind') || !same('app')) return false;
  const before = searchWords(previous.text);
  const after = searchWords(next.text);
  // Each earlier word is contained in some later word (typing extends the last one or adds one).
  return before.every((w) => after.some((a) => a.includes(w)));
}

/**
 * One list's search, filters and order, remembered between keystrokes: the sorted order per
 * source list and sort, and the last answer to narrow.
 */
export class ConnectionQuery {
  #source: readonly Connection[] | null = null;
  #sorts = new Map<SortKey, Connection[]>();
  #last: { sort: SortKey; filters: Filters; out: Connection[] } | null = null;

  /** `list` sorted by `sort` and filtered by `filters`. */
  run(list: readonly Connection[], sort: SortKey, filters: Filters): Connection[] {
    if (list !== this.#source) {
      if (!this.#patch(this.#source, list)) this.#sorts.clear();
      this.#source = list;
      this.#last = null;
    }
    let sorted = this.#sorts.get(sort);
    if (!sorted) {
      sorted = sortConnections(list, sort);
      this.#sorts.set(sort, sorted);
    }
    const last = this.#last;
    const from = last && last.sort === sort && narrows(last.filters, filters) ? last.out : sorted;
    const out = filterConnections(from, filters);
    this.#last = { sort, filters: { ...filters }, out };
    return out;
  }

  /** The orders worked out for the current list (tests and diagnostics). */
  get kept(): SortKey[] {
    return [...this.#sorts.keys()];
  }

  /**
   * Prepares, while nothing else happens, what a first keystroke or another order would
   * otherwise work out then: every connection's search text and sort keys, and the list in each
   * order. One piece per `idle` call (a few milliseconds each at 10,000); stops when the list is
   * replaced. Returns a function that stops it.
   */
  warm(list: readonly Connection[], idle: (work: () => void) => () => void = whenIdle): () => void {
    const pieces: (() => void)[] = [() => list.forEach(keysOf)];
    for (const { key } of SORTS) {
      pieces.push(() => {
        if (this.#source === list && !this.#sorts.has(key)) {
          this.#sorts.set(key, sortConnections(list, key));
        }
      });
    }
    let stop = () => {};
    const next = () => {
      const piece = pieces.shift();
      if (!piece || this.#source !== list) return;
      stop = idle(() => {
        piece();
        next();
      });
    };
    next();
    return () => {
      pieces.length = 0;
      stop();
    };
  }

  /**
   * A live update replaces a few rows of a list of the same length: moves them in the sorted
   * orders kept instead of sorting again. False when it is not that (then everything is redone).
   */
  #patch(old: readonly Connection[] | null, next: readonly Connection[]): boolean {
    if (!old || old.length !== next.length || this.#sorts.size === 0) return false;
    const changed: number[] = [];
    for (let i = 0; i < next.length; i++) {
      if (old[i] !== next[i]) {
        changed.push(i);
        if (changed.length > 32) return false;
      }
    }
    for (const [sort, sorted] of this.#sorts) {
      for (const i of changed) {
        const at = sorted.indexOf(old[i]!);
        if (at < 0) return false;
        sorted.splice(at, 1);
        insertSorted(sorted, next[i]!, sort);
      }
    }
    return true;
  }
}

/** Whether any filter or search is set. */
export function filtering(f: Filters): boolean {
  return searchWords(f.text).length > 0 || f.status !== 'all' || f.app !== 'all' || f.kind !== 'all';
}
