import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { partitionOf } from '../../../src/streams/codec';
import { crmCall, eventually, openTicketFor, type TestStack } from '../../support/harness';
import { PARTITIONS, startFleet, type Fleet, type Instance } from './fleet';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * A CRM 200 means applied with two instances (DESIGN 2.1): the CRM calls the
 * instance that does NOT own the ticket's partition, and the owner's commit
 * must reach it (Redis pub/sub on the partition's channel) before it answers.
 * Every call goes straight to one instance, no balancer; each read-back goes
 * to both.
 */
let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet('ryw');
}, 30_000);
afterAll(() => fleet?.close(), 30_000);

const on = (instance: Instance) => ({ service: { url: instance.url } }) as unknown as TestStack;

test('the CRM calls an instance that does not own the ticket: the status shows the agent at once, a send-message is accepted at once, human_to_bot closes it at once, read on either instance', async () => {
  // Long enough that a 202 on this shared machine would mean the commit never reached the receiving instance.
  const all = ['ryw-a', 'ryw-b'].map((name) => fleet.start(name, { CRM_APPLY_TIMEOUT_MS: '10000' }));
  try {
    await Promise.all(all.map((instance) => fleet.ready(instance)));
    const owners = await eventually(async () => {
      const split = await fleet.exclusivelyOwned();
      return split && new Set(split.values()).size === 2 && split;
    }, 'the partitions split between the two instances');
    // Three tickets whose partition each instance owns: each instance receives calls for the other's.
    const phones: string[] = [];
    const perOwner = new Map<string, number>();
    for (let n = 0; phones.length < 6; n++) {
      const phone = `57311${String(n).padStart(7, '0')}`;
      const owner = owners.get(partitionOf(phone, PARTITIONS))!;
      if ((perOwner.get(owner) ?? 0) === 3) continue;
      perOwner.set(owner, (perOwner.get(owner) ?? 0) + 1);
      phones.push(phone);
    }
    const tickets = await Promise.all(phones.map(async (phone) => ({ phone, ticketId: await openTicketFor(fleet.stack, phone, '2020202020') })));

    const seen = [];
    for (const { phone, ticketId } of tickets) {
      const owner = owners.get(partitionOf(phone, PARTITIONS))!;
      const receiving = all.find((instance) => instance.name !== owner)!;
      const named = { ticketId, userPhone: phone };
      const statuses = async () => Promise.all(all.map(async (instance) => (await crmCall(on(instance), 'GET', `/api/crm/handover-status/${ticketId}`)).body));

      const taken = await crmCall(on(receiving), 'POST', '/api/crm/handover', {
        ...named,
        agentId: 'agent_3',
        agentName: 'Marta',
        handoverType: 'bot_to_human',
      });
      const afterTaking = await statuses();
      const greeting = await crmCall(on(receiving), 'POST', '/api/crm/send-message', { ...named, agentId: 'agent_3', message: 'Hola', messageType: 'text' });
      const given = await crmCall(on(receiving), 'POST', '/api/crm/handover', { ...named, handoverType: 'human_to_bot' });
      const afterGiving = await statuses();
      seen.push({
        answers: [taken.status, greeting.status, given.status],
        afterTaking: afterTaking.map((status) => [status.status, status.assignedAgent?.name]),
        afterGiving: afterGiving.map((status) => status.status),
      });
    }
    const expected = {
      answers: [200, 200, 200],
      afterTaking: [
        ['active', 'Marta'],
        ['active', 'Marta'],
      ],
      afterGiving: ['closed', 'closed'],
    };
    expect(seen).toEqual(Array(tickets.length).fill(expected));
  } catch (error) {
    fleet.dumpLogs(all);
    throw error;
  }
}, 90_000);
