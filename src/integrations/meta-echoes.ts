import { eventIds } from '../domain/event-ids';
import { pipelineEvent, type EchoMessage, type HistoryMessage, type PipelineEvent } from '../domain/events';
import { firstKeyOf, type UserIds } from '../domain/user-ids';
import { toIso, TRACKED_STATUSES, userIds, type FieldContext } from './meta-envelope';
import { asArray, asString, changeOf, contentOf, isObject, type Json } from './meta-message-content';

/**
 * What the business sent without this service: `message_echoes` of the
 * `smb_message_echoes` field (a person on the WhatsApp Business app, on a
 * coexistence number) or of a `standby` delivery (another responder owns the
 * thread), and the `history` of past chats shared when the number joined.
 * An echo is `from` the business number `to` the user; the user's ids are
 * also in `contacts`.
 */
export function echoesOf(value: Json, { ignored, cleaned, number }: FieldContext, source: EchoMessage['source']): PipelineEvent[] {
  const contacts = asArray(value.contacts).filter(isObject);
  const events: PipelineEvent[] = [];
  for (const raw of asArray(value.message_echoes).filter(isObject)) {
    const contact =
      contacts.find((c) => (raw.to !== undefined && c.wa_id === raw.to) || (raw.to_user_id !== undefined && c.user_id === raw.to_user_id)) ?? contacts[0];
    const profile = isObject(contact?.profile) ? contact.profile : {};
    const user = userIds(asString(raw.to) ?? asString(contact?.wa_id), asString(raw.to_user_id) ?? asString(contact?.user_id), {
      username: asString(profile.username),
      parentBsuid: asString(raw.to_parent_user_id) ?? asString(contact?.parent_user_id),
    });
    const waMessageId = asString(raw.id);
    if (!waMessageId || !firstKeyOf(user)) {
      ignored.push('echo without id or recipient');
      continue;
    }
    const type = asString(raw.type) ?? 'unknown';
    const { text, media } = contentOf(type, raw);
    const echo: EchoMessage = {
      user,
      waMessageId,
      timestamp: toIso(raw.timestamp, cleaned, 'echo'),
      type,
      ...(text !== undefined ? { text } : {}),
      ...(media ? { media } : {}),
      ...changeOf(raw),
      source,
      ...number,
    };
    events.push(pipelineEvent('whatsapp.echo', firstKeyOf(user)!, eventIds.echo(waMessageId), echo));
  }
  return events;
}

/**
 * `history`: chunks (`history[]`, each with `metadata.phase`, `chunk_order`,
 * `progress`) of threads, one per user (`threads[].id`, their phone), whose
 * `messages` are the user's (`from` the thread's user) or the business's,
 * each with `history_context.status`. A business that declined to share
 * sends `errors` instead: nothing to store.
 */
export function historyOf(value: Json, { ignored, cleaned, number }: FieldContext): PipelineEvent[] {
  const events: PipelineEvent[] = [];
  for (const chunk of asArray(value.history).filter(isObject)) {
    if (Array.isArray(chunk.errors)) ignored.push('history not shared (errors)');
    for (const thread of asArray(chunk.threads).filter(isObject)) {
      const user = userIds(asString(thread.id), asString(thread.user_id), {});
      if (!firstKeyOf(user)) {
        ignored.push('history thread without a user');
        continue;
      }
      for (const raw of asArray(thread.messages).filter(isObject)) {
        const message = historyMessage(raw, user, thread, cleaned);
        if (!message) ignored.push('history message without id');
        else events.push(pipelineEvent('whatsapp.history', firstKeyOf(user)!, eventIds.history(message.waMessageId), { ...message, ...number }));
      }
    }
  }
  return events;
}

function historyMessage(raw: Json, user: UserIds, thread: Json, cleaned: string[]): HistoryMessage | undefined {
  const waMessageId = asString(raw.id);
  if (!waMessageId) return undefined;
  const type = asString(raw.type) ?? 'unknown';
  const { text, media } = contentOf(type, raw);
  const from = asString(raw.from);
  const fromBusiness = from !== undefined && from !== asString(thread.id) && from !== asString(thread.user_id);
  const said = isObject(raw.history_context) ? asString(raw.history_context.status)?.toLowerCase() : undefined;
  const status = said && Object.hasOwn(TRACKED_STATUSES, said) ? TRACKED_STATUSES[said] : undefined;
  return {
    user,
    waMessageId,
    timestamp: toIso(raw.timestamp, cleaned, 'history'),
    type,
    ...(text !== undefined ? { text } : {}),
    ...(media ? { media } : {}),
    fromBusiness,
    ...(fromBusiness && status ? { status } : {}),
  };
}
