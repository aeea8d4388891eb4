import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One row per WhatsApp user: the persisted snapshot of their conversation
 * actor. `conversationKey` is the conversation key (the partition, and
 * `conversationKey` in tickets, messages and timers): the user's phone when
 * Meta first gave one, else their BSUID (domain/user-ids.ts). It may be either,
 * so it is never validated, masked or sent to as a phone: the ids Meta gave
 * are beside it.
 */
export const conversations = pgTable(
  'conversations',
  {
    conversationKey: text('conversation_key').primaryKey(),
    /** The user's phone, when known: null for a user who hides it behind a username. */
    userPhone: text('user_phone'),
    /** The business-scoped user id (`CO.1047385771169864`), the latest Meta gave. */
    bsuid: text('bsuid'),
    username: text('username'),
    parentBsuid: text('parent_bsuid'),
    /**
     * Who owns the WhatsApp thread under Conversation Routing (domain/bot-voice.ts): null while this app does (or no
     * routing applies), else `crm` (the CRM's app, the escalation partner), `ai_agent` (Meta's AI) or `other`.
     */
    threadOwner: text('thread_owner'),
    /** A person answered from the WhatsApp Business app (an echo): the bot keeps quiet until then. */
    botPausedUntil: timestamp('bot_paused_until', { withTimezone: true }),
    /** The privacy notice this subscriber was last sent (domain/privacy-notice.ts), and when: null, never. */
    privacyNoticeVersion: text('privacy_notice_version'),
    privacyNoticeSentAt: timestamp('privacy_notice_sent_at', { withTimezone: true }),
    state: text('state').notNull(),
    snapshot: jsonb('snapshot').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('conversations_user_phone_idx').on(table.userPhone), index('conversations_bsuid_idx').on(table.bsuid)],
);

export type ConversationRow = typeof conversations.$inferSelect;
