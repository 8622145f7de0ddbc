/**
 * Downloads a release package from the cloud, resumably: the bytes go to `<file>.part` in the
 * state directory and a retry asks for the rest with an HTTP Range request (RFC 9110 §14.2); a
 * server that answers 200 instead of 206 sends the whole file again, which restarts the part.
 * The edge's credential authenticates the request; a CA file (the cloud's development CA) is
 * trusted when the claim wrote one. Size and SHA-256 are checked by the caller over the whole file.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, mkdirSync, readFileSync, statSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { dirname } from "node:path";
import { BvError } from "@bitvelocity/common";

export interface DownloadOptions {
  readonly url: URL;
  readonly file: string;
  readonly size: number;
  readonly edgeId: string;
  readonly token: string;
  readonly caFile?: string | null | undefined;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface DownloadResult {
  /** Bytes that were already on disk from an earlier attempt. */
  readonly resumedFrom: number;
  readonly bytes: number;
}

function partSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

export async function download(o: DownloadOptions): Promise<DownloadResult> {
  mkdirSync(dirname(o.file), { recursive: true, mode: 0o750 });
  let have = partSize(o.file);
  if (have > o.size) have = 0; // not this release's bytes: start over
  if (have === o.size) return { resumedFrom: have, bytes: have };
  const res = await get(o, have);
  if (res.statusCode === 416) {
    res.resume();
    // The part is useless to the server: start over once.
    return { resumedFrom: 0, bytes: await write(o, await get(o, 0), false) };
  }
  if (res.statusCode !== 200 && res.statusCode !== 206) {
    res.resume();
    const what = res.statusCode === 401 ? "the cloud refused the edge's credential" : `the cloud answered ${res.statusCode}`;
    throw new BvError("UPDATE_DOWNLOAD_FAILED", res.statusCode === 401 ? "human" : "transient", `download of ${o.url.pathname}: ${what}`);
  }
  const append = res.statusCode === 206;
  const bytes = await write(o, res, append);
  return { resumedFrom: append ? have : 0, bytes };
}

/**
 * Copies the response into the part file. When the response is cut (or aborted), what arrived is
 * still written before the error is reported, so the retry's Range starts after it: a pipeline
 * would destroy the file stream with its buffered writes, and the part could be left shorter
 * than what was received, even empty.
 */
async function write(o: DownloadOptions, res: IncomingMessage, append: boolean): Promise<number> {
  const out = createWriteStream(o.file, { flags: append ? "a" : "w", mode: 0o640 });
  let cut: unknown;
  const onAbort = () => res.destroy(new BvError("UPDATE_DOWNLOAD_FAILED", "transient", "download aborted"));
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      out.once("error", reject);
      out.once("finish", resolve);
      const stop = (err: unknown) => {
        if (cut !== undefined) return;
        cut = err;
        res.unpipe(out);
        out.end();
      };
      res.on("error", stop);
      res.once("close", () => {
        if (!res.complete) stop(new BvError("UPDATE_DOWNLOAD_FAILED", "transient", "download cut before its end"));
      });
      res.pipe(out);
      if (o.signal?.aborted) onAbort();
    });
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
  }
  if (cut !== undefined) throw cut;
  return partSize(o.file);
}

function get(o: DownloadOptions, from: number): Promise<IncomingMessage> {
  const https = o.url.protocol === "https:";
  if (!https && o.url.protocol !== "http:")
    return Promise.reject(new BvError("UPDATE_BAD_URL", "protocol", `cannot download from ${o.url.protocol}`));
  const request = https ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { authorization: `Bearer ${o.token}`, "x-bv-edge-id": o.edgeId };
  if (from > 0) headers.range = `bytes=${from}-`;
  return new Promise((resolve, reject) => {
    const req = request(
      o.url,
      {
        method: "GET",
        headers,
        timeout: o.timeoutMs ?? 30_000,
        ...(https && o.caFile ? { ca: readFileSync(o.caFile) } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      },
      resolve,
    );
    req.on("timeout", () => req.destroy(new BvError("UPDATE_DOWNLOAD_FAILED", "transient", "no data for 30 s")));
    req.on("error", (err) =>
      reject(err instanceof BvError ? err : new BvError("UPDATE_DOWNLOAD_FAILED", "transient", `download: ${err.message}`, { cause: err })),
    );
    req.end();
  });
}

export function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}
