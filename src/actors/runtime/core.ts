import { initialTransition, transition } from 'xstate';
import type { BatchWrites, FirstRead, SentMessage } from '../../db/runtime-store';
import type { Ticket } from '../../db/schema';
import type { EchoMessage, InboundMessage, PipelineEvent, ThreadControl } from '../../domain/events';
import type { BotVoice } from '../../domain/bot-voice';
import { addSeconds } from '../../domain/time';
import { effectsOf } from '../effects';
import { BatchActors } from './actors';
import { interpret, sendPrivacyNoticeIfDue, type EffectTarget, type MessageSettings } from './interpret';
import { isAmbient } from '../intents';
import { AfterCommit, droppedLine, firingLine, quietLine, rejectedEventLine, unchangedTicketLine, unknownTicketLine } from './observe';
import { projectActors } from './projection';
import { openTicketOf, route, type Route } from './route';
import type { UserIds } from '../../domain/user-ids';
import { BatchRows } from './rows';
import { originOf, type Letter, type Machines, type Origin } from './state';
import { applyStatus } from './status';
import { conversationTimerOwner, timerWrites } from './timers';

/** What the core decides with: the machines and the settings of the bot's messages. */
export interface CorePolicy extends Machines, MessageSettings {}

/** What a batch read before it decides: rows as stored. */
export type BatchState = Pick<FirstRead, 'conversations' | 'crmKeys' | 'sentMessages'> & { tickets: Ticket[] };

/**
 * What the core needs from outside: the time the batch is applied at (a new
 * conversation's start, a row's update), and the next ticket number, the one
 * read a batch makes while it decides. A ticket opens rarely, and how many a
 * batch opens is known only once it is applied: reserving numbers ahead would
 * burn them (gaps in `TK-YYYY-NNNNNN`) or apply the batch twice.
 */
export interface CoreIo {
  now: Date;
  nextTicketNumber(): Promise<number>;
}

export interface Applied {
  writes: BatchWrites;
  /** Logs and metrics, for after the commit. */
  afterCommit: AfterCommit;
}

/** `TK-YYYY-NNNNNN`: the year of the request, a number from a sequence shared by all instances. */
export const ticketIdOf = (at: string, number: number): string => `TK-${new Date(at).getUTCFullYear()}-${String(number).padStart(6, '0')}`;

/**
 * The functional core of the runtime: the batch's state as read, its events,
 * the policy → the rows to write, and what to log and count after the
 * commit. Each event is routed to a machine; XState's pure `transition()`
 * moves it; its effects become rows, or letters to the other machine, which
 * wait in a queue and are delivered in order before the next event. Nothing
 * here reads a clock or a database but through `io`.
 */
export async function applyEvents(state: BatchState, events: readonly PipelineEvent[], policy: CorePolicy, io: CoreIo): Promise<Applied> {
  const actors = new BatchActors(policy, state, io.now.toISOString());
  const target: EffectTarget = { settings: policy, actors, rows: new BatchRows(), afterCommit: new AfterCommit() };
  // Restoring an old ticket armed the deadlines it lacked.
  for (const ticket of actors.legacyTickets) {
    const { ticketId, conversationKey, deadlines } = ticket.snapshot.context;
    target.rows.timers(timerWrites(ticketId, ticketId, conversationKey, {}, deadlines));
  }
  const sentMessages = state.sentMessages.map((message) => ({ ...message }));
  for (const event of events) {
    target.afterCommit.applying(event);
    const queue = intake(target, sentMessages, event);
    for (let letter = queue.shift(); letter; letter = queue.shift()) queue.push(...(await deliver(target, policy, io, letter)));
  }
  const changed = { conversations: actors.dirtyConversations(), tickets: actors.dirtyTickets() };
  return { writes: { ...projectActors(policy, changed, io.now), ...target.rows.writes() }, afterCommit: target.afterCommit };
}

/** What an event does before any machine moves (history, ids, statuses), and the letters it posts to the machines. */
function intake(target: EffectTarget, sentMessages: SentMessage[], event: PipelineEvent): Letter[] {
  const { actors, rows, afterCommit } = target;
  const origin = originOf(event);
  // A standby message says another responder owns the thread; one delivered on the normal path, that this app does.
  if (event.type === 'user.message') actors.setVoice(origin.conversationKey, ownerAfter(event.data, actors.loaded.conversation(origin.conversationKey)?.voice));
  // Whoever holds the thread after a handover, ticket or not: the bot never answers a thread it does not own.
  if (event.type === 'meta.thread_control') actors.setVoice(origin.conversationKey, { threadOwner: ownerOfControl(event.data) });
  // A pass Meta refused left the thread with this app (a refused take leaves it where it was).
  if (event.type === 'whatsapp.thread_control.refused' && event.data.action === 'pass') actors.setVoice(origin.conversationKey, { threadOwner: null });
  const destination = route(event, actors.loaded);
  let learnt: Letter[] = [];
  if (event.type === 'user.message') {
    learnt = learnIds(target, origin, event.data.user);
    rows.received(origin.conversationKey, destination.to === 'ticket' ? destination.ticketId : null, event.data);
  }
  if (event.type === 'timer.fired' && destination.to !== 'nowhere') afterCommit.log(firingLine(event.data, origin.conversationKey, origin.at));
  return [...learnt, ...routed(target, sentMessages, event, origin, destination)];
}

/**
 * What a webhook says of the user, learnt. A phone or BSUID it replaced is a letter to their open ticket: the CRM
 * must hear of it, or its calls would name someone the ticket no longer knows.
 */
function learnIds(target: EffectTarget, origin: Origin, ids: UserIds): Letter[] {
  const change = target.actors.learnIds(origin.conversationKey, ids);
  const ticketId = change ? openTicketOf(target.actors.loaded, origin.conversationKey) : null;
  return change && ticketId ? [{ to: 'ticket', origin, ticketId, event: { type: 'user.identity_changed', at: origin.at, change } }] : [];
}

/** The letters an event posts where it was routed, and what its route writes on the way (statuses, history). */
function routed(target: EffectTarget, sentMessages: SentMessage[], event: PipelineEvent, origin: Origin, destination: Route): Letter[] {
  const { rows, afterCommit } = target;
  switch (destination.to) {
    case 'conversation':
      // The bot is about to answer the user: the privacy notice comes first when they have not had this version.
      if (event.type === 'user.message' && !isAmbient(event.data)) sendPrivacyNoticeIfDue(target, origin);
      return [{ to: 'conversation', origin, event: destination.event }];
    case 'ticket':
      return [{ to: 'ticket', origin, ticketId: destination.ticketId, event: destination.event }];
    case 'status': {
      const { moved, billable, failures } = applyStatus(sentMessages, destination.update);
      rows.status(destination.update, moved);
      for (const message of billable) afterCommit.countBillable(message.pricingCategory ?? 'unknown');
      return failures.map((failure) => ({
        to: 'ticket',
        origin,
        ticketId: failure.ticketId,
        event: { type: 'whatsapp.agent_message.failed', at: origin.at, failure },
      }));
    }
    case 'ids':
      return learnIds(target, origin, destination.ids);
    case 'echo':
      return intakeEcho(target, origin, destination.echo, destination.ticketId);
    case 'history':
      rows.history(origin.conversationKey, destination.message);
      return [];
    case 'quiet':
      afterCommit.log(quietLine(origin.conversationKey, destination.reason));
      return [];
    case 'nowhere':
      afterCommit.log(droppedLine(event));
      return [];
  }
}

/** The thread's owner after a user's message: unchanged by a standby copy it knows of already, this app's on the normal path. */
function ownerAfter(message: InboundMessage, voice: BotVoice | undefined): Pick<BotVoice, 'threadOwner'> {
  if (!message.standby) return { threadOwner: null };
  return { threadOwner: voice?.threadOwner ?? 'other' };
}

/** The owner a thread-control event leaves; one queued before owners were told says only whether it went to the CRM. */
function ownerOfControl(control: ThreadControl): BotVoice['threadOwner'] {
  const owner = control.owner ?? (control.toCrm ? 'crm' : 'bot');
  return owner === 'bot' ? null : owner;
}

/**
 * What the business sent without us: kept in the history as an agent's (an
 * edit or a revoke changes the message it names), and shown to the agent of
 * an open ticket. A person on the Business app pauses the bot a while.
 */
function intakeEcho(target: EffectTarget, origin: Origin, echo: EchoMessage, ticketId: string | null): Letter[] {
  const { actors, rows, settings } = target;
  const learnt = learnIds(target, origin, echo.user);
  rows.echoed(origin.conversationKey, ticketId, echo);
  if (echo.source === 'business_app') {
    const until = addSeconds(origin.at, settings.botPauseAfterBusinessReplyS);
    const paused = actors.conversation(origin.conversationKey).voice.botPausedUntil;
    if (!paused || paused < until) actors.setVoice(origin.conversationKey, { botPausedUntil: until });
  }
  return ticketId ? [...learnt, { to: 'ticket', origin, ticketId, event: { type: 'whatsapp.echo', at: origin.at, echo } }] : learnt;
}

/** One letter delivered: its machine moves, its deadlines become timer rows, its effects rows and letters. */
async function deliver(target: EffectTarget, policy: CorePolicy, io: CoreIo, letter: Letter): Promise<Letter[]> {
  const { actors, rows } = target;
  const { origin } = letter;
  switch (letter.to) {
    case 'conversation': {
      const state = actors.conversation(origin.conversationKey);
      const [next, actions] = transition(policy.conversationMachine, state.snapshot, letter.event);
      const owner = conversationTimerOwner(origin.conversationKey);
      rows.timers(timerWrites(owner, null, origin.conversationKey, state.snapshot.context.deadlines, next.context.deadlines));
      state.snapshot = next;
      state.dirty = true;
      return interpret(target, { origin, ticketId: null }, effectsOf(actions));
    }
    case 'ticket': {
      const { ticketId, event } = letter;
      const state = actors.ticket(ticketId);
      if (!state) {
        target.afterCommit.log(unknownTicketLine(ticketId, event.type));
        return [];
      }
      if (!state.snapshot.can(event)) {
        // `can` is false for a transition that is taken but does nothing too (a guard-only branch: the CRM handing
        // the ticket to the agent who holds it, under a new key). That is a repeat, not a refusal.
        if (policy.handoverMachine.getTransitionData(state.snapshot, event).length > 0) {
          target.afterCommit.log(unchangedTicketLine(ticketId, event.type));
          return [];
        }
        rows.ticketEvent(ticketId, 'event_rejected', { event: event.type, state: state.snapshot.value }, event.at);
        target.afterCommit.log(rejectedEventLine(ticketId, event.type, state.snapshot.value));
        return [];
      }
      const [next, actions] = transition(policy.handoverMachine, state.snapshot, event);
      rows.timers(timerWrites(ticketId, ticketId, state.snapshot.context.conversationKey, state.snapshot.context.deadlines, next.context.deadlines));
      state.snapshot = next;
      state.dirty = true;
      return interpret(target, { origin, ticketId }, effectsOf(actions));
    }
    case 'new ticket': {
      const customer = actors.conversation(origin.conversationKey).snapshot.context.customer;
      if (!customer) throw new Error('openTicket without an authenticated customer');
      const ticketId = ticketIdOf(origin.at, await io.nextTicketNumber());
      const input = {
        ticketId,
        conversationKey: origin.conversationKey,
        category: letter.category,
        priority: letter.priority,
        customer,
        requestedAt: origin.at,
      };
      const [snapshot, actions] = initialTransition(policy.handoverMachine, input);
      actors.addTicket(ticketId, { snapshot, dirty: true, csat: null, surveyStatus: null, kpisAsStored: null });
      rows.timers(timerWrites(ticketId, ticketId, origin.conversationKey, {}, snapshot.context.deadlines));
      // The conversation learns its ticket before anything the ticket's first transition posts (it may close at once).
      const opened: Letter = { to: 'conversation', origin, event: { type: 'ticket.opened', at: origin.at, ticketId } };
      return [opened, ...interpret(target, { origin, ticketId }, effectsOf(actions))];
    }
  }
}
