import { expect, test } from 'bun:test';
import { loadConfig, numbersOf } from '../../src/config';
import { configProblems } from '../support/config-problems';

const problemsOf = (env: Record<string, string>) => configProblems({ NODE_ENV: 'test', ...env });

test('WHATSAPP_PHONE_NUMBER_IDS lists the numbers served, WHATSAPP_PHONE_NUMBER_ID first', () => {
  const config = loadConfig({ NODE_ENV: 'test', WHATSAPP_PHONE_NUMBER_ID: '111', WHATSAPP_PHONE_NUMBER_IDS: '111, 222' });
  expect(numbersOf(config)).toEqual({ primary: '111', served: ['111', '222'] });
  expect(numbersOf(loadConfig({ NODE_ENV: 'test', WHATSAPP_PHONE_NUMBER_ID: '111' }))).toEqual({ primary: '111', served: ['111'] });
});

test('a list that does not start with WHATSAPP_PHONE_NUMBER_ID, or holds something else than ids, is refused at boot', () => {
  expect(problemsOf({ WHATSAPP_PHONE_NUMBER_ID: '111', WHATSAPP_PHONE_NUMBER_IDS: '222,111' })).toEqual([
    'WHATSAPP_PHONE_NUMBER_IDS: must start with WHATSAPP_PHONE_NUMBER_ID (the first number keeps the conversations it has)',
  ]);
  expect(problemsOf({ WHATSAPP_PHONE_NUMBER_IDS: '111,ventas' })).toEqual(['WHATSAPP_PHONE_NUMBER_IDS: "ventas" is not a phone number id (digits)']);
});
