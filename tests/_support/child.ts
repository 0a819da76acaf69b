/**
 * `Child`: a command run for the length of a test, whose output is kept and
 * which is always stopped and reaped (`await using`).
 *
 * @module
 */

/** A child process that is always killed and reaped, with its output. */
export class Child implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<string>;

  /**
   * Starts `command` with stdin closed and stdout and stderr kept.
   *
   * @param command the program
   * @param args its arguments
   */
  constructor(command: string, args: string[]) {
    this.#child = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const decoder = new TextDecoder();
    this.#output = this.#child.output().then((out) =>
      decoder.decode(out.stdout) + decoder.decode(out.stderr)
    );
  }

  /**
   * Everything it printed (stdout, then stderr), once it exits; it is
   * killed after `ms`.
   *
   * @param ms how long it may run
   * @returns its output
   */
  async output(ms: number): Promise<string> {
    const timer = setTimeout(() => this.#kill("SIGKILL"), ms);
    try {
      return await this.#output;
    } finally {
      clearTimeout(timer);
    }
  }

  #kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
  }

  /** SIGTERM, then SIGKILL after 5 s, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#kill("SIGTERM");
    await this.output(5000);
  }
}
