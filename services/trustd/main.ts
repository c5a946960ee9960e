/** trustd: wiring only (its logic is being written in this folder). */
import { runDaemon } from "../../lib/daemon/mod.ts";

await runDaemon("trustd", async ({ signal }) => {
  await new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
});
