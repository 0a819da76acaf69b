/**
 * A network path for tests: a namespace joined to this one by a veth pair,
 * impaired with nftables (loss, this kernel has no `tc netem`) and `tc tbf`
 * (rate limit and queueing delay). Every name carries the test process's pid,
 * and everything is removed after each use.
 *
 * @module
 */

import { HAVE_IPERF3 } from "./_iperf3.ts";

/**
 * One namespace path; `prefix` keeps the names of different test files apart.
 *
 * Direct: this side (10.201.77.1) -- veth -- the namespace (10.201.77.2).
 * Routed (`router: true`): this side (10.201.78.1) -- veth -- a router
 * namespace (10.201.78.2 / 10.201.77.1) -- veth -- the namespace
 * (10.201.77.2), so that a queue on the router's way out ({@linkcode
 * NetnsPath.routerOut}) is a real bottleneck: unlike a qdisc on the sending
 * host, TCP Small Queues do not keep it short.
 */
export class NetnsPath {
  /** The namespace's name. */
  readonly ns: string;
  /** The router namespace's name (routed paths). */
  readonly router: string;
  /** The veth end on this side. */
  readonly hostIf: string;
  /** The veth end in the namespace. */
  readonly nsIf: string;
  /** The router's veth end towards the namespace (routed paths). */
  readonly routerOut: string;
  /** The router's veth end towards this side (routed paths): a queue there delays what the namespace sends. */
  readonly routerIn: string;
  /** This side's address. */
  readonly hostAddr: string;
  /** The namespace's address. */
  readonly nsAddr = "10.201.77.2";
  readonly #routed: boolean;

  /**
   * Creates an instance (nothing is made until {@linkcode NetnsPath.use}).
   *
   * @param prefix a short tag, 4 letters at most
   * @param options `router`: put a router namespace in between
   */
  constructor(prefix: string, options: { router?: boolean } = {}) {
    this.ns = `${prefix}${Deno.pid % 100000}`;
    this.router = `${this.ns}r`;
    this.hostIf = `${this.ns}a`;
    this.nsIf = `${this.ns}b`;
    this.routerOut = `${this.ns}c`;
    this.routerIn = `${this.ns}d`;
    this.#routed = options.router ?? false;
    this.hostAddr = this.#routed ? "10.201.78.1" : "10.201.77.1";
  }

  /** Why the path cannot be made here, or undefined when it can. */
  async unavailable(): Promise<string | undefined> {
    if (Deno.build.os !== "linux") return "network namespaces are Linux only";
    if (!HAVE_IPERF3) return "iperf3 is not installed";
    const probe = await ip(["netns", "add", this.ns]);
    if (!probe.ok) {
      return `"ip netns add" is not permitted here: ${probe.text.trim()}`;
    }
    const nft = await ip(["netns", "exec", this.ns, "nft", "--version"]);
    await ip(["netns", "del", this.ns]);
    if (!nft.ok) {
      return `nftables is not installed ("apt-get install nftables"): ${nft.text.trim()}`;
    }
    return undefined;
  }

  /** Builds the namespace(s) and the veth pair(s) for `body`, and removes them after. */
  async use(body: () => Promise<void>): Promise<void> {
    const must = async (args: string[]) => {
      const result = await ip(args);
      if (!result.ok) throw new Error(`ip ${args.join(" ")}: ${result.text}`);
    };
    try {
      await must(["netns", "add", this.ns]);
      if (!this.#routed) {
        await must([
          "link",
          "add",
          this.hostIf,
          "type",
          "veth",
          "peer",
          "name",
          this.nsIf,
        ]);
        await must(["link", "set", this.nsIf, "netns", this.ns]);
        await must(["addr", "add", `${this.hostAddr}/30`, "dev", this.hostIf]);
        await must(["link", "set", this.hostIf, "up"]);
      } else {
        const r = (...args: string[]) =>
          must(["netns", "exec", this.router, ...args]);
        const inRouter = this.routerIn;
        await must(["netns", "add", this.router]);
        await must([
          "link",
          "add",
          this.hostIf,
          "type",
          "veth",
          "peer",
          "name",
          inRouter,
        ]);
        await must(["link", "set", inRouter, "netns", this.router]);
        await must([
          "link",
          "add",
          this.routerOut,
          "type",
          "veth",
          "peer",
          "name",
          this.nsIf,
        ]);
        await must(["link", "set", this.routerOut, "netns", this.router]);
        await must(["link", "set", this.nsIf, "netns", this.ns]);
        await must(["addr", "add", `${this.hostAddr}/30`, "dev", this.hostIf]);
        await must(["link", "set", this.hostIf, "up"]);
        await must(["route", "add", `${this.nsAddr}/32`, "via", "10.201.78.2"]);
        await r("ip", "addr", "add", "10.201.78.2/30", "dev", inRouter);
        await r("ip", "addr", "add", "10.201.77.1/30", "dev", this.routerOut);
        await r("ip", "link", "set", inRouter, "up");
        await r("ip", "link", "set", this.routerOut, "up");
        await r("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
      }
      await this.inNs(
        "ip",
        "addr",
        "add",
        `${this.nsAddr}/30`,
        "dev",
        this.nsIf,
      );
      await this.inNs("ip", "link", "set", this.nsIf, "up");
      await this.inNs("ip", "link", "set", "lo", "up");
      if (this.#routed) {
        await this.inNs("ip", "route", "add", "default", "via", "10.201.77.1");
      }
      await body();
    } finally {
      await ip(["netns", "del", this.ns]);
      if (this.#routed) await ip(["netns", "del", this.router]);
      await ip(["link", "del", this.hostIf]);
      // The host-side table, if a test made one (its chain went with the device).
      await this.hostNft(`delete table netdev ${this.ns}`).catch(() => {});
    }
  }

  /** Runs a command in the router namespace; throws when it fails. */
  async inRouter(...args: string[]): Promise<string> {
    const result = await ip(["netns", "exec", this.router, ...args]);
    if (!result.ok) {
      throw new Error(
        `ip netns exec ${this.router} ${args.join(" ")}: ${result.text}`,
      );
    }
    return result.text;
  }

  /** Runs a command in the namespace; throws when it fails. */
  async inNs(...args: string[]): Promise<string> {
    const result = await ip(["netns", "exec", this.ns, ...args]);
    if (!result.ok) {
      throw new Error(
        `ip netns exec ${this.ns} ${args.join(" ")}: ${result.text}`,
      );
    }
    return result.text;
  }

  /** Runs `nft` in this (the host's) namespace. */
  async hostNft(script: string): Promise<void> {
    const out = await new Deno.Command("nft", {
      args: [script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`nft ${script}: ${new TextDecoder().decode(out.stderr)}`);
    }
  }

  /**
   * A netdev ingress chain on one end of the pair (bound to that device
   * only, so nothing else on the machine is touched); rules are added to it
   * with {@linkcode NetnsPath.nft}.
   *
   * @param end `"namespace"`: traffic into the namespace; `"host"`: into this side
   * @param chain the chain's name
   */
  async ingressChain(end: "namespace" | "host", chain: string): Promise<void> {
    const device = end === "namespace" ? this.nsIf : this.hostIf;
    await this.nft(end, `add table netdev ${this.ns}`);
    await this.nft(
      end,
      `add chain netdev ${this.ns} ${chain} { type filter hook ingress device ${device} priority 0; policy accept; }`,
    );
  }

  /** Runs one nft command on the given end. */
  async nft(end: "namespace" | "host", script: string): Promise<string> {
    if (end === "host") {
      await this.hostNft(script);
      return "";
    }
    return await this.inNs("nft", script);
  }

  /**
   * `ip netns exec NS iperf3 args`, always reaped.
   *
   * @param args iperf3's arguments
   * @param body runs while iperf3 does; gets its completion
   * @returns iperf3's output
   */
  async iperf3(
    args: string[],
    body: (done: Promise<Deno.CommandOutput>) => Promise<void>,
  ): Promise<Deno.CommandOutput> {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", this.ns, "iperf3", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const done = child.output();
    try {
      await body(done);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    }
    return await done;
  }
}

/** Runs `ip args`; never throws. */
export async function ip(
  args: string[],
): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command("ip", {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      ok: out.success,
      text: decoder.decode(out.stdout) + decoder.decode(out.stderr),
    };
  } catch (error) {
    return { ok: false, text: String(error) };
  }
}
