import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { remoteDocker, remoteTestEnv, testEnv } from "../src/index.js";

describe("the remote engine", () => {
  it("answers on both listeners over mutual TLS, as a dockerd of its own", async () => {
    const remote = remoteTestEnv();
    expect(remote.remoteEngine).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const first = await remoteDocker(["info", "--format", "{{.DockerRootDir}}"]);
    const second = await remoteDocker(["info", "--format", "{{.DockerRootDir}}"], { listener: 2 });
    expect(first).toBe(`${testEnv().envDir}/remote-engine/data`);
    expect(second).toBe(first);
    const local = await execa(testEnv().dockerCli, ["info", "--format", "{{.DockerRootDir}}"], { env: { DOCKER_HOST: testEnv().dockerHost } });
    expect(local.stdout.trim()).not.toBe(first);
  });

  it("refuses a client without a certificate", async () => {
    const remote = remoteTestEnv();
    const url = remote.remoteEngine.replace(/^tcp:/, "https:");
    const result = await execa(
      "curl",
      ["--noproxy", "*", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", `${remote.remoteCertPath}/ca.pem`, `${url}/_ping`],
      { reject: false },
    );
    expect(result.stdout).toBe("000");
    expect(result.exitCode).not.toBe(0);
    const withCert = await execa(
      "curl",
      [
        "--noproxy",
        "*",
        "-s",
        "--cacert",
        `${remote.remoteCertPath}/ca.pem`,
        "--cert",
        `${remote.remoteCertPath}/cert.pem`,
        "--key",
        `${remote.remoteCertPath}/key.pem`,
        `${url}/_ping`,
      ],
      { reject: false },
    );
    expect(withCert.stdout).toBe("OK");
  });
});
