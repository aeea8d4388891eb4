import type { Admission, Queries } from '../../db/queries';
import { crmUserFields, phoneOf, type UserIds } from '../../domain/user-ids';
import { userKeyOf } from '../../domain/business-numbers';
import { badRequest, notFound } from '../../errors';
import type { Logger } from '../../logger';

/** What the CRM is answered: `applied` false means accepted and durable but not yet committed (a 202). */
export interface CrmAnswer {
  ticketId: string;
  applied: boolean;
  /** The user's ids as they are now, when the request named ones they had before an identity change: the CRM updates its copy. */
  currentUser?: { userPhone?: string; userId?: string };
}

const digits = (phone: string) => phone.replace(/\D/g, '');

export interface AdmissionDeps {
  queries: Queries;
  logger: Logger;
  now: () => Date;
  /** IDENTITY_CHANGE_GRACE_S: how long after a user's phone or BSUID changed a call may still name the previous one. */
  identityChangeGraceS: number;
}

/**
 * Whether a CRM request names a real ticket and that ticket's user (DESIGN 2.6: by phone, by BSUID, or both),
 * including, for IDENTITY_CHANGE_GRACE_S after an identity change the ticket recorded, the ids the user had before
 * (the CRM was told, and may not have caught up): such a request is answered with the current ones.
 */
export function createAdmission(deps: AdmissionDeps) {
  const { queries, logger, now } = deps;

  /**
   * The ticket a request names, once the user the CRM names (by phone, by
   * BSUID, or both) is its user; with whether `eventId` was applied, when given.
   */
  async function admitted(
    ticketId: string,
    named: { userPhone?: string; userId?: string } | 'by agent',
    eventId?: string,
  ): Promise<Admission & { namedPrevious?: boolean }> {
    if (named === 'by agent') {
      const admission = await queries.admission(ticketId, eventId);
      if (!admission) throw notFound('ticket_not_found', `ticket ${ticketId} does not exist`);
      return admission;
    }
    if (!named.userPhone && !named.userId) throw badRequest('missing_user', 'name the user by userPhone or userId');
    const admission = await queries.admission(ticketId, eventId);
    if (!admission) throw notFound('ticket_not_found', `ticket ${ticketId} does not exist`);
    const { ticket, user } = admission;
    const phone = phoneOf(user, ticket.conversationKey);
    const phoneIsCurrent = !named.userPhone || (phone !== undefined && digits(named.userPhone) === digits(phone));
    // The key may be a BSUID the user had before a `user_id_update`: the CRM learnt it with the ticket.
    const userIdIsCurrent = !named.userId || named.userId === user.bsuid || named.userId === userKeyOf(ticket.conversationKey);
    if (phoneIsCurrent && userIdIsCurrent) return admission;
    // Their phone or BSUID changed a moment ago (the ticket says so, and the CRM was told): a call still naming the
    // previous one is theirs for a while, and is answered with the current ids.
    const graceMs = deps.identityChangeGraceS * 1000;
    const replaced = await queries.replacedIds(ticket.id, new Date(now().getTime() - graceMs));
    if (!phoneIsCurrent && !replaced.phones.some((previous) => digits(previous) === digits(named.userPhone!))) {
      throw badRequest('user_phone_mismatch', `userPhone does not belong to ticket ${ticketId}`);
    }
    if (!userIdIsCurrent && !replaced.userIds.includes(named.userId!)) {
      throw badRequest('user_id_mismatch', `userId does not belong to ticket ${ticketId}`);
    }
    logger.info(
      { event: 'crm.previous_user_id', ticketId, named: phoneIsCurrent ? 'userId' : 'userPhone' },
      "a CRM call named the user's id from before their identity change: accepted, answered with the current one",
    );
    return { ...admission, namedPrevious: true };
  }

  /** The answer, with the user's current ids when the request named their previous ones. */
  async function answered(admission: { user: UserIds; namedPrevious?: boolean }, answer: CrmAnswer | Promise<CrmAnswer>): Promise<CrmAnswer> {
    const settled = await answer;
    if (!admission.namedPrevious) return settled;
    const { userPhone, userId } = crmUserFields(admission.user);
    return { ...settled, currentUser: { ...(userPhone ? { userPhone } : {}), ...(userId ? { userId } : {}) } };
  }

  return { admitted, answered };
}
