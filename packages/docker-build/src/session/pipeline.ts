/**
 * Lets a call's messages go out many at a time. grpc-js hands a stream's next message to HTTP/2 only when the last
 * one has reached the socket, so every message of a file sync (one per entry of the context: 10,000 for a
 * 10,000-file folder) costs a socket write and a turn of the event loop. This interceptor reports a message written
 * as soon as HTTP/2 has it, while fewer than a window's worth are still on their way, so HTTP/2 gathers what is
 * queued into full frames and few socket writes; the window keeps what is held in memory bounded (the stream's
 * writer waits, as before, once it is full). Order, framing and what is sent are unchanged.
 */

import { ServerInterceptingCall, type ServerInterceptingCallInterface, type ServerInterceptor } from "@grpc/grpc-js";

/** Messages, and their bytes, that may be on their way at once. */
const WINDOW_MESSAGES = 2048;
const WINDOW_BYTES = 4 * 1024 * 1024;

/** What a message will weigh on the wire, near enough: file sync's data packets carry their bytes in `data`. */
function weight(message: unknown): number {
  const data = (message as { data?: unknown } | null)?.data;
  return 64 + (data instanceof Uint8Array ? data.byteLength : 0);
}

class PipelinedCall extends ServerInterceptingCall {
  private messages = 0;
  private bytes = 0;
  /** The writer's callback for the message that filled the window: called once half of it is through. */
  private waiting: (() => void) | undefined;

  override sendMessage(message: unknown, callback: () => void): void {
    const size = weight(message);
    this.messages++;
    this.bytes += size;
    super.sendMessage(message, () => {
      this.messages--;
      this.bytes -= size;
      const waiting = this.waiting;
      if (waiting !== undefined && this.messages <= WINDOW_MESSAGES / 2 && this.bytes <= WINDOW_BYTES / 2) {
        this.waiting = undefined;
        waiting();
      }
    });
    if (this.messages < WINDOW_MESSAGES && this.bytes < WINDOW_BYTES) callback();
    else this.waiting = callback;
  }
}

export const pipelinedMessages: ServerInterceptor = (_method, call: ServerInterceptingCallInterface) => new PipelinedCall(call);
