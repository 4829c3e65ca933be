import { request } from 'undici';
import type { RolloutConfig } from '../config/schema.ts';

export type WebhookConfig = NonNullable<RolloutConfig['webhooks']>[number];

/** POSTs JSON to a webhook; resolves to whether it answered 2xx, with a short description. Never throws. */
export async function callWebhook(hook: WebhookConfig, body: unknown): Promise<{ ok: boolean; message: string }> {
  const timeout = hook.timeout ?? 10_000;
  try {
    const res = await request(hook.url, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      headersTimeout: timeout, bodyTimeout: timeout,
    });
    const text = (await res.body.text()).slice(0, 200);
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return { ok, message: `${hook.name} answered ${res.statusCode}${text ? `: ${text}` : ''}` };
  } catch (e) {
    return { ok: false, message: `${hook.name} unreachable: ${(e as Error).message}` };
  }
}

/** Calls every hook of a type; ok when all answer 2xx (and when there are none). */
export async function checkHooks(hooks: readonly WebhookConfig[], type: WebhookConfig['type'], body: unknown): Promise<{ ok: boolean; message: string }> {
  const of = hooks.filter((h) => h.type === type);
  const results = await Promise.all(of.map((h) => callWebhook(h, { ...(body as object), hook: h.name, type })));
  const bad = results.filter((r) => !r.ok);
  return { ok: bad.length === 0, message: (bad.length ? bad : results).map((r) => r.message).join('; ') || 'no hooks' };
}
