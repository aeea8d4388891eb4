/**
 * A busy desk's mixed traffic, open loop: each kind is started at its rate
 * whatever the service's answers take, so a slow service shows as latency
 * and requests in flight, never as a politer client.
 *
 *   user     a user on an open ticket writes (signed webhook) → the CRM's user-message;
 *   agent    an agent answers (POST /api/crm/send-message) → Graph;
 *   newUser  a user walks the menu: "Hola" → menu, "soporte" → the document question, a document →
 *            the CRM's agent-request → the CRM's handover bot_to_human; the ticket joins the desk;
 *   close    the desk's oldest ticket: once its messages in flight were answered, handover
 *            human_to_bot → the survey at Graph → the user answers 5 → the CRM's csat ticket-update.
 * The statuses of every send follow by themselves (statuses.ts).
 */
import type { CrmAnswer, ServiceClient } from './client';
import type { SoakFakes } from './fakes';

export interface Rates {
  user: number;
  agent: number;
  newUsers: number;
  closes: number;
}

interface Ticket {
  phone: string;
  ticketId: string;
  /** Its webhooks and CRM calls not answered yet: a close waits for them, so none lands on the survey. */
  inFlight: number;
}

export interface Records {
  users: { id: string; acceptedAt: number }[];
  agents: { key: string; startedAt: number; answer: CrmAnswer }[];
  walks: { startedAt: number; ms: number }[];
  closes: { startedAt: number; ms: number }[];
  failures: string[];
  /** A user or agent message was due while no ticket was open. */
  skipped: number;
}

const STEP_TIMEOUT_MS = 60_000;

export function desk(options: { tag: string; phoneDigit: number; client: ServiceClient; fakes: SoakFakes }) {
  const { tag, client, fakes } = options;
  const pool: Ticket[] = [];
  const running = new Set<Promise<unknown>>();
  const records: Records = { users: [], agents: [], walks: [], closes: [], failures: [], skipped: 0 };
  let phones = 0;
  let userMessages = 0;
  let agentMessages = 0;

  const track = (work: Promise<unknown>) => {
    running.add(work);
    void work.finally(() => running.delete(work));
  };
  const step = async (what: string, phone: string, reached: Promise<boolean>) => {
    if (!(await reached)) throw new Error(`${phone} waited ${STEP_TIMEOUT_MS / 1000} s for ${what}`);
  };

  /** The CRM's handover, again until applied: a 202 is applied later, so the ticket's status is watched until it shows. */
  async function handover(ticket: Omit<Ticket, 'inFlight'>, handoverType: 'bot_to_human' | 'human_to_bot'): Promise<void> {
    const body = { ticketId: ticket.ticketId, userPhone: ticket.phone, agentId: 'ag-1', agentName: 'Laura', handoverType };
    const answer = await client.crm('/api/crm/handover', body, `handover-${ticket.ticketId}-${handoverType}`);
    if (answer.status !== 200 && answer.status !== 202) throw new Error(`${ticket.ticketId}: handover ${handoverType} answered ${answer.status}`);
    const expected = handoverType === 'bot_to_human' ? 'active' : 'closed';
    for (let tries = 0; answer.status === 202 && (await client.ticketStatus(ticket.ticketId)) !== expected; tries++) {
      if (tries > 600) throw new Error(`${ticket.ticketId}: handover ${handoverType} never applied`);
      await Bun.sleep(50);
    }
  }

  async function walk(): Promise<void> {
    const phone = `573${options.phoneDigit}${String(++phones).padStart(8, '0')}`;
    const startedAt = performance.now();
    const inbox = () => fakes.inbox(phone);
    await client.userText(phone, `wamid.walk.${tag}.${phone}.1`, 'Hola');
    await step('the menu', phone, fakes.untilGraph(() => inbox().some((message) => message.type === 'interactive'), STEP_TIMEOUT_MS));
    await client.userText(phone, `wamid.walk.${tag}.${phone}.2`, 'soporte');
    await step('the document question', phone, fakes.untilGraph(() => inbox().some((message) => message.type === 'text'), STEP_TIMEOUT_MS));
    await client.userText(phone, `wamid.walk.${tag}.${phone}.3`, '2020202020');
    await step('the agent request', phone, fakes.untilCrm(() => fakes.agentRequests.has(phone), STEP_TIMEOUT_MS));
    const ticket = { phone, ticketId: fakes.agentRequests.get(phone)! };
    await handover(ticket, 'bot_to_human');
    pool.push({ ...ticket, inFlight: 0 });
    records.walks.push({ startedAt, ms: performance.now() - startedAt });
  }

  async function close(): Promise<void> {
    // The oldest ticket leaves the desk first, so no new message is started on it.
    const ticket = pool.shift();
    if (!ticket) return;
    const startedAt = performance.now();
    for (let waited = 0; ticket.inFlight > 0; waited += 10) {
      if (waited > STEP_TIMEOUT_MS) throw new Error(`${ticket.ticketId}: messages still unanswered after ${STEP_TIMEOUT_MS / 1000} s`);
      await Bun.sleep(10);
    }
    await handover(ticket, 'human_to_bot');
    const survey = () => fakes.inbox(ticket.phone).some((message) => message.interactive === 'list');
    await step('the survey', ticket.phone, fakes.untilGraph(survey, STEP_TIMEOUT_MS));
    await client.userText(ticket.phone, `wamid.survey.${tag}.${ticket.phone}`, '5');
    await step('the csat ticket-update', ticket.phone, fakes.untilCrm(() => fakes.ticketUpdates.has(`${ticket.ticketId}|csat`), STEP_TIMEOUT_MS));
    records.closes.push({ startedAt, ms: performance.now() - startedAt });
  }

  const anyTicket = () => pool[Math.floor(Math.random() * pool.length)];

  function userMessage(): void {
    const ticket = anyTicket();
    if (!ticket) return void records.skipped++;
    const id = `wamid.user.${tag}.${++userMessages}`;
    ticket.inFlight++;
    track(
      client.userText(ticket.phone, id, `Mensaje ${userMessages}`).then((acceptedAt) => {
        ticket.inFlight--;
        records.users.push({ id, acceptedAt });
      }),
    );
  }

  function agentMessage(): void {
    const ticket = anyTicket();
    if (!ticket) return void records.skipped++;
    const id = `agent.${tag}.${++agentMessages}`;
    const startedAt = performance.now();
    ticket.inFlight++;
    const body = { ticketId: ticket.ticketId, userPhone: ticket.phone, agentId: 'ag-1', message: id, messageType: 'text' };
    track(
      client.crm('/api/crm/send-message', body, id).then((answer) => {
        ticket.inFlight--;
        records.agents.push({ key: `${ticket.phone}|${id}`, startedAt, answer });
        if (answer.status !== 200 && answer.status !== 202) records.failures.push(`send-message ${id} answered ${answer.status}`);
      }),
    );
  }

  const guarded = (what: string, work: () => Promise<void>) =>
    track(work().catch((error: unknown) => void records.failures.push(`${what}: ${(error as Error).message}`)));

  return {
    records,
    pool,
    /** Opens `count` tickets before anything is measured, `concurrency` walks at a time. */
    async open(count: number, concurrency: number): Promise<void> {
      let started = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (started++ < count) await walk().catch((error: unknown) => void records.failures.push(`opening: ${(error as Error).message}`));
        }),
      );
      records.walks.length = 0;
    },
    /** Starts each kind at `ratesAt(minute)` a second for `minutes` from `startedAt`, calling `onMinute` as each ends. */
    async run(ratesAt: (minute: number) => Rates, minutes: number, startedAt: number, onMinute: (minute: number) => unknown): Promise<void> {
      const credit = { user: 0, agent: 0, newUsers: 0, closes: 0 };
      let last = startedAt;
      let minute = 0;
      while (minute < minutes) {
        await Bun.sleep(5);
        const now = performance.now();
        const rates = ratesAt(minute);
        for (const kind of Object.keys(credit) as (keyof Rates)[]) credit[kind] += (rates[kind] * (now - last)) / 1000;
        last = now;
        for (; credit.user >= 1; credit.user--) userMessage();
        for (; credit.agent >= 1; credit.agent--) agentMessage();
        for (; credit.newUsers >= 1; credit.newUsers--) guarded('walk', walk);
        for (; credit.closes >= 1; credit.closes--) if (pool.length > 1) guarded('close', close);
        if (now - startedAt >= (minute + 1) * 60_000) void onMinute(minute++);
      }
    },
    /** Waits for every walk, close and message started (each bounded by its own timeouts). */
    async settle(): Promise<void> {
      while (running.size > 0) await Promise.all([...running]);
    },
    inFlight: () => running.size,
  };
}
