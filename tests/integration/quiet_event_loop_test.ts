/**
 * A threaded TCP stream's socket leaves Deno's event loops: while a thread
 * moves its bytes on a duplicate, no epoll set of the process watches the
 * socket under either descriptor. Before, Deno's epoll woke the server's
 * main thread for every segment a receiving thread took (a third of a core
 * at 34 Gbit/s on loopback), time the data-plane threads lost on 2 cores.
 *
 * The server is a child `main.ts -s`; its epoll sets are read from
 * `/proc/<pid>/fdinfo` (`tfd:` lines name the watched descriptors) with
 * `cat` and `ls`, as Deno reads another Deno's /proc only with -A.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runClientSession } from "../../lib/session/client.ts";
import {
  CHILD_HOST as HOST,
  commandText as text,
  withChildServer,
} from "../_support/child_server.ts";
import { tcpParams } from "../_support/server.ts";

/** Streams in each test: each must show up as a duplicated socket. */
const STREAMS = 4;

function skipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux (/proc, epoll)";
  try {
    Deno.dlopen("libc.so.6", {}).close();
  } catch {
    return "libc cannot be opened (no threads to test)";
  }
  return undefined;
}

const skip = skipReason();
if (skip) {
  // deno-lint-ignore no-console
  console.log(`quiet_event_loop_test: skipped: ${skip}`);
}

/** Each descriptor of the process and what it is (`socket:[inode]`, `anon_inode:[eventpoll]`). */
function descriptors(pid: number): Map<number, string> {
  const fds = new Map<number, string>();
  // `ls -l` lines end "N -> target".
  for (const line of text("ls", ["-l", `/proc/${pid}/fd`]).split("\n")) {
    const m = /\s(\d+) -> (.+)$/.exec(line);
    if (m) fds.set(Number(m[1]), m[2] as string);
  }
  return fds;
}

/** Every descriptor some epoll set of the process watches. */
function watched(pid: number, fds: Map<number, string>): Set<number> {
  const out = new Set<number>();
  for (const [fd, target] of fds) {
    if (target !== "anon_inode:[eventpoll]") continue;
    const info = text("cat", [`/proc/${pid}/fdinfo/${fd}`]);
    for (const m of info.matchAll(/^tfd:\s+(\d+)/gm)) out.add(Number(m[1]));
  }
  return out;
}

/** Sockets open under two or more descriptors (Deno's and a thread's duplicate). */
function duplicated(fds: Map<number, string>): Map<string, number[]> {
  const byInode = new Map<string, number[]>();
  for (const [fd, target] of fds) {
    if (!target.startsWith("socket:")) continue;
    byInode.set(target, [...byInode.get(target) ?? [], fd]);
  }
  return new Map([...byInode].filter(([, list]) => list.length > 1));
}

Deno.test({
  name:
    "a threaded TCP stream's socket is in no epoll set of the server while its thread moves it",
  ignore: skip !== undefined,
  async fn(t) {
    await withChildServer(["--data-threads", "2"], async ({ pid, port }) => {
      // The listener is open under several descriptors of Deno's own.
      const baseline = new Set(duplicated(descriptors(pid)).keys());
      for (const reverse of [false, true]) {
        await t.step(
          reverse ? "the server sends (-R)" : "the server receives",
          async () => {
            // The client runs in this process on the loops: only the
            // server's threads are looked at.
            const session = runClientSession({
              host: HOST,
              port,
              interval: 0,
              dataThreads: 0,
              params: tcpParams({ time: 2, parallel: STREAMS, reverse }),
            });
            let seen: Map<string, number[]> = new Map();
            let watchedNow = new Set<number>();
            // Look while the test runs: once its streams are duplicated.
            for (let i = 0; i < 60 && seen.size < STREAMS; i++) {
              await new Promise((r) => setTimeout(r, 25));
              const fds = descriptors(pid);
              seen = new Map(
                [...duplicated(fds)].filter(([k]) => !baseline.has(k)),
              );
              watchedNow = watched(pid, fds);
            }
            await session;
            assert.ok(
              seen.size >= STREAMS,
              `${seen.size} duplicated sockets: the streams never went to threads`,
            );
            for (const [socket, fds] of seen) {
              const inSet = fds.filter((fd) => watchedNow.has(fd));
              assert.deepEqual(
                inSet,
                [],
                `${socket} (descriptors ${fds}) is watched by an epoll set`,
              );
            }
            // The check can fail: the server's listener is in a set.
            assert.ok(watchedNow.size > 0, "no epoll set watches anything");
          },
        );
      }
    });
  },
});
