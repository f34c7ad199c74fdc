/**
 * Form bodies. Multipart is parsed by hand: grammY writes its parts tersely
 * (`content-disposition:form-data;name="x";filename=a.csv`), which undici's strict FormData
 * parser refuses and Telegram accepts.
 */
import type { Params } from './validation';

/** A file part of a multipart body. */
export class Upload {
  constructor(
    readonly fileName: string,
    readonly mimeType: string,
    readonly bytes: Buffer,
  ) {}

  /** What a recorded call keeps of it: what a Message says of a file, not its bytes. */
  toJSON() {
    return { file_name: this.fileName, mime_type: this.mimeType, file_size: this.bytes.length };
  }
}

export function formParams(contentType: string, body: Buffer): Params {
  if (!/^multipart\/form-data/i.test(contentType)) {
    return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!boundary) throw new Error('multipart body without a boundary');
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const params: Params = {};
  for (let at = body.indexOf(delimiter); at !== -1;) {
    const partStart = at + delimiter.length + 2; // past the delimiter and its CRLF
    const next = body.indexOf(delimiter, partStart);
    if (next === -1) break;
    const part = body.subarray(partStart, next - 2); // less the CRLF before the next delimiter
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString('utf8');
    const content = part.subarray(headerEnd + 4);
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = dispositionParam(disposition, 'name');
    const fileName = dispositionParam(disposition, 'filename');
    if (name !== undefined) {
      params[name] =
        fileName === undefined
          ? content.toString('utf8')
          : new Upload(
              fileName,
              /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1] ?? 'application/octet-stream',
              // A copy: a kept file does not hold on to the whole body.
              Buffer.from(content),
            );
    }
    at = next;
  }
  return params;
}

function dispositionParam(disposition: string, key: string): string | undefined {
  const match = new RegExp(`(?:^|;)\\s*${key}=(?:"([^"]*)"|([^;]*))`, 'i').exec(disposition);
  return match ? (match[1] ?? match[2]!.trim()) : undefined;
}
