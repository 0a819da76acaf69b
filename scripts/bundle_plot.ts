/**
 * Bundles Vega and Vega-Lite (npm, the exact versions pinned in deno.json's
 * `imports`) with `lib/plot/_vega_entry.ts` into one minified ES module,
 * `lib/plot/_vega_bundle.js`, which `lib/plot/render.ts` imports lazily.
 *
 * main.ts's module graph may hold only local files and `node:` built-ins
 * (`deno run <url>` reads no import map; scripts/compile.ts checks the
 * graph), so the npm packages reach it only through this committed file.
 * Its header records the versions, a SHA-256 of the inputs (the entry's
 * source and deno.lock's entries for the packages' whole dependency tree)
 * and a SHA-256 of the body; tests/plot/bundle_test.ts checks all three and,
 * where the npm cache holds the packages, rebuilds and compares.
 *
 * Usage: deno task bundle:plot [--check]
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const ENTRY = new URL("lib/plot/_vega_entry.ts", ROOT);
const OUTPUT = new URL("lib/plot/_vega_bundle.js", ROOT);
const CONFIG = new URL("deno.json", ROOT);
const LOCK = new URL("deno.lock", ROOT);

/** The npm packages bundled, by their deno.json `imports` names. */
export const BUNDLED_PACKAGES = ["vega", "vega-lite"] as const;

/**
 * Vega-Lite's canvas probe, `await import("canvas")`: a bare specifier that
 * would put an unresolvable module in main.ts's graph. Without the native
 * `canvas` addon it fails anyway and Vega estimates text widths, which
 * keeps the SVG deterministic; the bundle gets a plain `null` instead.
 */
const CANVAS_IMPORT = 'import("canvas")';
const CANVAS_REPLACEMENT = "Promise.resolve(null)";

/** What the bundle's header comment records. */
export interface BundleHeader {
  /** Package name to version, as pinned. */
  versions: Record<string, string>;
  /** The deno that built it. */
  deno: string;
  /** SHA-256 (hex) of the inputs, see {@linkcode bundleInputsHash}. */
  inputs: string;
  /** SHA-256 (hex) of the body after the header. */
  body: string;
}

/**
 * The exact versions deno.json pins for the bundled packages.
 *
 * @param configText deno.json's text
 * @returns package name to version
 * @throws {TypeError} when a package is missing or not pinned exactly
 */
export function pinnedVersions(configText: string): Record<string, string> {
  const imports = (JSON.parse(configText) as { imports?: unknown }).imports;
  const out: Record<string, string> = {};
  for (const name of BUNDLED_PACKAGES) {
    const target = typeof imports === "object" && imports !== null
      ? Reflect.get(imports, name)
      : undefined;
    const m = typeof target === "string"
      ? new RegExp(`^npm:${name}@(\\d+\\.\\d+\\.\\d+)$`).exec(target)
      : null;
    if (!m?.[1]) {
      throw new TypeError(
        `Cannot bundle: deno.json must map "${name}" to "npm:${name}@X.Y.Z" (an exact version)`,
      );
    }
    out[name] = m[1];
  }
  return out;
}

/** What {@linkcode bundleInputsHash} digests. */
export interface BundleInputs {
  /** `lib/plot/_vega_entry.ts`'s text. */
  entry: string;
  /** deno.lock's text. */
  lock: string;
  /** The pinned versions ({@linkcode pinnedVersions}). */
  versions: Record<string, string>;
}

/**
 * SHA-256 (hex) of what the bundle is built from: the entry's source, and
 * every deno.lock npm entry (name, version, integrity) reachable from the
 * bundled packages.
 *
 * @param inputs the entry, deno.lock and the pinned versions
 * @returns the hex digest
 * @throws {TypeError} when deno.lock lacks a package
 */
export async function bundleInputsHash(inputs: BundleInputs): Promise<string> {
  const { entry: entryText, lock: lockText, versions } = inputs;
  const lock = JSON.parse(lockText) as {
    specifiers?: Record<string, string>;
    npm?: Record<string, { integrity?: string; dependencies?: string[] }>;
  };
  const npm = lock.npm ?? {};
  const keys = Object.keys(npm);
  const seen = new Set<string>();
  const todo: string[] = [];
  for (const [name, version] of Object.entries(versions)) {
    const resolved = lock.specifiers?.[`npm:${name}@${version}`];
    if (resolved === undefined) {
      throw new TypeError(
        `Cannot bundle: deno.lock has no "npm:${name}@${version}"; run deno install`,
      );
    }
    todo.push(`${name}@${resolved}`);
  }
  while (todo.length > 0) {
    const key = todo.pop() as string;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const dep of npm[key]?.dependencies ?? []) todo.push(lockKey(dep));
  }
  const lines = [...seen].sort().map((key) =>
    `${key} ${npm[key]?.integrity ?? "?"}`
  );
  const text = `${entryText}\n--- deno.lock\n${lines.join("\n")}\n`;
  return await sha256(text);

  /** `name` alone means the lock's only version of it; `name@v` is exact. */
  function lockKey(dep: string): string {
    if (dep.lastIndexOf("@") > 0) return dep;
    return keys.find((key) => key.startsWith(`${dep}@`)) ?? `${dep}@?`;
  }
}

/**
 * The bundle's header, read back.
 *
 * @param bundleText `lib/plot/_vega_bundle.js`
 * @returns the header, or undefined when it has none
 */
export function readBundleHeader(
  bundleText: string,
): BundleHeader | undefined {
  const m =
    /^\/\/ @ts-self-types="\.\/_vega_bundle\.d\.ts"\n\/\/ Generated by scripts\/bundle_plot\.ts: do not edit, run `deno task bundle:plot`\.\n\/\/ Packages: (.+)\n\/\/ Built by: deno (\S+) bundle --minify\n\/\/ Inputs SHA-256: ([0-9a-f]{64})\n\/\/ Body SHA-256: ([0-9a-f]{64})\n/
      .exec(bundleText);
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return undefined;
  const versions: Record<string, string> = {};
  for (const part of m[1].split(", ")) {
    const at = part.lastIndexOf("@");
    versions[part.slice(0, at)] = part.slice(at + 1);
  }
  return { versions, deno: m[2], inputs: m[3], body: m[4] };
}

/**
 * The bundle's body: everything after the header.
 *
 * @param bundleText `lib/plot/_vega_bundle.js`
 * @returns the body
 */
export function bundleBody(bundleText: string): string {
  const lines = bundleText.split("\n");
  return lines.slice(HEADER_LINES).join("\n");
}

const HEADER_LINES = 6;

/**
 * Builds the bundle's text from the current entry, deno.json and deno.lock.
 *
 * @param options `frozen`: refuse to touch deno.lock (for the freshness
 *   test); `env`: extra environment for `deno bundle`
 * @returns the text to write to `lib/plot/_vega_bundle.js`
 * @throws {Error} with deno's message when `deno bundle` fails
 */
export async function plotBundleModule(
  options: { frozen?: boolean; env?: Record<string, string> } = {},
): Promise<string> {
  const versions = pinnedVersions(await Deno.readTextFile(CONFIG));
  const result = await new Deno.Command("deno", {
    args: [
      "bundle",
      "--quiet",
      "--minify",
      "--platform",
      "deno",
      "--config",
      CONFIG.pathname,
      ...(options.frozen ? ["--frozen-lockfile"] : []),
      ENTRY.pathname,
    ],
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).output();
  if (!result.success) {
    throw new Error(
      `deno bundle failed: ${new TextDecoder().decode(result.stderr).trim()}`,
    );
  }
  let body = new TextDecoder().decode(result.stdout);
  const count = body.split(CANVAS_IMPORT).length - 1;
  if (count !== 1) {
    throw new Error(
      `Cannot bundle: expected one ${CANVAS_IMPORT} in the bundle, found ${count}`,
    );
  }
  body = body.replace(CANVAS_IMPORT, CANVAS_REPLACEMENT);
  const inputs = await bundleInputsHash({
    entry: await Deno.readTextFile(ENTRY),
    lock: await Deno.readTextFile(LOCK),
    versions,
  });
  const packages = Object.entries(versions).map(([name, version]) =>
    `${name}@${version}`
  ).join(", ");
  return [
    '// @ts-self-types="./_vega_bundle.d.ts"',
    "// Generated by scripts/bundle_plot.ts: do not edit, run `deno task bundle:plot`.",
    `// Packages: ${packages}`,
    `// Built by: deno ${Deno.version.deno} bundle --minify`,
    `// Inputs SHA-256: ${inputs}`,
    `// Body SHA-256: ${await sha256(body)}`,
    body,
  ].join("\n");
}

/**
 * SHA-256 of a text, hex.
 *
 * @param text the text (UTF-8)
 * @returns the digest
 */
export async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const text = await plotBundleModule({ frozen: check });
  const current = await Deno.readTextFile(OUTPUT).catch(() => "");
  if (check) {
    if (current !== text) {
      // deno-lint-ignore no-console
      console.error(
        "lib/plot/_vega_bundle.js is stale: run deno task bundle:plot",
      );
      Deno.exit(1);
    }
  } else if (current !== text) {
    await Deno.writeTextFile(OUTPUT, text);
    // deno-lint-ignore no-console
    console.log(
      `lib/plot/_vega_bundle.js: ${
        new TextEncoder().encode(text).length
      } bytes`,
    );
  }
}
