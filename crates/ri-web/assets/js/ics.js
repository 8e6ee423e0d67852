// One instrument's deadline as an iCalendar file (RFC 5545), made in the browser: the same
// event the watch feeds serve (UID <id>-deadline@regional-invest, the deadline as a UTC instant).

/** TEXT escaping (RFC 5545, 3.3.11). */
export function escapeText(value) {
  return String(value)
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n');
}

/** Folds a content line at 75 octets (RFC 5545, 3.1), never inside a UTF-8 sequence. */
export function fold(line) {
  const encoder = new TextEncoder();
  const out = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const size = encoder.encode(char).length;
    const limit = out.length === 0 ? 75 : 74; // continuation lines start with a space
    if (octets + size > limit) {
      out.push(current);
      current = '';
      octets = 0;
    }
    current += char;
    octets += size;
  }
  out.push(current);
  return out.join('\r\n ');
}

/** 2030-03-31T15:00:00Z for any RFC 3339 instant: 20300331T150000Z. */
export function utcStamp(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new Error(`not an instant: ${iso}`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/**
 * The calendar file of an instrument's deadline. `instrument` needs id, version, title,
 * deadline and curator; `pageUrl` is the instrument's page; `now` the file's DTSTAMP.
 */
export function deadlineCalendar(instrument, { pageUrl, now = new Date() } = {}) {
  if (!instrument.deadline) throw new Error('the instrument has no deadline');
  const curator = instrument.curator?.name ?? instrument.curator?.slug ?? '';
  const description = [
    curator ? `Curated by ${curator}.` : '',
    instrument.link ? `Details: ${instrument.link}` : '',
    pageUrl ? `Regional Invest: ${pageUrl}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const start = utcStamp(instrument.deadline);
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Regional Invest//Web interface//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    'BEGIN:VEVENT',
    `UID:${instrument.id}-deadline@regional-invest`,
    `DTSTAMP:${utcStamp(now.toISOString())}`,
    `DTSTART:${start}`,
    `DTEND:${start}`,
    `SEQUENCE:${Number.isInteger(instrument.version) ? instrument.version : 0}`,
    `SUMMARY:${escapeText(`Deadline: ${instrument.title}`)}`,
    `DESCRIPTION:${escapeText(description)}`,
    ...(pageUrl ? [`URL:${pageUrl}`] : []),
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return lines.map(fold).join('\r\n') + '\r\n';
}

/** A file name for the download: the title's letters and digits, dashed. */
export function calendarFileName(title) {
  const slug = String(title)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return `${slug || 'deadline'}-deadline.ics`;
}
