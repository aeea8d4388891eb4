import { expect, test } from 'bun:test';
import { createWorld } from '../../../src/demo/world';

const phone = '573001234567';

test("a send carrying what the agent just wrote is shown as the agent's; any other send is the bot's", () => {
  const world = createWorld();
  world.agentWillSend(phone, 'Hola, soy María');
  world.serviceSent(phone, { id: 'w1', kind: 'text', text: 'Agente conectado' }, 'Agente conectado');
  world.serviceSent(phone, { id: 'w2', kind: 'text', text: 'Hola, soy María' }, 'Hola, soy María');
  world.serviceSent(phone, { id: 'w3', kind: 'text', text: 'Hola, soy María' }, 'Hola, soy María');
  expect(world.snapshot().phones[phone]!.map((message) => message.from)).toEqual(['bot', 'agent', 'bot']);
});

test("the subscriber's messages get the sender's ticks: sent, delivered once the service took them, read up to the read mark; received ones get none", () => {
  const world = createWorld();
  world.userWrote(phone, { id: 'u1', kind: 'text', text: 'Hola' });
  world.serviceSent(phone, { id: 'w1', kind: 'text', text: 'Menú' }, 'Menú');
  world.userWrote(phone, { id: 'u2', kind: 'text', text: '1' });
  world.userWrote(phone, { id: 'u3', kind: 'text', text: '1010101010' });
  const ticks = () => world.snapshot().phones[phone]!.map((message) => message.status);
  expect(ticks()).toEqual(['sent', undefined, 'sent', 'sent']);
  world.userMessageDelivered('u1');
  world.userMessageDelivered('u2');
  world.userMessageDelivered('u3');
  expect(ticks()).toEqual(['delivered', undefined, 'delivered', 'delivered']);
  // WhatsApp's read mark covers the message named and every earlier one.
  world.readUpTo('u2');
  expect(ticks()).toEqual(['read', undefined, 'read', 'delivered']);
  // A late delivery never takes a tick back.
  world.userMessageDelivered('u1');
  expect(ticks()).toEqual(['read', undefined, 'read', 'delivered']);
});

test('a ticket-update changes the console ticket and is listed among its events', () => {
  const world = createWorld();
  world.ticketRequested({
    ticketId: 'TK-1',
    phone,
    customerName: 'Juan',
    customerId: 'C1',
    category: 'reactivacion_servicio',
    priority: 'media',
    serviceSuspended: true,
    requestedAt: new Date().toISOString(),
  });
  world.ticketEvent('TK-1', 'Escalated: priority alta, no agent after 2 min', { priority: 'alta' });
  const [ticket] = world.snapshot().tickets;
  expect(ticket).toMatchObject({ status: 'pending', priority: 'alta' });
  expect(ticket!.events.map((event) => event.text)).toEqual(['Requested: waiting for an agent', 'Escalated: priority alta, no agent after 2 min']);
});

test('a typing indicator at Graph shows "typing…" on that phone until the business sends a message, or for 25 s', () => {
  let now = Date.parse('2026-12-01T10:00:00Z');
  const world = createWorld(() => now);
  const other = '573007654321';
  world.userWrote(phone, { id: 'u1', kind: 'text', text: 'Hola' });
  world.userWrote(other, { id: 'o1', kind: 'text', text: 'Buenas' });
  expect(world.snapshot().typing).toEqual([]);

  world.typingShown('u1');
  expect(world.snapshot().typing).toEqual([phone]);
  // The reply ends it; a message to someone else does not.
  world.serviceSent(other, { id: 'w1', kind: 'text', text: 'Menú' }, 'Menú');
  expect(world.snapshot().typing).toEqual([phone]);
  world.serviceSent(phone, { id: 'w2', kind: 'text', text: 'Ya lo reviso' }, 'Ya lo reviso');
  expect(world.snapshot().typing).toEqual([]);

  // Without a reply WhatsApp drops it after 25 s; a refresh before then starts the 25 s again.
  world.typingShown('u1');
  now += 20_000;
  world.typingShown('u1');
  now += 24_999;
  expect(world.snapshot().typing).toEqual([phone]);
  now += 1;
  expect(world.snapshot().typing).toEqual([]);
});

test('a typing indicator naming a message the phone never sent shows nothing', () => {
  const world = createWorld();
  world.typingShown('wamid.unknown');
  expect(world.snapshot().typing).toEqual([]);
});
