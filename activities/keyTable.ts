/**
 * A hash table from 12-byte keys (prefixes of sha256 digests) to a few 32-bit words, in typed
 * arrays: corpus-wide indexes hold one entry per passed pair, so an entry must cost tens of
 * bytes (not the ~150 of a Map of strings) for memory to stay flat on millions of pairs.
 */
import { hash } from 'node:crypto';

export const KEY_BYTES = 12;
const KEY_WORDS = KEY_BYTES / 4;

/** The key of a string: the first 12 bytes of its sha256 (collisions are ~2^-48 per million pairs). */
export function keyOf(text: string): Uint8Array {
  // crypto.hash, not createHash: one call instead of an object per key (11 µs → 2 µs a key).
  return hash('sha256', text, 'buffer').subarray(0, KEY_BYTES);
}

// Linear probing stays short (~3 probes for a miss) up to this load; the table doubles beyond it.
const MAX_LOAD = 0.7;

export class KeyTable {
  private slots: number;
  private keys: Uint32Array; // KEY_WORDS per slot; all zero = empty (a zero digest prefix is not a concern)
  private values: Uint32Array;
  private readonly scratch = new Uint32Array(KEY_WORDS);
  size = 0;

  constructor(readonly width: number, initialSlots = 1024) {
    this.slots = initialSlots;
    this.keys = new Uint32Array(initialSlots * KEY_WORDS);
    this.values = new Uint32Array(initialSlots * width);
  }

  /** The values stored under `key` (a view: writes go to the table), or undefined. */
  get(key: Uint8Array): Uint32Array | undefined {
    const slot = this.find(words(key, this.scratch));
    return slot < 0 ? undefined : this.values.subarray(slot * this.width, (slot + 1) * this.width);
  }

  /** Stores `value` under `key` (replacing what was there). */
  set(key: Uint8Array, value: ArrayLike<number>): void {
    if (this.size + 1 > this.slots * MAX_LOAD) this.grow();
    const k = words(key, this.scratch);
    let slot = this.find(k);
    if (slot < 0) {
      slot = -slot - 1;
      this.keys.set(k, slot * KEY_WORDS);
      this.size++;
    }
    this.values.set(value, slot * this.width);
  }

  /** The slot holding `k`, or -(empty slot where it would go) - 1. Linear probing: keys are uniform already. */
  private find(k: Uint32Array): number {
    const mask = this.slots - 1;
    for (let slot = k[0]! & mask; ; slot = (slot + 1) & mask) {
      const o = slot * KEY_WORDS;
      const a = this.keys[o]!;
      const b = this.keys[o + 1]!;
      const c = this.keys[o + 2]!;
      if (a === 0 && b === 0 && c === 0) return -slot - 1;
      if (a === k[0] && b === k[1] && c === k[2]) return slot;
    }
  }

  /** The table as bytes (header, keys, values; this machine's byte order): an export checkpoint's copy. */
  toBytes(): Uint8Array[] {
    const header = new Uint32Array([this.width, this.slots, this.size]);
    return [header, this.keys, this.values].map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }

  /** A table from toBytes' bytes, or an error if they are not one (cut short, or another table's width). */
  static fromBytes(bytes: Uint8Array, width: number): KeyTable {
    // Views of the bytes where they are aligned (a file read whole is), a copy where not (a
    // Buffer's slice would be a view of its pool, not a copy).
    const words = (from: number, to: number) =>
      (bytes.byteOffset + from) % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset + from, (to - from) / 4) : new Uint32Array(new Uint8Array(bytes.subarray(from, to)).buffer);
    const header = bytes.byteLength >= 12 ? words(0, 12) : undefined;
    const slots = header?.[1] ?? 0;
    if (!header || header[0] !== width || slots === 0 || (slots & (slots - 1)) !== 0 || bytes.byteLength !== 12 + slots * 4 * (KEY_WORDS + width)) {
      throw new Error('not a saved key table of this width');
    }
    const table = new KeyTable(width, 1);
    const keysEnd = 12 + slots * 4 * KEY_WORDS;
    table.slots = slots;
    table.keys = words(12, keysEnd);
    table.values = words(keysEnd, bytes.byteLength);
    table.size = header[2]!;
    return table;
  }

  private grow(): void {
    const { keys, values, slots, width } = this;
    this.slots = slots * 2;
    this.keys = new Uint32Array(this.slots * KEY_WORDS);
    this.values = new Uint32Array(this.slots * width);
    this.size = 0;
    for (let s = 0; s < slots; s++) {
      const k = keys.subarray(s * KEY_WORDS, (s + 1) * KEY_WORDS);
      if (k[0] === 0 && k[1] === 0 && k[2] === 0) continue;
      const slot = -this.find(k) - 1;
      this.keys.set(k, slot * KEY_WORDS);
      this.values.set(values.subarray(s * width, (s + 1) * width), slot * width);
      this.size++;
    }
  }
}

function words(key: Uint8Array, out: Uint32Array): Uint32Array {
  for (let i = 0; i < KEY_WORDS; i++) {
    out[i] = ((key[i * 4]! << 24) | (key[i * 4 + 1]! << 16) | (key[i * 4 + 2]! << 8) | key[i * 4 + 3]!) >>> 0;
  }
  return out;
}

/** A pair id (16 hex digits) as two words, and back: the tables store ids, not strings. */
export function idWords(id: string): [number, number] {
  return [Number.parseInt(id.slice(0, 8), 16) >>> 0, Number.parseInt(id.slice(8, 16), 16) >>> 0];
}

export function idFromWords(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
