/**
 * bench:soak's loopback CRM, Graph API and customer directory. They answer at
 * once and count every message by id: a user message by its wamid at the
 * CRM (with the Idempotency-Keys it came under), an agent message or a bot
 * reply by `recipient|text` at Graph, a ticket update by ticket and reason.
 * Graph gives every accepted send a wamid of its own and hands it to
 * `onSend`, so the traffic can answer with WhatsApp's three statuses.
 */

/** What WhatsApp accepted for one user: enough for a walk to know where the bot is. */
export interface Received {
  type: string;
  /** `list`, `button` for an interactive message. */
  interactive?: string;
  text: string;
}

export interface AcceptedSend {
  wamid: string;
  recipient: string;
  callbackData?: string;
}

type Waiter = () => boolean;

/** Waits are checked when something arrives, not polled: hundreds of walks wait at once. */
function waiters() {
  const pending = new Set<Waiter>();
  return {
    notify() {
      for (const waiter of pending) if (waiter()) pending.delete(waiter);
    },
    until(check: () => boolean, timeoutMs: number): Promise<boolean> {
      if (check()) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter: Waiter = () => {
          if (!check()) return false;
          clearTimeout(timer);
          resolve(true);
          return true;
        };
        const timer = setTimeout(() => {
          pending.delete(waiter);
          resolve(check());
        }, timeoutMs);
        pending.add(waiter);
      });
    },
  };
}

export function startSoakFakes(tag: string, onSend: (send: AcceptedSend) => void) {
  /** waMessageId → the Idempotency-Keys it reached the CRM under; and when it first did. */
  const crmKeys = new Map<string, Set<string>>();
  const crmFirst = new Map<string, number>();
  /** phone → the ticket the bot asked an agent for. */
  const agentRequests = new Map<string, string>();
  /** `ticketId|reason` → Idempotency-Keys: a CRM dedupes by key, so two keys are a duplicate. */
  const ticketUpdates = new Map<string, Set<string>>();
  const crmWaiters = waiters();
  const crm = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const body = (await request.json()) as Record<string, string>;
      const key = request.headers.get('idempotency-key') ?? '';
      if (path === '/api/bot/agent-request') agentRequests.set(body.userPhone!, body.ticketId!);
      if (path === '/api/bot/user-message') {
        const keys = crmKeys.get(body.waMessageId!) ?? new Set<string>();
        crmKeys.set(body.waMessageId!, keys.add(key));
        if (!crmFirst.has(body.waMessageId!)) crmFirst.set(body.waMessageId!, performance.now());
      }
      if (path === '/api/bot/ticket-update') {
        const name = `${body.ticketId}|${body.reason}`;
        ticketUpdates.set(name, (ticketUpdates.get(name) ?? new Set<string>()).add(key));
      }
      if (path !== '/api/bot/user-message') crmWaiters.notify();
      return Response.json({ success: true, agentAssigned: { id: 'ag-1', name: 'Laura', estimatedResponseTime: '5 minutos' } });
    },
  });

  /** `recipient|text` → how many times WhatsApp accepted it, and when first. */
  const graphSends = new Map<string, number>();
  const graphFirst = new Map<string, number>();
  const inbox = new Map<string, Received[]>();
  const graphWaiters = waiters();
  let wamids = 0;
  const graph = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const body = (await request.json()) as Record<string, any>;
      const recipient = String(body.to ?? body.recipient);
      const text = String(body.text?.body ?? body.interactive?.body?.text ?? body.type);
      const key = `${recipient}|${text}`;
      graphSends.set(key, (graphSends.get(key) ?? 0) + 1);
      if (!graphFirst.has(key)) graphFirst.set(key, performance.now());
      const received = inbox.get(recipient) ?? [];
      inbox.set(recipient, received);
      received.push({ type: String(body.type), interactive: body.interactive?.type, text });
      const wamid = `wamid.soak.${tag}.${++wamids}`;
      onSend({ wamid, recipient, callbackData: body.biz_opaque_callback_data });
      graphWaiters.notify();
      return Response.json({ messaging_product: 'whatsapp', messages: [{ id: wamid }] });
    },
  });
  const directory = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: () => Response.json({ customerId: 'C-1', customerName: 'Cliente', isInactive: false }),
  });

  return {
    crm,
    graph,
    directory,
    crmKeys,
    crmFirst,
    agentRequests,
    ticketUpdates,
    graphSends,
    graphFirst,
    /** How many wamids Graph gave out: every one must end `read` in the service's history. */
    wamidsIssued: () => wamids,
    wamidPrefix: `wamid.soak.${tag}.`,
    inbox: (phone: string): Received[] => inbox.get(phone) ?? [],
    /** Resolves true once `check` holds after something reached WhatsApp (false after `timeoutMs`). */
    untilGraph: (check: () => boolean, timeoutMs: number) => graphWaiters.until(check, timeoutMs),
    /** Same, for what reached the CRM other than user messages (agent requests, ticket updates). */
    untilCrm: (check: () => boolean, timeoutMs: number) => crmWaiters.until(check, timeoutMs),
    stop() {
      crm.stop(true);
      graph.stop(true);
      directory.stop(true);
    },
  };
}

export type SoakFakes = ReturnType<typeof startSoakFakes>;
