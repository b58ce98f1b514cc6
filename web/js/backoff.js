// How long to wait before reconnecting, shared by every socket of the page.

/** The wait before attempt `attempt` (0-based): doubling from `minMs`, capped at `maxMs`, and
 *  jittered into its upper half so that many tabs cut at once do not come back at once. */
export function jitteredBackoff(attempt, minMs, maxMs, random = Math.random()) {
  const ceiling = Math.min(maxMs, minMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}
