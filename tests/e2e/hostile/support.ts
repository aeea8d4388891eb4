import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import Redis from 'ioredis';
import { streamKeys } from '../../../src/streams/codec';
import { activeTicketFor, eventually, REDIS_URL, SECRETS, sendUser, startStack, text, type TestStack } from '../../support/harness';

/**
 * Issue 13's hostile-input suite: requests an attacker or a careless client
 * would send, each case asserting the exact status (and, for an error, the
 * JSON error body), then that a legitimate message on the same
 * conversation, hence the same partition, is applied within a second:
 * nothing hostile may stall it.
 */
export const ADMIN_TOKEN = 'admin-token-for-hostile-input';
export const METRICS_TOKEN = 'metrics-token-for-hostile-input';
export const NUL = '\u0000';
export const LONE_SURROGATE = '\ud800';
/** Past what the stall of issue 13 left (about 5 s per bad entry), within what a healthy partition needs many times over. */
const FLOWS_WITHIN_MS = 1000;
/** A customer of the directory fake: opening a ticket authenticates with it. */
const DOCUMENT = '2020202020';

/** What a hostile request aims at: a conversation, with an active ticket when the case needs one. */
export interface Target {
  phone: string;
  ticketId: string;
}

export interface Hostile {
  name: string;
  /** An active ticket (by default), or a conversation that has none. */
  needs?: 'ticket' | 'conversation';
  send(target: Target): Promise<Response>;
  status: number;
  /** The JSON error code of a refusal. */
  error?: string;
  /** What the refusal's message must name (the field). */
  names?: string;
  /** Event ids the hostile request itself must have become, applied (a cleaned webhook is processed, not dropped). */
  applied?: (target: Target) => string[];
}

let phones = 0;
/** A phone no other test of the process uses. */
export const freshPhone = () => `5731${String(process.pid % 1000).padStart(3, '0')}${String(++phones).padStart(5, '0')}`;

const withToken = (token: string, headers: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  ...headers,
});

/** The whole service for one file (booted before its tests, stopped after), and what its cases use. */
export function hostileStack(label: string, env: Record<string, string> = {}) {
  // Called at the top of each file: the preload's 30 s default reaches the first file of a run only (tests/support/setup.ts).
  setDefaultTimeout(30_000);
  let stack: TestStack;
  let redis: Redis;
  beforeAll(async () => {
    stack = await startStack(label, { ADMIN_TOKEN, METRICS_TOKEN, ...env });
    redis = new Redis(REDIS_URL);
  }, 30_000);
  afterAll(async () => {
    redis.disconnect();
    await stack.stop();
  });

  const url = (path: string) => `${stack.service.url}${path}`;
  const processed = async (eventId: string) => (await stack.sql`select 1 from processed_events where id = ${eventId}`).length > 0;

  return {
    get stack() {
      return stack;
    },
    get redis() {
      return redis;
    },
    url,
    processed,
    deadLetterCount: () => redis.xlen(streamKeys(stack.config.REDIS_KEY_PREFIX).deadLetter),

    /** The proof that the conversation's partition flows: a user's message, applied within a second of being accepted. */
    async stillFlows(phone: string): Promise<void> {
      const id = await sendUser(stack, phone, text('¿siguen ahí?'));
      await eventually(() => processed(`wa:msg:${id}`), `the legitimate message from ${phone}`, FLOWS_WITHIN_MS);
    },

    /** A CRM call; a string body is sent verbatim, so it may hold what JSON.stringify would not write. */
    crm: (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(url(path), { method, headers: withToken(SECRETS.crmToken, headers), body: typeof body === 'string' ? body : JSON.stringify(body) }),
    operator: (token: string, path: string, init: RequestInit = {}) => fetch(url(path), { ...init, headers: withToken(token) }),

    /** A POST whose body streams past MAX_BODY_BYTES without announcing its length. */
    chunked: (path: string, headers: Record<string, string>) =>
      fetch(url(path), {
        method: 'POST',
        headers,
        duplex: 'half',
        body: new ReadableStream({
          start(controller) {
            for (let sent = 0; sent <= stack.config.MAX_BODY_BYTES; sent += 64 * 1024) controller.enqueue(new Uint8Array(64 * 1024).fill(32));
            controller.close();
          },
        }),
      } as RequestInit),

    /** Opens a ticket for a new user and hands it to an agent. */
    activeTicket: (phone: string) => activeTicketFor(stack, phone, DOCUMENT),
  };
}

export type HostileStack = ReturnType<typeof hostileStack>;

/**
 * One test per case: the exact answer, then the partition still flows and nothing was dead-lettered. The cases run
 * one after another; the users they aim at (each its own, with an active ticket when the case needs one) are all
 * brought there at once beforehand, as a crowd of users would be: a ticket takes a few round trips through the
 * pipeline, and one after another they were most of the file's time.
 */
export function hostileCases(title: string, hostile: HostileStack, cases: Hostile[]): void {
  const targets = new Map<Hostile, Target>();
  describe(title, () => {
    beforeAll(async () => {
      await Promise.all(
        cases.map(async (hostileCase) => {
          const phone = freshPhone();
          const ticketId = hostileCase.needs === 'conversation' ? 'TK-NONE' : await hostile.activeTicket(phone);
          targets.set(hostileCase, { phone, ticketId });
        }),
      );
    }, 60_000);

    for (const hostileCase of cases) {
      test(
        hostileCase.name,
        async () => {
          const target = targets.get(hostileCase)!;
          const { phone } = target;
          const deadBefore = await hostile.deadLetterCount();

          const response = await hostileCase.send(target);

          expect(response.status).toBe(hostileCase.status);
          if (hostileCase.status >= 400) {
            expect(response.headers.get('content-type')).toStartWith('application/json');
            const body = (await response.json()) as { success: boolean; error: string; message: string };
            expect(body.success).toBe(false);
            if (hostileCase.error) expect(body.error).toBe(hostileCase.error);
            if (hostileCase.names) expect(body.message).toContain(hostileCase.names);
          }
          await hostile.stillFlows(phone);
          for (const eventId of hostileCase.applied?.(target) ?? []) expect(await hostile.processed(eventId)).toBe(true);
          expect(await hostile.deadLetterCount()).toBe(deadBefore);
        },
        30_000,
      );
    }
  });
}
