import assert from "node:assert/strict";
import { PlotError } from "../../lib/errors.ts";
import {
  MAX_PLOT_INPUT_BYTES,
  parsePlotInput,
  readPlotInput,
} from "../../lib/plot/read_input.ts";
import { cli } from "../_support/cli.ts";
import { makeDoc } from "./_docs.ts";
import { loopbackRun } from "./_runs.ts";

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

/** `--plot-from IN --plot OUT` must fail with one `iperf3: error - ` line, exit 1, nothing on stdout. */
async function assertPlotFromFails(
  input: string,
  output: string,
  message: RegExp,
): Promise<void> {
  const run = await cli(["--plot-from", input, "--plot", output]);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, "");
  const lines = run.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0] ?? "", /^iperf3: error - /);
  assert.match(lines[0] ?? "", message);
  await assert.rejects(Deno.stat(output), Deno.errors.NotFound);
}

Deno.test("runCli() --plot-from draws --json-stream lines exactly as the -J document of the same run", async () => {
  // --json-stream-full-output prints the lines, then the whole document.
  const run = await loopbackRun([
    "-P",
    "2",
    "--json-stream",
    "--json-stream-full-output",
  ]);
  const lines = run.stdout.split("\n");
  const stream = lines.filter((l) => l.startsWith('{"event":'));
  const document = lines.filter((l) => !l.startsWith('{"event":')).join("\n");
  assert.ok(stream.length >= 6, run.stdout.slice(0, 200));
  assert.ok(stream.some((l) => l.startsWith('{"event":"interval"')));
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/run.jsonl`, `${stream.join("\n")}\n`);
    await Deno.writeTextFile(`${dir}/run.json`, document);
    for (const name of ["run.jsonl", "run.json"]) {
      const out = await cli([
        "--plot-from",
        `${dir}/${name}`,
        "--plot",
        `${dir}/${name}.svg`,
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout + out.stderr, "");
    }
    const fromStream = await Deno.readTextFile(`${dir}/run.jsonl.svg`);
    const fromDocument = await Deno.readTextFile(`${dir}/run.json.svg`);
    assert.ok(fromStream.startsWith("<svg"));
    assert.equal(fromStream, fromDocument);
  });
});

Deno.test("runCli() --plot-from writes an HTML page with the SVG inline for .html", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/in.json`, JSON.stringify(makeDoc()));
    const out = await cli([
      "--plot-from",
      `${dir}/in.json`,
      "--plot",
      `${dir}/out.HTML`,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const html = await Deno.readTextFile(`${dir}/out.HTML`);
    assert.match(html, /^<!DOCTYPE html>\n/);
    assert.match(html, /<title>TCP to 192\.0\.2\.10 port 5201 · /);
    assert.match(html, /<body>\n<svg [^>]*>[\s\S]*<\/svg>\n<\/body>/);
  });
});

Deno.test("runCli() --plot-from refuses bad input with one error line and exit 1", async () => {
  await withTempDir(async (dir) => {
    const write = (name: string, text: string) =>
      Deno.writeTextFile(`${dir}/${name}`, text);
    await write("text.json", "iperf Done.\n");
    await write("array.json", "[1, 2]\n");
    await write("other.json", '{"hello": "world"}\n');
    await write("lines.json", '{"event":"start","data":{}}\n{"a":1}\n');
    await write("empty.json", "\n\n");
    const failed = { ...makeDoc(), intervals: [], error: "unable to connect" };
    await write("failed.json", JSON.stringify(failed));
    const out = `${dir}/out.svg`;
    await assertPlotFromFails(
      `${dir}/text.json`,
      out,
      /"[^"]*text\.json": not JSON/,
    );
    await assertPlotFromFails(
      `${dir}/array.json`,
      out,
      /not an iperf3 -J document or --json-stream output$/,
    );
    await assertPlotFromFails(
      `${dir}/other.json`,
      out,
      /not an iperf3 -J document/,
    );
    await assertPlotFromFails(
      `${dir}/lines.json`,
      out,
      /not an iperf3 -J document/,
    );
    await assertPlotFromFails(`${dir}/empty.json`, out, /the file is empty$/);
    await assertPlotFromFails(
      `${dir}/failed.json`,
      out,
      /the document has no intervals \(error: unable to connect\)$/,
    );
    await assertPlotFromFails(
      `${dir}/missing.json`,
      out,
      /cannot read "[^"]*missing\.json": No such file or directory$/,
    );
    await assertPlotFromFails(dir, out, /Is a directory$/);
    await write("good.json", JSON.stringify(makeDoc()));
    await assertPlotFromFails(
      `${dir}/good.json`,
      `${dir}/no/such/dir/out.svg`,
      /cannot write the plot "[^"]*out\.svg": No such file or directory$/,
    );
  });
});

Deno.test("runCli() --plot-from stops reading at 64 MiB", async () => {
  await assertPlotFromFails(
    "/dev/zero",
    "/tmp/iperf-ts-never-written.svg",
    /^iperf3: error - cannot plot "\/dev\/zero": the file is larger than 64 MiB$/,
  );
  assert.equal(MAX_PLOT_INPUT_BYTES, 64 * 1024 * 1024);
});

Deno.test("readPlotInput() refuses a file over its cap", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/in.json`, JSON.stringify(makeDoc()));
    await assert.rejects(
      readPlotInput(`${dir}/in.json`, { maxBytes: 1024 }),
      (error: unknown) =>
        error instanceof PlotError &&
        /the file is larger than 1 KiB$/.test(error.message),
    );
    const doc = await readPlotInput(`${dir}/in.json`);
    assert.equal(doc.intervals.length, 4);
  });
});

Deno.test("runCli() --plot-from takes only --plot, and needs it", async () => {
  const cases: [string[], RegExp][] = [
    [["--plot-from", "in.json"], /--plot-from needs --plot FILE\.svg/],
    [
      ["--plot-from", "in.json", "--plot", "a.svg", "-c", "127.0.0.1"],
      /takes only --plot: drop --client$/,
    ],
    [["--plot-from", "in.json", "--plot", "a.svg", "-s"], /drop --server$/],
    [
      ["--plot-from", "in.json", "--plot", "a.png"],
      /ending in \.svg or \.html: "a\.png"/,
    ],
  ];
  for (const [args, message] of cases) {
    const run = await cli(args);
    assert.equal(run.code, 1, args.join(" "));
    assert.equal(run.stdout, "");
    const [first = ""] = run.stderr.split("\n");
    assert.match(first, /^iperf3: parameter error - /);
    assert.match(first, message);
  }
});

Deno.test("parsePlotInput() rebuilds a document from --json-stream lines, error and server output included", () => {
  const doc = makeDoc({ protocol: "UDP" });
  const server = makeDoc({ protocol: "UDP", sender: false });
  const lines = [
    { event: "start", data: doc.start },
    ...doc.intervals.map((data) => ({ event: "interval", data })),
    { event: "server_output_json", data: server },
    { event: "future_event", data: 1 },
    { event: "end", data: doc.end },
  ].map((line) => JSON.stringify(line));
  const rebuilt = parsePlotInput(lines.join("\n"), "in.jsonl");
  assert.deepEqual(rebuilt.start, doc.start);
  assert.deepEqual(rebuilt.intervals, doc.intervals);
  assert.deepEqual(rebuilt.server_output_json, server);
  // A broken server document is dropped, not fatal.
  const broken = parsePlotInput(
    JSON.stringify({ ...doc, "server_output_json": { start: 1 } }),
    "in.json",
  );
  assert.equal(broken.server_output_json, undefined);
});
