import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import { type Deadlines } from '../../src/actors/deadlines';
import { addSeconds } from '../../src/domain/time';
import { effectsOf, type Effect, type EffectParams } from '../../src/actors/effects';
import { createBusinessCalendar } from '../../src/domain/business-hours';
import { createHandoverMachine, type HandoverEvent, type HandoverInput, type HandoverPolicy } from '../../src/actors/handover';
import { createConversationMachine, type ConversationEvent } from '../../src/actors/conversation';

/** 2026-11-30 is a Monday; 15:00 UTC is 10:00 in Bogotá. */
export const MONDAY_10AM_BOGOTA = '2026-11-30T15:00:00.000Z';

export const POLICY: HandoverPolicy = {
  assignTimeoutS: 60,
  maxEscalations: 2,
  supervisorQueue: false,
  agentReplyTimeoutS: 120,
  queueUpdateIntervalS: 45,
  userAbandonTimeoutS: 600,
  windowS: 24 * 3600,
  reengageTemplate: false,
  outOfHoursQueue: true,
  calendar: createBusinessCalendar('', '', 'America/Bogota'),
};

export const TICKET: HandoverInput = {
  ticketId: 'TK-2026-000042',
  conversationKey: '573001112233',
  category: 'soporte_agente',
  priority: 'media',
  customer: { customerId: 'C-1', customerName: 'Ana', isInactive: false },
  requestedAt: MONDAY_10AM_BOGOTA,
};

type Timed = EventObject & { at: string };
/** An event as a test writes it: the clock stamps `at`. */
type Untimed<E> = E extends unknown ? Omit<E, 'at'> : never;

/**
 * Runs a machine the way the runtime does (pure `transition()`, every event
 * stamped with the time it is accepted) against a clock the test moves.
 * `advance` fires each armed deadline at its due time, in order, exactly as
 * the timer scheduler feeds `timer.fired` events back: no real time passes.
 */
class SimulatedClock<TEvent extends Timed> {
  snapshot: AnyMachineSnapshot;
  /** Every effect asked for, with the simulated time it was asked for. */
  readonly log: { at: string; effect: Effect }[] = [];
  now: string;

  constructor(
    private readonly machine: AnyStateMachine,
    input: unknown,
    startAt: string,
  ) {
    this.now = startAt;
    const [snapshot, actions] = initialTransition(machine, input);
    this.snapshot = snapshot;
    this.record(actions);
  }

  get value(): string {
    return String(this.snapshot.value);
  }

  get context() {
    return this.snapshot.context as { deadlines: Deadlines<string> } & Record<string, unknown>;
  }

  /** Sends an event now; returns the effects it caused. */
  send(event: Untimed<TEvent>): Effect[] {
    const [next, actions] = transition(this.machine, this.snapshot, { ...event, at: this.now });
    this.snapshot = next;
    return this.record(actions);
  }

  /** Moves the clock forward, firing every deadline that falls due on the way. */
  advance(seconds: number): void {
    const until = addSeconds(this.now, seconds);
    for (;;) {
      const due = Object.entries(this.context.deadlines ?? {})
        .filter(([, at]) => at !== undefined && at <= until)
        .sort(([, a], [, b]) => a!.localeCompare(b!))[0];
      if (!due) break;
      const [timer, dueAt] = due;
      this.now = dueAt!;
      this.send({ type: 'timer.fired', timer, dueAt } as unknown as Untimed<TEvent>);
    }
    this.now = until;
  }

  /** The params of every effect of one kind, in order. */
  effects<K extends keyof EffectParams>(type: K): EffectParams[K][] {
    return this.log.filter(({ effect }) => effect.type === type).map(({ effect }) => effect.params as EffectParams[K]);
  }

  /** When each effect of one kind was asked for. */
  times(type: keyof EffectParams): string[] {
    return this.log.filter(({ effect }) => effect.type === type).map(({ at }) => at);
  }

  private record(actions: readonly { type: string; params?: unknown }[]): Effect[] {
    const effects = effectsOf(actions);
    for (const effect of effects) this.log.push({ at: this.now, effect });
    return effects;
  }
}

export function simulateTicket(policy: Partial<HandoverPolicy> = {}, input: Partial<HandoverInput> = {}) {
  const full = { ...TICKET, ...input };
  return new SimulatedClock<HandoverEvent>(createHandoverMachine({ ...POLICY, ...policy }), full, full.requestedAt);
}

export function simulateConversation(surveyTimeoutS: number, startAt = MONDAY_10AM_BOGOTA) {
  return new SimulatedClock<ConversationEvent>(createConversationMachine({ surveyTimeoutS }), { conversationKey: TICKET.conversationKey }, startAt);
}

export const at = (start: string, seconds: number) => addSeconds(start, seconds);
