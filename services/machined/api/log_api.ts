/**
 * The streams: Logs (a service's captured lines, in chunks), Events
 * (runtime events) and Dmesg (the kernel's ring buffer), each with a tail
 * and an optional follow.
 * @module
 */
import type { Event } from "../../../lib/api/gen/machine/machine.ts";
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import { formatKmsgRecord, readKmsg } from "../dmesg.ts";
import type { EventLog, RuntimeEvent } from "../event_log.ts";
import { formatLogLine, type LogStore } from "../log_store.ts";

/** Largest Data chunk of a log stream (bytes). */
const CHUNK_BYTES = 32 * 1024;

const encoder = new TextEncoder();
const utf8 = (text: string): Uint8Array => encoder.encode(text);

/** Maps a runtime event to the API's Event. */
export function eventMessage(e: RuntimeEvent): Event {
  return {
    metadata: undefined,
    id: e.id,
    ts: new Date(e.ts).toISOString(),
    type: e.type,
    service: e.service,
    state: e.state,
    message: e.message,
  };
}

/** The Logs, Events and Dmesg handlers. */
export function logApi(
  logs: LogStore,
  events: EventLog,
): Pick<MethodHandlers<"machined">, "Logs" | "Events" | "Dmesg"> {
  return {
    Logs: async (req, ctx) => {
      if (!req.id) {
        throw new ApiError("InvalidArgument", "log id is required");
      }
      const batches = logs.readBatches(req.id, {
        tail: req.tailLines,
        follow: req.follow,
        signal: ctx.signal,
      });
      for await (const batch of batches) {
        let chunk = "";
        for (const line of batch) {
          const text = formatLogLine(line);
          if (chunk.length + text.length > CHUNK_BYTES && chunk) {
            await ctx.send({ metadata: undefined, bytes: utf8(chunk) });
            chunk = "";
          }
          chunk += text;
        }
        if (chunk) {
          await ctx.send({ metadata: undefined, bytes: utf8(chunk) });
        }
      }
    },
    Events: async (req, ctx) => {
      for await (
        const e of events.read({
          tail: req.tailEvents,
          follow: req.follow,
          signal: ctx.signal,
        })
      ) {
        await ctx.send(eventMessage(e));
      }
    },
    Dmesg: async (req, ctx) => {
      for await (
        const r of readKmsg({
          follow: req.follow,
          tail: req.tailLines,
          signal: ctx.signal,
        })
      ) {
        await ctx.send({
          metadata: undefined,
          bytes: utf8(formatKmsgRecord(r)),
        });
      }
    },
  };
}
