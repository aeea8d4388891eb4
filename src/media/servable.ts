/**
 * What WhatsApp says of a file (its type, the name the user gave it) becomes
 * response headers when the file is served: a value a header cannot carry
 * (a CR/LF, a control character) would make the file unservable for its
 * whole retention. So both are made servable when stored, and when read
 * back from a sidecar written before.
 */
export const FALLBACK_MIME_TYPE = 'application/octet-stream';

// RFC 9110 media-type: type "/" subtype *( OWS ";" OWS token "=" ( token / quoted-string ) ), ASCII only.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t\\x20-\\x7e])*"';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*$`);
const MAX_MIME_TYPE_LENGTH = 255;

/** The type as given when it is a well-formed media type, else application/octet-stream (served as a download). */
export function servableMimeType(mimeType: string | undefined): string {
  const trimmed = mimeType?.trim() ?? '';
  return trimmed.length <= MAX_MIME_TYPE_LENGTH && MEDIA_TYPE.test(trimmed) ? trimmed : FALLBACK_MIME_TYPE;
}

const MAX_FILE_NAME_LENGTH = 255;
// Control characters (C0, DEL, C1), and the bidirectional overrides that make "fdp.exe" read as "exe.pdf".
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The user's file name without what no file name needs: control and
 * direction characters, path separators (a name is never a path), lone
 * surrogates; at most 255 characters. Nothing left (or only dots): no name,
 * and the file is served under its media id.
 */
export function servableFileName(fileName: string | undefined): string | undefined {
  if (fileName === undefined) return undefined;
  const clean = fileName.toWellFormed().replace(UNPRINTABLE, '').replace(/[/\\]/g, '_').trim();
  const bounded = [...clean].slice(0, MAX_FILE_NAME_LENGTH).join('');
  return /^[.\s]*$/.test(bounded) ? undefined : bounded;
}
