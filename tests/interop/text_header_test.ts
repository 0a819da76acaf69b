/**
 * The interval header of a receiving client as iperf3 prints it: iperf3
 * prints a test's last interval after the results exchange, so when that is
 * also its first (`-t 1 -R`) the header takes the server's
 * `sender_has_retransmits` and carries `Retr  Cwnd` (with blank columns);
 * with `-t 2 -R` the first interval comes before the exchange, without.
 *
 * @module
 */

import assert from "node:assert/strict";
import { nativeSockets } from "../../lib/net/native.ts";
import {
  freePort,
  interopTest,
  Iperf3,
  iperf3ServerArgs,
  LOOPBACK,
  runOurClient,
} from "./_iperf3.ts";

/** iperf3's own client's header line for `flags`, against its own server. */
async function theirHeader(flags: string[]): Promise<string | undefined> {
  const port = freePort();
  await using server = new Iperf3(iperf3ServerArgs(port));
  let result;
  for (let i = 0; i < 20; i++) {
    await using client = new Iperf3([
      "-c",
      LOOPBACK,
      "-p",
      String(port),
      ...flags,
    ]);
    result = await client.wait(15_000);
    // iperf3 says so on stderr while the server is not listening yet.
    if (!(result.stdout + result.stderr).includes("Connection refused")) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await server.wait();
  return result?.stdout.split("\n").find((l) => l.startsWith("[ ID]"));
}

interopTest(
  "our client's -R interval header matches iperf3's: Retr  Cwnd with -t 1, none with -t 2",
  async (t) => {
    for (const time of ["1", "2"]) {
      await t.step(`-t ${time} -R`, async () => {
        const flags = ["-t", time, "-R"];
        const theirs = await theirHeader(flags);
        const port = freePort();
        await using server = new Iperf3(iperf3ServerArgs(port));
        const ours = await runOurClient(
          ["-c", LOOPBACK, "-p", String(port), ...flags],
          server,
        );
        await server.wait();
        const header = ours.lines.find((l) => l.startsWith("[ ID]"));
        assert.equal(header, theirs);
        assert.equal(header?.endsWith("Retr  Cwnd"), time === "1");
      });
    }
  },
  { ignore: nativeSockets() === undefined },
);
