/**
 * The I/O calls a data-plane thread makes on the sockets it owns: `send`,
 * `recv`, `sendmmsg`/`recvmmsg` (UDP batches), `ppoll` (waits to the
 * microsecond), `close`, with this thread's errno. Each Worker opens libc
 * for itself (a library handle and errno are per thread); nothing here is
 * shared between threads.
 *
 * @module
 */

const SYMBOLS = {
  send: {
    parameters: ["i32", "buffer", "usize", "i32"],
    result: "isize",
  },
  recv: {
    parameters: ["i32", "buffer", "usize", "i32"],
    result: "isize",
  },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  ppoll: {
    parameters: ["buffer", "u64", "buffer", "pointer"],
    result: "i32",
  },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  recvmmsg: {
    parameters: ["i32", "buffer", "u32", "i32", "pointer"],
    result: "i32",
  },
  prctl: {
    parameters: ["i32", "u64", "u64", "u64", "u64"],
    result: "i32",
  },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** `MSG_DONTWAIT | MSG_NOSIGNAL`: never block, never raise SIGPIPE. */
export const MSG_FLAGS = 0x40 | 0x4000;

/** `MSG_TRUNC`: a TCP `recv` discards the bytes instead of copying them (`--skip-rx-copy`). */
export const MSG_TRUNC = 0x20;

/** `poll` events. */
export const POLLIN = 0x1;
/** `poll` events. */
export const POLLOUT = 0x4;

/** errno values the loops act on. */
export const ERRNO = {
  EINTR: 4,
  EAGAIN: 11,
  ENOBUFS: 105,
  ECONNREFUSED: 111,
} as const;

/** `prctl` option: this thread's timer slack in nanoseconds (default 50 µs). */
export const PR_SET_TIMERSLACK = 29;

/**
 * The address of a buffer's first byte, to write into the structures
 * `sendmmsg`/`recvmmsg` read (`msghdr`, `iovec`). ArrayBuffers larger than
 * V8's on-heap limit (64 bytes) never move, so the address stays valid for
 * the buffer's life; keep the buffer referenced while it is used.
 *
 * @param buffer the buffer
 * @returns its address
 */
export function addressOf(buffer: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

/** libc's I/O calls as this thread sees them. */
export interface LibcIo {
  /** The raw symbols. */
  readonly symbols: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
  /** errno of this thread's last failed call. */
  errno(): number;
  /** `strerror(errno)`. */
  strerror(errno: number): string;
  /**
   * `ppoll` on `count` pollfd entries for at most `ns` nanoseconds (0
   * entries: a sleep to the microsecond, which `poll`'s milliseconds
   * cannot do).
   */
  wait(fds: Uint8Array, count: number, ns: number): number;
  /** Closes the library. */
  close(): void;
}

/**
 * Opens libc for this thread.
 *
 * @returns the calls
 * @throws {Error} when libc cannot be opened (not Linux, no `--allow-ffi`)
 */
export function openLibcIo(): LibcIo {
  let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
  let lastError: unknown;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      lib = Deno.dlopen(name, SYMBOLS);
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (!lib) throw lastError;
  const symbols = lib.symbols;
  const location = symbols.__errno_location();
  const view = location ? new Deno.UnsafePointerView(location) : undefined;
  const timespec = new BigInt64Array(2);
  const timespecBytes = new Uint8Array(timespec.buffer);
  return {
    symbols,
    errno: () => view?.getInt32() ?? 0,
    strerror: (errno) => {
      const p = symbols.strerror(errno);
      return p ? Deno.UnsafePointerView.getCString(p) : `errno ${errno}`;
    },
    wait: (fds, count, ns) => {
      const whole = Math.max(0, Math.floor(ns));
      timespec[0] = BigInt(Math.floor(whole / 1e9));
      timespec[1] = BigInt(whole % 1e9);
      return symbols.ppoll(fds, BigInt(count), timespecBytes, null);
    },
    close: () => lib.close(),
  };
}
