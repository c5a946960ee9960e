import { parseFlags } from "./parse_flags.ts";
import { assertEquals, assertIncludes, assertThrows } from "../testing/mod.ts";

const FLAGS = {
  address: { type: "string" },
  sys: { type: "string", default: "/sys" },
  apply: { type: "boolean", default: false },
  verbose: { type: "boolean" },
} as const;

function refused(args: string[], part: string, allowPositionals = false) {
  const err = assertThrows(() =>
    parseFlags(args, FLAGS, { allowPositionals })
  ) as Error;
  assertIncludes(err.message, part);
}

Deno.test("parseFlags() reads long flags strictly", async (t) => {
  await t.step("values, switches and defaults", () => {
    assertEquals(
      parseFlags(["--address", "10.0.0.1", "--apply"], FLAGS),
      {
        values: {
          address: "10.0.0.1",
          sys: "/sys",
          apply: true,
          verbose: undefined,
        },
        positionals: [],
      },
    );
  });
  await t.step("--name=value, a value that starts with one dash", () => {
    const { values } = parseFlags(["--address=::1", "--sys", "-x"], FLAGS);
    assertEquals([values.address, values.sys], ["::1", "-x"]);
  });
  await t.step("the last of a repeated flag wins", () => {
    const { values } = parseFlags(["--sys", "/a", "--sys=/b"], FLAGS);
    assertEquals(values.sys, "/b");
  });
  await t.step("-- ends the flags", () => {
    assertEquals(
      parseFlags(["--apply", "--", "--sys"], FLAGS, { allowPositionals: true })
        .positionals,
      ["--sys"],
    );
  });
  await t.step("an unknown flag is named", () => {
    refused(["--adress", "x"], 'unknown flag "--adress"');
    refused(["-a"], 'unknown flag "-a"');
    refused(["--constructor"], 'unknown flag "--constructor"');
    refused(["--=x"], 'unknown flag "--"');
  });
  await t.step("a value flag without its value", () => {
    refused(["--address"], "--address needs a value");
    refused(["--address", "--apply"], "--address needs a value");
  });
  await t.step("a switch given a value", () => {
    refused(["--apply=yes"], "--apply is a switch and takes no value");
  });
  await t.step("positionals only when allowed", () => {
    refused(["extra"], 'unexpected argument "extra"');
    refused(["--", "extra"], 'unexpected argument "extra"');
    assertEquals(
      parseFlags(["a", "--apply", "b"], FLAGS, { allowPositionals: true })
        .positionals,
      ["a", "b"],
    );
  });
});
