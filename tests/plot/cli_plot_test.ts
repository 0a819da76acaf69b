import assert from "node:assert/strict";
import { cli } from "../_support/cli.ts";
import { loopbackRun } from "./_runs.ts";
import { svgLines, svgTexts } from "./_svg.ts";

async function withTempDir(
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-plot-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runCli() --plot on a real loopback run prints the text report and writes the SVG", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/run.svg`;
    const run = await loopbackRun(["-P", "2", "--plot", path]);
    assert.match(run.stdout, /iperf Done\.\n$/);
    assert.equal(run.stderr, "");
    const svg = await Deno.readTextFile(path);
    assert.match(svg, /^<svg /);
    const intervals = run.stdout.split("\n").filter((l) =>
      /^\[SUM\]\s+\d+\.\d+-\d+\.\d+\s+sec/.test(l) && !/sender|receiver/.test(l)
    ).length;
    const sum = svgLines(svg).find((l) =>
      l.yTitle === "Throughput (Mbit/s)" && l.series === "SUM"
    );
    // One point per interval line of the text report.
    assert.equal(sum?.points, intervals);
    assert.ok(svgTexts(svg).includes("Throughput (Mbit/s)"));
  });
});

Deno.test("runCli() --plot with -J keeps stdout one document and writes the HTML page", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/run.html`;
    const run = await loopbackRun([
      "-u",
      "-R",
      "-b",
      "5M",
      "-J",
      "--plot",
      path,
    ]);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.error, undefined);
    const html = await Deno.readTextFile(path);
    assert.match(html, /^<!DOCTYPE html>/);
    const lines = svgLines(html);
    const jitter = lines.find((l) =>
      l.yTitle === "Jitter (ms)" && l.series === "SUM"
    );
    assert.equal(jitter?.points, doc.intervals.length);
  });
});

Deno.test("runCli() --plot with --json-stream still has every interval to draw", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/run.svg`;
    const run = await loopbackRun(["--json-stream", "--plot", path]);
    const intervals = run.stdout.split("\n").filter((l) =>
      l.startsWith('{"event":"interval"')
    ).length;
    const sum = svgLines(await Deno.readTextFile(path)).find((l) =>
      l.yTitle === "Throughput (Mbit/s)" && l.series === "SUM"
    );
    assert.ok(intervals >= 4);
    assert.equal(sum?.points, intervals);
  });
});

Deno.test("runCli() --plot is a client option with a .svg or .html name", async () => {
  const server = await cli(["-s", "--plot", "a.svg"]);
  assert.equal(server.code, 1);
  assert.match(
    server.stderr,
    /^iperf3: parameter error - some option you are trying to set is client only: --plot\n/,
  );
  const png = await cli(["-c", "127.0.0.1", "--plot", "a.png"]);
  assert.equal(png.code, 1);
  assert.match(
    png.stderr,
    /^iperf3: parameter error - --plot takes a file name ending in \.svg or \.html: "a\.png"\n/,
  );
});

Deno.test("runCli() --plot after a failed connection writes nothing and says so", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await withTempDir(async (dir) => {
    const path = `${dir}/run.svg`;
    const run = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(port),
      "--plot",
      path,
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^iperf3: error - unable to connect to server/);
    assert.match(
      run.stderr,
      /\nwarning: no plot written to "[^"]*run\.svg": the test has no intervals\n$/,
    );
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  });
});
