import assert from "node:assert/strict";
import {
  AccessDeniedError,
  ERROR_CODES,
  InterruptedError,
  IperfError,
} from "../../lib/errors.ts";
import type { SessionEvent } from "../../lib/events.ts";
import { runClientSession } from "../../lib/session/client.ts";
import type { TestSummary } from "../../lib/stats/summary.ts";
import { withinAttempts } from "../_support/retry.ts";
import { tcpParams, waitForEvents, withServer } from "../_support/server.ts";

function serverSummaries(events: SessionEvent[]): TestSummary[] {
  return events.flatMap((e) => e.kind === "summary" ? [e.summary] : []);
}

function total(
  summary: TestSummary,
  sender: boolean,
  field: "bytesSent" | "bytesReceived",
): number {
  return summary.streams.filter((s) => s.sender === sender).reduce(
    (n, s) => n + s[field],
    0,
  );
}

Deno.test("runClientSession() against our server: every mode moves and reports the same bytes", async (t) => {
  await withServer(async (server) => {
    const cases = [
      {
        name: "default, -n 40M",
        params: tcpParams({ bytes: 40 * 1024 * 1024 }),
      },
      {
        name: "-P 3 -n 40M",
        params: tcpParams({ bytes: 40 * 1024 * 1024, parallel: 3 }),
      },
      {
        name: "-R -n 40M",
        params: tcpParams({ bytes: 40 * 1024 * 1024, reverse: true }),
      },
      {
        name: "--bidir -t 1",
        params: tcpParams({ time: 1, bidirectional: true }),
      },
      { name: "-k 100", params: tcpParams({ blocks: 100 }) },
    ];
    for (const [index, c] of cases.entries()) {
      await t.step(c.name, async () => {
        const outcome = await runClientSession({
          host: "127.0.0.1",
          port: server.port,
          interval: 0,
          params: c.params,
        });
        await waitForEvents(server, "summary", index + 1);
        const serverSummary = serverSummaries(
          server.events,
        )[index] as TestSummary;
        assert.equal(server.errors.length, 0, String(server.errors[0]));
        const streams = c.params.parallel * (c.params.bidirectional ? 2 : 1);
        assert.equal(outcome.summary.streams.length, streams);
        assert.equal(outcome.serverResults.streams.length, streams);
        // Whatever one side reported about its own streams reached the
        // other side unchanged in the results exchange. The server prints
        // its summary before the exchange, so it only knows its local side.
        const clientSendsTo = !c.params.reverse;
        if (clientSendsTo) {
          assert.equal(
            total(outcome.summary, true, "bytesReceived"),
            total(serverSummary, false, "bytesReceived"),
          );
        } else {
          assert.equal(
            total(outcome.summary, false, "bytesSent"),
            total(serverSummary, true, "bytesSent"),
          );
        }
        const sent = total(outcome.summary, clientSendsTo, "bytesSent");
        const received = total(outcome.summary, clientSendsTo, "bytesReceived");
        assert.ok(sent > 0, "nothing sent");
        assert.ok(received <= sent, `received ${received} > sent ${sent}`);
        assert.ok(received >= sent * 0.8, `received ${received} of ${sent}`);
        if (c.params.bytes) {
          assert.ok(sent >= c.params.bytes, `sent ${sent} < ${c.params.bytes}`);
          assert.ok(sent < c.params.bytes + streams * c.params.length);
        }
        if (c.params.blocks && !c.params.reverse) {
          assert.equal(sent, c.params.blocks * c.params.length);
        }
      });
    }
  });
});

Deno.test("serve() with --max-tests 1 answers ACCESS_DENIED to a second client, as iperf3", async () => {
  await withServer(async (server) => {
    const first = runClientSession({
      host: "127.0.0.1",
      port: server.port,
      interval: 0,
      params: tcpParams({ time: 1 }),
    });
    await waitForEvents(server, "start", 1);
    await assert.rejects(
      runClientSession({
        host: "127.0.0.1",
        port: server.port,
        interval: 0,
        params: tcpParams({ time: 1 }),
      }),
      AccessDeniedError,
    );
    const outcome = await first;
    assert.ok((outcome.summary.streams[0]?.bytesSent ?? 0) > 0);
  }, { maxTests: 1 });
});

Deno.test("serve() runs tests side by side, TCP and UDP, each with its own figures", async () => {
  // The TCP tests are paced: unpaced, their data-plane threads take both
  // cores of a small machine, and the UDP tests (on the event loop) lose
  // datagrams for want of CPU, not because of cross-talk. Paced, a busy
  // machine can still make one run lose more than 1 %: every run is checked
  // in full (cross-talk shows as datagrams out of order at once), and the
  // loss bound gets at most 3 runs.
  await withinAttempts(3, async () => {
    const losses: string[] = [];
    await withServer(async (server) => {
      const clients = [
        tcpParams({ time: 1, bandwidth: 1_000_000_000 }),
        tcpParams({
          time: 1,
          reverse: true,
          parallel: 2,
          bandwidth: 500_000_000,
        }),
        tcpParams({
          protocol: "udp",
          length: 1460,
          bandwidth: 20_000_000,
          time: 1,
        }),
        tcpParams({
          protocol: "udp",
          length: 1200,
          bandwidth: 10_000_000,
          time: 1,
          reverse: true,
        }),
        tcpParams({
          protocol: "udp",
          length: 1000,
          bandwidth: 5_000_000,
          time: 1,
          parallel: 2,
        }),
      ].map((params) =>
        runClientSession({
          host: "127.0.0.1",
          port: server.port,
          interval: 0,
          params,
        })
      );
      const outcomes = await Promise.all(clients);
      assert.equal(server.errors.length, 0, String(server.errors[0]));
      for (const outcome of outcomes) {
        const streams = outcome.summary.streams;
        assert.ok(streams.length >= 1);
        for (const s of streams) {
          assert.ok(
            s.bytesReceived > 0 && s.bytesReceived <= s.bytesSent,
            JSON.stringify(s),
          );
          if (s.udp) {
            // No cross-talk: each UDP stream saw only its own sequence numbers.
            assert.equal(s.udp.outOfOrder, 0);
            if (s.udp.lost > s.udp.senderPackets * 0.01) {
              losses.push(JSON.stringify(s.udp));
            }
          }
        }
      }
      await waitForEvents(server, "ended", 5);
    });
    return losses.length > 0
      ? `lost over 1 %: ${losses.join(", ")}`
      : undefined;
  });
});

Deno.test("runClientSession() interrupted by its signal sends CLIENT_TERMINATE and the server goes on", async () => {
  await withServer(async (server) => {
    const controller = new AbortController();
    const events: SessionEvent[] = [];
    const running = runClientSession(
      {
        host: "127.0.0.1",
        port: server.port,
        interval: 0,
        params: tcpParams({ time: 5 }),
      },
      { signal: controller.signal, emit: (e) => events.push(e) },
    );
    await waitForEvents(server, "start", 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    await assert.rejects(
      running,
      (error: unknown) =>
        error instanceof InterruptedError &&
        error.code === ERROR_CODES.IECLIENTTERM,
    );
    // The client still printed a partial summary with its own bytes.
    const partial = events.find((e) => e.kind === "summary");
    assert.ok(
      partial && partial.kind === "summary" &&
        (partial.summary.streams[0]?.bytesSent ?? 0) > 0,
    );
    // The server reports the test's error before its "ended" event (its
    // summary comes earlier, while it still closes the streams).
    await waitForEvents(server, "ended", 1);
    assert.ok(server.errors.some((e) => e instanceof InterruptedError));
    const next = await runClientSession({
      host: "127.0.0.1",
      port: server.port,
      interval: 0,
      params: tcpParams({ bytes: 1 << 20 }),
    });
    assert.ok((next.summary.streams[0]?.bytesReceived ?? 0) >= 1 << 20);
  });
});

Deno.test("serve() stopping mid-test sends SERVER_TERMINATE to the client", async () => {
  const events: SessionEvent[] = [];
  let running: Promise<unknown> | undefined;
  await withServer(async (server) => {
    running = runClientSession(
      {
        host: "127.0.0.1",
        port: server.port,
        interval: 0,
        params: tcpParams({ time: 5 }),
      },
      { emit: (e) => events.push(e) },
    );
    running.catch(() => {});
    await waitForEvents(server, "start", 1);
  });
  await assert.rejects(
    running as Promise<unknown>,
    (error: unknown) =>
      error instanceof IperfError && error.code === ERROR_CODES.IESERVERTERM,
  );
  assert.ok(events.some((e) => e.kind === "summary"));
});

Deno.test("runClientSession() reports a refused connection with iperf3's message", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await assert.rejects(
    runClientSession({
      host: "127.0.0.1",
      port,
      interval: 0,
      params: tcpParams({ time: 1 }),
    }),
    (error: unknown) =>
      error instanceof IperfError && error.code === ERROR_CODES.IECONNECT &&
      error.iperfText.endsWith(": Connection refused"),
  );
});

/** A port p where p and p + 1 are both free on 127.0.0.1, from 20000 to 32000. */
function freePortPair(): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const p = 20000 + Math.floor(Math.random() * 12000);
    try {
      const a = Deno.listen({ hostname: "127.0.0.1", port: p });
      try {
        Deno.listen({ hostname: "127.0.0.1", port: p + 1 }).close();
        return p;
      } finally {
        a.close();
      }
    } catch {
      // Taken: try another.
    }
  }
  throw new Error("no two free ports in a row between 20000 and 32000");
}

Deno.test("runClientSession() binds its streams to -B and --cport, one port per stream", async () => {
  await withServer(async (server) => {
    // Two free ports in a row, below the ephemeral range (32768+), so that
    // the control connection's own port cannot land on the second one.
    const cport = freePortPair();
    const outcome = await runClientSession({
      host: "127.0.0.1",
      port: server.port,
      interval: 0,
      bindAddress: "127.0.0.1",
      cport,
      params: tcpParams({ bytes: 8 << 20, parallel: 2, reverse: true }),
    });
    const remotePorts = server.events.flatMap((e) =>
      e.kind === "stream" ? [e.remote.port] : []
    );
    assert.deepEqual(remotePorts, [cport, cport + 1]);
    assert.ok(total(outcome.summary, false, "bytesReceived") > 0);
  });
});

Deno.test("runClientSession() reports a --cport that is taken as iperf3 does", async () => {
  await withServer(async (server) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      await assert.rejects(
        runClientSession({
          host: "127.0.0.1",
          port: server.port,
          interval: 0,
          cport: taken.addr.port,
          params: tcpParams({ bytes: 1 << 20 }),
        }),
        (error: unknown) =>
          error instanceof IperfError &&
          error.code === ERROR_CODES.IESTREAMCONNECT &&
          error.iperfText ===
            "unable to connect stream: Address already in use",
      );
    } finally {
      taken.close();
    }
  });
});

Deno.test("runClientSession() UDP against our server: datagram counts, loss and jitter travel intact", async (t) => {
  await withServer(async (server) => {
    const cases = [
      {
        name: "-u -b 20M -t 1",
        params: tcpParams({
          protocol: "udp",
          length: 1460,
          bandwidth: 20_000_000,
          time: 1,
        }),
      },
      {
        name: "-u -R -P 2 -n 2M",
        params: tcpParams({
          protocol: "udp",
          length: 1460,
          bandwidth: 50_000_000,
          bytes: 2 << 20,
          reverse: true,
          parallel: 2,
        }),
      },
      {
        name: "-u --bidir -k 500 --udp-counters-64bit",
        params: tcpParams({
          protocol: "udp",
          length: 1200,
          bandwidth: 50_000_000,
          blocks: 500,
          bidirectional: true,
          udpCounters64bit: true,
        }),
      },
    ];
    for (const [index, c] of cases.entries()) {
      await t.step(c.name, async () => {
        const outcome = await runClientSession({
          host: "127.0.0.1",
          port: server.port,
          interval: 0,
          params: c.params,
        });
        await waitForEvents(server, "summary", index + 1);
        assert.equal(server.errors.length, 0, String(server.errors[0]));
        const serverSummary = serverSummaries(
          server.events,
        )[index] as TestSummary;
        for (const s of outcome.summary.streams) {
          assert.ok(s.udp, "UDP figures");
          const mine = serverSummary.streams.find((x) => x.id === s.id);
          assert.ok(mine?.udp);
          if (s.sender) {
            // The server received; its counts came back in the exchange.
            assert.equal(s.udp.receiverPackets, mine.udp.receiverPackets);
            assert.equal(s.udp.lost, mine.udp.lost);
            assert.equal(s.udp.jitter, mine.udp.jitter);
            assert.ok(s.udp.senderPackets >= s.udp.receiverPackets);
          } else {
            assert.equal(s.udp.senderPackets, mine.udp.senderPackets);
            assert.equal(s.bytesSent, mine.bytesSent);
          }
          assert.ok(s.udp.receiverPackets > 0);
        }
        if (c.params.blocks) {
          const sent = outcome.summary.streams.filter((s) => s.sender);
          assert.ok(
            sent.every((s) => (s.udp?.senderPackets ?? 0) <= c.params.blocks),
          );
        }
      });
    }
  });
});
