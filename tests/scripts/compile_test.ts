import assert from "node:assert/strict";
import { join } from "node:path";
import {
  artifactName,
  checkDenortBin,
  checkDenortTargets,
  checkModuleGraph,
  compileCommands,
  type DenoInfo,
  isDenortDownloadFailure,
  parseCompileArgs,
  PERMISSIONS,
  sha256sums,
  TARGETS,
} from "../../scripts/compile.ts";

// The script itself cannot compile here (denort cannot be downloaded), and
// the suite may not run `deno`; these tests cover everything short of that:
// the command lines, the DENORT_BIN checks, SHA256SUMS and the module graph.

const WINDOWS = Deno.build.os === "windows";

Deno.test("compileCommands() builds one deno compile line per target", () => {
  const commands = compileCommands({
    targets: TARGETS,
    outDir: "staging",
    deno: "deno",
  });
  assert.equal(commands.length, 5);
  assert.deepEqual(
    commands.map((cmd) => cmd[cmd.indexOf("--target") + 1]),
    [
      "x86_64-unknown-linux-gnu",
      "aarch64-unknown-linux-gnu",
      "x86_64-apple-darwin",
      "aarch64-apple-darwin",
      "x86_64-pc-windows-msvc",
    ],
  );
  assert.deepEqual(commands[0], [
    "deno",
    "compile",
    "--unstable-net",
    "--allow-net",
    "--allow-sys=hostname,osRelease",
    "--allow-write",
    "--allow-read",
    "--allow-run",
    "--allow-ffi",
    "--target",
    "x86_64-unknown-linux-gnu",
    "--output",
    join("staging", "iperf-ts-x86_64-unknown-linux-gnu"),
    "main.ts",
  ]);
  assert.deepEqual(
    commands.map((cmd) => cmd[cmd.indexOf("--output") + 1]),
    [
      join("staging", "iperf-ts-x86_64-unknown-linux-gnu"),
      join("staging", "iperf-ts-aarch64-unknown-linux-gnu"),
      join("staging", "iperf-ts-x86_64-apple-darwin"),
      join("staging", "iperf-ts-aarch64-apple-darwin"),
      join("staging", "iperf-ts-x86_64-pc-windows-msvc.exe"),
    ],
  );
  for (const cmd of commands) {
    assert.equal(cmd.at(-1), "main.ts");
    assert.ok(!cmd.includes("--no-check"));
    assert.ok(!cmd.includes("-A") && !cmd.includes("--allow-all"));
    assert.ok(!cmd.some((arg) => arg.startsWith("--allow-env")));
  }
});

Deno.test("compileCommands() runs the deno that runs the script by default", () => {
  const [cmd] = compileCommands({
    targets: ["aarch64-apple-darwin"],
    outDir: "dist",
  });
  assert.equal(cmd?.[0], Deno.execPath());
});

Deno.test("PERMISSIONS holds exactly net, sys, write, read, run and ffi", () => {
  assert.deepEqual([...PERMISSIONS], [
    "--allow-net",
    "--allow-sys=hostname,osRelease",
    "--allow-write",
    "--allow-read",
    "--allow-run",
    "--allow-ffi",
  ]);
});

Deno.test("artifactName() adds .exe only for Windows", () => {
  assert.equal(
    artifactName("x86_64-unknown-linux-gnu"),
    "iperf-ts-x86_64-unknown-linux-gnu",
  );
  assert.equal(
    artifactName("x86_64-pc-windows-msvc"),
    "iperf-ts-x86_64-pc-windows-msvc.exe",
  );
});

Deno.test("parseCompileArgs() reads repeated --target, --out and --dry-run", () => {
  assert.deepEqual(parseCompileArgs([]), {
    targets: [],
    out: "dist",
    dryRun: false,
    help: false,
  });
  assert.deepEqual(
    parseCompileArgs([
      "--target",
      "x86_64-apple-darwin",
      "--target=x86_64-pc-windows-msvc",
      "--target",
      "x86_64-apple-darwin",
      "--out",
      "/tmp/out",
      "--dry-run",
    ]),
    {
      targets: ["x86_64-apple-darwin", "x86_64-pc-windows-msvc"],
      out: "/tmp/out",
      dryRun: true,
      help: false,
    },
  );
});

Deno.test("parseCompileArgs() rejects unknown targets and options", () => {
  assert.throws(
    () => parseCompileArgs(["--target", "riscv64gc-unknown-linux-gnu"]),
    (error: unknown) =>
      error instanceof RangeError &&
      error.message.includes('"riscv64gc-unknown-linux-gnu"'),
  );
  assert.throws(() => parseCompileArgs(["--no-check"]), TypeError);
  assert.throws(() => parseCompileArgs(["--target"]), TypeError);
  assert.throws(() => parseCompileArgs(["main.ts"]), TypeError);
});

Deno.test("checkDenortBin() refuses an unset or empty path", () => {
  assert.match(checkDenortBin() ?? "", /^DENORT_BIN is not set/);
  assert.match(checkDenortBin("") ?? "", /^DENORT_BIN is not set/);
});

Deno.test("checkDenortBin() refuses the deno binary by name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-denort-" });
  try {
    for (const name of ["deno", "deno.exe", "DENO.EXE"]) {
      const path = join(dir, name);
      await Deno.writeFile(path, new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), {
        mode: 0o755,
      });
      const message = checkDenortBin(path) ?? "";
      assert.match(message, /not deno itself/);
      assert.ok(message.includes(path));
      await Deno.remove(path);
    }
    // By name alone, even when the file is missing.
    assert.match(checkDenortBin("/usr/bin/deno") ?? "", /not deno itself/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkDenortBin() refuses a missing file and a directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-denort-" });
  try {
    const missing = join(dir, "denort");
    assert.match(
      checkDenortBin(missing) ?? "",
      /^DENORT_BIN names a file that cannot be used \(.*\): no such file$/,
    );
    assert.match(checkDenortBin(dir) ?? "", /^DENORT_BIN must name a file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "checkDenortBin() refuses a file that is not executable",
  ignore: WINDOWS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "iperf-ts-denort-" });
    try {
      const path = join(dir, "denort");
      await Deno.writeFile(path, new Uint8Array(8), { mode: 0o644 });
      await Deno.chmod(path, 0o644);
      assert.match(checkDenortBin(path) ?? "", /is not executable/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("checkDenortBin() accepts an executable file not named deno", async () => {
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-denort-" });
  try {
    const path = join(dir, WINDOWS ? "denort.exe" : "denort");
    await Deno.writeFile(path, new Uint8Array(8), { mode: 0o755 });
    if (!WINDOWS) await Deno.chmod(path, 0o755);
    assert.equal(checkDenortBin(path), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkDenortTargets() allows only the host target", () => {
  const host = "x86_64-unknown-linux-gnu";
  assert.equal(checkDenortTargets([host], host), undefined);
  const message = checkDenortTargets(
    [host, "aarch64-apple-darwin", "x86_64-pc-windows-msvc"],
    host,
  ) ?? "";
  assert.match(message, /^DENORT_BIN serves only this machine's target/);
  assert.ok(message.includes('"aarch64-apple-darwin"'));
  assert.ok(message.includes('"x86_64-pc-windows-msvc"'));
  assert.ok(!message.includes(`"${host}",`));
});

Deno.test("isDenortDownloadFailure() recognises deno compile's download error", () => {
  // deno 2.9.6's output on this machine, host name left out.
  const stderr = [
    "Check main.ts",
    "Compile main.ts to dist/iperf-ts-x86_64-unknown-linux-gnu",
    "Download …/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip",
    "error: Writing deno compile executable to temporary file 'dist/iperf-ts-x86_64-unknown-linux-gnu.tmp-07e139bfb0859b58'",
    "",
    "Caused by:",
    "    0: Setting up base binary.",
    "    1: error sending request for url (…/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known",
    "    2: client error (Connect)",
    "    3: dns error",
    "    4: failed to lookup address information: Name or service not known",
  ].join("\n");
  assert.equal(isDenortDownloadFailure(stderr), true);
  // A type error is not a download failure.
  assert.equal(
    isDenortDownloadFailure(
      "Check main.ts\nTS2322 [ERROR]: Type 'string' is not assignable to type 'number'.\nerror: Type checking failed.",
    ),
    false,
  );
});

Deno.test("sha256sums() lists digests in sha256sum format", async () => {
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-sums-" });
  try {
    const abc = join(dir, "iperf-ts-x86_64-unknown-linux-gnu");
    const empty = join(dir, "iperf-ts-x86_64-pc-windows-msvc.exe");
    await Deno.writeTextFile(abc, "abc");
    await Deno.writeFile(empty, new Uint8Array(0));
    assert.equal(
      await sha256sums([abc, empty]),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  iperf-ts-x86_64-unknown-linux-gnu\n" +
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  iperf-ts-x86_64-pc-windows-msvc.exe\n",
    );
    assert.equal(await sha256sums([]), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const CLEAN_GRAPH: DenoInfo = {
  roots: ["file:///src/iperf-ts/main.ts"],
  modules: [
    {
      kind: "esm",
      specifier: "file:///src/iperf-ts/main.ts",
      dependencies: [{
        specifier: "./lib/cli/run.ts",
        code: { specifier: "file:///src/iperf-ts/lib/cli/run.ts" },
      }],
    },
    {
      kind: "esm",
      specifier: "file:///src/iperf-ts/lib/cli/run.ts",
      dependencies: [{
        specifier: "node:util",
        code: { specifier: "node:util" },
      }],
    },
    { kind: "node", specifier: "node:util" },
  ],
};

Deno.test("checkModuleGraph() accepts local files and node: built-ins", () => {
  assert.equal(checkModuleGraph(CLEAN_GRAPH), undefined);
});

Deno.test("checkModuleGraph() refuses an npm: dependency", () => {
  const graph: DenoInfo = {
    roots: CLEAN_GRAPH.roots,
    modules: [
      ...CLEAN_GRAPH.modules,
      {
        kind: "esm",
        specifier: "file:///src/iperf-ts/lib/report/table.ts",
        dependencies: [{
          specifier: "cli-table3",
          code: { specifier: "npm:cli-table3@^0.6.5" },
        }],
      },
      {
        kind: "npm",
        specifier: "npm:/cli-table3@0.6.5",
      },
    ],
  };
  const message = checkModuleGraph(graph) ?? "";
  assert.match(message, /^main\.ts may depend only on local files/);
  assert.ok(message.includes('"npm:cli-table3@^0.6.5"'));
  assert.ok(message.includes('"npm:/cli-table3@0.6.5"'));
});

Deno.test("checkModuleGraph() refuses remote modules and load errors", () => {
  const graph: DenoInfo = {
    roots: CLEAN_GRAPH.roots,
    modules: [
      ...CLEAN_GRAPH.modules,
      { kind: "esm", specifier: "jsr:@std/async@1/delay" },
      {
        specifier: "file:///src/iperf-ts/lib/missing.ts",
        error: "Module not found",
      },
    ],
  };
  const message = checkModuleGraph(graph) ?? "";
  assert.ok(message.includes('"jsr:@std/async@1/delay"'));
  assert.ok(message.includes("failed to load: Module not found"));
});
