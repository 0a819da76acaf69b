/**
 * `deno task compile`: single-file executables of `main.ts` for the five
 * platforms we ship (issue #7), plus `dist/SHA256SUMS`.
 *
 * Usage: deno task compile [--target T]... [--out DIR] [--dry-run]
 *
 * - `--target T` (repeatable): one of `TARGETS`; all five by default.
 * - `--out DIR`: where the executables go; `dist` by default.
 * - `--dry-run`: check everything that can be checked without compiling (the
 *   module graph, the targets, `DENORT_BIN`), print the exact `deno compile`
 *   command lines and exit 0.
 *
 * `deno compile` needs `denort`, the runtime half of every executable, and
 * downloads it for each target. Where that download cannot happen, set
 * `DENORT_BIN` to a denort binary for this machine's platform: deno reads it
 * from the environment, and a denort fits only the platform it was built
 * for, so with it set only the host target can be built. Pointing it at the
 * `deno` binary itself yields an executable that starts a REPL instead of
 * our program, which this script refuses. It never fakes an executable.
 *
 * Outputs are compiled into a staging directory next to the output
 * directory and moved in only when every target built, so a failed run
 * leaves no partial executables behind.
 *
 * @module
 */

import {
  basename,
  dirname,
  isAbsolute,
  join,
  relative,
  resolve,
} from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The platforms we ship, as `deno compile --target` names them. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** One of `TARGETS`. */
export type Target = typeof TARGETS[number];

/**
 * The permissions baked into every executable: exactly what the tool needs,
 * so it never prompts and never gets more than this.
 */
export const PERMISSIONS: readonly string[] = [
  // The control connection and the data streams, as client or server; the
  // peer is named on the command line, so this cannot be narrowed here.
  "--allow-net",
  // The `uname`-like system_info line of -V and -J (`Deno.hostname()`,
  // `Deno.osRelease()`); see lib/report/system_info.ts.
  "--allow-sys=hostname,osRelease",
  // --logfile, --pidfile, a receiving -F file and --plot: their paths are
  // known only at run time.
  "--allow-write",
  // A sending -F file, the RSA keys, the users file and --plot-from's input
  // (read with a cap: lib/cli/read_capped.ts); the kernel version and TCP buffer defaults
  // under /proc then show in -V and -J too.
  "--allow-read",
  // -D: Deno cannot fork, so the server starts its own executable again,
  // detached (lib/cli/daemon.ts); that path is known only at run time.
  "--allow-run",
  // Socket options and TCP_INFO through libc on Linux (lib/net/native.ts);
  // the other targets never open a library.
  "--allow-ffi",
  // No --allow-env.
];

/** The project root, where deno.json and main.ts live. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ENTRY = "main.ts";

const NAME = "iperf-ts";
const SUMS_FILE = "SHA256SUMS";
const PREFIX = "compile:";

/** What `compileCommands` builds the command lines from. */
export interface CompileOptions {
  /** The targets, in the order they are compiled. */
  targets: readonly Target[];
  /** The directory the executables are written to. */
  outDir: string;
  /** The deno executable to run; `Deno.execPath()` by default. */
  deno?: string;
}

/**
 * The file name of the executable for a target.
 *
 * @param target the target
 * @returns `iperf-ts-<target>`, with `.exe` for Windows
 */
export function artifactName(target: Target): string {
  return `${NAME}-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/**
 * The `deno compile` command lines, one per target. They carry no
 * `--no-check`: the first one type-checks main.ts, and deno's check cache
 * makes the others skip the same check, so the program is type-checked once.
 *
 * @param options the targets, the output directory and the deno executable
 * @returns one argument vector per target, the executable first
 */
export function compileCommands(options: CompileOptions): string[][] {
  const deno = options.deno ?? Deno.execPath();
  return options.targets.map((target) => [
    deno,
    "compile",
    "--unstable-net",
    ...PERMISSIONS,
    "--target",
    target,
    "--output",
    join(options.outDir, artifactName(target)),
    ENTRY,
  ]);
}

/**
 * Checks that a path can serve as `DENORT_BIN`: set, not the `deno` binary,
 * an existing file, executable.
 *
 * @param path the value of `DENORT_BIN`
 * @returns why it cannot be used, or undefined when it can
 */
export function checkDenortBin(path?: string): string | undefined {
  if (path === undefined || path === "") {
    return "DENORT_BIN is not set: set it to a denort binary for this platform";
  }
  const name = basename(path.replaceAll("\\", "/")).toLowerCase();
  if (name === "deno" || name === "deno.exe") {
    return `DENORT_BIN must name a denort binary, not deno itself ("${path}"): an executable built on deno starts a REPL instead of iperf-ts`;
  }
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    return `DENORT_BIN names a file that cannot be used ("${path}"): ${reason}`;
  }
  if (!info.isFile) {
    return `DENORT_BIN must name a file ("${path}"): it is a directory or a device`;
  }
  // Windows has no execute bit; mode is null there.
  if (info.mode !== null && (info.mode & 0o111) === 0) {
    return `DENORT_BIN names a file that is not executable ("${path}")`;
  }
  if (sameFile(path, Deno.execPath())) {
    return `DENORT_BIN must name a denort binary, not a link to or copy of the deno running this script ("${path}")`;
  }
  return undefined;

  /** The same file, through a link, or a copy of it under another name. */
  function sameFile(a: string, b: string): boolean {
    try {
      if (Deno.realPathSync(a) === Deno.realPathSync(b)) return true;
      if (Deno.statSync(a).size !== Deno.statSync(b).size) return false;
      const bytesA = Deno.readFileSync(a);
      const bytesB = Deno.readFileSync(b);
      return bytesA.every((byte, i) => byte === bytesB[i]);
    } catch {
      // Not allowed to read one of them (tests): the name check above stands.
      return false;
    }
  }
}

/**
 * Checks that every target can be built with `DENORT_BIN`: a denort runs on
 * the platform it was built for, so only the host target can.
 *
 * @param targets the requested targets
 * @param host the target this machine runs (`Deno.build.target`)
 * @returns why not, or undefined when they can
 */
export function checkDenortTargets(
  targets: readonly Target[],
  host: string,
): string | undefined {
  const others = targets.filter((t) => t !== host);
  if (others.length === 0) return undefined;
  return `DENORT_BIN serves only this machine's target "${host}": build ${
    others.map((t) => `"${t}"`).join(", ")
  } without DENORT_BIN where denort can be downloaded (the release workflow does)`;
}

/**
 * Whether `deno compile` failed because it could not download denort, judged
 * by its error output.
 *
 * @param stderr what `deno compile` wrote to stderr, without colours
 * @returns true for a download or network failure
 */
export function isDenortDownloadFailure(stderr: string): boolean {
  // deno 2.9 reports "Setting up base binary." and then the cause chain:
  // "error sending request for url (...denort-<target>.zip)", dns, connect,
  // TLS or timeout failures, or "Download could not be found".
  const network =
    /error sending request|dns error|failed to lookup address|connection refused|connection reset|timed out|certificate|tls|proxy|download/i;
  return /setting up base binary|denort/i.test(stderr) && network.test(stderr);
}

/**
 * SHA-256 digests of files in `sha256sum` format, so `sha256sum -c` checks
 * them from the directory they are in.
 *
 * @param files paths of the files, in the order they are listed
 * @returns one `<hex>  <file name>` line per file, each ending in a newline
 */
export async function sha256sums(files: readonly string[]): Promise<string> {
  const lines = [];
  for (const file of files) {
    const digest = await crypto.subtle.digest(
      "SHA-256",
      await Deno.readFile(file),
    );
    const hex = Array.from(
      new Uint8Array(digest),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    lines.push(`${hex}  ${basename(file)}\n`);
  }
  return lines.join("");
}

/** A dependency as `deno info --json` lists it. */
export interface DenoInfoDependency {
  /** The specifier as written in the import. */
  specifier: string;
  /** What the code import resolved to. */
  code?: { specifier?: string };
  /** What the type import resolved to. */
  type?: { specifier?: string };
}

/** A module as `deno info --json` lists it. */
export interface DenoInfoModule {
  /** The resolved specifier. */
  specifier: string;
  /** `esm`, `node`, `npm`, `asserted`, `external`... */
  kind?: string;
  /** Set when the module could not be loaded. */
  error?: string;
  /** The module's imports. */
  dependencies?: DenoInfoDependency[];
}

/**
 * The parts of `deno info --json` output the module graph check reads.
 * (`npmPackages` is left alone: it lists every package of the lock file,
 * including those only scripts/bench.ts uses.)
 */
export interface DenoInfo {
  /** The entry modules. */
  roots: string[];
  /** Every module of the graph. */
  modules: DenoInfoModule[];
}

/**
 * Checks the module graph of main.ts: only local `file:` modules and `node:`
 * built-ins, so the executable carries no npm packages (cli-table3 is for
 * scripts/bench.ts only) and nothing is fetched remotely, and nothing failed
 * to load.
 *
 * @param info the parsed output of `deno info --json main.ts`
 * @returns what is wrong, or undefined when the graph is clean
 */
export function checkModuleGraph(info: DenoInfo): string | undefined {
  const problems: string[] = [];
  for (const module of info.modules) {
    if (module.error !== undefined) {
      problems.push(`"${module.specifier}" failed to load: ${module.error}`);
      continue;
    }
    if (!allowed(module.specifier) || module.kind === "npm") {
      problems.push(`"${module.specifier}"`);
    }
    for (const dependency of module.dependencies ?? []) {
      for (
        const resolved of [
          dependency.code?.specifier,
          dependency.type?.specifier,
        ]
      ) {
        if (resolved !== undefined && !allowed(resolved)) {
          problems.push(
            `"${resolved}" imported by "${shortName(module.specifier)}"`,
          );
        }
      }
    }
  }
  if (problems.length === 0) return undefined;
  const unique = [...new Set(problems)];
  return `${ENTRY} may depend only on local files and node: built-ins (npm packages such as cli-table3 are for scripts/bench.ts): found ${
    unique.join(", ")
  }`;

  function allowed(specifier: string): boolean {
    return specifier.startsWith("file:") || specifier.startsWith("node:");
  }
  function shortName(specifier: string): string {
    if (!specifier.startsWith("file:")) return specifier;
    const path = fileURLToPath(specifier);
    return relative(ROOT, path).replaceAll("\\", "/") || path;
  }
}

/** The command line of the script, parsed. */
export interface CompileArgs {
  /** The targets asked for; empty when none was named. */
  targets: Target[];
  /** The output directory as given. */
  out: string;
  /** Print the command lines only. */
  dryRun: boolean;
  /** Print the usage only. */
  help: boolean;
}

/**
 * Parses the script's arguments.
 *
 * @param args the arguments
 * @returns the parsed arguments
 * @throws {TypeError} for an unknown option or a missing value
 * @throws {RangeError} for a target not in `TARGETS`
 */
export function parseCompileArgs(args: readonly string[]): CompileArgs {
  const { values } = parseArgs({
    args: [...args],
    options: {
      target: { type: "string", multiple: true },
      out: { type: "string" },
      "dry-run": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  const targets: Target[] = [];
  for (const target of values.target ?? []) {
    if (!isTarget(target)) {
      throw new RangeError(
        `Cannot compile for target "${target}": expected one of ${
          TARGETS.join(", ")
        }`,
      );
    }
    if (!targets.includes(target)) targets.push(target);
  }
  return {
    targets,
    out: values.out ?? "dist",
    dryRun: values["dry-run"] ?? false,
    help: values.help ?? false,
  };

  function isTarget(value: string): value is Target {
    return (TARGETS as readonly string[]).includes(value);
  }
}

const USAGE = `Usage: deno task compile [--target T]... [--out DIR] [--dry-run]

  --target T   build for T (repeatable); all of:
               ${TARGETS.join("\n               ")}
  --out DIR    write the executables and ${SUMS_FILE} to DIR (default: dist)
  --dry-run    check the module graph and DENORT_BIN, print the deno compile
               command lines, compile nothing

DENORT_BIN: a denort binary for this platform, used instead of downloading
one; only the host target can be built with it.
`;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function write(file: { writeSync(p: Uint8Array): number }, text: string) {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.byteLength) {
    written += file.writeSync(bytes.subarray(written));
  }
}

function say(line: string): void {
  write(Deno.stderr, `${PREFIX} ${line}\n`);
}

/** Quotes an argument for a POSIX shell when it needs quoting. */
function shellQuote(arg: string): string {
  return /^[\w./=:,@%+-]+$/.test(arg)
    ? arg
    : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** Paths inside the project are shown relative to it, as deno runs there. */
function fromRoot(path: string): string {
  const rel = relative(ROOT, path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

async function run(
  cmd: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, ...args] = cmd;
  const output = await new Deno.Command(command ?? "deno", {
    args,
    cwd: ROOT,
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function main(argv: string[]): Promise<number> {
  let args: CompileArgs;
  try {
    args = parseCompileArgs(argv);
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    write(Deno.stderr, USAGE);
    return 2;
  }
  if (args.help) {
    write(Deno.stdout, USAGE);
    return 0;
  }

  const host = Deno.build.target;
  const denortBin = Deno.env.get("DENORT_BIN");
  let targets: Target[] = args.targets.length > 0 ? args.targets : [...TARGETS];
  if (denortBin !== undefined) {
    const binProblem = checkDenortBin(denortBin);
    if (binProblem !== undefined) {
      say(binProblem);
      return 1;
    }
    if (args.targets.length === 0) {
      targets = TARGETS.filter((t) => t === host);
      if (targets.length === 0) {
        say(
          `DENORT_BIN is set but this machine's target "${host}" is not one we ship`,
        );
        return 1;
      }
      say(`DENORT_BIN is set: building only this machine's target "${host}"`);
    }
    const targetProblem = checkDenortTargets(targets, host);
    if (targetProblem !== undefined) {
      say(targetProblem);
      return 1;
    }
  }

  const info = await run(
    [Deno.execPath(), "info", "--json", ENTRY],
    {},
  );
  if (info.code !== 0) {
    write(Deno.stderr, info.stderr);
    say(`deno info ${ENTRY} failed (exit code ${info.code})`);
    return 1;
  }
  const graphProblem = checkModuleGraph(JSON.parse(info.stdout) as DenoInfo);
  if (graphProblem !== undefined) {
    say(graphProblem);
    return 1;
  }

  const outDir = resolve(Deno.cwd(), args.out);
  // Next to the output directory, so the final moves stay on one file system.
  const staging = join(dirname(outDir), `.${basename(outDir)}.staging`);
  const commands = compileCommands({ targets, outDir: fromRoot(staging) });
  const env: Record<string, string> = denortBin === undefined
    ? {}
    : { DENORT_BIN: denortBin };
  const envPrefix = denortBin === undefined
    ? ""
    : `DENORT_BIN=${shellQuote(denortBin)} `;

  if (args.dryRun) {
    for (const cmd of commands) {
      write(Deno.stdout, `${envPrefix}${cmd.map(shellQuote).join(" ")}\n`);
    }
    say(
      `dry run: nothing compiled; a real run moves these outputs into ${
        fromRoot(outDir)
      }/ and writes ${SUMS_FILE} there`,
    );
    return 0;
  }

  await removeIfPresent(staging);
  await Deno.mkdir(staging, { recursive: true });
  try {
    const built: string[] = [];
    for (const [i, cmd] of commands.entries()) {
      const target = targets[i]!;
      const result = await run(cmd, env);
      if (result.code !== 0) {
        if (denortBin === undefined && isDenortDownloadFailure(result.stderr)) {
          say(
            "deno compile needs the denort runtime, which this machine cannot download; set DENORT_BIN to a denort binary for this platform (see docs/install.md)",
          );
          return 1;
        }
        write(Deno.stderr, result.stderr);
        say(
          `deno compile failed for "${target}" (exit code ${result.code}); nothing was written to ${
            fromRoot(outDir)
          }/`,
        );
        return 1;
      }
      built.push(join(staging, artifactName(target)));
      say(`built ${artifactName(target)}`);
    }
    await Deno.writeTextFile(join(staging, SUMS_FILE), await sha256sums(built));

    // The output directory holds exactly one build: earlier executables go,
    // so SHA256SUMS covers every executable next to it.
    await Deno.mkdir(outDir, { recursive: true });
    for await (const entry of Deno.readDir(outDir)) {
      if (entry.name.startsWith(`${NAME}-`) || entry.name === SUMS_FILE) {
        await Deno.remove(join(outDir, entry.name));
      }
    }
    for (const file of [...built, join(staging, SUMS_FILE)]) {
      await Deno.rename(file, join(outDir, basename(file)));
    }
    say(
      `wrote ${built.length} executable(s) and ${SUMS_FILE} to ${
        fromRoot(outDir)
      }/`,
    );
    return 0;
  } finally {
    await removeIfPresent(staging);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
