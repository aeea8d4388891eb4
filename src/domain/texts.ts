import { readFileSync } from 'node:fs';

/**
 * Every sentence the bot says (es-CO), in one place. `{name}` placeholders
 * are filled by `renderText`. BOT_TEXTS_FILE may override any of them with a
 * JSON object of the same keys.
 */
export const DEFAULT_TEXTS = {
  greeting: '¡Hola{profileGreeting}! Soy el asistente virtual de Conecta2Tel.',
  menuBody: '¿En qué te podemos ayudar? Elige una opción o escribe su número:\n1. Contactar Soporte\n2. Identificarme\n3. Línea de emergencia',
  menuSupport: 'Contactar Soporte',
  menuIdentify: 'Identificarme',
  menuEmergency: 'Emergencias',
  notUnderstood: 'No entendí tu mensaje.',
  askDocument: 'Para atenderte primero debemos verificar tu identidad. Escribe tu número de documento (cédula), solo números.',
  documentInvalid: 'Ese no parece un número de documento válido. Escríbelo solo con números. Te quedan {remaining} intentos.',
  documentNotFound: 'No encontramos un cliente con ese documento. Te quedan {remaining} intentos.',
  verifying: 'Estamos verificando tu documento, un momento por favor.',
  authenticated: 'Gracias, {customerName}. Verificamos tu identidad.',
  alreadyIdentified: 'Ya verificamos tu identidad, {customerName}.',
  authFailed: 'No pudimos verificar tu identidad. Para ayuda inmediata comunícate con nuestra línea de emergencia: {emergencyPhone}.',
  lookupUnavailable: 'En este momento no podemos verificar tu identidad. Para ayuda inmediata comunícate con nuestra línea de emergencia: {emergencyPhone}.',
  emergency: 'Nuestra línea de emergencia es {emergencyPhone}.',
  connecting: 'Conectando con agente especializado...',
  agentEstimate: 'Un agente te atenderá pronto. Tiempo estimado: {estimatedResponseTime}.',
  waitingNotice: 'Tu solicitud {ticketId} está en fila y un agente te escribirá pronto. Escribe *cancelar* si prefieres volver al menú.',
  queueUpdate: 'Sigues en la fila con tu solicitud {ticketId}; un agente te escribirá pronto. Escribe *cancelar* si prefieres volver al menú.',
  queueUpdatePosition: 'Sigues en la fila con tu solicitud {ticketId}: vas en el puesto {queuePosition}. Escribe *cancelar* si prefieres volver al menú.',
  queueUpdateEstimate:
    'Sigues en la fila con tu solicitud {ticketId}. Tiempo estimado: {estimatedResponseTime}. Escribe *cancelar* si prefieres volver al menú.',
  outOfHoursQueued:
    'Estamos fuera del horario de atención ({businessHours}). Tu solicitud {ticketId} quedó en fila y un agente te escribirá cuando abramos. Para ayuda inmediata comunícate con nuestra línea de emergencia: {emergencyPhone}.',
  outOfHoursClosed:
    'Estamos fuera del horario de atención ({businessHours}). Escríbenos en ese horario o, para ayuda inmediata, comunícate con nuestra línea de emergencia: {emergencyPhone}.',
  fallback:
    'En este momento ningún agente está disponible para tu solicitud {ticketId}. Para ayuda inmediata comunícate con nuestra línea de emergencia: {emergencyPhone}.',
  abandoned: 'Cerramos tu solicitud {ticketId} porque no recibimos respuesta. Escríbenos cuando quieras volver a empezar.',
  agentConnected: 'Agente {agentName} conectado',
  resolved: 'Consulta resuelta, regresando al menú',
  cancelled: 'Cancelamos tu solicitud {ticketId}.',
  crmUnreachable: 'No pudimos contactar a un agente en este momento. Para ayuda inmediata comunícate con nuestra línea de emergencia: {emergencyPhone}.',
  surveyBody: '¿Cómo calificarías la atención que recibiste? Elige de 1 (muy mala) a 5 (excelente).',
  surveyButton: 'Calificar',
  surveyThanks: '¡Gracias por tu calificación!',
  csat1: '1 - Muy mala',
  csat2: '2 - Mala',
  csat3: '3 - Regular',
  csat4: '4 - Buena',
  csat5: '5 - Excelente',
  /**
   * The privacy notice (Ley 1581): sent before the bot's first answer to a subscriber, and again when it changes
   * (PRIVACY_NOTICE_VERSION, else a digest of this text). Empty: none is sent. Each ISP writes its own, with a link
   * to its data-processing policy, in BOT_TEXTS_FILE.
   */
  privacyNotice: '',
} as const;

export type TextKey = keyof typeof DEFAULT_TEXTS;
export type Texts = Record<TextKey, string>;

export function loadTexts(file: string): Texts {
  if (!file) return { ...DEFAULT_TEXTS };
  const overrides = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const unknown = Object.keys(overrides).filter((key) => !(key in DEFAULT_TEXTS));
  if (unknown.length > 0) throw new Error(`BOT_TEXTS_FILE: unknown keys ${unknown.join(', ')}`);
  for (const [key, value] of Object.entries(overrides)) {
    if (typeof value !== 'string' || value === '') throw new Error(`BOT_TEXTS_FILE: ${key} must be a non-empty string`);
  }
  return { ...DEFAULT_TEXTS, ...(overrides as Partial<Texts>) };
}

export function renderText(texts: Texts, key: TextKey, vars: Record<string, string | number> = {}): string {
  return texts[key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}
