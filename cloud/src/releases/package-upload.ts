/**
 * Receiving a release package: the request body streamed to a temporary file beside the others,
 * with its size and SHA-256 computed on the way (never held in memory), bounded by
 * releases.max_package_mb. When dpkg-deb is installed, the package's own Version and
 * Architecture must be the ones the admin published it as.
 */
import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { HttpError } from "../platform/http.js";

export interface ReceivedPackage {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export async function receivePackage(body: Readable, dir: string, maxBytes: number): Promise<ReceivedPackage> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `.upload-${randomUUID()}`);
  const hash = createHash("sha256");
  let size = 0;
  try {
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          size += chunk.length;
          if (size > maxBytes) throw new HttpError(413, "PACKAGE_TOO_LARGE", `the package is larger than ${maxBytes} bytes`);
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(path, { mode: 0o640 }),
    );
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  if (size === 0) {
    await rm(path, { force: true });
    throw new HttpError(400, "PACKAGE_EMPTY", "no package in the request body (send the .deb as the body)");
  }
  return { path, size, sha256: hash.digest("hex") };
}

/** Version and Architecture from the package's control file, or undefined when dpkg-deb is not installed. */
export async function packageFields(path: string): Promise<{ version: string; arch: string } | undefined> {
  try {
    const { stdout } = await promisify(execFile)("dpkg-deb", ["-f", path, "Version", "Architecture"], { encoding: "utf8" });
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(stdout)?.[1]?.trim() ?? "";
    return { version: field("Version"), arch: field("Architecture") };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new HttpError(400, "PACKAGE_INVALID", `not a Debian package: ${String((err as { stderr?: string }).stderr ?? err).trim()}`);
  }
}
