import { describe, expect, it } from "vitest";
import { imageHttpAnswer, testEnv } from "../src/index.js";

describe("imageHttpAnswer", () => {
  it("waits for a server that starts late and returns its answer", async () => {
    const body = await imageHttpAnswer(testEnv().baseImage, {
      port: 28190,
      command: ["sh", "-c", 'sleep 2 && exec python3 -m http.server "$PORT" --bind "$HOST" --directory /etc/apt'],
    });
    expect(body).toContain("sources.list");
  });

  it("stops asking once the container has exited, and says why with its log", async () => {
    await expect(imageHttpAnswer(testEnv().baseImage, { port: 28191, command: ["sh", "-c", "echo cannot listen >&2; exit 3"] })).rejects.toThrow(
      /gave no answer on 127\.0\.0\.1:28191 after \d+ attempts?; the container is exited \(exit code 3\); its log:\ncannot listen/,
    );
  });
});
