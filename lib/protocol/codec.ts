/**
 * The control-channel codec: the 37-byte cookie, the 1-byte signed state,
 * the 4-byte big-endian length + JSON frame, and the SERVER_ERROR payload.
 *
 * Everything reads through {@linkcode Reader} and writes plain bytes, so the
 * codec runs on an in-memory pipe in the tests.
 *
 * @module
 */

import { ERROR_CODES, ProtocolError } from "../errors.ts";
import { type Reader, readFull } from "../net/io.ts";
import { stateName } from "./states.ts";

/** Bytes of a cookie on the wire: 36 characters and a NUL. */
export const COOKIE_SIZE = 37;

/** The characters iperf3 draws cookies from (`make_cookie`). */
export const COOKIE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** The largest JSON frame iperf-ts accepts unless told otherwise (iperf3 3.18+ caps parameters at 8 KiB). */
export const DEFAULT_MAX_JSON_SIZE = 8192;

/**
 * The deepest nesting of objects and arrays accepted in a JSON frame; the
 * frame's own object is level 1. iperf3's documents are shallow: a results
 * frame that carries a whole `-J` document in `server_output_json` is 6
 * levels deep, so 64 leaves room for any honest peer while keeping every
 * recursive walker of peer data (`JSON.stringify`, the cJSON printer) far
 * from the stack limit.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Objects and arrays accepted per KiB of a JSON frame, on top of
 * {@linkcode MIN_JSON_CONTAINERS}. iperf3 3.12's own documents hold 5 to 13
 * per KiB; a frame of nothing but `{}` holds 341, and parsing 4 MiB of them
 * costs about 140 MiB, where 32 per KiB costs about 20 MiB.
 */
export const MAX_JSON_CONTAINERS_PER_KIB = 32;

/** Objects and arrays every JSON frame may hold, however short it is. */
export const MIN_JSON_CONTAINERS = 1024;

/**
 * A fresh random cookie of 36 characters from {@linkcode COOKIE_ALPHABET}.
 *
 * @returns the cookie text, without the NUL
 */
export function makeCookie(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(COOKIE_SIZE - 1));
  let cookie = "";
  for (const b of bytes) cookie += COOKIE_ALPHABET[b % 32];
  return cookie;
}

/**
 * The 37 wire bytes of a cookie.
 *
 * @example Usage
 * ```ts
 * import { encodeCookie } from "./codec.ts";
 * const bytes = encodeCookie("a".repeat(36));
 * if (bytes.length !== 37 || bytes[36] !== 0) throw new Error("bad cookie");
 * ```
 *
 * @param cookie 36 ASCII characters
 * @returns 36 bytes and a NUL
 * @throws {RangeError} when the cookie is not 36 ASCII characters
 */
export function encodeCookie(cookie: string): Uint8Array {
  if (cookie.length !== COOKIE_SIZE - 1 || !/^[\x21-\x7e]*$/.test(cookie)) {
    throw new RangeError(
      `Cannot encode cookie "${cookie}": expected 36 printable ASCII characters`,
    );
  }
  const bytes = new Uint8Array(COOKIE_SIZE);
  new TextEncoder().encodeInto(cookie, bytes);
  return bytes;
}

/**
 * Reads a 37-byte cookie.
 *
 * @param reader the connection
 * @returns the 36 cookie characters
 * @throws {ProtocolError} on a short read or bytes that are not a cookie
 */
export async function readCookie(reader: Reader): Promise<string> {
  const bytes = new Uint8Array(COOKIE_SIZE);
  const n = await readFull(reader, bytes);
  if (n < COOKIE_SIZE) {
    throw new ProtocolError(ERROR_CODES.IERECVCOOKIE, {
      detail: `connection closed after ${n} of ${COOKIE_SIZE} bytes`,
    });
  }
  let text = "";
  for (let i = 0; i < COOKIE_SIZE - 1; i++) {
    const b = bytes[i] ?? 0;
    if (b < 0x21 || b > 0x7e) {
      throw new ProtocolError(ERROR_CODES.IERECVCOOKIE, {
        detail: `byte ${i} of the cookie is not printable ASCII (0x${
          b.toString(16).padStart(2, "0")
        })`,
      });
    }
    text += String.fromCharCode(b);
  }
  if (bytes[COOKIE_SIZE - 1] !== 0) {
    throw new ProtocolError(ERROR_CODES.IERECVCOOKIE, {
      detail: "the cookie does not end with a NUL byte",
    });
  }
  return text;
}

/**
 * The wire byte of a state code (a signed char).
 *
 * @param state the state code, -128 to 127
 * @returns one byte
 */
export function encodeState(state: number): Uint8Array {
  const bytes = new Uint8Array(1);
  new DataView(bytes.buffer).setInt8(0, state);
  return bytes;
}

/**
 * Reads one state byte.
 *
 * @param reader the control connection
 * @returns the signed state code (not checked against the known codes)
 * @throws {ProtocolError} `IECTRLCLOSE` when the connection ends
 */
export async function readState(reader: Reader): Promise<number> {
  const bytes = new Uint8Array(1);
  if (await readFull(reader, bytes) < 1) {
    throw new ProtocolError(ERROR_CODES.IECTRLCLOSE, {
      received: "end of stream",
    });
  }
  return new DataView(bytes.buffer).getInt8(0);
}

/**
 * Reads one state byte and checks it is the one the protocol calls for.
 *
 * @param reader the control connection
 * @param wanted the expected state
 * @param code the error number to report for any other state
 * @throws {ProtocolError} naming the expected and the received state
 */
export async function expectState(
  reader: Reader,
  wanted: number,
  code: number = ERROR_CODES.IEMESSAGE,
): Promise<void> {
  const got = await readState(reader);
  if (got !== wanted) {
    throw new ProtocolError(code, {
      expected: stateName(wanted),
      received: stateName(got),
      detail: `expected state "${stateName(wanted)}", received "${
        stateName(got)
      }"`,
    });
  }
}

/**
 * A JSON frame: 4-byte big-endian length, then compact UTF-8 JSON.
 *
 * @example Usage
 * ```ts
 * import { encodeJsonFrame } from "./codec.ts";
 * const frame = encodeJsonFrame({ tcp: true });
 * // 00 00 00 0c {"tcp":true}
 * if (frame.length !== 16 || frame[3] !== 12) throw new Error("bad frame");
 * ```
 *
 * @param value the object to send
 * @returns the frame bytes
 */
export function encodeJsonFrame(value: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value));
  const frame = new Uint8Array(4 + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength);
  frame.set(body, 4);
  return frame;
}

/** Options of {@linkcode readJsonFrame}. */
export interface ReadJsonOptions {
  /** The largest body accepted, in bytes. */
  maxSize?: number;
  /** The iperf3 error number to report on failure (IERECVPARAMS, IERECVRESULTS). */
  code?: number;
  /** The deepest nesting of objects and arrays accepted; {@linkcode MAX_JSON_DEPTH} by default. */
  maxDepth?: number;
  /**
   * Objects and arrays accepted per KiB of body, on top of
   * {@linkcode MIN_JSON_CONTAINERS}; {@linkcode MAX_JSON_CONTAINERS_PER_KIB}
   * by default.
   */
  maxContainersPerKib?: number;
}

/**
 * Reads one JSON frame whose body must be a JSON object.
 *
 * The body is scanned once before `JSON.parse`, which would otherwise spend
 * about a second and 170 MiB on 4 MiB of `[[[[...]]]]`, and whose result
 * later code walks recursively.
 *
 * @param reader the control connection
 * @param options size cap, nesting and container limits, and error number
 * @returns the parsed object
 * @throws {ProtocolError} on a short read, a length of 0 or over the cap, nesting deeper than `maxDepth`, too many objects and arrays, bad UTF-8 or JSON, or a non-object
 */
export async function readJsonFrame(
  reader: Reader,
  options: ReadJsonOptions = {},
): Promise<Record<string, unknown>> {
  const maxSize = options.maxSize ?? DEFAULT_MAX_JSON_SIZE;
  const code = options.code ?? ERROR_CODES.IERECVPARAMS;
  const header = new Uint8Array(4);
  const got = await readFull(reader, header);
  if (got < 4) {
    throw new ProtocolError(
      got === 0 ? ERROR_CODES.IECTRLCLOSE : code,
      got === 0 ? {} : {
        detail: `connection closed after ${got} of 4 length bytes`,
      },
    );
  }
  const length = new DataView(header.buffer).getUint32(0);
  if (length === 0 || length > maxSize) {
    throw new ProtocolError(code, {
      detail: `JSON length ${length} is outside 1 to ${maxSize} bytes`,
    });
  }
  const body = new Uint8Array(length);
  const n = await readFull(reader, body);
  if (n < length) {
    throw new ProtocolError(code, {
      detail: `connection closed after ${n} of ${length} JSON bytes`,
    });
  }
  const shape = checkJsonShape(
    body,
    options.maxDepth ?? MAX_JSON_DEPTH,
    MIN_JSON_CONTAINERS +
      Math.floor(
        length * (options.maxContainersPerKib ?? MAX_JSON_CONTAINERS_PER_KIB) /
          1024,
      ),
  );
  if (shape !== undefined) throw new ProtocolError(code, { detail: shape });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (error) {
    throw new ProtocolError(code, { detail: "malformed JSON", cause: error });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(code, { detail: "JSON is not an object" });
  }
  return value as Record<string, unknown>;
}

/**
 * What the scan of `checkJsonShape` does with each byte outside a string;
 * inside one only the quote and the backslash matter.
 */
const BYTE_CLASS = (() => {
  const table = new Uint8Array(256);
  table[0x22] = 1; // "
  table[0x5c] = 2; // backslash
  table[0x5b] = 3; // [
  table[0x7b] = 3; // {
  table[0x5d] = 4; // ]
  table[0x7d] = 4; // }
  return table;
})();

/**
 * One pass over a JSON body, without allocating: the first reason to refuse
 * it (nesting deeper than `maxDepth`, more than `maxContainers` objects and
 * arrays), or `undefined`. Brackets inside strings do not count; a backslash
 * in a string skips the byte after it, so `\"` and `\\` are handled. Bytes
 * of multi-byte UTF-8 characters are all 0x80 or above and never match.
 * Anything else wrong with the body is left to `JSON.parse`.
 */
function checkJsonShape(
  body: Uint8Array,
  maxDepth: number,
  maxContainers: number,
): string | undefined {
  let depth = 0;
  let containers = 0;
  let inString = false;
  const n = body.length;
  for (let i = 0; i < n; i++) {
    const kind = BYTE_CLASS[body[i] ?? 0] ?? 0;
    if (kind === 0) continue;
    if (inString) {
      if (kind === 1) inString = false;
      else if (kind === 2) i++;
    } else if (kind === 1) {
      inString = true;
    } else if (kind === 3) {
      if (++depth > maxDepth) {
        return `JSON nesting deeper than ${maxDepth} levels`;
      }
      if (++containers > maxContainers) {
        return `JSON holds more than ${maxContainers} objects and arrays in ${n} bytes`;
      }
    } else if (kind === 4) {
      depth--;
    }
  }
  return undefined;
}

/**
 * The payload that follows a SERVER_ERROR state byte: `i_errno` and `errno`,
 * each a 4-byte big-endian signed integer.
 *
 * @param code iperf3's error number
 * @param errno the OS errno, 0 if none
 * @returns 8 bytes
 */
export function encodeServerError(code: number, errno = 0): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, code);
  view.setInt32(4, errno);
  return bytes;
}

/** What a SERVER_ERROR carried. */
export interface ServerErrorPayload {
  /** iperf3's error number. */
  code: number;
  /** The OS errno; absent when the server closed after `i_errno` (3.12 auth failures). */
  errno?: number;
}

/**
 * Reads the payload after a SERVER_ERROR state byte, tolerating a peer that
 * closes after `i_errno` without sending `errno`.
 *
 * @param reader the control connection
 * @returns the error number and, if sent, the errno
 * @throws {ProtocolError} when not even `i_errno` arrives
 */
export async function readServerErrorPayload(
  reader: Reader,
): Promise<ServerErrorPayload> {
  const bytes = new Uint8Array(4);
  // A server that refuses a test often closes at once (iperf3 3.12 after a
  // failed authentication), and a reset may come instead of the bytes.
  const got = await readFull(reader, bytes).catch(() => 0);
  if (got < 4) {
    throw new ProtocolError(ERROR_CODES.IECTRLCLOSE, {
      detail:
        "the server sent SERVER_ERROR and closed the connection before saying why",
    });
  }
  const code = new DataView(bytes.buffer).getInt32(0);
  if (await readFull(reader, bytes).catch(() => 0) < 4) return { code };
  return { code, errno: new DataView(bytes.buffer).getInt32(0) };
}
