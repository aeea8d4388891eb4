import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createCrmClient, parseAgentRequestAnswer } from '../../../src/integrations/crm';
import { signBody } from '../../../src/lib/security';
import { startFakeCrm, type FakeServer } from '../../support/fakes';

describe("the CRM's agent-request answer", () => {
  test('the tentative agent and its estimate are read as the seed shows them', () => {
    const answer = parseAgentRequestAnswer({
      success: true,
      agentAssigned: { id: 'agent_001', name: 'María González', estimatedResponseTime: '5-10 minutes' },
      ticketId: 'TK-2026-000001',
    });
    expect(answer).toEqual({ agentAssigned: { id: 'agent_001', name: 'María González', estimatedResponseTime: '5-10 minutes' } });
  });

  test('a numeric agent id is read as a string', () => {
    expect(parseAgentRequestAnswer({ agentAssigned: { id: 17, name: 'Carlos' } }).agentAssigned).toEqual({
      id: '17',
      name: 'Carlos',
      estimatedResponseTime: undefined,
    });
  });

  test('fields of another type are left out', () => {
    expect(parseAgentRequestAnswer({ agentAssigned: { id: { nested: true }, name: null } }).agentAssigned).toEqual({
      id: undefined,
      name: undefined,
      estimatedResponseTime: undefined,
    });
  });

  test('the queue position is read at the top level', () => {
    expect(parseAgentRequestAnswer({ success: true, queuePosition: 3 })).toEqual({ queuePosition: 3 });
  });

  test('the queue position is read inside agentAssigned', () => {
    expect(parseAgentRequestAnswer({ agentAssigned: { name: 'María', queuePosition: 2 } }).queuePosition).toBe(2);
  });

  test('the top-level position wins over the one inside agentAssigned', () => {
    expect(parseAgentRequestAnswer({ queuePosition: 4, agentAssigned: { queuePosition: 9 } }).queuePosition).toBe(4);
  });

  test('a position sent as a string of digits is a number', () => {
    expect(parseAgentRequestAnswer({ queuePosition: '5' }).queuePosition).toBe(5);
  });

  test('a position that is zero, negative, fractional or not a number is left out', () => {
    for (const queuePosition of [0, -1, 1.5, 'soon', null]) expect(parseAgentRequestAnswer({ queuePosition })).not.toHaveProperty('queuePosition');
  });

  test('an answer without agent or position (or no JSON at all) tells nothing', () => {
    for (const body of [{ success: true }, null, undefined, 'accepted']) expect(parseAgentRequestAnswer(body)).toEqual({});
  });
});

describe('calls to the CRM', () => {
  let crm: FakeServer;
  beforeAll(() => {
    crm = startFakeCrm();
  });
  afterAll(() => crm.stop());

  const client = (baseUrl: string) =>
    createCrmClient({
      baseUrl,
      agentRequestUrl: `${crm.url}/api/bot/agent-request`,
      botApiToken: 'bot-token',
      signingSecret: 'signing-secret',
      timeoutMs: 1000,
    });

  test('carry the bot token, the signature over the exact bytes sent and the row’s key as Idempotency-Key', async () => {
    const outcome = await client(crm.url).send('user-message', { ticketId: 'TK-1', message: 'canción ñ' }, 'outbox-key-1');
    expect(outcome.ok).toBe(true);
    const [request] = crm.to('/api/bot/user-message');
    expect(request!.headers.get('authorization')).toBe('Bearer bot-token');
    expect(request!.headers.get('user-agent')).toBe('Conecta2Tel-Bot/1.0');
    expect(request!.headers.get('idempotency-key')).toBe('outbox-key-1');
    expect(request!.headers.get('x-bot-signature')).toBe(signBody('signing-secret', request!.raw));
  });

  test('without CRM_BASE_URL only the agent request can go out; the others wait as a retryable failure', async () => {
    const unconfigured = client('');
    expect(await unconfigured.send('ticket-update', {}, 'k')).toMatchObject({ ok: false, retryable: true });
    expect((await unconfigured.send('agent-request', { ticketId: 'TK-2' }, 'k2')).ok).toBe(true);
  });
});
