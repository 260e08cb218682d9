/**
 * @module ZAP authentication for CURVE servers (the broker's sockets, a logger's PULL): only the
 * configured client public key may connect, as in Zeek. The handler runs in its own Worker.
 */

import { within } from "./_deadline.ts";
import type { ZapWorkerEvent, ZapWorkerStart } from "./_zap-worker.ts";
import { type Context, type Socket, SocketOption } from "./_zmq.ts";
import { ClusterError } from "./errors.ts";

const STOP_TIMEOUT_MS = 1000;
let zapSeq = 0;

/**
 * A running ZAP handler for one context.
 *
 * @example Accepting one client key on a CURVE server context
 * ```ts
 * import { curveKeypair } from "./curve.ts";
 * import { ZapHandler } from "./_zap.ts";
 * import { Context } from "./_zmq.ts";
 *
 * const client = curveKeypair();
 * const ctx = new Context();
 * const zap = await ZapHandler.start(ctx, [client.publicKey]);
 * // … CURVE server sockets in ctx now accept only that client …
 * await zap.stop();
 * ctx.close();
 * ```
 */
export class ZapHandler {
  readonly #worker: Worker;
  readonly #control: Socket;
  readonly #stopped: Promise<boolean>;
  #stopping: Promise<void> | undefined;

  private constructor(worker: Worker, control: Socket, stopped: Promise<boolean>) {
    this.#worker = worker;
    this.#control = control;
    this.#stopped = stopped;
  }

  /** Starts answering ZAP requests in `ctx`, accepting CURVE clients with one of `allowedKeys` (Z85). */
  static async start(ctx: Context, allowedKeys: string[]): Promise<ZapHandler> {
    const worker = new Worker(new URL("./_zap-worker.ts", import.meta.url).href);
    const start: ZapWorkerStart = {
      context: ctx.handle,
      allowedKeys,
      control: `inproc://zeek-zmq-zap-control-${process.pid}-${++zapSeq}`,
    };
    let resolveStopped!: (clean: boolean) => void;
    const stopped = new Promise<boolean>((resolve) => (resolveStopped = resolve));
    const ready = new Promise<ZapWorkerEvent>((resolve) => {
      worker.onmessage = (event: MessageEvent<ZapWorkerEvent>) => {
        if (event.data.type !== "ready") resolveStopped(true);
        resolve(event.data);
      };
      worker.onerror = (event) => resolve({ type: "failed", message: event.message });
    });
    worker.postMessage(start);
    const first = await ready;
    if (first.type !== "ready") {
      worker.terminate();
      throw new ClusterError(
        "ZAP_FAILED",
        `Cannot start the ZAP handler: ${first.type === "failed" ? first.message : first.type}`,
      );
    }
    const control = ctx.socket("PAIR");
    control.setOption(SocketOption.LINGER, 0);
    control.connect(start.control);
    return new ZapHandler(worker, control, stopped);
  }

  /** Stops the handler and closes its sockets. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#control.send(["STOP"]);
      await within(this.#stopped, STOP_TIMEOUT_MS);
      this.#control.close();
      this.#worker.terminate();
    })();
    return this.#stopping;
  }
}
