import { and, assign, not, raise, setup } from 'xstate';
import type { CustomerLookupResult, CustomerRecord, InboundMessage } from '../domain/events';
import type { CloseReason } from '../db/schema';
import { effect } from './effects';
import { deadlineDue, type Deadlines } from './deadlines';
import { addSeconds } from '../domain/time';
import { csatScore, documentNumber, isAmbient, isCancelRequest, menuChoice } from './intents';

/** Wrong documents allowed before the bot gives the emergency number instead. */
export const MAX_AUTH_ATTEMPTS = 3;

export interface ConversationContext {
  /** The user's conversation key: a phone or a BSUID (user-ids.ts), never written to or masked as a phone. */
  conversationKey: string;
  customer: CustomerRecord | null;
  authAttempts: number;
  /** Why the user is authenticating: to reach support, or only to identify. */
  intent: 'support' | 'identify' | null;
  pendingDocument: string | null;
  ticketId: string | null;
  surveyTicketId: string | null;
  deadlines: Deadlines<ConversationTimer>;
}

export type ConversationTimer = 'survey';

export interface ConversationPolicy {
  surveyTimeoutS: number;
}

/** Every event carries `at`, the time it was accepted: the machine never reads a clock. */
export type ConversationEvent =
  | { type: 'user.message'; at: string; message: InboundMessage }
  | { type: 'customer.lookup.completed'; at: string; result: CustomerLookupResult }
  | { type: 'ticket.opened'; at: string; ticketId: string }
  | { type: 'ticket.closed'; at: string; ticketId: string; reason: CloseReason }
  | { type: 'timer.fired'; at: string; timer: ConversationTimer; dueAt: string };

/** The seed's use cases: suspended → reactivation specialists first, active → general support. */
export const ticketFor = (customer: CustomerRecord) =>
  customer.isInactive ? ({ category: 'reactivacion_servicio', priority: 'alta' } as const) : ({ category: 'soporte_agente', priority: 'media' } as const);

const message = (event: ConversationEvent) => (event as Extract<ConversationEvent, { type: 'user.message' }>).message;
const lookup = (event: ConversationEvent) => (event as Extract<ConversationEvent, { type: 'customer.lookup.completed' }>).result;
const remaining = (attempts: number) => MAX_AUTH_ATTEMPTS - attempts;
const menu = { type: 'showMenu', params: { greeting: false, notUnderstood: false } } as const;

/**
 * One per WhatsApp user: the menu, authentication by document number, the
 * hand-off to a ticket and the survey after it. While a ticket is open the
 * runtime routes the user's messages to that ticket's handover machine.
 */
export const createConversationMachine = (policy: ConversationPolicy) =>
  setup({
    types: {
      context: {} as ConversationContext,
      events: {} as ConversationEvent,
      input: {} as { conversationKey: string },
    },
    actions: {
      reply: effect<'reply'>(),
      showMenu: effect<'showMenu'>(),
      lookupCustomer: effect<'lookupCustomer'>(),
      openTicket: effect<'openTicket'>(),
      offerSurvey: effect<'offerSurvey'>(),
      recordCsat: effect<'recordCsat'>(),
      closeSurvey: effect<'closeSurvey'>(),
      resetAuthentication: assign({ authAttempts: 0, intent: null, pendingDocument: null }),
    },
    guards: {
      isAmbient: ({ event }) => isAmbient(message(event)),
      wantsSupport: ({ event }) => menuChoice(message(event)) === 'support',
      wantsIdentify: ({ event }) => menuChoice(message(event)) === 'identify',
      wantsEmergency: ({ event }) => menuChoice(message(event)) === 'emergency',
      isAuthenticated: ({ context }) => context.customer !== null,
      isCancel: ({ event }) => isCancelRequest(message(event)),
      isDocument: ({ event }) => documentNumber(message(event)) !== undefined,
      isLastAttempt: ({ context }) => context.authAttempts + 1 >= MAX_AUTH_ATTEMPTS,
      answersPendingLookup: ({ context, event }) => lookup(event).document === context.pendingDocument,
      customerFound: ({ event }) => lookup(event).outcome === 'found',
      customerNotFound: ({ event }) => lookup(event).outcome === 'not_found',
      wantedSupport: ({ context }) => context.intent === 'support',
      isOwnTicket: ({ context, event }) => event.type === 'ticket.closed' && event.ticketId === context.ticketId,
      resolvedByAgent: ({ event }) => event.type === 'ticket.closed' && event.reason === 'resolved',
      isCsatAnswer: ({ event }) => csatScore(message(event)) !== undefined,
      surveyDue: ({ context, event }) => deadlineDue(context.deadlines, event, 'survey'),
      /** The bot may not write first outside WhatsApp's window: the menu waits for the user's next message. */
      closedOutsideWindow: ({ event }) => event.type === 'ticket.closed' && event.reason === 'window_expired',
    },
  }).createMachine({
    id: 'conversation',
    context: ({ input }) => ({
      conversationKey: input.conversationKey,
      customer: null,
      authAttempts: 0,
      intent: null,
      pendingDocument: null,
      ticketId: null,
      surveyTicketId: null,
      deadlines: {},
    }),
    initial: 'new',
    states: {
      new: {
        on: {
          'user.message': [
            { guard: 'isAmbient' },
            {
              target: 'menu',
              actions: { type: 'showMenu', params: ({ event }) => ({ greeting: true, notUnderstood: false, profileName: event.message.profileName }) },
            },
          ],
        },
      },
      menu: {
        on: {
          'user.message': [
            { guard: 'isAmbient' },
            {
              guard: and(['wantsSupport', 'isAuthenticated']),
              target: 'inTicket',
              actions: { type: 'openTicket', params: ({ context }) => ticketFor(context.customer!) },
            },
            {
              guard: 'wantsSupport',
              target: 'authenticating',
              actions: [assign({ intent: 'support' }), { type: 'reply', params: { text: 'askDocument' } }],
            },
            {
              guard: and(['wantsIdentify', 'isAuthenticated']),
              actions: [
                { type: 'reply', params: ({ context }) => ({ text: 'alreadyIdentified', vars: { customerName: context.customer!.customerName } }) },
                menu,
              ],
            },
            {
              guard: 'wantsIdentify',
              target: 'authenticating',
              actions: [assign({ intent: 'identify' }), { type: 'reply', params: { text: 'askDocument' } }],
            },
            { guard: 'wantsEmergency', actions: { type: 'reply', params: { text: 'emergency' } } },
            { actions: { type: 'showMenu', params: { greeting: false, notUnderstood: true } } },
          ],
        },
      },
      authenticating: {
        initial: 'awaitingDocument',
        states: {
          awaitingDocument: {
            on: {
              'user.message': [
                { guard: 'isAmbient' },
                { guard: 'isCancel', target: '#conversation.menu', actions: ['resetAuthentication', menu] },
                {
                  guard: 'isDocument',
                  target: 'verifying',
                  actions: [
                    assign({ pendingDocument: ({ event }) => documentNumber(event.message)! }),
                    {
                      type: 'lookupCustomer',
                      params: ({ context, event }) => ({ document: context.pendingDocument!, typedIn: event.message.waMessageId }),
                    },
                  ],
                },
                {
                  guard: 'isLastAttempt',
                  target: '#conversation.menu',
                  actions: [{ type: 'reply', params: { text: 'authFailed' } }, 'resetAuthentication', menu],
                },
                {
                  actions: [
                    assign({ authAttempts: ({ context }) => context.authAttempts + 1 }),
                    { type: 'reply', params: ({ context }) => ({ text: 'documentInvalid', vars: { remaining: remaining(context.authAttempts) } }) },
                  ],
                },
              ],
            },
          },
          verifying: {
            on: {
              'user.message': [{ guard: 'isAmbient' }, { actions: { type: 'reply', params: { text: 'verifying' } } }],
              'customer.lookup.completed': [
                // A late answer to an earlier document: the user has typed another since.
                { guard: not('answersPendingLookup') },
                {
                  guard: and(['customerFound', 'wantedSupport']),
                  target: '#conversation.inTicket',
                  actions: [
                    assign({ customer: ({ event }) => event.result.customer! }),
                    'resetAuthentication',
                    { type: 'reply', params: ({ context }) => ({ text: 'authenticated', vars: { customerName: context.customer!.customerName } }) },
                    { type: 'openTicket', params: ({ context }) => ticketFor(context.customer!) },
                  ],
                },
                {
                  guard: 'customerFound',
                  target: '#conversation.menu',
                  actions: [
                    assign({ customer: ({ event }) => event.result.customer! }),
                    'resetAuthentication',
                    { type: 'reply', params: ({ context }) => ({ text: 'authenticated', vars: { customerName: context.customer!.customerName } }) },
                    menu,
                  ],
                },
                {
                  guard: and(['customerNotFound', 'isLastAttempt']),
                  target: '#conversation.menu',
                  actions: [{ type: 'reply', params: { text: 'authFailed' } }, 'resetAuthentication', menu],
                },
                {
                  guard: 'customerNotFound',
                  target: 'awaitingDocument',
                  actions: [
                    assign({ authAttempts: ({ context }) => context.authAttempts + 1, pendingDocument: null }),
                    { type: 'reply', params: ({ context }) => ({ text: 'documentNotFound', vars: { remaining: remaining(context.authAttempts) } }) },
                  ],
                },
                {
                  // The directory could not answer (after the outbox's retries): do not count it against the user.
                  target: '#conversation.menu',
                  actions: [{ type: 'reply', params: { text: 'lookupUnavailable' } }, 'resetAuthentication', menu],
                },
              ],
            },
          },
        },
      },
      inTicket: {
        on: {
          'ticket.opened': { actions: assign({ ticketId: ({ event }) => event.ticketId }) },
          'ticket.closed': [
            { guard: not('isOwnTicket') },
            {
              guard: 'resolvedByAgent',
              target: 'survey',
              actions: [
                assign({
                  surveyTicketId: ({ event }) => event.ticketId,
                  ticketId: null,
                  deadlines: ({ event }) => ({ survey: addSeconds(event.at, policy.surveyTimeoutS) }),
                }),
                { type: 'offerSurvey', params: ({ event }) => ({ ticketId: event.ticketId }) },
              ],
            },
            { guard: 'closedOutsideWindow', target: 'menu', actions: assign({ ticketId: null }) },
            { target: 'menu', actions: [assign({ ticketId: null }), menu] },
          ],
        },
      },
      survey: {
        on: {
          'user.message': [
            { guard: 'isAmbient' },
            {
              guard: 'isCsatAnswer',
              target: 'menu',
              actions: [
                { type: 'recordCsat', params: ({ context, event }) => ({ ticketId: context.surveyTicketId!, score: csatScore(event.message)! }) },
                assign({ surveyTicketId: null, deadlines: {} }),
                { type: 'reply', params: { text: 'surveyThanks' } },
                menu,
              ],
            },
            // Anything else skips the survey and is read as a menu choice.
            {
              target: 'menu',
              actions: [
                { type: 'closeSurvey', params: ({ context }) => ({ ticketId: context.surveyTicketId!, outcome: 'skipped' }) },
                assign({ surveyTicketId: null, deadlines: {} }),
                raise(({ event }) => event),
              ],
            },
          ],
          // No answer in time: recorded as such; the user finds the menu when they next write.
          'timer.fired': {
            guard: 'surveyDue',
            target: 'menu',
            actions: [
              { type: 'closeSurvey', params: ({ context }) => ({ ticketId: context.surveyTicketId!, outcome: 'expired' }) },
              assign({ surveyTicketId: null, deadlines: {} }),
            ],
          },
        },
      },
    },
  });

export type ConversationMachine = ReturnType<typeof createConversationMachine>;
