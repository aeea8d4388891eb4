import { describe, expect, test } from 'bun:test';
import { Gauge, Registry } from 'prom-client';
import { createLogger } from '../../../src/logger';
import { createBreakers } from '../../../src/outbox/breakers';
import type { Delivery } from '../../../src/outbox/outcome';

const transient: Delivery = { outcome: { ok: false, retryable: true, status: 503, error: 'answered 503' } };
const permanent: Delivery = { outcome: { ok: false, retryable: false, status: 400, error: 'answered 400' } };
const unknown: Delivery = { outcome: { ok: false, retryable: true, unknownOutcome: true, error: 'timed out after 800 ms' } };
const delivered: Delivery = { outcome: { ok: true, status: 200, body: null } };

/** Breakers with their open-circuit gauge and their log lines, and a destination whose answers the test scripts. */
function setup(options: { threshold: number; halfOpenAfterMs: number }) {
  const circuitOpen = new Gauge({ name: 'circuit_open', help: 'test', labelNames: ['destination'], registers: [new Registry()] });
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const breakers = createBreakers(options, { circuitOpen }, logger);
  let calls = 0;
  const through = (destination: 'crm' | 'whatsapp' | 'lookup', answer: Delivery) =>
    breakers.guard(destination, async () => {
      calls++;
      return answer;
    });
  const open = async (destination: string) => (await circuitOpen.get()).values.find((value) => value.labels.destination === destination)?.value;
  const logged = () => logs.map(({ level, event, destination, retryInMs, msg }) => ({ level, event, destination, retryInMs, msg }));
  return { breakers, through, open, calls: () => calls, logged };
}

const HELD = 60_000;

describe('circuit breakers per destination', () => {
  test('transient failures below the threshold are the row’s own: they spend its attempts', async () => {
    const { through, open } = setup({ threshold: 3, halfOpenAfterMs: HELD });
    expect(await through('crm', transient)).toEqual(transient);
    expect(await through('crm', transient)).toEqual(transient);
    expect(await open('crm')).toBe(0);
  });

  test('after threshold transient failures in a row the circuit opens: calls are not made and rows are deferred', async () => {
    const { through, open, calls } = setup({ threshold: 2, halfOpenAfterMs: HELD });
    await through('crm', transient);
    await through('crm', transient);
    const held = await through('crm', delivered);
    expect(held).toEqual({ outcome: { ok: false, retryable: true, error: 'crm circuit open' }, deferred: { retryInMs: HELD } });
    expect(calls()).toBe(2);
    expect(await open('crm')).toBe(1);
  });

  test('permanent failures do not open the circuit: the destination answered', async () => {
    const { through, calls } = setup({ threshold: 2, halfOpenAfterMs: HELD });
    for (let n = 0; n < 3; n++) expect(await through('crm', permanent)).toEqual(permanent);
    expect(await through('crm', delivered)).toEqual(delivered);
    expect(calls()).toBe(4);
  });

  test('a success in between starts the count again', async () => {
    const { through, calls } = setup({ threshold: 2, halfOpenAfterMs: HELD });
    await through('crm', transient);
    await through('crm', delivered);
    await through('crm', transient);
    expect(await through('crm', delivered)).toEqual(delivered);
    expect(calls()).toBe(4);
  });

  test('one destination’s open circuit does not hold back another', async () => {
    const { through, open } = setup({ threshold: 1, halfOpenAfterMs: HELD });
    await through('crm', transient);
    expect(await through('whatsapp', delivered)).toEqual(delivered);
    expect(await open('whatsapp')).toBe(0);
  });

  test('a failed probe spends no attempt: it is deferred like a held-back call', async () => {
    // Half-open at once: the very next call is the probe.
    const { through, calls } = setup({ threshold: 1, halfOpenAfterMs: 0 });
    await through('whatsapp', transient);
    const probe = await through('whatsapp', transient);
    expect(calls()).toBe(2);
    expect(probe).toEqual({ ...transient, deferred: { retryInMs: 0 } });
  });

  test('a probe whose outcome is unknown is not deferred: the send goes through the in-doubt path', async () => {
    const { through } = setup({ threshold: 1, halfOpenAfterMs: 0 });
    await through('whatsapp', transient);
    expect(await through('whatsapp', unknown)).toEqual(unknown);
  });

  test('a successful probe closes the circuit', async () => {
    const { through, open } = setup({ threshold: 1, halfOpenAfterMs: 0 });
    await through('lookup', transient);
    expect(await open('lookup')).toBe(1);
    expect(await through('lookup', delivered)).toEqual(delivered);
    expect(await open('lookup')).toBe(0);
  });

  test('a delivery deferred by its deliverer (no call made) is not counted as a failure', async () => {
    const { through, calls } = setup({ threshold: 1, halfOpenAfterMs: HELD });
    const waiting: Delivery = { ...transient, deferred: { retryInMs: 500 } };
    expect(await through('whatsapp', waiting)).toEqual(waiting);
    expect(await through('whatsapp', delivered)).toEqual(delivered);
    expect(calls()).toBe(2);
  });

  test('a failure after the circuit closed again is the row’s own once more, not a probe’s', async () => {
    const { through } = setup({ threshold: 2, halfOpenAfterMs: 0 });
    await through('crm', transient);
    await through('crm', transient);
    expect(await through('crm', delivered)).toEqual(delivered);
    expect(await through('crm', transient)).toEqual(transient);
  });

  test('an error the call throws (a bug, not an answer) is thrown on, not taken for an open circuit', async () => {
    const { breakers } = setup({ threshold: 1, halfOpenAfterMs: HELD });
    const thrown = breakers.guard('crm', async () => {
      throw new TypeError('body is not a function');
    });
    await expect(thrown).rejects.toThrow('body is not a function');
  });

  test('the support engineer reads when a destination is held back, probed and delivered to again', async () => {
    const { through, logged } = setup({ threshold: 1, halfOpenAfterMs: 0 });
    await through('whatsapp', transient);
    await through('whatsapp', delivered);
    expect(logged()).toEqual([
      { level: 40, event: 'circuit.open', destination: 'whatsapp', retryInMs: 0, msg: 'whatsapp keeps failing: calls held back' },
      { level: 30, event: 'circuit.half_open', destination: 'whatsapp', retryInMs: undefined, msg: 'whatsapp: probing with one call' },
      { level: 30, event: 'circuit.closed', destination: 'whatsapp', retryInMs: undefined, msg: 'whatsapp answers again: delivering' },
    ]);
  });
});
