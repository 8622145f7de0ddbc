/**
 * Imported first by bin.ts, so it runs before any other module of the agent: an agent started by
 * its launchers starts compact (ADR 012). The launchers leave `--optimize-for-size` off the command
 * line (there it would pin the young generation for good), so without this the young generation
 * would grow while the agent loads its modules and its configuration, and stay grown.
 */
import { setFlagsFromString } from "node:v8";
import { heapFlags, launchedByAgent } from "./heap-flags.js";

if (launchedByAgent()) setFlagsFromString(heapFlags("compact"));
