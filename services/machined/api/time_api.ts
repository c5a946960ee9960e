/**
 * Time: the node's clock. The apid the client asked stamps the reference
 * (its own clock, at the middle of its round trip) on the answer; see
 * services/apid/time_stamp.ts.
 * @module
 */
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import { reply } from "./reply.ts";

/** The Time handler. */
export function timeApi(): Pick<MethodHandlers<"machined">, "Time"> {
  return {
    Time: () =>
      reply({
        server: "",
        localtime: new Date(),
        remotetime: undefined,
        roundTripUs: 0,
      }),
  };
}
