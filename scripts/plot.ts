/**
 * Draws a saved run: `deno task plot IN.json OUT.svg` (or `OUT.html`), the
 * same as `iperf3 --plot-from IN.json --plot OUT.svg`. IN is a `-J`
 * document or `--json-stream` output; see docs/plots.md.
 *
 * Usage: deno task plot IN.json OUT.svg
 *
 * @module
 */

import { PlotError } from "../lib/errors.ts";
import { readPlotInput } from "../lib/plot/read_input.ts";
import { plotFormat, writePlot } from "../lib/plot/render.ts";

const USAGE = "usage: deno task plot IN.json OUT.svg|OUT.html";

/**
 * Runs the script.
 *
 * @param args `IN OUT`
 * @param stderr where the one error line goes
 * @returns the exit code
 */
export async function plotMain(
  args: readonly string[],
  stderr: (text: string) => void,
): Promise<number> {
  const [input, output, extra] = args;
  if (input === undefined || output === undefined || extra !== undefined) {
    stderr(`${USAGE}\n`);
    return 1;
  }
  if (plotFormat(output) === undefined) {
    stderr(`plot: error - "${output}" must end in .svg or .html\n`);
    return 1;
  }
  try {
    await writePlot(await readPlotInput(input), output);
    return 0;
  } catch (error) {
    if (!(error instanceof PlotError)) throw error;
    stderr(`plot: error - ${error.message}\n`);
    return 1;
  }
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const stderr = (text: string) => {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.byteLength) {
      written += Deno.stderr.writeSync(bytes.subarray(written));
    }
  };
  Deno.exit(await plotMain(Deno.args, stderr));
}
