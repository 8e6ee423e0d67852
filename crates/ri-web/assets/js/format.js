// How values read on the page: labels for the API's enums, dates, days left, money, countries.
// Pure apart from Intl: the unit tests import it.

export const COVER_LEVELS = ['REGIONAL', 'NATIONAL', 'EU', 'INTERNATIONAL'];
export const KINDS = ['CALL', 'PROGRAMME', 'STRATEGIC_DOCUMENT'];
export const STATUSES = ['DRAFT', 'OPEN', 'CLOSED', 'WITHDRAWN', 'ARCHIVED'];
export const TARGET_ORGANISATIONS = [
  'SME',
  'STARTUP',
  'LARGE_ENTERPRISE',
  'RESEARCH_ORGANISATION',
  'UNIVERSITY',
  'PUBLIC_BODY',
  'CLUSTER',
  'NON_PROFIT',
];
export const PERIODICITIES = ['ONE_OFF', 'ANNUAL', 'RECURRING', 'CONTINUOUS'];

const LABELS = {
  REGIONAL: 'Regional',
  NATIONAL: 'National',
  EU: 'EU',
  INTERNATIONAL: 'International',
  CALL: 'Call',
  PROGRAMME: 'Programme',
  STRATEGIC_DOCUMENT: 'Strategic document',
  DRAFT: 'Draft',
  OPEN: 'Open',
  CLOSED: 'Closed',
  WITHDRAWN: 'Withdrawn',
  ARCHIVED: 'Archived',
  SME: 'SMEs',
  STARTUP: 'Start-ups',
  LARGE_ENTERPRISE: 'Large enterprises',
  RESEARCH_ORGANISATION: 'Research organisations',
  UNIVERSITY: 'Universities',
  PUBLIC_BODY: 'Public bodies',
  CLUSTER: 'Clusters',
  NON_PROFIT: 'Non-profits',
  ONE_OFF: 'One-off',
  ANNUAL: 'Annual',
  RECURRING: 'Recurring',
  CONTINUOUS: 'Continuous',
  CURATOR: 'curator',
  FOLLOW_UP_MANAGER: 'follow-up manager',
  TENANT_ADMIN: 'tenant admin',
  PLATFORM_ADMIN: 'platform admin',
  PROTOTYPING: 'Prototyping',
  DEMONSTRATOR: 'Demonstrator',
  SCHEDULED: 'Scheduled',
  HELD: 'Held',
  CANCELLED: 'Cancelled',
};

/** The reader's label of an enum value (the value itself when unknown). */
export function label(value) {
  return LABELS[value] ?? String(value);
}

const LOCALE = 'en-GB';
let regionNames = null;

/** "Lithuania" for LT; the code itself where the browser has no name. */
export function countryName(code) {
  try {
    regionNames ??= new Intl.DisplayNames([LOCALE], { type: 'region' });
    return regionNames.of(code) ?? code;
  } catch {
    return code;
  }
}

/** Whether the browser knows an IANA time zone by that name. */
export function isTimeZone(zone) {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat(LOCALE, { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The reader's own time zone. */
export function localZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/**
 * An instant as the clocks of `zone` show it, the zone named:
 * "31 March 2030 at 17:00 (Europe/Brussels, CEST)". Without a zone (a time of the service's
 * own, such as "last changed"), the reader's zone, named too. A zone the browser does not
 * know is never swapped silently for another: the instant is shown in UTC, saying so.
 */
export function formatInstant(iso, zone) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const unknown = Boolean(zone) && !isTimeZone(zone);
  const timeZone = zone && !unknown ? zone : unknown ? 'UTC' : localZone();
  const shown = new Intl.DateTimeFormat(LOCALE, {
    dateStyle: 'long',
    timeStyle: 'short',
    timeZone,
  }).format(date);
  return unknown
    ? `${shown} (UTC; the time zone ${JSON.stringify(String(zone))} is unknown)`
    : `${shown} (${zoneName(date, timeZone)})`;
}

function zoneName(date, timeZone) {
  const part = new Intl.DateTimeFormat(LOCALE, { timeZone, timeZoneName: 'short' })
    .formatToParts(date)
    .find((p) => p.type === 'timeZoneName');
  return timeZone === 'UTC' ? 'UTC' : `${timeZone}${part ? `, ${part.value}` : ''}`;
}

/** A calendar date (YYYY-MM-DD) as "3 May 2030". */
export function formatDate(isoDate) {
  if (!isoDate) return '';
  const [y, m, d] = isoDate.split('-').map(Number);
  if (!y || !m || !d) return isoDate;
  return new Intl.DateTimeFormat(LOCALE, { dateStyle: 'long', timeZone: 'UTC' }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

const DAY = 24 * 60 * 60 * 1000;

/** "12 days left", "1 day left", "closes within a day", "deadline passed". */
export function daysLeftText(iso, now = Date.now()) {
  const ms = new Date(iso).getTime() - now;
  if (Number.isNaN(ms)) return '';
  if (ms <= 0) return 'deadline passed';
  if (ms < DAY) return 'closes within a day';
  const days = Math.floor(ms / DAY);
  return days === 1 ? '1 day left' : `${days} days left`;
}

/** "up to €60,000", "€10,000 to €60,000". */
export function formatFunding(funding) {
  if (!funding) return '';
  const money = (n) => {
    try {
      return new Intl.NumberFormat(LOCALE, {
        style: 'currency',
        currency: funding.currency,
        maximumFractionDigits: 0,
      }).format(n);
    } catch {
      return `${n} ${funding.currency}`;
    }
  };
  const { min, max } = funding;
  if (min != null && max != null) return `${money(min)} to ${money(max)}`;
  if (max != null) return `up to ${money(max)}`;
  if (min != null) return `from ${money(min)}`;
  return `in ${funding.currency}`;
}

/** The curating tenant's name, with its slug when the name is missing. */
export function curatorName(curator) {
  if (!curator) return '';
  return curator.name ?? curator.slug;
}
