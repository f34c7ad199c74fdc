import { describe, expect, it } from 'vitest';
import { parseMarkup, trimFormatted } from '../../../dev/bot-api/formatting';

const html = (source: string) => parseMarkup(source, 'html');
const markdownV2 = (source: string) => parseMarkup(source, 'markdownv2');

describe('HTML', () => {
  it('turns tags into entities with UTF-16 offsets', () => {
    expect(html('🌽 <b>Corn <i>x2</i></b> <u>u</u> <s>s</s> <tg-spoiler>?</tg-spoiler>')).toEqual({
      text: '🌽 Corn x2 u s ?',
      entities: [
        { type: 'bold', offset: 3, length: 7 },
        { type: 'italic', offset: 8, length: 2 },
        { type: 'underline', offset: 11, length: 1 },
        { type: 'strikethrough', offset: 13, length: 1 },
        { type: 'spoiler', offset: 15, length: 1 },
      ],
    });
  });

  it('decodes the entities Telegram knows and keeps the rest as text', () => {
    expect(html('&lt;3 &amp; &quot;x&quot; &#127805; &#x1F33D; &nbsp;').text).toBe(
      '<3 & "x" 🌽 🌽 &nbsp;',
    );
  });

  it('knows pre with a language, links, mentions, blockquotes and custom emoji', () => {
    const source =
      '<pre><code class="language-ts">let a</code></pre><a href="tg://user?id=42">Bob</a>' +
      '<blockquote expandable>q</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>';
    expect(html(source)).toEqual({
      text: 'let aBobq👍',
      entities: [
        { type: 'pre', offset: 0, length: 5, language: 'ts' },
        {
          type: 'text_mention',
          offset: 5,
          length: 3,
          user: { id: 42, is_bot: false, first_name: '' },
        },
        { type: 'expandable_blockquote', offset: 8, length: 1 },
        { type: 'custom_emoji', offset: 9, length: 2, custom_emoji_id: '5368324170671202286' },
      ],
    });
  });

  it.each([
    ['<b>x', 'Can\'t find end tag corresponding to start tag "b"'],
    ['x</b>', 'Unexpected end tag at byte offset 1'],
    ['<b>x</i>', 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'],
    ['🌽<br>', 'Unsupported start tag "br" at byte offset 4'],
    ['<span>x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
    ['<a href=x y', 'Unclosed start tag "a" at byte offset 0'],
    ['<b', 'Unclosed start tag at byte offset 0'],
    ['<b/>', 'Unsupported start tag "b/" at byte offset 0'],
    ['<b =x>', 'Empty attribute name in the tag "b" at byte offset 0'],
    ['<a href=x/y>', 'Unexpected end of name token at byte offset 8'],
    ['<tg-emoji emoji-id="x">👍</tg-emoji>', 'Invalid custom emoji identifier specified'],
  ])('refuses %s: %s', (source, message) => {
    expect(() => html(source)).toThrow(message);
  });
});

describe('MarkdownV2', () => {
  it('turns markup into entities and takes escapes', () => {
    expect(markdownV2('*b* _i_ __u__ ~s~ ||p|| `c` [l](https://x.example/a\\)b) 5\\.0')).toEqual({
      text: 'b i u s p c l 5.0',
      entities: [
        { type: 'bold', offset: 0, length: 1 },
        { type: 'italic', offset: 2, length: 1 },
        { type: 'underline', offset: 4, length: 1 },
        { type: 'strikethrough', offset: 6, length: 1 },
        { type: 'spoiler', offset: 8, length: 1 },
        { type: 'code', offset: 10, length: 1 },
        { type: 'text_link', offset: 12, length: 1, url: 'https://x.example/a)b' },
      ],
    });
  });

  it('knows code blocks and block quotes', () => {
    expect(markdownV2('```ts\nlet a\n```')).toEqual({
      text: 'let a\n',
      entities: [{ type: 'pre', offset: 0, length: 6, language: 'ts' }],
    });
    expect(markdownV2('>quoted\n>more\nafter')).toEqual({
      text: 'quoted\nmore\nafter',
      entities: [{ type: 'blockquote', offset: 0, length: 12 }],
    });
  });

  it.each([
    ['Price: 5.00', "Character '.' is reserved and must be escaped with the preceding '\\'"],
    ['a - b', "Character '-' is reserved and must be escaped with the preceding '\\'"],
    ['*bold', "Can't find end of Bold entity at byte offset 0"],
    ['🌽 _it', "Can't find end of Italic entity at byte offset 5"],
    ['```ts\ncode', "Can't find end of PreCode entity at byte offset 0"],
    ['[link](http://x', "Can't find end of a URL at byte offset 7"],
  ])('refuses %s: %s', (source, message) => {
    expect(() => markdownV2(source)).toThrow(message);
  });
});

describe('legacy Markdown', () => {
  it('turns markup into entities', () => {
    expect(parseMarkup('*b* _i_ `c` [l](https://x.example) a.b-c', 'markdown')).toEqual({
      text: 'b i c l a.b-c',
      entities: [
        { type: 'bold', offset: 0, length: 1 },
        { type: 'italic', offset: 2, length: 1 },
        { type: 'code', offset: 4, length: 1 },
        { type: 'text_link', offset: 6, length: 1, url: 'https://x.example' },
      ],
    });
  });

  it('refuses an unclosed entity', () => {
    expect(() => parseMarkup('a *b', 'markdown')).toThrow(
      "Can't find end of the entity starting at byte offset 2",
    );
  });
});

describe('trimming, as Telegram stores a text', () => {
  it('drops trailing whitespace, and leading spaces and newlines before the first entity', () => {
    expect(trimFormatted({ text: '\n  hi  \n', entities: [] })).toEqual({
      text: 'hi',
      entities: [],
    });
    expect(
      trimFormatted({ text: '  bold  ', entities: [{ type: 'bold', offset: 2, length: 6 }] }),
    ).toEqual({
      text: 'bold',
      entities: [{ type: 'bold', offset: 0, length: 4 }],
    });
    expect(trimFormatted({ text: ' \n\t ', entities: [] })).toBeUndefined();
  });
});
