/**
 * The server's answer to `--latency` probes: a datagram on the server's UDP
 * port that starts with the probe magic and the cookie of a test that asked
 * for its latency, from that test's client address, goes straight back to
 * its sender, unchanged. Everything else is left to the port's other users.
 *
 * It cannot be made into a reflector: only tests that asked are answered,
 * only while they exist, only towards their own client's address (a forged
 * source elsewhere gets nothing), never more bytes than came in (at most
 * 64), and at most {@linkcode ECHO_RATE} a second per test after a burst of
 * {@linkcode ECHO_BURST}.
 *
 * @module
 */

import { probeCookieOf, probeKindOf } from "../protocol/latency_probe.ts";
import { toEndpoint } from "./_control.ts";

/** Probes answered per second and test, at most (the client sends 10, 50 while idle). */
export const ECHO_RATE = 100;

/** Probes answered at once before the rate applies. */
export const ECHO_BURST = 20;

/** One test's share of the echo, while the test lasts. */
export interface EchoRegistration extends Disposable {
  /** Resolves once the client's last idle probe has been answered. */
  readonly idleDone: Promise<void>;
  /** Probes answered so far. */
  readonly answered: number;
  /** Probes of this test not answered: over the rate, or from another address. */
  readonly refused: number;
}

/** Options of {@linkcode LatencyEcho.register}. */
export interface EchoOptions {
  /** Probes a second (default {@linkcode ECHO_RATE}). */
  rate?: number;
  /** The burst (default {@linkcode ECHO_BURST}). */
  burst?: number;
}

interface Entry {
  readonly clientHost: string;
  readonly rate: number;
  readonly burst: number;
  tokens: number;
  lastMs: number;
  answered: number;
  refused: number;
  idleOver: () => void;
}

/** The tests whose probes the server answers, by cookie. */
export class LatencyEcho {
  readonly #tests = new Map<string, Entry>();

  /**
   * Answers the probes of the test with `cookie` from `clientHost` until the
   * registration is disposed.
   *
   * @param cookie the test's cookie
   * @param clientHost the test's client address, as `toEndpoint` prints it
   * @param options rate and burst
   * @returns the registration
   */
  register(
    cookie: string,
    clientHost: string,
    options: EchoOptions = {},
  ): EchoRegistration {
    let idleOver = () => {};
    const idleDone = new Promise<void>((resolve) => idleOver = resolve);
    const burst = options.burst ?? ECHO_BURST;
    const entry: Entry = {
      clientHost,
      rate: options.rate ?? ECHO_RATE,
      burst,
      tokens: burst,
      lastMs: performance.now(),
      answered: 0,
      refused: 0,
      idleOver,
    };
    // A cookie belongs to one test (a second connection that carries it is
    // taken as that test's stream); the first registration keeps it.
    const own = !this.#tests.has(cookie);
    if (own) this.#tests.set(cookie, entry);
    const tests = this.#tests;
    return {
      idleDone,
      get answered() {
        return entry.answered;
      },
      get refused() {
        return entry.refused;
      },
      [Symbol.dispose]() {
        entry.idleOver();
        if (own && tests.get(cookie) === entry) tests.delete(cookie);
      },
    };
  }

  /**
   * The answer to a datagram that arrived on the server's port: a copy of
   * it when it is a probe of a registered test from that test's client
   * address, within the test's rate.
   *
   * @param data the datagram (a view that the next receive overwrites)
   * @param from its sender
   * @param nowMs the time, a `performance.now()` value
   * @returns the bytes to send back to `from`, or undefined
   */
  answer(
    data: Uint8Array,
    from: Deno.NetAddr,
    nowMs: number = performance.now(),
  ): Uint8Array | undefined {
    if (this.#tests.size === 0) return undefined;
    const cookie = probeCookieOf(data);
    if (cookie === undefined) return undefined;
    const entry = this.#tests.get(cookie);
    if (!entry) return undefined;
    if (toEndpoint(from).hostname !== entry.clientHost) {
      entry.refused++;
      return undefined;
    }
    entry.tokens = Math.min(
      entry.burst,
      entry.tokens + (nowMs - entry.lastMs) * entry.rate / 1000,
    );
    entry.lastMs = nowMs;
    if (entry.tokens < 1) {
      entry.refused++;
      return undefined;
    }
    entry.tokens--;
    entry.answered++;
    if (probeKindOf(data) === "idle-last") queueMicrotask(entry.idleOver);
    return data.slice();
  }
}
