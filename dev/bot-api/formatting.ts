/**
 * Telegram's HTML parse mode turned into plain text plus entities, ported from TDLib's
 * `td/telegram/MessageEntity.cpp` (`parse_html`, `fix_formatted_text`) so that markup Telegram
 * rejects is rejected here with Telegram's words. Entity offsets count UTF-16 code units, as
 * JavaScript string indices do; error offsets count UTF-8 bytes of the source, as Telegram's do.
 * The bot sends HTML only, so MarkdownV2 and legacy Markdown are not parsed: the local server
 * answers them 400 (validation.ts).
 */
import type { MessageEntity } from 'grammy/types';

export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

/** A markup error in TDLib's wording; the Bot API prefixes it with "can't parse entities: ". */
export class MarkupError extends Error {}

/**
 * Telegram drops trailing whitespace and leading spaces and newlines before the first entity;
 * undefined when nothing is left ("text must be non-empty").
 */
export function trimFormatted({ text, entities }: FormattedText): FormattedText | undefined {
  const end = text.trimEnd().length;
  if (end === 0) return undefined;
  const firstEntity = entities.reduce((min, e) => Math.min(min, e.offset), end);
  let start = 0;
  while (start < firstEntity && (text[start] === ' ' || text[start] === '\n')) start++;
  const kept = entities
    .filter((e) => e.offset < end)
    .map((e) => ({
      ...e,
      offset: e.offset - start,
      length: Math.min(e.offset + e.length, end) - e.offset,
    }))
    .filter((e) => e.length > 0);
  return { text: text.slice(start, end), entities: kept };
}

const byteOffset = (source: string, index: number) => Buffer.byteLength(source.slice(0, index));
const isSpace = (c: string | undefined) =>
  c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f' || c === '\v';

function linkEntity(url: string, offset: number, length: number): MessageEntity {
  const userId = /^tg:\/\/user\?id=(\d+)$/i.exec(url)?.[1];
  return userId
    ? {
        type: 'text_mention',
        offset,
        length,
        user: { id: Number(userId), is_bot: false, first_name: '' },
      }
    : { type: 'text_link', offset, length, url };
}

// ---------------------------------------------------------------- HTML

const HTML_TAGS = new Set([
  'a', 'b', 'strong', 'i', 'em', 's', 'strike', 'del', 'u', 'ins', 'tg-spoiler', 'tg-emoji',
  'tg-time', 'span', 'pre', 'code', 'blockquote',
]); // prettier-ignore

const SIMPLE_TAGS: Record<string, MessageEntity.CommonMessageEntity['type']> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
};

/** `&lt;` `&gt;` `&amp;` `&quot;` and numeric references; undefined leaves the `&` as text. */
function decodeHtmlEntity(s: string, pos: number): { code: number; end: number } | undefined {
  let end = pos + 1;
  let code = 0;
  if (s[end] === '#') {
    end++;
    const hex = s[end] === 'x';
    if (hex) end++;
    const digit = hex ? /[0-9a-fA-F]/ : /[0-9]/;
    while (end < s.length && digit.test(s[end]!))
      code = code * (hex ? 16 : 10) + parseInt(s[end++]!, 16);
    if (code === 0 || code >= 0x10ffff || end - pos >= 10) return undefined;
  } else {
    while (end < s.length && /[a-zA-Z]/.test(s[end]!)) end++;
    code =
      ({ lt: 60, gt: 62, amp: 38, quot: 34 } as Record<string, number>)[s.slice(pos + 1, end)] ?? 0;
    if (code === 0) return undefined;
  }
  if (code >= 0xd800 && code <= 0xdfff) {
    throw new MarkupError(
      'Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units',
    );
  }
  return { code, end: s[end] === ';' ? end + 1 : end };
}

export function parseHtml(s: string): FormattedText {
  let text = '';
  const entities: MessageEntity[] = [];
  const open: { tag: string; argument: string; offset: number }[] = [];
  // `<code class="language-x">` inside `<pre>` closes first; its language waits here for the pre.
  const codeLanguages = new Map<MessageEntity, string>();
  const at = (i: number) => byteOffset(s, i);

  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '&') {
      const decoded = decodeHtmlEntity(s, i);
      if (decoded) {
        text += String.fromCodePoint(decoded.code);
        i = decoded.end - 1;
        continue;
      }
    }
    if (c !== '<') {
      text += c;
      continue;
    }

    const begin = i++;
    if (s[i] !== '/') {
      while (i < s.length && !isSpace(s[i]) && s[i] !== '>') i++;
      if (i >= s.length) throw new MarkupError(`Unclosed start tag at byte offset ${at(begin)}`);
      const tag = s.slice(begin + 1, i).toLowerCase();
      if (!HTML_TAGS.has(tag)) {
        throw new MarkupError(`Unsupported start tag "${tag}" at byte offset ${at(begin)}`);
      }
      let argument = '';
      while (s[i] !== '>') {
        while (i < s.length && isSpace(s[i])) i++;
        if (i >= s.length)
          throw new MarkupError(`Unclosed start tag "${tag}" at byte offset ${at(begin)}`);
        if (s[i] === '>') break;
        const nameBegin = i;
        while (i < s.length && !isSpace(s[i]) && !'=>/"\''.includes(s[i]!)) i++;
        const name = s.slice(nameBegin, i);
        if (name === '') {
          throw new MarkupError(
            `Empty attribute name in the tag "${tag}" at byte offset ${at(begin)}`,
          );
        }
        while (i < s.length && isSpace(s[i])) i++;
        if (s[i] !== '=') {
          if (i >= s.length)
            throw new MarkupError(`Unclosed start tag "${tag}" at byte offset ${at(begin)}`);
          if (tag === 'blockquote' && name === 'expandable') argument = '1';
          continue;
        }
        i++;
        while (i < s.length && isSpace(s[i])) i++;
        if (i >= s.length)
          throw new MarkupError(`Unclosed start tag "${tag}" at byte offset ${at(begin)}`);
        let value = '';
        if (s[i] !== "'" && s[i] !== '"') {
          // An unquoted name token: letters, digits, periods and hyphens, case-insensitive.
          const tokenBegin = i;
          while (i < s.length && /[a-zA-Z0-9.-]/.test(s[i]!)) i++;
          value = s.slice(tokenBegin, i).toLowerCase();
          if (!isSpace(s[i]) && s[i] !== '>') {
            throw new MarkupError(`Unexpected end of name token at byte offset ${at(tokenBegin)}`);
          }
        } else {
          const quote = s[i++];
          while (i < s.length && s[i] !== quote) {
            const decoded = s[i] === '&' ? decodeHtmlEntity(s, i) : undefined;
            if (decoded) {
              value += String.fromCodePoint(decoded.code);
              i = decoded.end;
            } else {
              value += s[i++];
            }
          }
          if (s[i] === quote) i++;
        }
        if (i >= s.length) throw new MarkupError(`Unclosed start tag at byte offset ${at(begin)}`);

        if (tag === 'a' && name === 'href') argument = value;
        else if (tag === 'code' && name === 'class' && value.startsWith('language-'))
          argument = value.slice(9);
        else if (tag === 'span' && name === 'class' && value.startsWith('tg-'))
          argument = value.slice(3);
        else if (tag === 'tg-emoji' && name === 'emoji-id') argument = value;
        else if (tag === 'blockquote' && name === 'expandable') argument = '1';
      }
      if (tag === 'span' && argument !== 'spoiler') {
        throw new MarkupError(
          `Tag "span" must have class "tg-spoiler" at byte offset ${at(begin)}`,
        );
      }
      open.push({ tag, argument, offset: text.length });
      continue;
    }

    // An end tag.
    const current = open.at(-1);
    if (!current) throw new MarkupError(`Unexpected end tag at byte offset ${at(begin)}`);
    while (i < s.length && !isSpace(s[i]) && s[i] !== '>') i++;
    const endTag = s.slice(begin + 2, i).toLowerCase();
    while (i < s.length && isSpace(s[i])) i++;
    if (s[i] !== '>') throw new MarkupError(`Unclosed end tag at byte offset ${at(begin)}`);
    if (endTag !== '' && endTag !== current.tag) {
      throw new MarkupError(
        `Unmatched end tag at byte offset ${at(begin)}, expected "</${current.tag}>", found "</${endTag}>"`,
      );
    }
    open.pop();
    const { tag, argument, offset } = current;
    const length = text.length - offset;
    if (length === 0) continue;
    const last = entities.at(-1);
    const sameRange = last !== undefined && last.offset === offset && last.length === length;
    const simple = SIMPLE_TAGS[tag];
    if (simple) {
      entities.push({ type: simple, offset, length });
    } else if (tag === 'a') {
      entities.push(linkEntity(argument || text.slice(offset), offset, length));
    } else if (tag === 'tg-emoji') {
      if (!/^-?\d+$/.test(argument) || BigInt(argument) === 0n) {
        throw new MarkupError('Invalid custom emoji identifier specified');
      }
      entities.push({ type: 'custom_emoji', offset, length, custom_emoji_id: argument });
    } else if (tag === 'pre') {
      const language = sameRange && last.type === 'code' ? codeLanguages.get(last) : undefined;
      if (language) {
        entities[entities.length - 1] = { type: 'pre', offset, length, language };
      } else {
        entities.push({ type: 'pre', offset, length });
      }
    } else if (tag === 'code') {
      if (sameRange && last.type === 'pre' && argument !== '') {
        entities[entities.length - 1] = { type: 'pre', offset, length, language: argument };
      } else {
        const code: MessageEntity = { type: 'code', offset, length };
        if (argument !== '') codeLanguages.set(code, argument);
        entities.push(code);
      }
    } else if (tag === 'blockquote') {
      entities.push({ type: argument ? 'expandable_blockquote' : 'blockquote', offset, length });
    }
    // tg-time keeps its text; its date entity is not modelled.
  }
  if (open.length > 0) {
    throw new MarkupError(`Can't find end tag corresponding to start tag "${open.at(-1)!.tag}"`);
  }
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text, entities };
}
