import { Type, type Static } from '@sinclair/typebox';

/** Request models of the CRM routes: the seed's bodies, validated; types derived from them. */
export namespace CrmModel {
  const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });

  export const handover = Type.Object({
    ticketId: Text(64),
    userPhone: Text(32),
    agentId: Type.Optional(Text(128)),
    agentName: Type.Optional(Text(128)),
    handoverType: Type.Union([Type.Literal('bot_to_human'), Type.Literal('human_to_bot')]),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  });
  export type Handover = Static<typeof handover>;

  export const sendMessage = Type.Object({
    ticketId: Text(64),
    userPhone: Text(32),
    agentId: Type.Optional(Text(128)),
    message: Text(4096),
    messageType: Type.Union([Type.Literal('text'), Type.Literal('image'), Type.Literal('document')]),
    caption: Type.Optional(Type.String({ maxLength: 1024 })),
    filename: Type.Optional(Type.String({ maxLength: 240 })),
    timestamp: Type.Optional(Type.String({ maxLength: 64 })),
  });
  export type SendMessage = Static<typeof sendMessage>;
}
