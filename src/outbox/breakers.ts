import { BrokenCircuitError, circuitBreaker, ConsecutiveBreaker, handleType, IsolatedCircuitError, type CircuitBreakerPolicy } from 'cockatiel';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import { DESTINATIONS, type Destination } from '../domain/lanes';
import type { Delivery } from './outcome';

export interface BreakerOptions {
  /** Consecutive transient failures that open a destination's circuit. */
  threshold: number;
  /** How long it stays open before one probe call is let through. */
  halfOpenAfterMs: number;
}

/** Thrown inside a breaker so that it counts a transient failure; carries the delivery back out. */
class TransientFailure extends Error {
  constructor(readonly delivery: Delivery) {
    super(delivery.outcome.ok ? 'ok' : delivery.outcome.error);
  }
}

/**
 * One circuit per destination: after `threshold` transient failures in a
 * row the destination is left alone (rows wait, attempts are not spent)
 * until one probe call succeeds. Permanent failures (a 4xx) do not count:
 * the destination answered.
 */
export function createBreakers(options: BreakerOptions, metrics: Pick<Metrics, 'circuitOpen'>, logger: Logger) {
  /** Half-open probes so far, per destination: a failed probe is the circuit's business, not the row's. */
  const probes: Record<Destination, number> = { crm: 0, whatsapp: 0, lookup: 0 };
  const policies = Object.fromEntries(DESTINATIONS.map((destination) => [destination, createPolicy(destination)])) as Record<Destination, CircuitBreakerPolicy>;

  function createPolicy(destination: Destination): CircuitBreakerPolicy {
    const policy = circuitBreaker(handleType(TransientFailure), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.threshold),
    });
    metrics.circuitOpen.set({ destination }, 0);
    policy.onBreak(() => {
      metrics.circuitOpen.set({ destination }, 1);
      logger.warn({ event: 'circuit.open', destination, retryInMs: options.halfOpenAfterMs }, `${destination} keeps failing: calls held back`);
    });
    policy.onHalfOpen(() => {
      probes[destination]++;
      logger.info({ event: 'circuit.half_open', destination }, `${destination}: probing with one call`);
    });
    policy.onReset(() => {
      metrics.circuitOpen.set({ destination }, 0);
      logger.info({ event: 'circuit.closed', destination }, `${destination} answers again: delivering`);
    });
    return policy;
  }

  return {
    /** Makes the call through the destination's circuit; while it is open the call is not made and the delivery is deferred. */
    async guard(destination: Destination, call: () => Promise<Delivery>): Promise<Delivery> {
      const probesBefore = probes[destination];
      try {
        return await policies[destination].execute(async () => {
          const delivery = await call();
          if (!delivery.outcome.ok && delivery.outcome.retryable && !delivery.deferred) throw new TransientFailure(delivery);
          return delivery;
        });
      } catch (error) {
        if (error instanceof TransientFailure) {
          const { delivery } = error;
          // A failed probe does not spend the row's attempts (a long outage would wear it out one probe at a time);
          // a probe whose outcome is unknown still goes through the in-doubt path.
          const probed = probes[destination] !== probesBefore && !delivery.outcome.ok && !delivery.outcome.unknownOutcome;
          return probed ? { ...delivery, deferred: { retryInMs: options.halfOpenAfterMs } } : delivery;
        }
        if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
          return { outcome: { ok: false, retryable: true, error: `${destination} circuit open` }, deferred: { retryInMs: options.halfOpenAfterMs } };
        }
        throw error;
      }
    },
  };
}

export type Breakers = ReturnType<typeof createBreakers>;
