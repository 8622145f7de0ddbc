export { type NotationError, parsePayload, varint } from "./notation.js";
export { failures, table, tally, totalFor } from "./report.js";
export { clientIdFor, type RunOptions, runTest, runVectors, type Target, type TestResult } from "./runner.js";
export { loadVectors, parseVectorFile, type VectorMessage, type VectorTest } from "./vectors.js";
