/** apid: wiring only (its logic is being written in this folder). */
import { runDaemon } from "../../lib/daemon/mod.ts";

await runDaemon("apid", async ({ signal }) => {
  await new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
});
