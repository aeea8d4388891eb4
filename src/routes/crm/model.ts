import { t } from 'elysia';

/** The CRM's request bodies (the seed's shapes): the only statement of what a valid request is. */
export namespace CrmModel {
  const Text = (maxLength: number) => t.String({ minLength: 1, maxLength });

  const ticket = { ticketId: Text(64), userPhone: Text(32) };
  const metadata = t.Optional(t.Record(t.String(), t.Unknown()));

  /** Taking a ticket names the agent; giving it back may. */
  export const handover = t.Union([
    t.Object({ ...ticket, handoverType: t.Literal('bot_to_human'), agentId: Text(128), agentName: Text(128), metadata }),
    t.Object({
      ...ticket,
      handoverType: t.Literal('human_to_bot'),
      agentId: t.Optional(Text(128)),
      agentName: t.Optional(Text(128)),
      metadata,
    }),
  ]);
  export type Handover = typeof handover.static;

  const message = {
    ...ticket,
    agentId: t.Optional(Text(128)),
    caption: t.Optional(t.String({ maxLength: 1024 })),
    filename: t.Optional(t.String({ maxLength: 240 })),
    timestamp: t.Optional(t.String({ maxLength: 64 })),
  };

  /** A media message is sent by link: WhatsApp fetches the file, so it must be reachable over https. */
  export const sendMessage = t.Union([
    t.Object({ ...message, messageType: t.Literal('text'), message: Text(4096) }),
    t.Object({
      ...message,
      messageType: t.Union([t.Literal('image'), t.Literal('document')]),
      message: t.String({ pattern: '^https://\\S+$', maxLength: 4096, code: 'invalid_media_url', description: 'the https URL of the image or document' }),
    }),
  ]);
  export type SendMessage = typeof sendMessage.static;
}
