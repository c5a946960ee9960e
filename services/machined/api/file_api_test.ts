import {
  CopyRequest,
  DiskUsageRequest,
  ListRequest,
  ListRequest_Type,
  ReadRequest,
} from "../../../lib/api/gen/machine/machine.ts";
import { goFileModeString } from "../../../lib/api/mod.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  tempDir,
} from "../../../lib/testing/mod.ts";
import { FileRoots } from "../files/file_roots.ts";
import { fileApi } from "./file_api.ts";

/** Runs a stream handler, collecting what it sends. */
async function collect<Req, Msg>(
  handler: (
    req: Req,
    ctx: {
      subject: string;
      headers: Record<string, string>;
      signal: AbortSignal;
      send(m: Msg): Promise<void>;
    },
  ) => Promise<void>,
  req: Req,
): Promise<Msg[]> {
  const out: Msg[] = [];
  await handler(req, {
    subject: "test",
    headers: {},
    signal: new AbortController().signal,
    send: (m) => {
      out.push(m);
      return Promise.resolve();
    },
  });
  return out;
}

async function tree(base: string): Promise<void> {
  await Deno.mkdir(`${base}/state/a/b`, { recursive: true });
  await Deno.mkdir(`${base}/outside`);
  await Deno.writeTextFile(`${base}/state/top.txt`, "top\n");
  await Deno.writeTextFile(`${base}/state/a/one`, "x".repeat(1000));
  await Deno.writeTextFile(`${base}/state/a/b/two`, "y".repeat(3000));
  await Deno.writeTextFile(`${base}/outside/secret`, "secret");
  await Deno.symlink(`${base}/outside/secret`, `${base}/state/a/link`);
}

Deno.test("fileApi serves List, DiskUsage, Read and Copy inside the roots", async (t) => {
  await using dir = await tempDir();
  const base = await Deno.realPath(dir.path);
  await tree(base);
  const state = `${base}/state`;
  const api = fileApi(new FileRoots([state, "/proc"]));

  await t.step("List / lists the roots", async () => {
    const got = await collect(api.List, ListRequest.fromPartial({ root: "/" }));
    assertEquals(got.map((f) => f.name), ["/proc", state]);
    assert(got.every((f) => f.isDir));
  });

  await t.step("List a folder: itself, then its entries", async () => {
    const got = await collect(
      api.List,
      ListRequest.fromPartial({ root: state }),
    );
    assertEquals(got.map((f) => f.relativeName), [".", "a", "top.txt"]);
    const top = got[2];
    assertEquals([top.name, top.size, top.isDir], [
      `${state}/top.txt`,
      4,
      false,
    ]);
    assertEquals(goFileModeString(got[1].mode)[0], "d");
  });

  await t.step(
    "List -r in pre-order, the link reported, not followed",
    async () => {
      const got = await collect(
        api.List,
        ListRequest.fromPartial({ root: state, recurse: true }),
      );
      assertEquals(got.map((f) => f.relativeName), [
        ".",
        "a",
        "a/b",
        "a/b/two",
        "a/link",
        "a/one",
        "top.txt",
      ]);
      const link = got.find((f) => f.relativeName === "a/link")!;
      assertEquals(link.link, `${base}/outside/secret`);
      assertEquals(goFileModeString(link.mode)[0], "L");
    },
  );

  await t.step("List -r -d 1 and types", async () => {
    const depth = await collect(
      api.List,
      ListRequest.fromPartial({
        root: state,
        recurse: true,
        recursionDepth: 1,
      }),
    );
    assertEquals(depth.map((f) => f.relativeName), [".", "a", "top.txt"]);
    const files = await collect(
      api.List,
      ListRequest.fromPartial({
        root: state,
        recurse: true,
        types: [ListRequest_Type.REGULAR],
      }),
    );
    assertEquals(files.map((f) => f.relativeName), [
      "a/b/two",
      "a/one",
      "top.txt",
    ]);
  });

  await t.step("List refuses a way out", async () => {
    for (
      const [root, status] of [
        [`${state}/../outside`, "InvalidArgument"],
        [`${base}/outside`, "PermissionDenied"],
        [`${state}/a/link`, "PermissionDenied"],
      ]
    ) {
      const err = await assertRejects(
        () => collect(api.List, ListRequest.fromPartial({ root })),
        ApiError,
        JSON.stringify(root),
      );
      assertEquals(err.status, status, root);
    }
  });

  await t.step(
    "DiskUsage: folders after their contents, sizes summed",
    async () => {
      const got = await collect(
        api.DiskUsage,
        DiskUsageRequest.fromPartial({ paths: [state] }),
      );
      const sizes = Object.fromEntries(
        got.map((d) => [d.relativeName, d.size]),
      );
      const dirSize = (await Deno.stat(`${state}/a/b`)).size;
      assertEquals(got.map((d) => d.relativeName), ["a/b", "a", "."]);
      assertEquals(sizes["a/b"], dirSize + 3000);
      const aSize = (await Deno.stat(`${state}/a`)).size;
      const linkSize = (await Deno.lstat(`${state}/a/link`)).size;
      assertEquals(sizes["a"], aSize + sizes["a/b"] + 1000 + linkSize);
      const all = await collect(
        api.DiskUsage,
        DiskUsageRequest.fromPartial({
          paths: [state],
          all: true,
          threshold: 1000,
        }),
      );
      assertEquals(all.map((d) => d.relativeName), [
        "a/b/two",
        "a/b",
        "a/one",
        "a",
        ".",
      ]);
      const shallow = await collect(
        api.DiskUsage,
        DiskUsageRequest.fromPartial({ paths: [state], recursionDepth: 1 }),
      );
      assertEquals(shallow.map((d) => d.relativeName), ["."]);
    },
  );

  await t.step("DiskUsage checks every path first", async () => {
    const err = await assertRejects(
      () =>
        collect(
          api.DiskUsage,
          DiskUsageRequest.fromPartial({ paths: [state, "/etc"] }),
        ),
      ApiError,
      'path "/etc" is outside the allowed roots',
    );
    assertEquals(err.status, "PermissionDenied");
  });

  await t.step("Read a file in chunks; /proc/sys too", async () => {
    const big = "z".repeat(200_000);
    await Deno.writeTextFile(`${state}/big`, big);
    const chunks = await collect(
      api.Read,
      ReadRequest.fromPartial({ path: `${state}/big` }),
    );
    assert(chunks.length >= 3, `${chunks.length} chunks`);
    const text = new TextDecoder().decode(
      new Uint8Array(chunks.flatMap((c) => [...c.bytes])),
    );
    assertEquals(text, big);
    await Deno.remove(`${state}/big`);
    const k = await collect(
      api.Read,
      ReadRequest.fromPartial({ path: "/proc/sys/kernel/kptr_restrict" }),
    );
    const want = await Deno.readTextFile("/proc/sys/kernel/kptr_restrict");
    assertEquals(new TextDecoder().decode(k[0].bytes), want);
  });

  await t.step("Read refuses folders, links out, and '..'", async () => {
    const cases: [string, string, string][] = [
      [state, "InvalidArgument", "is not a regular file"],
      [`${state}/a/link`, "PermissionDenied", "leads outside its root"],
      [`${state}/a/../../outside/secret`, "InvalidArgument", 'contains ".."'],
      ["/proc/self/root/etc/hostname", "PermissionDenied", "leads outside"],
    ];
    for (const [path, status, want] of cases) {
      const err = await assertRejects(
        () => collect(api.Read, ReadRequest.fromPartial({ path })),
        ApiError,
        want,
      );
      assertEquals(err.status, status, path);
      assert(err.message.includes(JSON.stringify(path)), err.message);
    }
  });

  await t.step("Copy: a .tar.gz that tar reads back", async () => {
    const chunks = await collect(
      api.Copy,
      CopyRequest.fromPartial({ rootPath: `${state}/a` }),
    );
    const gz = new Uint8Array(chunks.flatMap((c) => [...c.bytes]));
    const archive = `${base}/copy.tar.gz`;
    await Deno.writeFile(archive, gz);
    const list = await new Deno.Command("tar", {
      args: ["-tvzf", archive],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(list.success, new TextDecoder().decode(list.stderr));
    const names = new TextDecoder().decode(list.stdout).trimEnd().split("\n")
      .map((l) => l.split(/\s+/).slice(5).join(" "));
    assertEquals(names, [
      "b/",
      "b/two",
      `link -> ${base}/outside/secret`,
      "one",
    ]);
    await Deno.mkdir(`${base}/out`);
    const x = await new Deno.Command("tar", {
      args: ["-xzf", archive, "-C", `${base}/out`],
    }).output();
    assert(x.success);
    assertEquals(
      await Deno.readTextFile(`${base}/out/b/two`),
      "y".repeat(3000),
    );
    // The link is archived as a link; its target's bytes are not.
    assertEquals(
      await Deno.readLink(`${base}/out/link`),
      `${base}/outside/secret`,
    );
  });

  await t.step("Copy of a /proc file and of a long name", async () => {
    const long = `${state}/${"d".repeat(120)}/${"f".repeat(150)}`;
    await Deno.mkdir(long.slice(0, long.lastIndexOf("/")));
    await Deno.writeTextFile(long, "long");
    const chunks = await collect(
      api.Copy,
      CopyRequest.fromPartial({ rootPath: state }),
    );
    const archive = `${base}/all.tar.gz`;
    await Deno.writeFile(
      archive,
      new Uint8Array(chunks.flatMap((c) => [...c.bytes])),
    );
    const x = await new Deno.Command("tar", {
      args: ["-xzf", archive, "-C", `${base}/out`],
      stderr: "piped",
    }).output();
    assert(x.success, new TextDecoder().decode(x.stderr));
    assertEquals(
      await Deno.readTextFile(`${base}/out/${long.slice(state.length + 1)}`),
      "long",
    );
    const p = await collect(
      api.Copy,
      CopyRequest.fromPartial({ rootPath: "/proc/sys/kernel/ostype" }),
    );
    await Deno.writeFile(
      archive,
      new Uint8Array(p.flatMap((c) => [...c.bytes])),
    );
    const cat = await new Deno.Command("tar", {
      args: ["-xzOf", archive, "ostype"],
      stdout: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(cat.stdout), "Linux\n");
    // A /sys attribute says 4096 bytes; the archive holds what it reads.
    const sys = fileApi(new FileRoots(["/sys"]));
    const k = await collect(
      sys.Copy,
      CopyRequest.fromPartial({ rootPath: "/sys/kernel/uevent_seqnum" }),
    );
    await Deno.writeFile(
      archive,
      new Uint8Array(k.flatMap((c) => [...c.bytes])),
    );
    const seq = await new Deno.Command("tar", {
      args: ["-xzOf", archive, "uevent_seqnum"],
      stdout: "piped",
    }).output();
    assert(/^\d+\n$/.test(new TextDecoder().decode(seq.stdout)));
  });

  await t.step("Copy refuses a way out", async () => {
    const err = await assertRejects(
      () =>
        collect(
          api.Copy,
          CopyRequest.fromPartial({ rootPath: `${base}/outside` }),
        ),
      ApiError,
      "is outside the allowed roots",
    );
    assertEquals(err.status, "PermissionDenied");
  });
});
