/** The loopback CRM, Graph API and directory fakes of bench/e2e.ts: they answer at once and count what reaches them. */
export function startFakes() {
  /** waMessageId → Idempotency-Keys it reached the CRM under, and when it first did. */
  const crmKeys = new Map<string, Set<string>>();
  const crmFirst = new Map<string, number>();
  const agentRequests = new Map<string, string>();
  const crm = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const body = (await request.json()) as Record<string, string>;
      if (path === '/api/bot/agent-request') agentRequests.set(body.userPhone!, body.ticketId!);
      if (path === '/api/bot/user-message') {
        const keys = crmKeys.get(body.waMessageId!) ?? new Set<string>();
        keys.add(request.headers.get('idempotency-key') ?? '');
        crmKeys.set(body.waMessageId!, keys);
        if (!crmFirst.has(body.waMessageId!)) crmFirst.set(body.waMessageId!, performance.now());
      }
      return Response.json({ success: true, agentAssigned: { id: 'ag-1', name: 'Laura', estimatedResponseTime: '5 minutos' } });
    },
  });

  /** What WhatsApp accepted: `recipient|text` → how many times, and when each arrived. */
  const graphSends = new Map<string, number>();
  const graphTimes = new Map<string, number>();
  const graphRecipients = new Set<string>();
  /** Recipient → the business numbers its messages went from (`/v21.0/<number>/messages`). */
  const graphFrom = new Map<string, Set<string>>();
  let wamid = 0;
  const graph = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const body = (await request.json()) as Record<string, any>;
      const recipient = String(body.to ?? body.recipient);
      const from = new URL(request.url).pathname.split('/')[2] ?? '';
      graphFrom.set(recipient, (graphFrom.get(recipient) ?? new Set()).add(from));
      const text = body.text?.body ?? body.interactive?.body?.text ?? body.type;
      const key = `${body.to ?? body.recipient}|${text}`;
      graphSends.set(key, (graphSends.get(key) ?? 0) + 1);
      graphRecipients.add(String(body.to ?? body.recipient));
      if (!graphTimes.has(key)) graphTimes.set(key, performance.now());
      return Response.json({ messaging_product: 'whatsapp', messages: [{ id: `wamid.e2e.${++wamid}` }] });
    },
  });
  const directory = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: () => Response.json({ customerId: 'C-1', customerName: 'Cliente', isInactive: false }),
  });

  return { crm, graph, directory, crmKeys, crmFirst, agentRequests, graphSends, graphTimes, graphRecipients, graphFrom };
}

/**
 * TRACES=1: an OTLP/HTTP receiver on loopback, a collector's stand-in, that the service exports its spans to:
 * the benchmark then measures the pipeline with tracing on, exporting included. It counts what it receives.
 */
export function startOtlpReceiver() {
  const received = { exports: 0, spans: 0, bytes: 0 };
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const text = await request.text();
      const body = JSON.parse(text) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
      received.exports++;
      received.bytes += text.length;
      for (const resource of body.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) received.spans += scope.spans?.length ?? 0;
      return Response.json({});
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, received, stop: () => server.stop(true) };
}
