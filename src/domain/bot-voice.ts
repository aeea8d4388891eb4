/**
 * Whether the bot may speak in a conversation (issue 20). Two things keep it
 * quiet besides an open ticket:
 *
 * - Conversation Routing: another responder (the CRM's app as escalation
 *   partner, Meta's AI, another app) owns the WhatsApp thread. A message
 *   this app sent would take the thread over, so the bot never answers a
 *   thread it does not own; a message delivered on the normal path (not as
 *   `standby`) means the thread is ours again.
 * - Coexistence: a person answered from the WhatsApp Business app on the
 *   same number (an echo); the bot does not talk over them for a while.
 */
export type ThreadOwner = 'crm' | 'ai_agent' | 'other';

export const THREAD_OWNERS: readonly ThreadOwner[] = ['crm', 'ai_agent', 'other'];

export interface BotVoice {
  /** Who owns the thread when it is not this app; null: this app does (or no routing applies). */
  threadOwner: ThreadOwner | null;
  /** Until when a person on the Business app has the conversation (ISO); null: nobody. */
  botPausedUntil: string | null;
}

export const OPEN_VOICE: BotVoice = { threadOwner: null, botPausedUntil: null };

export type Silence = 'thread_not_owned' | 'person_answering';

/** Why the bot must keep quiet at `at`, or null when it may speak. */
export function botSilence(voice: BotVoice, at: string): Silence | null {
  if (voice.threadOwner !== null) return 'thread_not_owned';
  if (voice.botPausedUntil !== null && Date.parse(voice.botPausedUntil) > Date.parse(at)) return 'person_answering';
  return null;
}

/** A stored owner read back; anything else (a value from a later version) is read as another responder's. */
export const threadOwnerOf = (stored: string | null | undefined): ThreadOwner | null =>
  stored ? ((THREAD_OWNERS as readonly string[]).includes(stored) ? (stored as ThreadOwner) : 'other') : null;
