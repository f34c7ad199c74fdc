/**
 * Telegram's parse modes (HTML, MarkdownV2, legacy Markdown) turned into plain text plus
 * entities, ported from TDLib's `td/telegram/MessageEntity.cpp` (`parse_html`,
 * `parse_markdown_v2`, `parse_markdown`, `fix_formatted_text`) so that markup Telegram rejects
 * is rejected here with Telegram's words. Entity offsets count UTF-16 code units, as JavaScript
 * string indices do; error offsets count UTF-8 bytes of the source, as Telegram's do.
 */
import type { MessageEntity } from 'grammy/types';

export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

/** A markup error in TDLib's wording; the Bot API prefixes it with "can't parse entities: ". */
export class MarkupError extends Error {}

export type ParseMode = 'html' | 'markdownv2' | 'markdown';

export function parseMarkup(source: string, mode: ParseMode): FormattedText {
  const parsed =
    mode === 'html'
      ? parseHtml(source)
      : mode === 'markdownv2'
        ? parseMarkdownV2(source)
        : parseMarkdown(source);
  parsed.entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return parsed;
}

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

function parseHtml(s: string): FormattedText {
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
  return { text, entities };
}

// ---------------------------------------------------------------- MarkdownV2

type MarkdownKind =
  | 'bold'
  | 'italic'
  | 'underline'
  | 'strikethrough'
  | 'spoiler'
  | 'code'
  | 'pre'
  | 'text_link'
  | 'custom_emoji'
  | 'blockquote';

/** TDLib's names for entity types, as its error messages spell them. */
const TDLIB_NAMES: Record<MarkdownKind, string> = {
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  strikethrough: 'Strikethrough',
  spoiler: 'Spoiler',
  code: 'Code',
  pre: 'Pre',
  text_link: 'TextUrl',
  custom_emoji: 'CustomEmoji',
  blockquote: 'BlockQuote',
};

const reserved = (c: string) =>
  new MarkupError(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);

const isEscapable = (c: string | undefined) =>
  c !== undefined && c.charCodeAt(0) > 0 && c.charCodeAt(0) <= 126;

/** Reads `(url)` after `]`; `i` is at the `]`. Returns the url and the index of the `)`. */
function readMarkdownUrl(s: string, i: number, at: (i: number) => number) {
  let url = '';
  let j = i + 2;
  const begin = j;
  while (j < s.length && s[j] !== ')') {
    if (s[j] === '\\' && isEscapable(s[j + 1])) {
      url += s[j + 1];
      j += 2;
    } else {
      url += s[j++];
    }
  }
  if (s[j] !== ')') throw new MarkupError(`Can't find end of a URL at byte offset ${at(begin)}`);
  return { url, end: j };
}

function parseMarkdownV2(s: string): FormattedText {
  let text = '';
  const entities: MessageEntity[] = [];
  interface Open {
    kind: MarkdownKind;
    language: string;
    offset: number;
    sourceIndex: number;
  }
  const open: Open[] = [];
  const at = (i: number) => byteOffset(s, i);
  const unclosed = (entry: Open) =>
    new MarkupError(
      `Can't find end of ${entry.kind === 'pre' && entry.language ? 'PreCode' : TDLIB_NAMES[entry.kind]} entity at byte offset ${at(entry.sourceIndex)}`,
    );
  let inBlockquote = false;
  let canStartBlockquote = true;

  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && isEscapable(s[i + 1])) {
      i++;
      text += s[i];
      if (s[i] !== '\r') canStartBlockquote = s[i] === '\n';
      continue;
    }
    const top = open.at(-1);
    const reservedHere = top?.kind === 'code' || top?.kind === 'pre' ? '`' : '_*[]()~`>#+-=|{}.!\n';
    if (!reservedHere.includes(c)) {
      text += c;
      if (c !== '\r') canStartBlockquote = false;
      continue;
    }

    const endsEntity = (() => {
      if (!top) return false;
      if (inBlockquote && c === '\n' && s[i + 1] !== '>') return true;
      switch (top.kind) {
        case 'bold':
          return c === '*';
        case 'italic':
          return c === '_' && s[i + 1] !== '_';
        case 'code':
          return c === '`';
        case 'pre':
          return c === '`' && s[i + 1] === '`' && s[i + 2] === '`';
        case 'text_link':
        case 'custom_emoji':
          return c === ']';
        case 'underline':
          return c === '_' && s[i + 1] === '_';
        case 'strikethrough':
          return c === '~';
        case 'spoiler':
          return c === '|' && s[i + 1] === '|';
        case 'blockquote':
          return false;
      }
    })();

    if (!endsEntity) {
      const sourceIndex = i;
      let kind: MarkdownKind;
      let language = '';
      switch (c) {
        case '_':
          kind = s[i + 1] === '_' ? 'underline' : 'italic';
          if (kind === 'underline') i++;
          break;
        case '*':
          kind = 'bold';
          break;
        case '~':
          kind = 'strikethrough';
          break;
        case '|':
          if (s[i + 1] !== '|') throw reserved(c);
          i++;
          kind = 'spoiler';
          break;
        case '[':
          kind = 'text_link';
          break;
        case '`':
          if (s[i + 1] === '`' && s[i + 2] === '`') {
            i += 3;
            kind = 'pre';
            let languageEnd = i;
            while (languageEnd < s.length && !isSpace(s[languageEnd]) && s[languageEnd] !== '`') {
              languageEnd++;
            }
            if (i !== languageEnd && languageEnd < s.length && s[languageEnd] !== '`') {
              language = s.slice(i, languageEnd);
              i = languageEnd;
            }
            // One line break right after the opening fence is not part of the text.
            if (s[i] === '\n' || s[i] === '\r') {
              i += (s[i + 1] === '\n' || s[i + 1] === '\r') && s[i] !== s[i + 1] ? 2 : 1;
            }
            i--;
          } else {
            kind = 'code';
          }
          break;
        case '!':
          if (s[i + 1] !== '[') throw reserved(c);
          i++;
          kind = 'custom_emoji';
          break;
        case '\n':
          text += '\n';
          canStartBlockquote = true;
          continue;
        case '>':
          if (!canStartBlockquote) throw reserved(c);
          if (inBlockquote) continue;
          kind = 'blockquote';
          inBlockquote = true;
          break;
        default:
          throw reserved(c);
      }
      open.push({ kind, language, offset: text.length, sourceIndex });
      continue;
    }

    // The end of an entity.
    let entry = open.at(-1)!;
    let expandable = false;
    if (c === '\n' && entry.kind !== 'blockquote') {
      // `||` right before the end of a blockquote makes it expandable rather than a spoiler.
      const marksExpandable =
        entry.kind === 'spoiler' &&
        (entry.sourceIndex === i - 2 || (entry.sourceIndex === i - 3 && text.endsWith('\r')));
      if (!marksExpandable) throw unclosed(entry);
      open.pop();
      entry = open.at(-1)!;
      if (entry.kind !== 'blockquote') throw unclosed(entry);
      expandable = true;
    }
    const { offset } = entry;
    let entity: MessageEntity | undefined;
    switch (entry.kind) {
      case 'bold':
      case 'italic':
      case 'code':
      case 'strikethrough':
        entity = { type: entry.kind, offset, length: 0 };
        break;
      case 'underline':
      case 'spoiler':
        i++;
        entity = { type: entry.kind, offset, length: 0 };
        break;
      case 'pre':
        i += 2;
        entity = entry.language
          ? { type: 'pre', offset, length: 0, language: entry.language }
          : { type: 'pre', offset, length: 0 };
        break;
      case 'text_link': {
        let url = text.slice(offset);
        if (s[i + 1] === '(') {
          const link = readMarkdownUrl(s, i, at);
          url = link.url;
          i = link.end;
        }
        entity = url === '' ? undefined : linkEntity(url, offset, 0);
        break;
      }
      case 'custom_emoji': {
        if (s[i + 1] !== '(')
          throw new MarkupError('The entity must contain a tg://emoji or tg://time URL');
        const link = readMarkdownUrl(s, i, at);
        i = link.end;
        const emojiId = /^tg:\/\/emoji\?id=(\d+)$/.exec(link.url)?.[1];
        if (emojiId) entity = { type: 'custom_emoji', offset, length: 0, custom_emoji_id: emojiId };
        else if (!link.url.startsWith('tg://time?')) {
          throw new MarkupError('Invalid tg://emoji or tg://time URL specified');
        }
        break;
      }
      case 'blockquote':
        inBlockquote = false;
        text += s[i];
        canStartBlockquote = true;
        entity = { type: expandable ? 'expandable_blockquote' : 'blockquote', offset, length: 0 };
        break;
    }
    open.pop();
    if (entity && (text.length > offset || entity.type.endsWith('blockquote'))) {
      entities.push({ ...entity, length: text.length - offset });
    }
  }

  if (inBlockquote) {
    let expandable = false;
    if (open.at(-1)?.kind === 'spoiler' && open.at(-1)!.sourceIndex === s.length - 2) {
      open.pop();
      expandable = true;
    }
    const entry = open.at(-1);
    if (entry?.kind === 'blockquote') {
      open.pop();
      const length = text.length - entry.offset;
      if (length > 0) {
        entities.push({
          type: expandable ? 'expandable_blockquote' : 'blockquote',
          offset: entry.offset,
          length,
        });
      }
    }
  }
  if (open.length > 0) throw unclosed(open.at(-1)!);
  return { text, entities };
}

// ---------------------------------------------------------------- legacy Markdown

function parseMarkdown(s: string): FormattedText {
  let text = '';
  const entities: MessageEntity[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && '_*`['.includes(s[i + 1] ?? '\0')) {
      text += s[++i];
      continue;
    }
    if (!'_*`['.includes(c)) {
      text += c;
      continue;
    }

    const begin = i++;
    const endCharacter = c === '[' ? ']' : c;
    let pre = false;
    let language = '';
    if (c === '`' && s[i] === '`' && s[i + 1] === '`') {
      i += 2;
      pre = true;
      let languageEnd = i;
      while (languageEnd < s.length && !isSpace(s[languageEnd]) && s[languageEnd] !== '`')
        languageEnd++;
      if (i !== languageEnd && languageEnd < s.length && s[languageEnd] !== '`') {
        language = s.slice(i, languageEnd);
        i = languageEnd;
      }
      if (s[i] === '\n' || s[i] === '\r') {
        i += (s[i + 1] === '\n' || s[i + 1] === '\r') && s[i] !== s[i + 1] ? 2 : 1;
      }
    }
    const offset = text.length;
    while (
      i < s.length &&
      (s[i] !== endCharacter || (pre && !(s[i + 1] === '`' && s[i + 2] === '`')))
    ) {
      text += s[i++];
    }
    if (i >= s.length) {
      throw new MarkupError(
        `Can't find end of the entity starting at byte offset ${byteOffset(s, begin)}`,
      );
    }
    const length = text.length - offset;
    if (length > 0) {
      if (c === '_') entities.push({ type: 'italic', offset, length });
      else if (c === '*') entities.push({ type: 'bold', offset, length });
      else if (c === '[') {
        let url = s.slice(begin + 1, i);
        if (s[i + 1] === '(') {
          const close = s.indexOf(')', i + 2);
          url = s.slice(i + 2, close === -1 ? s.length : close);
          i = close === -1 ? s.length : close;
        }
        if (url !== '') entities.push(linkEntity(url, offset, length));
      } else if (pre) {
        entities.push(
          language ? { type: 'pre', offset, length, language } : { type: 'pre', offset, length },
        );
      } else {
        entities.push({ type: 'code', offset, length });
      }
    }
    if (pre) i += 2;
  }
  return { text, entities };
}
