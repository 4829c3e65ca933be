import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/validate.ts';
import { rolloutSpec } from '../../src/rollout/spec.ts';
import { inBlackout } from '../../src/rollout/blackout.ts';

const svc = (rollout: string) => `services:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: http://127.0.0.1:9001, canary: http://127.0.0.1:9002 }\n    rollout:\n${rollout.replace(/^/gm, '      ')}\n`;

test('the issue\'s rollout block is valid and normalizes to steps with defaults', () => {
  const r = parseConfig(svc(`steps:
  - setWeight: 5
  - analysis: { interval: 10s, count: 6 }
  - setWeight: 25
  - pause: { duration: 1m }
  - setWeight: 50
  - analysis: { interval: 10s, count: 6 }
  - pause: {}
analysis:
  minSamples: 200
  metrics:
    - { name: success-rate, builtin: request-success-rate, thresholdRange: { min: 99 } }
    - { name: latency-p99, builtin: request-duration-p99, thresholdRange: { max: 500 } }
  judge: { compare: baseline, pass: 95, marginal: 75 }
maxWeight: 50`), {});
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
  const spec = rolloutSpec(r.config.services.shop.rollout);
  assert.deepEqual(spec.steps.slice(0, 4), [
    { kind: 'setWeight', weight: 5 }, { kind: 'analysis', intervalMs: 10_000, count: 6, traffic: 'live' },
    { kind: 'setWeight', weight: 25 }, { kind: 'pause', durationMs: 60_000 },
  ]);
  assert.equal(spec.analysis.minSamples, 200);
  assert.equal(spec.maxWeight, 50);
});

test('every rollout problem is reported with its path and what to do', () => {
  const r = parseConfig(svc(`steps:
  - setWeight: 80
    pause: {}
  - setWeight: 70
  - {}
maxWeight: 50
analysis:
  metrics:
    - { name: a, builtin: request-latency }
    - { name: b, builtin: error-count, prometheus: { address: http://127.0.0.1:9090, query: up } }
    - { name: c, webhook: { url: http://127.0.0.1:1/ } }
    - { name: d, builtin: error-count, thresholdRange: { min: 5, max: 1 } }
  judge: { pass: 70, marginal: 80 }
blackouts:
  - { start: "17:00", end: "21:00", timeZone: Mars/Olympus }
  - { start: "7pm", end: "21:00" }
webhooks:
  - { name: x, type: confirm-deploy, url: http://127.0.0.1:1/ }`), {});
  assert.ok(!r.ok);
  const text = r.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
  for (const want of [
    /services\.shop\.rollout\.steps\[0\]: give exactly one of setWeight, pause or analysis \(found setWeight, pause\)/,
    /services\.shop\.rollout\.steps\[1\]\.setWeight: 70 is above maxWeight 50/,
    /services\.shop\.rollout\.steps\[2\]: give exactly one of setWeight, pause or analysis$/m,
    /services\.shop\.rollout\.analysis\.metrics\[0\]\.builtin: unknown built-in "request-latency"/,
    /services\.shop\.rollout\.analysis\.metrics\[1\]: give exactly one source/,
    /services\.shop\.rollout\.analysis\.metrics\[2\]\.thresholdRange: a prometheus or webhook metric needs a thresholdRange/,
    /services\.shop\.rollout\.analysis\.metrics\[3\]\.thresholdRange: min 5 is above max 1/,
    /services\.shop\.rollout\.analysis\.judge\.marginal: marginal 80 is above pass 70/,
    /services\.shop\.rollout\.blackouts\[0\]\.timeZone: unknown time zone "Mars\/Olympus"/,
    /services\.shop\.rollout\.blackouts\[1\]\.start: must be HH:MM/,
    /services\.shop\.rollout\.webhooks\[0\]\.type/,
  ]) assert.match(text, want);
  const bg = parseConfig(svc('strategy: blueGreen\nsteps:\n  - setWeight: 10'), {});
  assert.ok(!bg.ok && /switches from 0 to 100 at once/.test(bg.issues[0].message));
});

test('blackout windows: weekdays in a time zone, across DST, over midnight', () => {
  const berlin = [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ('mon' | 'tue' | 'wed' | 'thu' | 'fri')[], start: '17:00', end: '21:00', timeZone: 'Europe/Berlin' }];
  assert.ok(inBlackout(berlin, Date.UTC(2026, 0, 5, 16, 0)), 'Monday 17:00 CET (UTC+1)');
  assert.equal(inBlackout(berlin, Date.UTC(2026, 0, 5, 15, 59)), undefined);
  assert.equal(inBlackout(berlin, Date.UTC(2026, 0, 5, 20, 0)), undefined, '21:00 is the end, exclusive');
  assert.ok(inBlackout(berlin, Date.UTC(2026, 6, 6, 15, 0)), 'Monday 17:00 CEST (UTC+2) in summer');
  assert.equal(inBlackout(berlin, Date.UTC(2026, 6, 6, 19, 0)), undefined, '21:00 CEST');
  assert.equal(inBlackout(berlin, Date.UTC(2026, 0, 10, 17, 0)), undefined, 'Saturday');
  const night = [{ days: ['fri'] as 'fri'[], start: '22:00', end: '06:00' }];
  assert.ok(inBlackout(night, Date.UTC(2026, 0, 9, 23, 0)), 'Friday 23:00 UTC');
  assert.ok(inBlackout(night, Date.UTC(2026, 0, 10, 5, 59)), 'Saturday 05:59 belongs to Friday night');
  assert.equal(inBlackout(night, Date.UTC(2026, 0, 11, 5, 0)), undefined, 'Sunday 05:00 is not');
});
