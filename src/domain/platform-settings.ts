import { Type } from '@sinclair/typebox';
import { numbersProblems } from './business-numbers';
import { rateCardProblems } from './rate-card';

/**
 * The settings of today's WhatsApp platform (issue 20): several numbers on
 * one account, per-message pricing, the Business app on the same number and
 * Conversation Routing. Read with every other setting by config.ts.
 */
export const PLATFORM_SETTINGS = {
  /** Every number served, comma separated, WHATSAPP_PHONE_NUMBER_ID first (it keeps today's conversations); others' webhooks are never answered. */
  WHATSAPP_PHONE_NUMBER_IDS: Type.String({ default: '' }),
  /** Price per billable message by pricing category (`marketing=0.0125,utility=0.0008`): the KPIs' cost estimate; empty: none. */
  WHATSAPP_RATE_CARD: Type.String({ default: '' }),
  WHATSAPP_RATE_CURRENCY: Type.String({ default: 'USD', pattern: '^[A-Z]{3}$' }),
  /** A person answered from the WhatsApp Business app on the same number (an echo): the bot keeps quiet in that conversation this long. */
  BOT_PAUSE_AFTER_BUSINESS_REPLY_S: Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600, default: 1800 }),
  /**
   * Conversation Routing's thread control (POST /{phone-number-id}/thread_control): `off`; `crm`, the thread is passed
   * to the escalation partner (the CRM's app) when an agent takes the ticket and taken back when it closes; `ai_agent`,
   * taken from Meta's AI when a ticket opens and passed back to it when the ticket closes.
   */
  WHATSAPP_THREAD_CONTROL: Type.Union([Type.Literal('off'), Type.Literal('crm'), Type.Literal('ai_agent')], { default: 'off' }),
};

type PlatformSettings = { [K in 'WHATSAPP_PHONE_NUMBER_ID' | 'WHATSAPP_PHONE_NUMBER_IDS' | 'WHATSAPP_RATE_CARD']: string };

/** What is wrong with them, one line each. */
export const platformProblems = (config: PlatformSettings): string[] => [
  ...numbersProblems(config.WHATSAPP_PHONE_NUMBER_ID, config.WHATSAPP_PHONE_NUMBER_IDS),
  ...rateCardProblems(config.WHATSAPP_RATE_CARD),
];
