/**
 * The server's connections that have not finished their handshake: accepted
 * but without a cookie yet, control connections before their parameters, and
 * tests whose streams are still connecting. They hold no test slot; this
 * registry bounds how many there are (in all and per peer address) by
 * closing the one that has waited longest without progress, so silent peers
 * cannot starve real ones, and it frees descriptors when `accept` runs out.
 *
 * @module
 */

import { closeQuietly } from "../net/conn.ts";

/** Handshakes in progress at once, over all peers (`ServeOptions.maxHandshakes`). */
export const DEFAULT_MAX_HANDSHAKES = 256;

/** Handshakes in progress at once from one peer address (`ServeOptions.maxHandshakesPerAddress`). */
export const DEFAULT_MAX_HANDSHAKES_PER_ADDRESS = 64;

/** One connection in its handshake; `touch()` on progress, `dispose` when it is done. */
export interface Handshake extends Disposable {
  /** The peer made progress (a cookie, parameters, a stream): it is now the newest. */
  touch(): void;
  /** Whether the registry closed it to make room. */
  readonly shed: boolean;
}

/** Limits of a {@linkcode Handshakes} registry. */
export interface HandshakeLimits {
  /** In all. */
  total: number;
  /** From one address. */
  perAddress: number;
}

interface Entry {
  conn: { close(): void };
  address: string;
  shed: boolean;
}

/**
 * The registry. Entries are kept in order of their last progress (a Map
 * keeps insertion order, and `touch` re-inserts), so the first entry is the
 * one to shed. Owned by the server's accept loop and its sessions, all on
 * one thread.
 */
export class Handshakes {
  readonly #limits: HandshakeLimits;
  readonly #entries = new Map<Entry, true>();
  readonly #perAddress = new Map<string, number>();
  #shedCount = 0;

  /**
   * Creates an instance.
   *
   * @param limits the counts allowed in all and per address
   */
  constructor(limits: HandshakeLimits) {
    this.#limits = limits;
  }

  /** Handshakes in progress. */
  get size(): number {
    return this.#entries.size;
  }

  /** Handshakes closed to make room since the server started. */
  get shedCount(): number {
    return this.#shedCount;
  }

  /**
   * Registers `conn`; when that goes over a limit, the longest-waiting
   * handshake from the same address (or, over the total, from anyone) is
   * closed, which ends whatever read its owner was waiting on.
   *
   * @param conn the connection (closed if it is shed)
   * @param address the peer's address
   * @returns the handle; dispose it when the handshake is over
   */
  admit(conn: { close(): void }, address: string): Handshake {
    const entry: Entry = { conn, address, shed: false };
    this.#entries.set(entry, true);
    const count = (this.#perAddress.get(address) ?? 0) + 1;
    this.#perAddress.set(address, count);
    if (count > this.#limits.perAddress) this.#shedFirst(address);
    if (this.#entries.size > this.#limits.total) this.#shedFirst();
    return {
      touch: () => {
        if (!this.#entries.delete(entry)) return;
        this.#entries.set(entry, true);
      },
      get shed() {
        return entry.shed;
      },
      [Symbol.dispose]: () => this.#remove(entry),
    };
  }

  /**
   * Closes the `count` handshakes that have waited longest (the accept loop
   * does this when the process runs out of descriptors).
   *
   * @param count how many at most
   * @returns how many were closed
   */
  shedOldest(count: number): number {
    let shed = 0;
    while (shed < count && this.#shedFirst()) shed++;
    return shed;
  }

  /** Closes every handshake (the server is stopping). */
  closeAll(): void {
    for (const entry of [...this.#entries.keys()]) this.#shed(entry);
  }

  #shedFirst(address?: string): boolean {
    for (const entry of this.#entries.keys()) {
      if (address === undefined || entry.address === address) {
        this.#shed(entry);
        return true;
      }
    }
    return false;
  }

  #shed(entry: Entry): void {
    entry.shed = true;
    this.#shedCount++;
    this.#remove(entry);
    closeQuietly(entry.conn);
  }

  #remove(entry: Entry): void {
    if (!this.#entries.delete(entry)) return;
    const left = (this.#perAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) this.#perAddress.set(entry.address, left);
    else this.#perAddress.delete(entry.address);
  }
}
