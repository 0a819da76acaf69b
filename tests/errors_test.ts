import assert from "node:assert/strict";
import { ERROR_CODES, ServerError } from "../lib/errors.ts";

Deno.test("ServerError prints the server's errno only where iperf3 does (perr codes)", () => {
  // iperf3 3.21's server sends IESETBUF2 with a stale EBADF when -w is above
  // the kernel's limit; iperf3's client prints no strerror for that code.
  const stale = new ServerError(ERROR_CODES.IESETBUF2, 9);
  assert.equal(stale.iperfText, "socket buffer size not set correctly");
  assert.equal(stale.errno, 9);
  // IESETBUF is a perr code: the errno is the reason.
  assert.equal(
    new ServerError(ERROR_CODES.IESETBUF, 105).iperfText,
    "unable to set socket buffer size: No buffer space available",
  );
  assert.equal(
    new ServerError(ERROR_CODES.IESTREAMLISTEN, 98).iperfText,
    "unable to start stream listener: Address already in use",
  );
  // No errno at all: nothing after the text.
  assert.equal(
    new ServerError(ERROR_CODES.IESETBUF, 0).iperfText,
    "unable to set socket buffer size",
  );
});
