import { describe, expect, test } from 'bun:test';
import { mediaMessage, textMessage } from '../../../../src/integrations/whatsapp-messages';
import { asReengageTemplate } from '../../../../src/outbox/deliverers/whatsapp';

const TEMPLATE = { name: 'seguimiento_agente', languageCode: 'es' };
const PHONE = '573001112233';
const bodyText = (message: Record<string, any>) => message.template.components[0].parameters[0].text;

describe('an agent message re-cut as the re-engagement template', () => {
  test('a text fills the body variable and goes to the same user', () => {
    const template = asReengageTemplate(textMessage(PHONE, 'Su servicio ya está activo'), TEMPLATE) as Record<string, any>;
    expect(template).toMatchObject({ to: PHONE, type: 'template', template: { name: 'seguimiento_agente', language: { code: 'es' } } });
    expect(bodyText(template)).toBe('Su servicio ya está activo');
  });

  test('an image with a caption carries its caption', () => {
    const image = mediaMessage(PHONE, 'image', { url: 'https://cdn.example/f.jpg', caption: 'Factura de marzo' });
    expect(bodyText(asReengageTemplate(image, TEMPLATE))).toBe('Factura de marzo');
  });

  test('a document without a caption carries its link', () => {
    const document = mediaMessage(PHONE, 'document', { url: 'https://cdn.example/contrato.pdf', filename: 'contrato.pdf' });
    expect(bodyText(asReengageTemplate(document, TEMPLATE))).toBe('https://cdn.example/contrato.pdf');
  });
});
