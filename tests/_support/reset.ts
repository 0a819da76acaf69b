/**
 * `resetConnection()`: a TCP connection to 127.0.0.1 that ends with a reset
 * (SO_LINGER 0) rather than a FIN, made through libc because Deno's sockets
 * cannot set SO_LINGER. Linux with `--allow-ffi` only.
 *
 * @module
 */

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SO_LINGER = 13;

type Libc = Deno.DynamicLibrary<{
  socket: { parameters: ["i32", "i32", "i32"]; result: "i32" };
  connect: { parameters: ["i32", "buffer", "u32"]; result: "i32" };
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"];
    result: "i32";
  };
  send: { parameters: ["i32", "buffer", "usize", "i32"]; result: "isize" };
  close: { parameters: ["i32"]; result: "i32" };
}>;

let libc: Libc | undefined;

/** Why resets cannot be made here, or undefined when they can. */
export function resetUnavailable(): string | undefined {
  if (Deno.build.os !== "linux") return "SO_LINGER resets need Linux libc";
  const ffi = Deno.permissions.querySync({ name: "ffi" }).state;
  return ffi === "granted" ? undefined : "SO_LINGER resets need --allow-ffi";
}

function open(): Libc {
  libc ??= Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    setsockopt: {
      parameters: ["i32", "i32", "i32", "buffer", "u32"],
      result: "i32",
    },
    send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  });
  return libc;
}

/**
 * Connects to 127.0.0.1:`port`, sends `data` if any, and closes with a
 * reset. The connect is a blocking libc call (instant on loopback: the
 * kernel completes the handshake, the server need not run).
 *
 * @param port the server's port
 * @param data bytes to send before the reset
 * @returns whether the connection was made
 */
export function resetConnection(port: number, data?: Uint8Array): boolean {
  const c = open().symbols;
  const fd = c.socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  try {
    const addr = new Uint8Array(16);
    const view = new DataView(addr.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port);
    addr.set([127, 0, 0, 1], 4);
    if (c.connect(fd, addr, 16) !== 0) return false;
    const linger = new Uint8Array(8);
    new DataView(linger.buffer).setInt32(0, 1, true);
    c.setsockopt(fd, SOL_SOCKET, SO_LINGER, linger, 8);
    if (data) c.send(fd, data, BigInt(data.byteLength), 0);
    return true;
  } finally {
    c.close(fd);
  }
}

/** Closes libc (a test's resource sanitizer counts the library). */
export function closeLibc(): void {
  libc?.close();
  libc = undefined;
}
