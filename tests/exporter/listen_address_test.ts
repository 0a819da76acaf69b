import assert from "node:assert/strict";
import { parseListenAddress } from "../../lib/exporter/listen_address.ts";

Deno.test("parseListenAddress() splits host and port as Go's net.SplitHostPort", () => {
  assert.deepEqual(parseListenAddress(":9579"), { text: ":9579", port: 9579 });
  assert.deepEqual(parseListenAddress("127.0.0.1:0"), {
    text: "127.0.0.1:0",
    hostname: "127.0.0.1",
    port: 0,
  });
  assert.deepEqual(parseListenAddress("[::1]:9100"), {
    text: "[::1]:9100",
    hostname: "::1",
    port: 9100,
  });
  assert.equal(parseListenAddress("localhost:1").hostname, "localhost");
});

Deno.test("parseListenAddress() refuses what Go refuses, with its words", () => {
  const cases: [string, RegExp][] = [
    ["9579", /: address 9579: missing port in address$/],
    ["[::1]", /: address \[::1\]: missing port in address$/],
    ["::1:9579", /: address ::1:9579: too many colons in address$/],
    ["[::1]:1:2", /: address \[::1\]:1:2: too many colons in address$/],
    ["[::1:1", /: address \[::1:1: missing '\]' in address$/],
    ["a]:1", /: address a\]:1: unexpected '\]' in address$/],
    [":http", /the port must be a number from 0 to 65535/],
    [":65536", /the port must be a number from 0 to 65535/],
    ["vsock://:9100", /vsock addresses are not supported/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseListenAddress(text), pattern, text);
  }
});
