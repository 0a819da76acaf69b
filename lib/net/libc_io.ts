/**
 * The I/O calls a data-plane thread makes on the sockets it owns: `send`,
 * `recv`, `poll`, `close`, with this thread's errno. Each Worker opens libc
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
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** `MSG_DONTWAIT | MSG_NOSIGNAL`: never block, never raise SIGPIPE. */
export const MSG_FLAGS = 0x40 | 0x4000;

/** `poll` events. */
export const POLLIN = 0x1;
/** `poll` events. */
export const POLLOUT = 0x4;

/** errno values the loops act on. */
export const ERRNO = { EINTR: 4, EAGAIN: 11 } as const;

/** libc's I/O calls as this thread sees them. */
export interface LibcIo {
  /** The raw symbols. */
  readonly symbols: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
  /** errno of this thread's last failed call. */
  errno(): number;
  /** `strerror(errno)`. */
  strerror(errno: number): string;
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
  return {
    symbols,
    errno: () => view?.getInt32() ?? 0,
    strerror: (errno) => {
      const p = symbols.strerror(errno);
      return p ? Deno.UnsafePointerView.getCString(p) : `errno ${errno}`;
    },
    close: () => lib.close(),
  };
}
