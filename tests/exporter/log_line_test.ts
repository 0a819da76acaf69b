import assert from "node:assert/strict";
import { formatLogLine, isLogged } from "../../lib/exporter/log_line.ts";

const AT = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));

Deno.test("formatLogLine() writes slog's logfmt, quoting as slog does", () => {
  const line = formatLogLine(
    {
      level: "error",
      msg: "Failed to run iperf3",
      attrs: { target: "h", port: "5201", err: 'said "no"', empty: "", n: 3 },
    },
    "logfmt",
    AT,
  );
  const offset = -AT.getTimezoneOffset();
  const time = offset === 0 ? "2026-01-02T03:04:05.678Z" : undefined;
  if (time) assert.match(line, new RegExp(`^time=${time} `));
  assert.match(
    line,
    / level=ERROR msg="Failed to run iperf3" target=h port=5201 err="said \\"no\\"" empty="" n=3\n$/,
  );
});

Deno.test("formatLogLine() writes slog's JSON", () => {
  const line = formatLogLine(
    {
      level: "info",
      msg: "Listening on",
      attrs: { address: "[::]:9579" },
    },
    "json",
    AT,
  );
  const parsed = JSON.parse(line);
  assert.deepEqual(
    [parsed.level, parsed.msg, parsed.address],
    ["INFO", "Listening on", "[::]:9579"],
  );
  assert.ok(line.endsWith("}\n"));
});

Deno.test("isLogged() keeps records at or above --log.level", () => {
  assert.ok(isLogged("error", "info"));
  assert.ok(isLogged("info", "info"));
  assert.ok(!isLogged("debug", "info"));
  assert.ok(!isLogged("warn", "error"));
  assert.ok(isLogged("debug", "debug"));
});
