/**
 * A Date as the API writes times: ISO 8601 UTC with milliseconds (toISOString). It remembers the
 * last time it formatted, because Date#toISOString costs ~0.45 µs on Node 20 and answers repeat
 * one time many times over: the 1,000 jobs of a batch's 202 share one transaction time, three
 * times each, which was ~9 % of the enqueue's service CPU (docs/performance.md). Keyed by the
 * time value, not the object, so a Date changed after it was formatted is formatted again.
 */
let lastTime = Number.NaN;
let lastText = '';

export function isoTime(date: Date): string {
  const time = date.getTime();
  if (time !== lastTime) {
    // Throws on an invalid date (NaN is never equal to itself), as toISOString does.
    lastText = date.toISOString();
    lastTime = time;
  }
  return lastText;
}
