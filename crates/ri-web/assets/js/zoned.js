// Wall-clock time in an IANA time zone <-> instants, with only Intl (no library): the curator
// gives a deadline as "17:00 in Europe/Vilnius"; the API takes an RFC 3339 instant and the zone.

const PARTS = ['year', 'month', 'day', 'hour', 'minute', 'second'];

function wallClock(ms, timeZone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (type) => Number(parts.find((p) => p.type === type)?.value);
  return Object.fromEntries(PARTS.map((p) => [p, get(p)]));
}

/** The zone's offset from UTC at the instant `ms`, in milliseconds. */
function offsetAt(ms, timeZone) {
  const w = wallClock(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant at which the clocks of `timeZone` show `local` ("2030-05-03T17:00"), as an
 * RFC 3339 string in UTC; null for a malformed value. As Temporal's "compatible"
 * disambiguation: a time the clocks skip (spring forward) moves forward by the gap; a time they
 * show twice (fall back) is the earlier instant.
 */
export function zonedToInstant(local, timeZone) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local ?? '');
  if (!match) return null;
  const [y, mo, d, hh, mm, ss] = match.slice(1).map((v) => Number(v ?? 0));
  const wall = Date.UTC(y, mo - 1, d, hh, mm, ss);
  if (Number.isNaN(wall)) return null;
  const HALF_DAY = 12 * 3600 * 1000;
  // The offsets in force around that wall time; no zone changes twice within a day.
  const before = wall - offsetAt(wall - HALF_DAY, timeZone);
  const after = wall - offsetAt(wall + HALF_DAY, timeZone);
  const shows = (t) => offsetAt(t, timeZone) === wall - t;
  const valid = [before, after].filter(shows);
  const instant = valid.length > 0 ? Math.min(...valid) : before;
  return new Date(instant).toISOString().replace('.000Z', 'Z');
}

/** What the clocks of `timeZone` show at the instant `iso`, as "YYYY-MM-DDTHH:MM". */
export function instantToZoned(iso, timeZone) {
  const ms = new Date(iso).getTime();
  if (Number.isNaN(ms)) return '';
  const w = wallClock(ms, timeZone);
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}
