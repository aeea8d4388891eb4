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

test('ticks only move forward: a late "delivered" after "read" leaves the message read', () => {
  const world = createWorld();
  world.serviceSent(phone, { id: 'w1', kind: 'text', text: 'Hola' }, 'Hola');
  world.delivered('w1', 'read');
  world.delivered('w1', 'delivered');
  expect(world.snapshot().phones[phone]![0]!.status).toBe('read');
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
  world.ticketEvent('TK-1', 'ticket-update: escalated', { priority: 'alta' });
  const [ticket] = world.snapshot().tickets;
  expect(ticket).toMatchObject({ status: 'pending', priority: 'alta' });
  expect(ticket!.events.map((event) => event.text)).toEqual(['agent-request received', 'ticket-update: escalated']);
});
