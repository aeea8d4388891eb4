import { addSeconds } from './time';

/**
 * WhatsApp's customer-service window (DESIGN 2.3): free-form messages reach a
 * user only within `windowS` of the user's last message; past it only an
 * approved template gets through. The one place this rule is decided: the
 * handover machine asks it for every agent message and for when an idle
 * ticket closes, and the CRM route asks it for its synchronous 409.
 */
export interface WindowPolicy {
  windowS: number;
  /** Whether an agent's message past the window may go out as the re-engagement template. */
  reengageTemplate: boolean;
}

/** When the window that the user's last message opened closes (ISO). */
export const windowClosesAt = (lastUserMessageAt: string, windowS: number): string => addSeconds(lastUserMessageAt, windowS);

/**
 * When a ticket left inactive closes (DESIGN 4: "inactive beyond the 24-hour
 * window", closed as `window_expired`): one window's length after its last
 * activity. The handover machine keeps it as its `idle` deadline.
 */
export const idleClosesAt = (lastActivityAt: string, windowS: number): string => windowClosesAt(lastActivityAt, windowS);

export const isOutsideWindow = (lastUserMessageAt: string, at: string, windowS: number): boolean => windowClosesAt(lastUserMessageAt, windowS) <= at;

/** What becomes of an agent's message written at `at`: sent as written, sent as the template, or refused. */
export function agentMessageDelivery(policy: WindowPolicy, lastUserMessageAt: string, at: string): 'free_form' | 'template' | 'refused' {
  if (!isOutsideWindow(lastUserMessageAt, at, policy.windowS)) return 'free_form';
  return policy.reengageTemplate ? 'template' : 'refused';
}
