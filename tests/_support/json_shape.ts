/**
 * The shape of an iperf3 `-J` document: every key path with its JSON type
 * (array elements folded into `[]`), and the key order of the objects
 * iperf3 fills from TCP_INFO. Shared by the interop tests against iperf3
 * 3.12, the test against the captured iperf3 3.21 shapes, and the script
 * that captures them (`scripts/capture_json_shapes.ts`).
 *
 * @module
 */

/** A parsed document. */
// deno-lint-ignore no-explicit-any
export type Doc = any;

/**
 * `path:type` for every value in a parsed document; array elements folded
 * into `[]`.
 *
 * @param value the document
 * @returns the entries
 */
export function shape(value: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown, p: string) => {
    if (Array.isArray(v)) {
      out.add(`${p}:array`);
      for (const item of v) visit(item, `${p}[]`);
    } else if (v !== null && typeof v === "object") {
      if (p) out.add(`${p}:object`);
      for (const [k, inner] of Object.entries(v)) {
        visit(inner, p ? `${p}.${k}` : k);
      }
    } else {
      out.add(`${p}:${v === null ? "null" : typeof v}`);
    }
  };
  visit(value, "");
  return out;
}

function keys(o: unknown): string[] {
  return o !== null && typeof o === "object" ? Object.keys(o) : [];
}

/** The key order of the objects iperf3 fills from TCP_INFO, by name. */
export type KeyOrders = Record<string, string[]>;

/**
 * The key orders of a document's first interval stream and sum, first
 * end sender and `sum_sent`, and its congestion keys.
 *
 * @param d the document
 * @returns the orders
 */
export function keyOrders(d: Doc): KeyOrders {
  return {
    interval: keys(d.intervals?.[0]?.streams?.[0]),
    sum: keys(d.intervals?.[0]?.sum),
    sender: keys(d.end?.streams?.[0]?.sender),
    sumSent: keys(d.end?.sum_sent),
    end: keys(d.end).filter((k) => k.endsWith("_tcp_congestion")),
  };
}

/**
 * Whether `theirs` appears in `ours` in the same relative order (ours may
 * hold more keys, as a superset of an older iperf3 does).
 *
 * @param theirs the reference order
 * @param ours our order
 * @returns the keys of theirs that are missing or out of order, empty when none
 */
export function outOfOrder(theirs: string[], ours: string[]): string[] {
  const bad: string[] = [];
  let at = 0;
  for (const key of theirs) {
    const found = ours.indexOf(key, at);
    if (found < 0) bad.push(key);
    else at = found + 1;
  }
  return bad;
}
