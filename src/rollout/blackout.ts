import type { BlackoutConfig } from '../config/schema.ts';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const formats = new Map<string, Intl.DateTimeFormat>();

function partsAt(now: number, timeZone: string): { day: number; minutes: number } {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(now)).map((x) => [x.type, x.value]));
  const day = DAYS.indexOf(String(p.weekday).toLowerCase().slice(0, 3) as (typeof DAYS)[number]);
  return { day, minutes: Number(p.hour) * 60 + Number(p.minute) };
}

const toMinutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * The blackout window in force at `now`, if any. A window covers [start, end) local time on its
 * days in its time zone (default UTC); a window whose end is before its start runs over midnight and
 * belongs to the day it starts on. Pure: the clock is passed in.
 *
 * @example
 *   inBlackout([{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '17:00', end: '21:00', timeZone: 'Europe/Berlin' }], Date.now())
 */
export function inBlackout(windows: readonly BlackoutConfig[], now: number): BlackoutConfig | undefined {
  for (const w of windows) {
    const { day, minutes } = partsAt(now, w.timeZone ?? 'UTC');
    const days = w.days ?? DAYS;
    const start = toMinutes(w.start);
    const end = toMinutes(w.end);
    const on = (d: number) => days.includes(DAYS[(d + 7) % 7]);
    if (start <= end) {
      if (on(day) && minutes >= start && minutes < end) return w;
    } else if ((on(day) && minutes >= start) || (on(day - 1) && minutes < end)) {
      return w;
    }
  }
  return undefined;
}

/** `fri 17:00–21:00 Europe/Berlin`, for messages. */
export function describeBlackout(w: BlackoutConfig): string {
  return `${w.days ? `${w.days.join(',')} ` : ''}${w.start}–${w.end} ${w.timeZone ?? 'UTC'}`;
}
