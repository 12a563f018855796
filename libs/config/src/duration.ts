const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `900`, `15m`, `12h`, `7d` → seconds. Throws on anything else (config validation rejects it first). */
export function durationSeconds(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) throw new Error(`not a duration: ${value}`);
  return Number(match[1]) * UNIT_SECONDS[match[2] || 's'];
}
