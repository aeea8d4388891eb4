import { createHash } from 'node:crypto';

/**
 * The privacy notice (Ley 1581: the holder is told how their data is used
 * before it is collected): an optional text the bot sends a subscriber the
 * first time it answers them, and again once the text changes. Each
 * conversation keeps the version it was sent and when (DESIGN 7).
 */
export interface PrivacyNotice {
  text: string;
  /** What a subscriber was last sent: PRIVACY_NOTICE_VERSION, else a digest of the text (so editing the text sends it again). */
  version: string;
}

/** What a conversation row records of the notice: the version sent and when (ISO). */
export interface NoticeSent {
  version: string;
  sentAt: string;
}

/** The notice configured: none when the text is empty; its version explicit, or the first 12 hex digits of the text's SHA-256. */
export function privacyNoticeOf(text: string, explicitVersion = ''): PrivacyNotice | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  return { text: trimmed, version: explicitVersion.trim() || createHash('sha256').update(trimmed).digest('hex').slice(0, 12) };
}

/** Whether a subscriber who was last sent `sent` (null: never) is due the configured notice. */
export const noticeDue = (notice: PrivacyNotice | null, sent: NoticeSent | null): notice is PrivacyNotice =>
  notice !== null && sent?.version !== notice.version;
