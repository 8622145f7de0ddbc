/**
 * A line diff of two configuration documents for the audit log: `- ` removed, `+ ` added, with
 * one line of context around each change (`  `) and `…` between hunks. Documents are small
 * (hundreds of lines), so the plain longest-common-subsequence table is enough; past MAX_LINES
 * the diff is summarised instead.
 */
const MAX_LINES = 2000;

export function lineDiff(before: string, after: string): string {
  const a = before === "" ? [] : before.split("\n");
  const b = after === "" ? [] : after.split("\n");
  if (a.length > MAX_LINES || b.length > MAX_LINES) return `(documents too long to diff: ${a.length} → ${b.length} lines)`;
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs: Uint16Array[] = Array.from({ length: a.length + 1 }, () => new Uint16Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: { kind: " " | "-" | "+"; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i++]! });
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) ops.push({ kind: "+", line: b[j++]! });
    else ops.push({ kind: "-", line: a[i++]! });
  }
  const near = (k: number) => ops.slice(Math.max(0, k - 1), k + 2).some((o) => o.kind !== " ");
  const out: string[] = [];
  let skipped = false;
  ops.forEach((o, k) => {
    if (o.kind !== " " || near(k)) {
      if (skipped && out.length > 0) out.push("…");
      skipped = false;
      out.push(`${o.kind} ${o.line}`);
    } else skipped = true;
  });
  return out.join("\n");
}
