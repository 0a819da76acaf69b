import assert from "node:assert/strict";
import { generateKeyPairSync, publicEncrypt } from "node:crypto";
import {
  assertPrivateKey,
  assertPublicKey,
  checkAuthToken,
  credentialHash,
  makeAuthToken,
  parseUsersFile,
} from "../lib/auth.ts";

const { publicKey, privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const USERS = parseUsersFile(
  `# test users\r\nmario,${credentialHash("mario", "rossi")}\r\nnocomma\n\n`,
);
const NOW = 1_795_481_127;

Deno.test("credentialHash() is sha256 of {user}password, as iperf3's users file", () => {
  // printf '{mario}rossi' | sha256sum
  assert.equal(
    credentialHash("mario", "rossi"),
    "bf7a49a846d44b454a5d11e7acfaf13d138bbe0b7483aa3e050879700572709b",
  );
});

Deno.test("parseUsersFile() skips comments, empty lines and lines without a comma, tolerates CRLF", () => {
  assert.deepEqual([...USERS.keys()], ["mario"]);
});

Deno.test("makeAuthToken()/checkAuthToken() round-trip with OAEP and with PKCS#1 v1.5", () => {
  for (const pkcs1 of [false, true]) {
    const token = makeAuthToken("mario", "rossi", publicKey, {
      pkcs1,
      now: NOW,
    });
    assert.match(token, /^[A-Za-z0-9+/]{342}==$/); // 256 bytes for a 2048-bit key
    assert.deepEqual(
      checkAuthToken(token, privateKey, USERS, { pkcs1, now: NOW + 3 }),
      {
        ok: true,
        user: "mario",
        ts: NOW,
      },
    );
    // The other padding does not decrypt it: iperf3 <= 3.16 and >= 3.17 do not mix.
    const other = checkAuthToken(token, privateKey, USERS, {
      pkcs1: !pkcs1,
      now: NOW,
    });
    assert.equal(other.ok, false);
  }
});

Deno.test("checkAuthToken() refuses wrong passwords, unknown users, stale times and garbage", () => {
  const check = (token: string | undefined, now = NOW) =>
    checkAuthToken(token, privateKey, USERS, { now });
  const refused = (result: ReturnType<typeof check>, reason: RegExp) => {
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, reason);
  };
  refused(
    check(makeAuthToken("mario", "wrong", publicKey, { now: NOW })),
    /bad credentials for user 'mario'/,
  );
  refused(
    check(makeAuthToken("luigi", "rossi", publicKey, { now: NOW })),
    /bad credentials for user 'luigi'/,
  );
  refused(
    check(makeAuthToken("mario", "rossi", publicKey, { now: NOW - 11 })),
    /11 s off \(allowed 10 s\)/,
  );
  refused(
    check(makeAuthToken("mario", "rossi", publicKey, { now: NOW + 11 })),
    /-11 s off/,
  );
  assert.equal(
    check(makeAuthToken("mario", "rossi", publicKey, { now: NOW - 10 })).ok,
    true,
  );
  refused(check(undefined), /no credentials/);
  refused(check("not base64!"), /does not decrypt/);
  refused(check(btoa("x".repeat(256))), /does not decrypt/);
  refused(
    check(makeAuthToken("mario", "rossi", publicKey).slice(0, 100)),
    /does not decrypt/,
  );
  // Decrypts, but is not user/password/timestamp.
  const odd = publicEncrypt(
    { key: publicKey },
    new TextEncoder().encode("hello"),
  ).toString("base64");
  refused(check(odd), /not user\/password\/timestamp/);
  // A custom skew.
  const late = makeAuthToken("mario", "rossi", publicKey, { now: NOW - 30 });
  assert.equal(
    checkAuthToken(late, privateKey, USERS, { now: NOW, skew: 60 }).ok,
    true,
  );
});

Deno.test("assertPublicKey()/assertPrivateKey() say clearly what is wrong with a key file", () => {
  assertPublicKey(publicKey);
  assertPrivateKey(privateKey);
  assert.throws(
    () => assertPublicKey("not a key"),
    /not an RSA public key in PEM form/,
  );
  assert.throws(
    () => assertPrivateKey(publicKey),
    /not an RSA private key in PEM form/,
  );
  const ec = generateKeyPairSync("ec", {
    namedCurve: "prime256v1",
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  assert.throws(() => assertPublicKey(ec.publicKey), /not an RSA public key/);
});
