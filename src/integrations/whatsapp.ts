import type { AgentMessageFailureReason } from '../domain/events';
import { call, type CallFailure, type CallOutcome } from './http';
import type { ReadMark, WhatsAppMessage } from './whatsapp-messages';

export interface WhatsAppClientOptions {
  apiUrl: string;
  token: string;
  /** The number a send goes from when the caller names none: the primary (WHATSAPP_PHONE_NUMBER_ID). */
  phoneNumberId: string;
  timeoutMs: number;
}

/**
 * Graph errors worth another try: unknown and service errors (1, 2), app and
 * account rate limits (4, 80007), throughput (130429), service unavailable
 * (131016), too fast to one user (131056), an expired or revoked token (190:
 * an operator's fix, the circuit breaker holds the rows meanwhile). Anything
 * else from a 4xx is the message's own fault and is never retried; a 5xx is
 * Graph's own trouble whatever its code, and is.
 */
const RETRYABLE_GRAPH_CODES = new Set([1, 2, 4, 190, 80007, 130429, 131016, 131056]);
/** More than 24 hours since the user's last message: only a template gets through. */
export const OUTSIDE_WINDOW_CODE = 131047;

/** This message type cannot go to a business-scoped user id: the user must be written to in another form. */
export const NOT_FOR_BSUID_CODE = 131062;

/** What a refusal means for the ticket that wrote the message: past the window (a template may still pass), or refused outright. */
export const refusalReason = (code: number | undefined): AgentMessageFailureReason => (code === OUTSIDE_WINDOW_CODE ? 'outside_window' : 'refused');

export interface GraphError {
  code: number;
  title?: string;
}

/** A send Graph accepted carries the message's wamid; a refusal may carry Graph's error code. */
export type SendOutcome = (Extract<CallOutcome, { ok: true }> & { waMessageId: string }) | (CallFailure & { graphError?: GraphError });

/** What one Cloud API answer means for the outbox: the wamid of an accepted send, or whether a refusal is worth another try. */
export function classifySendAnswer(outcome: CallOutcome): SendOutcome {
  if (outcome.ok) {
    const waMessageId = (outcome.body as { messages?: { id?: string }[] } | null)?.messages?.[0]?.id;
    return waMessageId ? { ...outcome, waMessageId } : { ok: false, retryable: false, error: 'Graph accepted the send but returned no message id' };
  }
  return classifyRefusal(outcome);
}

/** A read mark or typing indicator: Graph answers `{ success: true }`, and refuses like a send. */
export type MarkOutcome = Extract<CallOutcome, { ok: true }> | (CallFailure & { graphError?: GraphError });

export function classifyMarkAnswer(outcome: CallOutcome): MarkOutcome {
  if (!outcome.ok) return classifyRefusal(outcome);
  const success = (outcome.body as { success?: unknown } | null)?.success;
  return success === true ? outcome : { ok: false, retryable: false, error: 'Graph answered the read mark without success: true' };
}

/** Conversation Routing's `take` by an app that is not the escalation partner (a documented refusal, never worth another try). */
export const TAKE_NOT_PERMITTED_CODE = 2494191;

/** A thread-control call (`pass`, `take`, `release`): any 2xx is done; a refusal is classified like a send's. */
export type ThreadControlOutcome = MarkOutcome;

/** Graph's error code decides whether a refusal is worth another try. */
function classifyRefusal(outcome: CallFailure): CallFailure & { graphError?: GraphError } {
  const graphError = (outcome.body as { error?: { code?: number; message?: string } } | null | undefined)?.error;
  if (graphError?.code === undefined) return outcome;
  const { code } = graphError;
  return {
    ...outcome,
    graphError: { code, title: graphError.message },
    retryable: RETRYABLE_GRAPH_CODES.has(code) || (outcome.status ?? 0) >= 500,
    error: `${outcome.error} (code ${code})`,
  };
}

/**
 * Sends through the Cloud API (DESIGN 2.3). The API has no idempotency key:
 * `biz_opaque_callback_data` carries our outbox key so the status webhooks
 * tie a message back to its row even when the send's response was lost.
 */
export function createWhatsAppClient(options: WhatsAppClientOptions) {
  const base = options.apiUrl.replace(/\/$/, '');
  const post = (phoneNumberId: string, body: Record<string, unknown>, edge = 'messages') =>
    call({
      method: 'POST',
      url: `${base}/${phoneNumberId}/${edge}`,
      operation: 'Graph messages',
      timeoutMs: options.timeoutMs,
      body: JSON.stringify(body),
      headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/json' },
    });
  const unconfigured = (phoneNumberId: string) => !options.token || !phoneNumberId;
  const NOT_CONFIGURED = { ok: false, retryable: true, error: 'WhatsApp is not configured (set WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID)' } as const;
  return {
    /** From `phoneNumberId`, the number the conversation belongs to (DESIGN 2.3). */
    async send(message: WhatsAppMessage, callbackData: string, phoneNumberId = options.phoneNumberId): Promise<SendOutcome> {
      if (unconfigured(phoneNumberId)) return NOT_CONFIGURED;
      return classifySendAnswer(await post(phoneNumberId, { ...message, biz_opaque_callback_data: callbackData.slice(0, 512) }));
    },
    /** The same endpoint as a send; a read mark carries no callback data (no status webhook answers it). */
    async mark(mark: ReadMark, phoneNumberId = options.phoneNumberId): Promise<MarkOutcome> {
      if (unconfigured(phoneNumberId)) return NOT_CONFIGURED;
      return classifyMarkAnswer(await post(phoneNumberId, mark));
    },
    /** POST /{phone-number-id}/thread_control: pass, take or release the user's thread (Conversation Routing). */
    async threadControl(body: Record<string, unknown>, phoneNumberId = options.phoneNumberId): Promise<ThreadControlOutcome> {
      if (unconfigured(phoneNumberId)) return NOT_CONFIGURED;
      const outcome = await post(phoneNumberId, body, 'thread_control');
      return outcome.ok ? outcome : classifyRefusal(outcome);
    },
  };
}

export type WhatsAppClient = ReturnType<typeof createWhatsAppClient>;
