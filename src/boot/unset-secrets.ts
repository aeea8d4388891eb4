import type { Config } from '../config';
import type { Logger } from '../logger';

/** A setting left empty and what stops working without it, in the words an operator needs to act. */
export interface UnsetSecret {
  setting: keyof Config;
  consequence: string;
}

/**
 * The secrets (and the CRM and WhatsApp addresses) left empty, each with what it costs. Production refuses
 * to start without most of them (config.ts); in development the service starts anyway, and without this
 * every webhook would get a 401 nobody explains.
 */
export function unsetSecrets(config: Config): UnsetSecret[] {
  const unset: [keyof Config, string][] = [
    ['META_WEBHOOK_SECRET', 'every POST /webhook and /api/crm/meta-handover-webhook is refused with 401: no message from WhatsApp gets in'],
    ['WEBHOOK_VERIFY_TOKEN', "Meta's verification of the callback URL (GET /webhook) is refused with 403: the webhook cannot be registered"],
    ['WHATSAPP_TOKEN', 'nothing reaches WhatsApp users (replies wait in the outbox) and the media they send cannot be fetched'],
    ['WHATSAPP_PHONE_NUMBER_ID', 'nothing reaches WhatsApp users: replies wait in the outbox'],
    [
      'CRM_BASE_URL',
      config.CRM_AGENT_NOTIFICATION_URL === ''
        ? 'agent requests, user messages and ticket updates for the CRM wait in the outbox'
        : 'user messages and ticket updates for the CRM wait in the outbox (agent requests go to CRM_AGENT_NOTIFICATION_URL)',
    ],
    ['CRM_API_TOKEN', "the CRM's calls (/api/crm/*: handover, send-message, handover-status, media) are refused with 401"],
    ['BOT_API_TOKEN', 'calls to the CRM carry an empty Bearer token: a CRM that checks it refuses them'],
    ['BOT_SIGNING_SECRET', 'X-Bot-Signature on calls to the CRM is keyed with an empty secret: anyone can forge it, and a CRM that checks it refuses them'],
    ['ADMIN_TOKEN', '/api/admin/* (the dead letters) refuses everyone'],
    ['METRICS_TOKEN', "/metrics answers whoever reaches it, and /api/metrics/kpis (the /dashboard's data) refuses everyone"],
  ];
  if (config.CUSTOMER_LOOKUP_URL !== '') {
    unset.push(['CUSTOMER_LOOKUP_TOKEN', 'the customer directory (CUSTOMER_LOOKUP_URL) is asked with an empty Bearer token']);
  }
  return unset.filter(([setting]) => config[setting] === '').map(([setting, consequence]) => ({ setting, consequence }));
}

/** One warning line per unset secret, at every start. */
export function warnUnsetSecrets(config: Config, logger: Logger): void {
  for (const { setting, consequence } of unsetSecrets(config)) {
    logger.warn({ event: 'config.unset', setting }, `${setting} is not set: ${consequence}`);
  }
}
