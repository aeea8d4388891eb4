import type { AgentRequestResult } from '../domain/events';
import { signBody } from '../lib/security';
import { call, type CallOutcome } from './http';

export interface CrmClientOptions {
  baseUrl: string;
  agentRequestUrl: string;
  botApiToken: string;
  signingSecret: string;
  timeoutMs: number;
}

export type CrmCall = 'agent-request' | 'user-message' | 'ticket-update' | 'subscriber-erased';

/**
 * Calls the CRM's endpoints (DESIGN 2.2). Every call is signed over the exact
 * bytes sent and carries the outbox row's key as Idempotency-Key, so the CRM
 * can drop our retries.
 */
export function createCrmClient(options: CrmClientOptions) {
  const urls: Record<CrmCall, string> = {
    'agent-request': options.agentRequestUrl,
    'user-message': `${options.baseUrl.replace(/\/$/, '')}/api/bot/user-message`,
    'ticket-update': `${options.baseUrl.replace(/\/$/, '')}/api/bot/ticket-update`,
    'subscriber-erased': `${options.baseUrl.replace(/\/$/, '')}/api/bot/subscriber-erased`,
  };
  return {
    async send(kind: CrmCall, payload: unknown, idempotencyKey: string): Promise<CallOutcome> {
      const url = urls[kind];
      if (!url || (!options.baseUrl && kind !== 'agent-request')) {
        return { ok: false, retryable: true, error: `CRM ${kind} URL is not configured (set CRM_BASE_URL)` };
      }
      const body = JSON.stringify(payload);
      return call({
        method: 'POST',
        url,
        operation: `CRM ${kind}`,
        timeoutMs: options.timeoutMs,
        body,
        headers: {
          Authorization: `Bearer ${options.botApiToken}`,
          'Content-Type': 'application/json',
          'User-Agent': 'Conecta2Tel-Bot/1.0',
          'X-Bot-Signature': signBody(options.signingSecret, body),
          'Idempotency-Key': idempotencyKey,
        },
      });
    },
  };
}

export type CrmClient = ReturnType<typeof createCrmClient>;

/** What the agent-request's answer tells: the CRM's tentative agent and the ticket's place in its queue. */
export type AgentRequestAnswer = Pick<AgentRequestResult, 'agentAssigned' | 'queuePosition'>;

/**
 * Reads the agent-request's answer (DESIGN 2.2). CRMs differ: ids come as
 * numbers or strings, and `queuePosition` sits at the top level or inside
 * `agentAssigned`. A position that is not a positive whole number is left out.
 */
export function parseAgentRequestAnswer(body: unknown): AgentRequestAnswer {
  const answer = body as { agentAssigned?: unknown; queuePosition?: unknown } | null | undefined;
  const assigned = answer?.agentAssigned as Record<string, unknown> | null | undefined;
  const queuePosition = Number(answer?.queuePosition ?? assigned?.queuePosition);
  return {
    ...(assigned
      ? {
          agentAssigned: {
            id: stringOrUndefined(assigned.id),
            name: stringOrUndefined(assigned.name),
            estimatedResponseTime: stringOrUndefined(assigned.estimatedResponseTime),
          },
        }
      : {}),
    ...(Number.isInteger(queuePosition) && queuePosition > 0 ? { queuePosition } : {}),
  };
}

const stringOrUndefined = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);
