/**
 * `--fq-rate` with iperf3 3.12: its client sends `fqrate` and our server
 * paces its sending socket with -R (SO_MAX_PACING_RATE); our client paces
 * its own sending socket against iperf3's server (3.12's server paces
 * nothing of its own, so -R against it is not a case).
 *
 * @module
 */

import assert from "node:assert/strict";
import { nativeSockets } from "../../lib/net/native.ts";
import {
  endSum,
  freePort,
  interopTest,
  Iperf3,
  iperf3ServerArgs,
  LOOPBACK,
  parseIperf3Json,
  runOurClient,
  withOurServer,
} from "./_iperf3.ts";

const MBIT = 1e6;

interopTest(
  "iperf3 -c --fq-rate 100M -R against our server: our sending socket is paced",
  async () => {
    await withOurServer(async (server) => {
      await using client = new Iperf3([
        "-c",
        LOOPBACK,
        "-p",
        String(server.port),
        "-J",
        "-t",
        "2",
        "-R",
        "--fq-rate",
        "100M",
      ]);
      const result = await client.wait(15_000);
      assert.equal(result.code, 0, result.stderr);
      const rate = endSum(parseIperf3Json(result), "sum_received")
        .bits_per_second;
      // Unpaced, loopback moves 20+ Gbit/s here.
      assert.ok(rate < 130 * MBIT && rate > 40 * MBIT, `${rate / MBIT} Mbit/s`);
    });
  },
  { ignore: nativeSockets() === undefined },
);

interopTest(
  "our client --fq-rate 100M against iperf3 -s: iperf3 receives about 100 Mbit/s",
  async () => {
    // iperf3 3.12's server sets no pacing on its own sockets (-R), so the
    // wire's fqrate is shown where our client sends.
    const port = freePort();
    await using server = new Iperf3(iperf3ServerArgs(port));
    await runOurClient([
      "-c",
      LOOPBACK,
      "-p",
      String(port),
      "-t",
      "2",
      "--fq-rate",
      "100M",
    ], server);
    const theirs = parseIperf3Json(await server.wait());
    const rate = endSum(theirs, "sum_received").bits_per_second;
    assert.ok(rate < 130 * MBIT && rate > 40 * MBIT, `${rate / MBIT} Mbit/s`);
  },
  { ignore: nativeSockets() === undefined },
);
