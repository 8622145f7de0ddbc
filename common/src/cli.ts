/**
 * The shape every program's CLI shares: `--config FILE`, `--help`, and a clean exit 1 that lists
 * every configuration problem.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ConfigError } from "./config.js";

export interface CliSpec {
  readonly name: string;
  readonly usage: string;
  readonly options?: ParseArgsConfig["options"];
}

export interface ParsedCli {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

export function parseCli(spec: CliSpec, argv = process.argv.slice(2)): ParsedCli {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: "boolean", short: "h" }, ...(spec.options ?? {}) },
    });
  } catch (err) {
    process.stderr.write(`${spec.name}: ${(err as Error).message}\n\n${spec.usage}\n`);
    process.exit(2);
  }
  if (parsed.values.help) {
    process.stdout.write(`${spec.usage}\n`);
    process.exit(0);
  }
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

/** Runs a program's main; a ConfigError lists every problem and exits 1, other errors exit 1 too. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
    } else {
      process.stderr.write(`${name}: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exit(1);
  });
}

/** Resolves on SIGINT/SIGTERM, so main can shut down in order. */
export function waitForShutdown(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => resolve(sig);
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}
