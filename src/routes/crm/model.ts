import { Type } from '@sinclair/typebox';

/** The CRM's request bodies (the seed's shapes): the only statement of what a valid request is. */
export namespace CrmModel {
  const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });

  /** The user is named by `userPhone` or `userId` (the BSUID, DESIGN 2.6), or both: the service checks one is there. */
  const ticket = { ticketId: Text(64), userPhone: Type.Optional(Text(32)), userId: Type.Optional(Text(160)) };
  const metadata = Type.Optional(Type.Record(Type.String(), Type.Unknown()));

  /** The path of handover-status: the same bounds as a ticket id in a body. */
  export const ticketParams = Type.Object({ ticketId: ticket.ticketId });
  export type TicketParams = typeof ticketParams.static;

  /** Taking a ticket names the agent; giving it back may. */
  export const handover = Type.Union([
    Type.Object({ ...ticket, handoverType: Type.Literal('bot_to_human'), agentId: Text(128), agentName: Text(128), metadata }),
    Type.Object({
      ...ticket,
      handoverType: Type.Literal('human_to_bot'),
      agentId: Type.Optional(Text(128)),
      agentName: Type.Optional(Text(128)),
      metadata,
    }),
  ]);
  export type Handover = typeof handover.static;

  const message = {
    ...ticket,
    agentId: Type.Optional(Text(128)),
    caption: Type.Optional(Type.String({ maxLength: 1024 })),
    filename: Type.Optional(Type.String({ maxLength: 240 })),
    timestamp: Type.Optional(Type.String({ maxLength: 64, format: 'instant', description: 'an ISO 8601 date-time between 2009 and tomorrow' })),
    replyTo: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: "the user-message's waMessageId the agent answers (or an agent message's Idempotency-Key); WhatsApp shows it quoted",
      }),
    ),
  };

  /** The agent holding an active ticket is typing: WhatsApp shows "typing…" (refreshed at most every 20 s). */
  export const typing = Type.Object({ ticketId: ticket.ticketId, agentId: Text(128) });
  export type Typing = typeof typing.static;

  /** The agent has read the user's messages up to `upTo` (a user-message's waMessageId), by default the last. */
  export const read = Type.Object({
    ticketId: ticket.ticketId,
    agentId: Text(128),
    upTo: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: "a user-message's waMessageId: it and every earlier message are shown read" }),
    ),
  });
  export type Read = typeof read.static;

  /** A media message is sent by link: WhatsApp fetches the file, so it must be reachable over https. */
  export const sendMessage = Type.Union([
    Type.Object({ ...message, messageType: Type.Literal('text'), message: Text(4096) }),
    Type.Object({
      ...message,
      messageType: Type.Union([Type.Literal('image'), Type.Literal('document'), Type.Literal('audio'), Type.Literal('video')]),
      message: Type.String({
        pattern: '^https://\\S+$',
        maxLength: 4096,
        code: 'invalid_media_url',
        description: 'the https URL of the image, document, audio or video',
      }),
    }),
  ]);
  export type SendMessage = typeof sendMessage.static;
}
