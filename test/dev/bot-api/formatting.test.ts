import { describe, expect, it } from 'vitest';
import { parseHtml as html, trimFormatted } from '../../../dev/bot-api/formatting';

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
