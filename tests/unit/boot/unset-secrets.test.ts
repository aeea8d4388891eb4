import { expect, test } from 'bun:test';
import { unsetSecrets } from '../../../src/boot/unset-secrets';
import { loadConfig } from '../../../src/config';

const ALL_SET = {
  META_WEBHOOK_SECRET: 'a',
  WEBHOOK_VERIFY_TOKEN: 'b',
  WHATSAPP_TOKEN: 'c',
  WHATSAPP_PHONE_NUMBER_ID: '1234567890',
  CRM_BASE_URL: 'https://crm.example.com',
  CRM_API_TOKEN: 'd',
  BOT_API_TOKEN: 'e',
  BOT_SIGNING_SECRET: 'f',
  ADMIN_TOKEN: 'g',
  METRICS_TOKEN: 'h',
};

test('with every secret set, nothing is said', () => {
  expect(unsetSecrets(loadConfig(ALL_SET))).toEqual([]);
});

test('an empty META_WEBHOOK_SECRET is named with what it stops: every webhook refused', () => {
  expect(unsetSecrets(loadConfig({ ...ALL_SET, META_WEBHOOK_SECRET: '' }))).toEqual([
    {
      setting: 'META_WEBHOOK_SECRET',
      consequence: 'every POST /webhook and /api/crm/meta-handover-webhook is refused with 401: no message from WhatsApp gets in',
    },
  ]);
});

test('a development start with nothing set names each one once, each with its own consequence', () => {
  const unset = unsetSecrets(loadConfig({}));
  expect(unset.map((secret) => secret.setting)).toEqual([
    'META_WEBHOOK_SECRET',
    'WEBHOOK_VERIFY_TOKEN',
    'WHATSAPP_TOKEN',
    'WHATSAPP_PHONE_NUMBER_ID',
    'CRM_BASE_URL',
    'CRM_API_TOKEN',
    'BOT_API_TOKEN',
    'BOT_SIGNING_SECRET',
    'ADMIN_TOKEN',
    'METRICS_TOKEN',
  ]);
  expect(new Set(unset.map((secret) => secret.consequence)).size).toBe(unset.length);
});

test('the directory token is named only when a directory URL is set', () => {
  expect(unsetSecrets(loadConfig({ ...ALL_SET, CUSTOMER_LOOKUP_URL: 'https://directory.example.com/customers' }))).toMatchObject([
    { setting: 'CUSTOMER_LOOKUP_TOKEN' },
  ]);
});
