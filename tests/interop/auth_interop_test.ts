/**
 * Authentication against the real iperf3 3.12 (PKCS#1 v1.5 padding, which
 * iperf3 <= 3.16 uses: our side runs with --use-pkcs1-padding), both ways,
 * good and wrong passwords; and ours against ours with the default OAEP.
 * Keys are made with openssl in the test.
 *
 * @module
 */

import assert from "node:assert/strict";
import { credentialHash } from "../../lib/auth.ts";
import { runCli } from "../../lib/cli/run.ts";
import { freePort, interopTest, Iperf3, LOOPBACK, sleep } from "./_iperf3.ts";

interface Keys {
  dir: string;
  priv: string;
  pub: string;
  users: string;
}

async function openssl(args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

async function withKeys(body: (keys: Keys) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-auth-" });
  const keys = {
    dir,
    priv: `${dir}/priv.pem`,
    pub: `${dir}/pub.pem`,
    users: `${dir}/users.csv`,
  };
  try {
    await openssl(["genrsa", "-out", keys.priv, "2048"]);
    await openssl(["rsa", "-in", keys.priv, "-pubout", "-out", keys.pub]);
    await Deno.writeTextFile(
      keys.users,
      `# iperf-ts test\nmario,${credentialHash("mario", "rossi")}\n`,
    );
    await body(keys);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function ourClient(
  port: number,
  keys: Keys,
  password: string,
  extra: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  Deno.env.set("IPERF3_PASSWORD", password);
  try {
    // iperf3 re-creates its listening socket after a refused test; a
    // connection in that moment is refused, so such attempts are retried.
    for (let attempt = 0;; attempt++) {
      let stdout = "";
      let stderr = "";
      const code = await runCli(
        [
          "-c",
          LOOPBACK,
          "-p",
          String(port),
          "-n",
          "2M",
          "--username",
          "mario",
          "--rsa-public-key-path",
          keys.pub,
          ...extra,
        ],
        { stdout: (t) => stdout += t, stderr: (t) => stderr += t },
      );
      if (!stderr.includes("Connection refused") || attempt >= 50) {
        return { code, stdout, stderr };
      }
      await sleep(20);
    }
  } finally {
    Deno.env.delete("IPERF3_PASSWORD");
  }
}

/**
 * Waits until our server, run by `runCli`, has printed "Server listening on"
 * (its listening socket is open), at most 5 s; fails if it ended first.
 *
 * @param served the running server
 * @param output what it has printed so far
 */
async function untilListening(
  served: Promise<number>,
  output: () => string,
): Promise<void> {
  let ended = false;
  served.then(() => ended = true, () => ended = true);
  const deadline = performance.now() + 5000;
  while (!output().includes("Server listening on")) {
    assert.ok(!ended, `our server ended before it listened: ${output()}`);
    assert.ok(
      performance.now() < deadline,
      `our server did not listen in 5 s: ${output()}`,
    );
    await sleep(10);
  }
}

async function iperf3Client(
  port: number,
  keys: Keys,
  password: string,
): Promise<Deno.CommandOutput> {
  return await new Deno.Command("iperf3", {
    args: [
      "-c",
      LOOPBACK,
      "-p",
      String(port),
      "-n",
      "2M",
      "--username",
      "mario",
      "--rsa-public-key-path",
      keys.pub,
    ],
    env: { IPERF3_PASSWORD: password },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

interopTest(
  "our client authenticates to iperf3 3.12 with PKCS#1 padding; a wrong password is refused",
  async () => {
    await withKeys(async (keys) => {
      const port = freePort();
      // iperf3 -1: a refused authentication does not count as its one test.
      await using server = new Iperf3([
        "-s",
        "-1",
        "-B",
        LOOPBACK,
        "-p",
        String(port),
        "--rsa-private-key-path",
        keys.priv,
        "--authorized-users-path",
        keys.users,
      ]);
      await sleep(300);
      const wrong = await ourClient(port, keys, "wrong", [
        "--use-pkcs1-padding",
      ]);
      assert.equal(wrong.code, 1);
      assert.equal(wrong.stderr, "iperf3: error - test authorization failed\n");
      // OAEP (our default) is what iperf3 3.12 cannot decrypt: refused too.
      const oaep = await ourClient(port, keys, "rossi");
      assert.equal(oaep.code, 1);
      // 3.12 closes right after its refusal; the reset can overtake its bytes.
      assert.match(
        oaep.stderr,
        /test authorization failed|SERVER_ERROR and closed|Connection reset by peer/,
      );
      const good = await ourClient(port, keys, "rossi", [
        "--use-pkcs1-padding",
      ]);
      assert.equal(good.code, 0, good.stderr);
      assert.match(good.stdout, /iperf Done\.\n$/);
      assert.equal((await server.wait()).code, 0);
    });
  },
);

interopTest(
  "iperf3 3.12 clients authenticate to our server with --use-pkcs1-padding",
  async () => {
    await withKeys(async (keys) => {
      const port = freePort();
      let stdout = "";
      let stderr = "";
      const served = runCli([
        "-s",
        "-1",
        "-B",
        LOOPBACK,
        "-p",
        String(port),
        "--use-pkcs1-padding",
        "--rsa-private-key-path",
        keys.priv,
        "--authorized-users-path",
        keys.users,
      ], { stdout: (t) => stdout += t, stderr: (t) => stderr += t });
      // iperf3's client does not retry a refused connection.
      await untilListening(served, () => stdout + stderr);
      const wrong = await iperf3Client(port, keys, "wrong");
      assert.equal(wrong.code, 1);
      assert.match(
        new TextDecoder().decode(wrong.stderr),
        /iperf3: error - test authorization failed/,
      );
      const good = await iperf3Client(port, keys, "rossi");
      assert.equal(good.code, 0, new TextDecoder().decode(good.stderr));
      assert.match(new TextDecoder().decode(good.stdout), /iperf Done\./);
      // -1 still served the good client after the refused one.
      assert.equal(await served, 0);
      assert.match(
        stderr,
        /test authorization failed: bad credentials for user 'mario'/,
      );
      assert.match(stdout, /receiver\n/);
    });
  },
);

interopTest(
  "our client and server authenticate with OAEP; unknown users and missing keys are clear",
  async () => {
    await withKeys(async (keys) => {
      const port = freePort();
      const controller = new AbortController();
      let serverOut = "";
      let serverErr = "";
      const served = runCli([
        "-s",
        "-B",
        LOOPBACK,
        "-p",
        String(port),
        "--rsa-private-key-path",
        keys.priv,
        "--authorized-users-path",
        keys.users,
      ], {
        stdout: (t) => serverOut += t,
        stderr: (t) => serverErr += t,
        signal: controller.signal,
      });
      try {
        // The clients below, but the first, do not retry a refused connection.
        await untilListening(served, () => serverOut + serverErr);
        const good = await ourClient(port, keys, "rossi");
        assert.equal(good.code, 0, good.stderr);
        await Deno.writeTextFile(`${keys.dir}/other.csv`, "luigi,0000\n");
        Deno.env.set("IPERF3_PASSWORD", "rossi");
        let stderr = "";
        const unknown = await runCli(
          [
            "-c",
            LOOPBACK,
            "-p",
            String(port),
            "-n",
            "1M",
            "--username",
            "luigi",
            "--rsa-public-key-path",
            keys.pub,
          ],
          { stdout: () => {}, stderr: (t) => stderr += t },
        );
        Deno.env.delete("IPERF3_PASSWORD");
        assert.equal(unknown, 1);
        assert.equal(stderr, "iperf3: error - test authorization failed\n");
        assert.match(serverErr, /bad credentials for user 'luigi'/);
        // A missing key file: one clear line, exit 1.
        let missing = "";
        const code = await runCli(
          [
            "-c",
            LOOPBACK,
            "-p",
            String(port),
            "--username",
            "mario",
            "--rsa-public-key-path",
            `${keys.dir}/nope.pem`,
          ],
          { stdout: () => {}, stderr: (t) => missing += t },
        );
        assert.equal(code, 1);
        assert.match(
          missing,
          /^iperf3: error - cannot read the RSA public key file ".*nope\.pem": No such file or directory\n$/,
        );
        // Not PEM.
        let notPem = "";
        assert.equal(
          await runCli(
            [
              "-c",
              LOOPBACK,
              "-p",
              String(port),
              "--username",
              "mario",
              "--rsa-public-key-path",
              keys.users,
            ],
            { stdout: () => {}, stderr: (t) => notPem += t },
          ),
          1,
        );
        assert.match(notPem, /is not an RSA public key in PEM form/);
      } finally {
        controller.abort();
        await served;
      }
    });
  },
);
