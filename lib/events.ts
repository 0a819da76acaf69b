/**
 * What a test session tells its observers, in protocol order. Reporters turn
 * these into iperf3's text or JSON; the library hands them to callers.
 *
 * @module
 */

import type { TestParams } from "./protocol/params.ts";
import type { IntervalReport } from "./stats/interval.ts";
import type { LatencyReport } from "./stats/latency.ts";
import type { TestSummary } from "./stats/summary.ts";

/** A network endpoint as printed: address and port. */
export interface Endpoint {
  /** IP address (IPv4-mapped IPv6 addresses shown as plain IPv4). */
  hostname: string;
  /** Port number. */
  port: number;
}

/** Which end of the test this side is. */
export type Role = "client" | "server";

/** A socket's SO_SNDBUF and SO_RCVBUF as the kernel reports them. */
export interface SocketBuffers {
  /** SO_SNDBUF. */
  sndbuf: number;
  /** SO_RCVBUF. */
  rcvbuf: number;
}

/** One event of a test session, tagged by `kind`. */
export type SessionEvent =
  | {
    /** The server is (again) waiting for a client. */
    kind: "listening";
    /** The listening port. */
    port: number;
    /** 1 for the first test, then counting up. */
    testNumber: number;
  }
  | {
    /** The client's control connection is up and the parameters are set. */
    kind: "connected";
    /** The host as given on the command line. */
    host: string;
    /** The server port. */
    port: number;
    /** The test's cookie. */
    cookie: string;
    /** The test as sent to the server. */
    params: TestParams;
    /** The control connection's TCP MSS, 0 when it cannot be read. */
    controlMss?: number;
    /** Why this side has no TCP_INFO (no Retr/Cwnd/RTT figures); absent when it has. */
    noTcpInfo?: string;
  }
  | {
    /** The server accepted a test's parameters. */
    kind: "accepted";
    /** The client's control connection. */
    remote: Endpoint;
    /** The test's cookie. */
    cookie: string;
    /** The test as the client asked for it. */
    params: TestParams;
    /** Why this side has no TCP_INFO (no Retr/Cwnd/RTT figures); absent when it has. */
    noTcpInfo?: string;
    /** The data sockets' buffer sizes as the kernel reports them (`sndbuf_actual`, `rcvbuf_actual`). */
    buffers?: SocketBuffers;
  }
  | {
    /** A data stream is connected. */
    kind: "stream";
    /** The stream id (1, 3, 4, ...). */
    id: number;
    /** The printed socket number. */
    socket: number;
    /** Whether this side sends on it. */
    sender: boolean;
    /** This side's address. */
    local: Endpoint;
    /** The peer's address. */
    remote: Endpoint;
    /** The socket's buffer sizes as the kernel reports them (`sndbuf_actual`, `rcvbuf_actual`). */
    buffers?: SocketBuffers;
  }
  | {
    /** All streams are up; the test starts (TEST_START). */
    kind: "start";
  }
  | {
    /** One reporting interval ended. */
    kind: "interval";
    /** The figures. */
    report: IntervalReport;
  }
  | {
    /** The test ended; totals for the summary. */
    kind: "summary";
    /** The figures. */
    summary: TestSummary;
  }
  | {
    /** `--latency`: the test's latency figures, after the summary. */
    kind: "latency";
    /** The figures. */
    report: LatencyReport;
  }
  | {
    /** The peer interrupted the test (CLIENT_TERMINATE or SERVER_TERMINATE). */
    kind: "terminated";
    /** Which side was interrupted. */
    by: Role;
  }
  | {
    /** The server's own report of the test (`--get-server-output`), after the summary. */
    kind: "server-output";
    /** The server's text lines, when it printed text. */
    text?: string;
    /** The server's JSON document, when it printed JSON. */
    json?: unknown;
  }
  | {
    /** The client finished the test (after the summary). */
    kind: "done";
  }
  | {
    /** The server finished with one test, successfully or not. */
    kind: "ended";
  };

/** Receives a session's events. */
export type EventSink = (event: SessionEvent) => void;

/** Why the server turned a test away before it started (a handshake timeout is its own event). */
export type RefusalReason = "busy" | "auth" | "parameters" | "shed";

/** The handshake step in which a peer let its deadline pass. */
export type HandshakeStep = "cookie" | "parameters" | "streams";

/**
 * What a server does that its tests' events do not tell, tagged by `kind`:
 * refusals, handshake timeouts and errors, for an observer such as the
 * metrics (`ServeOptions.observer`).
 */
export type ServerEvent =
  | {
    /** The server started serving. */
    kind: "serving";
    /** The listening port. */
    port: number;
    /** How many handshakes wait at this moment (connections before their cookie, tests before TEST_START). */
    handshakes: () => number;
  }
  | {
    /**
     * A connection or test was turned away before TEST_START: every slot
     * taken (ACCESS_DENIED), credentials refused (IEAUTHTEST), parameters
     * refused (bad, or over the server's limits), or closed to make room
     * for other handshakes.
     */
    kind: "refused";
    /** Why. */
    reason: RefusalReason;
    /** The test's number, when it had one. */
    test?: number;
  }
  | {
    /** A handshake step waited longer than the handshake deadline; the connection was closed. */
    kind: "handshake-timeout";
    /** The step: the cookie, the parameters, or the test's streams. */
    step: HandshakeStep;
    /** The test's number, when it had one. */
    test?: number;
  }
  | {
    /**
     * A test ended in an error (what `onTestError` gets), or a connection
     * failed before its cookie was read (garbage, closed early).
     */
    kind: "error";
    /** The error. */
    error: unknown;
    /** The test's number; absent for a connection without a cookie. */
    test?: number;
  }
  | {
    /** Accepting a connection failed (a reset before accept, out of descriptors). */
    kind: "accept-error";
    /** The error. */
    error: unknown;
  };
