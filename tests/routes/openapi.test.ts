import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { processedEvents } from '../../src/db/schema';
import { signBody } from '../../src/lib/security';
import { ADMIN_TOKEN, bearer, freshPhone, jsonRequest, METRICS_TOKEN, routeContext, SECRETS, type RouteContext, type TestApp } from './support';

let context: RouteContext;
let app: TestApp;
let document: any;
beforeAll(async () => {
  context = await routeContext('openapi');
  app = context.app();
  document = await (await app.handle(new Request('http://localhost/openapi.json'))).json();
});
afterAll(() => context.close());

/** Elysia's `/a/:id` is OpenAPI's `/a/{id}`. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');
/** A page's own files (scripts, styles, vendored bundles) are not part of the API. */
const isPageAsset = (path: string) => /\.(js|css)$/.test(path);

describe('/openapi.json', () => {
  test('is a valid OpenAPI 3.1 document by a standard validator', async () => {
    expect(document.openapi).toBe('3.1.0');
    await SwaggerParser.validate(structuredClone(document));
  });

  test('describes every route the app registers, with its method', () => {
    const routes = app.routes.filter((route) => !isPageAsset(route.path));
    expect(routes.length).toBeGreaterThan(10);
    const missing = routes.filter((route) => !document.paths[openApiPath(route.path)]?.[route.method.toLowerCase()]);
    expect(missing).toEqual([]);
  });

  test('says how each route is authenticated: bearer for the CRM, admin and KPIs, the signature for Meta', () => {
    const security = (path: string, method = 'post') => document.paths[path][method].security;
    expect(security('/api/crm/handover')).toEqual([{ crmBearer: [] }]);
    expect(security('/api/crm/handover-status/{ticketId}', 'get')).toEqual([{ crmBearer: [] }]);
    expect(security('/api/admin/dead-letters/redrive')).toEqual([{ adminBearer: [] }]);
    expect(security('/api/metrics/kpis', 'get')).toEqual([{ metricsBearer: [] }]);
    expect(security('/webhook')).toEqual([{ metaSignature: [] }]);
    expect(security('/api/crm/meta-handover-webhook')).toEqual([{ metaSignature: [] }]);
    expect(document.components.securitySchemes.metaSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Hub-Signature-256' });
  });

  test("describes the service's calls to the CRM as webhooks, with their signature and idempotency headers", () => {
    expect(Object.keys(document.webhooks).sort()).toEqual(['agentRequest', 'subscriberErased', 'ticketUpdate', 'userMessage']);
    for (const [name, call] of Object.entries<any>(document.webhooks)) {
      expect(call.post.security).toEqual([{ botBearer: [] }]);
      expect(call.post.parameters.map((parameter: any) => parameter.name)).toEqual(['X-Bot-Signature', 'Idempotency-Key', 'User-Agent']);
      // An erasure names the tickets, all of them; every other call names its one ticket.
      const ticket = name === 'subscriberErased' ? 'ticketIds' : 'ticketId';
      expect(call.post.requestBody.content['application/json'].schema.properties[ticket]).toBeDefined();
    }
  });
});

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat('instant', true);

/** Every JSON body the document describes (requests, answers, the calls to the CRM), `$ref`s resolved, with its examples. */
async function jsonBodies() {
  const dereferenced: any = await SwaggerParser.dereference(structuredClone(document));
  const bodies: { where: string; schema: object; examples: unknown[] }[] = [];
  const operations = [...Object.entries<any>(dereferenced.paths), ...Object.entries<any>(dereferenced.webhooks)];
  for (const [path, item] of operations) {
    // The example of this document would be this document.
    if (path === '/openapi.json') continue;
    for (const [method, operation] of Object.entries<any>(item)) {
      const contents = [
        ['request', operation.requestBody?.content?.['application/json']],
        ...Object.entries<any>(operation.responses ?? {}).map(([status, response]) => [status, response.content?.['application/json']]),
      ];
      for (const [part, content] of contents) {
        if (!content) continue;
        const examples = content.examples ? Object.values<any>(content.examples).map((example) => example.value) : [content.example];
        bodies.push({ where: `${method} ${path} ${part}`, schema: content.schema, examples });
      }
    }
  }
  return bodies;
}

/** The paths inside a value where a string is empty: what Scalar shows when a body has no example. */
const emptyStrings = (value: unknown, at = '$'): string[] =>
  value === '' ? [at] : value && typeof value === 'object' ? Object.entries(value).flatMap(([key, inner]) => emptyStrings(inner, `${at}.${key}`)) : [];

describe('the examples the reference shows', () => {
  test('every JSON body has a real example: valid by its schema, no empty strings', async () => {
    const bodies = await jsonBodies();
    expect(bodies.length).toBeGreaterThan(40);
    const problems = bodies.flatMap(({ where, schema, examples }) =>
      examples.flatMap((example) => {
        if (example === undefined) return [`${where}: no example`];
        const validate = ajv.compile(schema);
        return [
          ...(validate(example) ? [] : [`${where}: ${ajv.errorsText(validate.errors)}`]),
          ...emptyStrings(example).map((path) => `${where}: "" at ${path}`),
        ];
      }),
    );
    expect(problems).toEqual([]);
  });

  test("Meta's example deliveries, signed, are taken by the service as Meta's own", async () => {
    // The thread-control example passes the ticket of the other examples: it must exist to be taken.
    await context.insertTicket({ id: document.webhooks.agentRequest.post.requestBody.content['application/json'].examples.suspended.value.ticketId });
    for (const path of ['/webhook', '/api/crm/meta-handover-webhook']) {
      const body = JSON.stringify(document.paths[path].post.requestBody.content['application/json'].example);
      const response = await app.handle(jsonRequest('POST', path, body, { 'x-hub-signature-256': signBody(SECRETS.metaSecret, body) }));
      expect({ path, status: response.status, body: await response.json() }).toEqual({ path, status: 200, body: { success: true, accepted: 1, ignored: 0 } });
    }
  });

  test('the calls to the CRM are named by what happened; where they go is said once, in the description', () => {
    for (const call of Object.values<any>(document.webhooks)) {
      // Scalar prints the method before the summary: a summary starting with it read "POST POST CRM_...".
      expect(call.post.summary).not.toMatch(/^(POST|GET)\b|CRM_|\/api\//);
      expect(call.post.description).toMatch(/^Sent as `POST CRM_(AGENT_NOTIFICATION_URL|BASE_URL\/api\/bot\/[a-z-]+)/);
    }
  });
});

describe('real answers match the schemas the document gives them', () => {
  /** The schema of `status` for the operation, `$ref`s resolved by the parser. */
  async function responseSchema(path: string, method: string, status: number) {
    const dereferenced: any = await SwaggerParser.dereference(structuredClone(document));
    const operation = dereferenced.paths[path][method];
    const response = operation.responses[status];
    if (!response) throw new Error(`${method} ${path} documents no ${status}`);
    return response.content['application/json'].schema;
  }

  const signed = (body: string) => ({ 'x-hub-signature-256': signBody(SECRETS.metaSecret, body) });
  const webhookBody = JSON.stringify({ object: 'whatsapp_business_account', entry: [] });
  const cases: { name: string; path: string; method: string; request: () => Promise<Request> }[] = [
    { name: 'health live', path: '/health/live', method: 'get', request: async () => jsonRequest('GET', '/health/live') },
    { name: 'health ready', path: '/health/ready', method: 'get', request: async () => jsonRequest('GET', '/health/ready') },
    { name: 'a signed webhook', path: '/webhook', method: 'post', request: async () => jsonRequest('POST', '/webhook', webhookBody, signed(webhookBody)) },
    { name: 'an unsigned webhook', path: '/webhook', method: 'post', request: async () => jsonRequest('POST', '/webhook', webhookBody) },
    {
      name: 'a wrong verify token',
      path: '/webhook',
      method: 'get',
      request: async () => jsonRequest('GET', '/webhook?hub.mode=subscribe&hub.verify_token=no'),
    },
    {
      name: 'thread control',
      path: '/api/crm/meta-handover-webhook',
      method: 'post',
      request: async () => jsonRequest('POST', '/api/crm/meta-handover-webhook', webhookBody, signed(webhookBody)),
    },
    {
      name: 'a handover',
      path: '/api/crm/handover',
      method: 'post',
      request: async () => {
        const ticket = await context.insertTicket({ status: 'pending', phase: 'waiting_agent', agentId: null, agentName: null });
        const body = { ticketId: ticket.id, userPhone: ticket.userPhone, agentId: 'a1', agentName: 'Ana', handoverType: 'bot_to_human' };
        return jsonRequest('POST', '/api/crm/handover', body, bearer(SECRETS.crmToken));
      },
    },
    {
      // No worker here: the first call is a 202; once its event is in processed_events, the retry is the 200.
      name: 'a handover already applied (a retry)',
      path: '/api/crm/handover',
      method: 'post',
      request: async () => {
        const ticket = await context.insertTicket({ status: 'pending', phase: 'waiting_agent', agentId: null, agentName: null });
        const body = { ticketId: ticket.id, userPhone: ticket.userPhone, agentId: 'a1', agentName: 'Ana', handoverType: 'bot_to_human' };
        const request = () => jsonRequest('POST', '/api/crm/handover', body, { ...bearer(SECRETS.crmToken), 'idempotency-key': `applied-${ticket.id}` });
        await app.handle(request());
        const queued = (await app.entries()).find((entry) => entry.key === ticket.conversationKey)!;
        await context.database.db.insert(processedEvents).values({ id: queued.id, streamEntryId: '1-0' });
        return request();
      },
    },
    { name: 'a handover without a token', path: '/api/crm/handover', method: 'post', request: async () => jsonRequest('POST', '/api/crm/handover', {}) },
    {
      name: 'a malformed handover',
      path: '/api/crm/handover',
      method: 'post',
      request: async () => jsonRequest('POST', '/api/crm/handover', {}, bearer(SECRETS.crmToken)),
    },
    {
      name: 'a message',
      path: '/api/crm/send-message',
      method: 'post',
      request: async () => {
        const ticket = await context.insertTicket();
        const body = { ticketId: ticket.id, userPhone: ticket.userPhone, message: 'Hola', messageType: 'text' };
        return jsonRequest('POST', '/api/crm/send-message', body, bearer(SECRETS.crmToken));
      },
    },
    {
      name: 'a message for a closed ticket',
      path: '/api/crm/send-message',
      method: 'post',
      request: async () => {
        const ticket = await context.insertTicket({ status: 'closed', phase: 'closed', closeReason: 'resolved', closedAt: new Date() });
        const body = { ticketId: ticket.id, userPhone: ticket.userPhone, message: 'Hola', messageType: 'text' };
        return jsonRequest('POST', '/api/crm/send-message', body, bearer(SECRETS.crmToken));
      },
    },
    {
      name: 'typing by an agent who does not hold the ticket',
      path: '/api/crm/typing',
      method: 'post',
      request: async () => {
        const ticket = await context.insertTicket();
        return jsonRequest('POST', '/api/crm/typing', { ticketId: ticket.id, agentId: 'someone_else' }, bearer(SECRETS.crmToken));
      },
    },
    {
      name: 'a read mark naming no message of the user',
      path: '/api/crm/read',
      method: 'post',
      request: async () => {
        const ticket = await context.insertTicket();
        return jsonRequest('POST', '/api/crm/read', { ticketId: ticket.id, agentId: ticket.agentId, upTo: 'wamid.nobody' }, bearer(SECRETS.crmToken));
      },
    },
    {
      name: 'a status',
      path: '/api/crm/handover-status/{ticketId}',
      method: 'get',
      request: async () => {
        const ticket = await context.insertTicket({ conversationKey: freshPhone() });
        return jsonRequest('GET', `/api/crm/handover-status/${ticket.id}`, undefined, bearer(SECRETS.crmToken));
      },
    },
    {
      name: 'an unknown ticket',
      path: '/api/crm/handover-status/{ticketId}',
      method: 'get',
      request: async () => jsonRequest('GET', '/api/crm/handover-status/TK-0000-000000', undefined, bearer(SECRETS.crmToken)),
    },
    {
      name: 'a media no user sent',
      path: '/api/crm/media/{mediaId}',
      method: 'get',
      request: async () => jsonRequest('GET', '/api/crm/media/1234567890', undefined, bearer(SECRETS.crmToken)),
    },
    {
      name: 'KPIs by agent',
      path: '/api/metrics/kpis',
      method: 'get',
      request: async () => jsonRequest('GET', '/api/metrics/kpis?from=2026-11-01&to=2026-11-02&groupBy=agent', undefined, bearer(METRICS_TOKEN)),
    },
    { name: 'the live view without a token', path: '/api/live', method: 'get', request: async () => jsonRequest('GET', '/api/live') },
    {
      name: 'dead letters',
      path: '/api/admin/dead-letters',
      method: 'get',
      request: async () => jsonRequest('GET', '/api/admin/dead-letters', undefined, bearer(ADMIN_TOKEN)),
    },
    {
      name: 'a re-drive',
      path: '/api/admin/dead-letters/redrive',
      method: 'post',
      request: async () => jsonRequest('POST', '/api/admin/dead-letters/redrive', { ids: ['1-1'] }, bearer(ADMIN_TOKEN)),
    },
    {
      name: "a subscriber's export",
      path: '/api/admin/subscribers',
      method: 'get',
      request: async () => {
        const ticket = await context.insertTicket({ conversationKey: freshPhone() });
        return jsonRequest('GET', `/api/admin/subscribers?phone=${ticket.conversationKey}`, undefined, bearer(ADMIN_TOKEN));
      },
    },
    {
      name: "a subscriber's erasure",
      path: '/api/admin/subscribers/erase',
      method: 'post',
      request: async () => {
        const ticket = await context.insertTicket({ conversationKey: freshPhone() });
        return jsonRequest('POST', '/api/admin/subscribers/erase', { phone: ticket.conversationKey }, bearer(ADMIN_TOKEN));
      },
    },
    {
      name: 'an erasure naming no one',
      path: '/api/admin/subscribers/erase',
      method: 'post',
      request: async () => jsonRequest('POST', '/api/admin/subscribers/erase', {}, bearer(ADMIN_TOKEN)),
    },
  ];

  test.each(cases.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
    const response = await app.handle(await testCase.request());
    const body = await response.json();
    const validate = ajv.compile(await responseSchema(testCase.path, testCase.method, response.status));
    expect({ status: response.status, errors: validate(body) ? null : validate.errors }).toEqual({ status: response.status, errors: null });
  });

  test('the cases cover an applied and a not yet applied handover', async () => {
    const statuses = [];
    for (const name of ['a handover', 'a handover already applied (a retry)']) {
      statuses.push((await app.handle(await cases.find((testCase) => testCase.name === name)!.request())).status);
    }
    expect(statuses).toEqual([202, 200]);
  });

  test('the cases cover a success and an error for the CRM routes', () => {
    const covered = new Set(cases.map((testCase) => testCase.path));
    for (const path of Object.keys(document.paths).filter((path) => path.startsWith('/api/'))) expect(covered).toContain(path);
  });
});
