/**
 * `-A n` pins the process as iperf3 does (`sched_setaffinity` on the main
 * thread, before the data-plane Workers start, so they inherit it): read
 * from a child server's `/proc/<pid>/task/<tid>/status` with `cat`, as
 * Deno reads another Deno's /proc only with -A. A CPU that does not exist is
 * one error line and exit 1.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runClientSession } from "../../lib/session/client.ts";
import { nativeSockets } from "../../lib/net/native.ts";
import { cli } from "../_support/cli.ts";
import { tcpParams } from "../_support/server.ts";
import {
  CHILD_HOST as HOST,
  commandText as text,
  withChildServer,
} from "../_support/child_server.ts";

const skip = Deno.build.os !== "linux" || nativeSockets() === undefined;

/** Each thread's name and allowed CPUs. */
function threads(pid: number): { comm: string; cpus: string }[] {
  return text("ls", [`/proc/${pid}/task`]).split("\n").filter((t) => t).map(
    (tid) => {
      const status = text("cat", [`/proc/${pid}/task/${tid}/status`]);
      return {
        comm: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "",
        cpus: /^Cpus_allowed_list:\s+(.*)$/m.exec(status)?.[1] ?? "",
      };
    },
  );
}

Deno.test({
  name:
    "-A pins the server's main thread and its data-plane threads to the CPU",
  ignore: skip,
  async fn() {
    const cpu = navigator.hardwareConcurrency > 1 ? 1 : 0;
    await withChildServer([
      "-A",
      String(cpu),
      "--data-threads",
      "2",
    ], async ({ pid, port }) => {
      let outcome;
      for (let i = 0; i < 100 && !outcome; i++) {
        try {
          outcome = await runClientSession({
            host: HOST,
            port,
            interval: 0,
            dataThreads: 0,
            params: tcpParams({ bytes: 8 << 20, parallel: 2 }),
          });
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      assert.ok(outcome, "the server never served");
      const list = threads(pid);
      const workers = list.filter((t) => t.comm.startsWith("worker"));
      assert.ok(workers.length >= 2, `threads: ${JSON.stringify(list)}`);
      for (const w of workers) assert.equal(w.cpus, String(cpu), w.comm);
      // The main thread is the first task, named after the program.
      assert.equal(list[0]?.cpus, String(cpu), "main thread");
    });
  },
});

Deno.test({
  name: "-A with a CPU that does not exist is one error line and exit 1",
  ignore: skip,
  async fn() {
    const run = await cli(["-c", HOST, "-p", "1", "-A", "1000"]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      "iperf3: error - unable to set CPU affinity: Invalid argument\n",
    );
    const bad = await cli(["-c", HOST, "-A", "x"]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^iperf3: parameter error - unable to set CPU affinity/,
    );
  },
});
