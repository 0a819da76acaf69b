/**
 * iperf3's authentication: the client encrypts "user, password, timestamp"
 * with the server's RSA public key and sends it base64 as `authtoken`; the
 * server decrypts it, checks the time skew and looks up
 * sha256("{user}password") in its users file. OAEP padding by default (as
 * iperf3 3.17+, after CVE-2024-26306), PKCS#1 v1.5 on request (iperf3 <= 3.16).
 *
 * @module
 */

import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  timingSafeEqual,
} from "node:crypto";

/** Options shared by token creation and checking. */
export interface AuthPaddingOptions {
  /** PKCS#1 v1.5 instead of OAEP (`--use-pkcs1-padding`). */
  pkcs1?: boolean;
}

/** Options of {@linkcode makeAuthToken}. */
export interface MakeTokenOptions extends AuthPaddingOptions {
  /** The Unix time to put in the token (default now). */
  now?: number;
}

/**
 * The `authtoken` a client sends: the text `user: U\npwd:  P\nts:   T`
 * (iperf3's spacing) RSA-encrypted with the server's public key, base64.
 *
 * @param user the user name
 * @param password the password
 * @param publicKeyPem the server's public key (PEM)
 * @param options padding and time
 * @returns the base64 token
 */
export function makeAuthToken(
  user: string,
  password: string,
  publicKeyPem: string,
  options: MakeTokenOptions = {},
): string {
  const ts = options.now ?? Math.floor(Date.now() / 1000);
  const plain = new TextEncoder().encode(
    `user: ${user}\npwd:  ${password}\nts:   ${ts}`,
  );
  const encrypted = publicEncrypt({
    key: publicKeyPem,
    padding: padding(options),
  }, plain);
  return encrypted.toString("base64");
}

/** Options of {@linkcode checkAuthToken}. */
export interface CheckTokenOptions extends AuthPaddingOptions {
  /** Seconds the token's time may differ from ours (`--time-skew-threshold`, default 10). */
  skew?: number;
  /** Our Unix time (default now). */
  now?: number;
}

/** What checking a token found. */
export type AuthCheck =
  | {
    /** The credentials are good. */
    ok: true;
    /** Who. */
    user: string;
    /** The token's time. */
    ts: number;
  }
  | {
    /** Refused. */
    ok: false;
    /** Why (for the server's log). */
    reason: string;
  };

/**
 * Checks a client's token against the private key and the users file.
 *
 * @param token the base64 `authtoken`, or undefined when none was sent
 * @param privateKeyPem the server's private key (PEM)
 * @param users user name to sha256 hex of `{user}password`
 * @param options padding, skew and time
 * @returns the outcome, never throws
 */
export function checkAuthToken(
  token: string | undefined,
  privateKeyPem: string,
  users: ReadonlyMap<string, string>,
  options: CheckTokenOptions = {},
): AuthCheck {
  if (token === undefined) return { ok: false, reason: "no credentials sent" };
  let plain: string;
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) throw new Error("not base64");
    const bytes = Uint8Array.from(atob(token), (c) => c.charCodeAt(0));
    plain = new TextDecoder("utf-8", { fatal: true }).decode(
      privateDecrypt({ key: privateKeyPem, padding: padding(options) }, bytes),
    );
  } catch {
    return {
      ok: false,
      reason: "the token does not decrypt with this key and padding",
    };
  }
  // iperf3 reads the fields with sscanf("%s"), so no whitespace inside them.
  const m = /^user: (\S+)\npwd: {2}(\S+)\nts: {3}(\d+)$/.exec(plain);
  if (!m) {
    return { ok: false, reason: "the token is not user/password/timestamp" };
  }
  const [, user = "", password = "", tsText = ""] = m;
  const ts = Number(tsText);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const skew = options.skew ?? 10;
  if (Math.abs(now - ts) > skew) {
    return {
      ok: false,
      reason: `the token's time is ${now - ts} s off (allowed ${skew} s)`,
    };
  }
  const expected = users.get(user);
  const actual = credentialHash(user, password);
  // Compare in constant time, and do the work even for an unknown user.
  const a = new TextEncoder().encode(actual);
  const b = new TextEncoder().encode(expected ?? "0".repeat(64));
  const same = a.byteLength === b.byteLength && timingSafeEqual(a, b);
  if (!same || expected === undefined) {
    return { ok: false, reason: `bad credentials for user '${user}'` };
  }
  return { ok: true, user, ts };
}

/**
 * The users-file hash of a user's password: sha256 of `{user}password`, hex.
 *
 * @param user the user name
 * @param password the password
 * @returns 64 lowercase hex digits
 */
export function credentialHash(user: string, password: string): string {
  return createHash("sha256").update(`{${user}}${password}`).digest("hex");
}

/**
 * Reads an iperf3 users file: `user,sha256hex` lines; `#` comments, empty
 * lines and lines without a comma are skipped; CRLF is tolerated.
 *
 * @param text the file's content
 * @returns user name to hash
 */
export function parseUsersFile(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const comma = line.indexOf(",");
    if (comma < 0) continue;
    users.set(line.slice(0, comma), line.slice(comma + 1).trim().toLowerCase());
  }
  return users;
}

/**
 * Checks that a PEM text is an RSA public key.
 *
 * @param pem the file's content
 * @throws {TypeError} with a one-line reason when it is not
 */
export function assertPublicKey(pem: string): void {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== "rsa") {
      throw new Error(`a ${key.asymmetricKeyType} key`);
    }
  } catch (error) {
    throw new TypeError(`not an RSA public key in PEM form (${reason(error)})`);
  }
}

/**
 * Checks that a PEM text is an RSA private key.
 *
 * @param pem the file's content
 * @throws {TypeError} with a one-line reason when it is not
 */
export function assertPrivateKey(pem: string): void {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "rsa") {
      throw new Error(`a ${key.asymmetricKeyType} key`);
    }
  } catch (error) {
    throw new TypeError(
      `not an RSA private key in PEM form (${reason(error)})`,
    );
  }
}

function padding(options: AuthPaddingOptions): number {
  return options.pkcs1
    ? constants.RSA_PKCS1_PADDING
    : constants.RSA_PKCS1_OAEP_PADDING;
}

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split(
    "\n",
  )[0] ?? "";
}
