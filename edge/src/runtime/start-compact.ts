/**
 * Imported first by bin.ts, so it runs before the agent reads its configuration and starts (in the
 * bundle, after the shared chunks it imports are evaluated): an agent started by its launchers
 * starts compact (ADR 012). The launchers leave `--optimize-for-size` off the command
 * line (there it would pin the young generation for good), so without this the young generation
 * would grow while the agent reads its configuration and starts, and stay grown.
 */
import { setFlagsFromString } from "node:v8";
import { heapFlags, launchedByAgent } from "./heap-flags.js";

if (launchedByAgent()) setFlagsFromString(heapFlags("compact"));
