/**
 * The edge packages a cloud serves to its sites (GET /edge/packages/…): the .deb files and the
 * installer that `npm run package:edge` writes (edge/deploy/README.md). The index lists each
 * package with its SHA-256 so install.sh verifies what it downloaded.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

/** bv-edge_<version>_<arch>.deb: nothing else is served from the folder (no path tricks). */
export const PACKAGE_NAME = /^bv-edge_[0-9A-Za-z.+~-]+_(arm64|armhf|amd64)\.deb$/;

export interface EdgePackage {
  readonly file: string;
  readonly arch: string;
  readonly size: number;
  readonly sha256: string;
}

export class EdgePackages {
  private readonly digests = new Map<string, { key: string; sha256: string }>();

  constructor(readonly dir: string) {}

  async list(): Promise<EdgePackage[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: EdgePackage[] = [];
    for (const file of names.filter((n) => PACKAGE_NAME.test(n)).sort()) {
      const path = join(this.dir, file);
      const s = await stat(path);
      const key = `${s.size}:${s.mtimeMs}`;
      let digest = this.digests.get(file);
      if (digest?.key !== key) {
        digest = { key, sha256: await sha256Of(path) };
        this.digests.set(file, digest);
      }
      out.push({ file, arch: PACKAGE_NAME.exec(file)?.[1] ?? "", size: s.size, sha256: digest.sha256 });
    }
    return out;
  }

  /** The installer with this cloud's URL filled in, or undefined when none was published. */
  async installer(cloudUrl: string): Promise<string | undefined> {
    try {
      const text = await readFile(join(this.dir, "install.sh"), "utf8");
      return text.replaceAll("@BV_CLOUD_URL@", cloudUrl);
    } catch {
      return undefined;
    }
  }

  path(file: string): string | undefined {
    return PACKAGE_NAME.test(file) ? join(this.dir, file) : undefined;
  }
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}
