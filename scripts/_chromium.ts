/**
 * Screenshots of an SVG with headless Chromium (Debian's `chromium`), for
 * tests/plot/chromium_test.ts and scripts/plot_screenshot.ts: a fresh
 * profile directory per run (always removed), no network features, a
 * timeout, and a window the size of the SVG so the picture fills it.
 *
 * @module
 */

/** The command started (found on PATH; Debian's is /usr/bin/chromium). */
export const CHROMIUM = "chromium";

/**
 * Why Chromium cannot be used here, or undefined when it can.
 *
 * @returns the reason, for a skipped test's message
 */
export async function chromiumUnavailable(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(CHROMIUM, {
      args: ["--version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(20_000),
    }).output();
    return out.success
      ? undefined
      : `"${CHROMIUM} --version" exited with ${out.code}`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return `no "${CHROMIUM}" on PATH (apt-get install -y chromium)`;
    }
    if (error instanceof Deno.errors.NotCapable) {
      return `no --allow-run=${CHROMIUM}`;
    }
    return `"${CHROMIUM} --version" failed: ${String(error)}`;
  }
}

/**
 * An SVG document's size, from its root element's `width` and `height`.
 *
 * @param svg the SVG text
 * @returns the size in pixels
 * @throws {TypeError} when the root element has no numeric size
 */
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? "";
  const width = Number(/\swidth="(\d+(?:\.\d+)?)"/.exec(root)?.[1]);
  const height = Number(/\sheight="(\d+(?:\.\d+)?)"/.exec(root)?.[1]);
  if (!(width > 0 && height > 0)) {
    throw new TypeError("Cannot size the SVG: its root has no width/height");
  }
  return { width: Math.ceil(width), height: Math.ceil(height) };
}

/** Options of {@linkcode screenshotSvg}. */
export interface ScreenshotOptions {
  /** The window (and so the PNG) size; the SVG's own by default. */
  width?: number;
  /** The window height. */
  height?: number;
  /** Chromium is killed after this long (default 30 s). */
  timeoutMs?: number;
  /** Kills Chromium early. */
  signal?: AbortSignal;
}

/**
 * Renders an SVG file with headless Chromium and writes a PNG.
 *
 * @param svgPath the SVG file (absolute path)
 * @param pngPath where the PNG goes (absolute path)
 * @param options the window size and the timeout
 * @throws {Error} when Chromium fails, times out or writes no PNG
 */
export async function screenshotSvg(
  svgPath: string,
  pngPath: string,
  options: ScreenshotOptions = {},
): Promise<void> {
  options.signal?.throwIfAborted();
  let { width, height } = options;
  if (width === undefined || height === undefined) {
    const size = svgSize(await Deno.readTextFile(svgPath));
    width ??= size.width;
    height ??= size.height;
  }
  const profile = await Deno.makeTempDir({ prefix: "iperf-ts-chromium-" });
  try {
    const out = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        `--screenshot=${pngPath}`,
        `--window-size=${width},${height}`,
        `file://${svgPath}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.any([
        AbortSignal.timeout(options.timeoutMs ?? 30_000),
        ...(options.signal ? [options.signal] : []),
      ]),
    }).output();
    if (!out.success) {
      throw new Error(
        `chromium exited with ${out.code}${
          out.signal ? ` (${out.signal})` : ""
        }: ${new TextDecoder().decode(out.stderr).trim().slice(-500)}`,
      );
    }
    const info = await Deno.stat(pngPath).catch(() => undefined);
    if (!info?.isFile || info.size === 0) {
      throw new Error(`chromium wrote no screenshot to "${pngPath}"`);
    }
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
