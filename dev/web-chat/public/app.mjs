/**
 * The farmflow web chat: a person plays as one or several simulated Telegram users, each in their
 * private chat with the bot on the local Bot API server. The bot's messages are shown as Telegram
 * shows them: text with its formatting entities, photos with their captions, inline keyboards,
 * edits in place (a text becoming a photo too), callback answers as toasts. Text only ever reaches
 * the page as text nodes, never as HTML.
 */

const PLAYERS_KEY = 'farmflow.players';
const TAB_PLAYER_KEY = 'farmflow.player';
const MAX_PLAYERS = 20;
const MAX_PLAYER_ID = 9_999_999_999;

const $ = (selector) => document.querySelector(selector);
const els = {
  status: $('#status'),
  players: $('#players'),
  addPlayer: $('#add-player'),
  chat: $('#chat'),
  welcome: $('#welcome'),
  welcomePlayer: $('#welcome-player'),
  start: $('#start'),
  composer: $('#composer'),
  message: $('#message'),
  toast: $('#toast'),
  alert: $('#alert'),
  alertText: $('#alert-text'),
};

// ------------------------------------------------------------------ players

/** Players live in localStorage (shared by the tabs); which one a tab shows is in its URL. */
function loadPlayers() {
  try {
    const list = JSON.parse(localStorage.getItem(PLAYERS_KEY) ?? '[]');
    return Array.isArray(list)
      ? list.filter(
          (p) =>
            Number.isSafeInteger(p?.id) &&
            p.id >= 1 &&
            p.id <= MAX_PLAYER_ID &&
            typeof p.name === 'string',
        )
      : [];
  } catch {
    return [];
  }
}

function savePlayers(players) {
  localStorage.setItem(PLAYERS_KEY, JSON.stringify(players));
}

/** A Telegram-like user id, random so that two browsers on one machine never share a farm. */
function newPlayerId() {
  const [random] = crypto.getRandomValues(new Uint32Array(1));
  return 1_000_000_000 + random;
}

/** The players up to `count`, creating the missing ones. */
function ensurePlayers(count) {
  const players = loadPlayers();
  if (players.length >= count) return players;
  while (players.length < count) {
    players.push({ id: newPlayerId(), name: `Player ${players.length + 1}` });
  }
  savePlayers(players);
  return players;
}

function playerNumberFromUrl() {
  const match = /^#player-(\d{1,2})$/.exec(location.hash);
  const number = match ? Number(match[1]) : Number(sessionStorage.getItem(TAB_PLAYER_KEY));
  return Number.isInteger(number) && number >= 1 && number <= MAX_PLAYERS ? number : 1;
}

function renderPlayers(current) {
  const players = loadPlayers();
  els.players.replaceChildren(
    ...players.map((player, index) => {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = `#player-${index + 1}`;
      link.textContent = player.name;
      link.title = `Telegram user id ${player.id}`;
      if (index + 1 === current) link.setAttribute('aria-current', 'page');
      item.append(link);
      return item;
    }),
  );
  els.addPlayer.hidden = players.length >= MAX_PLAYERS;
}

// ------------------------------------------------------------------ the API

async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const result = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body: result };
}

// ------------------------------------------------------------------ the session

/** The chat this tab shows: one player's, polled for changes until another is chosen. */
let session;

function select(number) {
  const players = ensurePlayers(number);
  const player = players[number - 1];
  session?.stop.abort();
  sessionStorage.setItem(TAB_PLAYER_KEY, String(number));
  if (location.hash !== `#player-${number}`) {
    history.replaceState(null, '', `#player-${number}`);
  }
  session = { player, number, version: undefined, stop: new AbortController(), shown: new Map() };
  els.chat.replaceChildren();
  els.welcome.hidden = true;
  els.welcomePlayer.textContent = player.name;
  document.title = `${player.name} · farmflow`;
  renderPlayers(number);
  void poll(session);
}

async function poll(current) {
  let failures = 0;
  while (!current.stop.signal.aborted) {
    const after = current.version === undefined ? '' : `?after=${current.version}`;
    try {
      const response = await fetch(`/play/api/chat/${current.player.id}${after}`, {
        signal: current.stop.signal,
        cache: 'no-store',
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const view = await response.json();
      if (current !== session) return;
      failures = 0;
      setStatus('bot');
      current.version = view.version;
      renderChat(current, view.messages);
      for (const notice of view.notices) showNotice(notice);
    } catch {
      if (current.stop.signal.aborted) return;
      failures += 1;
      setStatus('connecting…');
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** failures)));
    }
  }
}

function setStatus(text) {
  if (els.status.textContent !== text) els.status.textContent = text;
}

async function send(text) {
  const { player } = session;
  const result = await post('/play/api/send', { userId: player.id, name: player.name, text }).catch(
    () => undefined,
  );
  if (!result?.ok) {
    toast(
      result
        ? `Not sent: ${result.body.message ?? `HTTP ${result.status}`}`
        : 'Not sent: the game server is not answering.',
    );
    return false;
  }
  return true;
}

async function press(messageId, data, button) {
  const { player } = session;
  button.classList.add('pending');
  button.setAttribute('aria-busy', 'true');
  const result = await post('/play/api/press', {
    userId: player.id,
    name: player.name,
    messageId,
    data,
  }).catch(() => undefined);
  clearPending(button);
  if (!result) toast('The game server is not answering.');
  else if (result.status === 409) toast('That button is no longer there.');
  else if (!result.ok) toast(`Not pressed: ${result.body.message ?? `HTTP ${result.status}`}`);
}

function clearPending(button) {
  for (const pending of button ? [button] : els.chat.querySelectorAll('.pending')) {
    pending.classList.remove('pending');
    pending.removeAttribute('aria-busy');
  }
}

// ------------------------------------------------------------------ rendering the chat

/** Updates the chat in place: only messages that changed are rebuilt, so focus and scroll stay. */
function renderChat(current, messages) {
  const { chat } = els;
  const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 48;
  // A pressed button usually disappears with the edit it causes: keep the focus in that message.
  const focused = chat.contains(document.activeElement) ? document.activeElement : undefined;
  const focusedKey = focused?.dataset.key;
  const focusedMessage = focused?.closest('.message')?.dataset.messageId;
  const lastBefore = [...current.shown.keys()].at(-1);

  const seen = new Set();
  let previous = null;
  for (const message of messages) {
    const key = JSON.stringify([
      message.photo?.fileId,
      message.text,
      message.entities,
      message.keyboard,
      message.edited,
    ]);
    let shown = current.shown.get(message.messageId);
    if (!shown || shown.key !== key) {
      const element = messageElement(message, current.player.id);
      shown?.element.replaceWith(element);
      shown = { element, key };
      current.shown.set(message.messageId, shown);
    }
    const expected = previous ? previous.nextSibling : chat.firstChild;
    if (shown.element !== expected) chat.insertBefore(shown.element, expected);
    previous = shown.element;
    seen.add(message.messageId);
  }
  for (const [id, shown] of current.shown) {
    if (!seen.has(id)) {
      shown.element.remove();
      current.shown.delete(id);
    }
  }

  els.welcome.hidden = messages.length > 0;
  if (focused && !chat.contains(document.activeElement)) {
    const again =
      (focusedKey && chat.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`)) ||
      chat.querySelector(`[data-message-id="${focusedMessage}"] .key:not(:disabled)`);
    (again || chat).focus();
  }
  const newest = messages.at(-1);
  if (atBottom || (newest && newest.messageId !== lastBefore && newest.from === 'player')) {
    chat.scrollTop = chat.scrollHeight;
  }
}

function messageElement(message, playerId) {
  const article = document.createElement('article');
  article.className = `message from-${message.from}`;
  article.dataset.messageId = String(message.messageId);

  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  if (message.photo) {
    const image = document.createElement('img');
    image.className = 'photo';
    // Its size is known before it loads: the chat does not jump when it arrives.
    image.width = message.photo.width;
    image.height = message.photo.height;
    image.alt = 'Photo';
    image.src = `/play/api/photo/${playerId}/${encodeURIComponent(message.photo.fileId)}`;
    bubble.append(image);
  }
  if (message.text !== '' || !message.photo) {
    const text = document.createElement('div');
    text.className = 'text';
    text.append(formatted(message.text, message.entities, message.from === 'bot'));
    bubble.append(text);
  }
  const meta = document.createElement('div');
  meta.className = 'meta';
  const time = document.createElement('time');
  const date = new Date(message.date * 1000);
  time.dateTime = date.toISOString();
  time.textContent = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (message.edited) {
    const edited = document.createElement('span');
    edited.textContent = 'edited ';
    meta.append(edited);
  }
  meta.append(time);
  bubble.append(meta);
  article.append(bubble);

  if (message.keyboard.length > 0) {
    const keyboard = document.createElement('div');
    keyboard.className = 'keyboard';
    keyboard.setAttribute('role', 'group');
    keyboard.setAttribute('aria-label', 'Buttons');
    for (const row of message.keyboard) {
      const line = document.createElement('div');
      line.className = 'row';
      for (const button of row) line.append(keyboardButton(message.messageId, button));
      keyboard.append(line);
    }
    article.append(keyboard);
  }
  return article;
}

function keyboardButton(messageId, button) {
  if (button.url !== undefined && safeUrl(button.url)) {
    const link = document.createElement('a');
    link.className = 'key';
    link.href = safeUrl(button.url);
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.textContent = `${button.text} ↗`;
    return link;
  }
  const element = document.createElement('button');
  element.type = 'button';
  element.className = 'key';
  element.textContent = button.text;
  if (button.data === undefined) {
    element.disabled = true;
    element.title = 'This kind of button works in Telegram only';
  } else {
    element.dataset.key = `${messageId}:${button.data}`;
    element.addEventListener('click', () => void press(messageId, button.data, element));
  }
  return element;
}

/** Only links a browser opens as web pages or mail; anything else stays text. */
function safeUrl(url) {
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(url) ? url : `https://${url}`;
  try {
    const parsed = new URL(withScheme);
    return ['http:', 'https:', 'mailto:'].includes(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Text plus Telegram's entities as DOM nodes. Entities may nest or overlap: the text is cut at
 * every entity boundary and each piece is wrapped in the entities covering it, outermost first,
 * reusing the open elements of the previous piece.
 */
function formatted(text, entities, fromBot) {
  const root = document.createDocumentFragment();
  const ordered = [...entities]
    .filter((e) => e.length > 0)
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  const cuts = new Set([0, text.length]);
  for (const e of ordered) {
    cuts.add(Math.min(text.length, e.offset));
    cuts.add(Math.min(text.length, e.offset + e.length));
  }
  const points = [...cuts].sort((a, b) => a - b);
  let open = [];
  for (let i = 0; i < points.length - 1; i += 1) {
    const [from, to] = [points[i], points[i + 1]];
    const covering = ordered.filter((e) => e.offset <= from && e.offset + e.length >= to);
    let depth = 0;
    while (depth < open.length && open[depth].entity === covering[depth]) depth += 1;
    open = open.slice(0, depth);
    for (const entity of covering.slice(depth)) {
      const element = entityElement(entity, text);
      (open.at(-1)?.element ?? root).append(element);
      open.push({ entity, element });
    }
    const parent = open.at(-1)?.element ?? root;
    const plain = open.every(({ entity }) => !VERBATIM.has(entity.type));
    appendText(parent, text.slice(from, to), fromBot && plain);
  }
  return root;
}

const VERBATIM = new Set(['code', 'pre', 'text_link', 'url', 'email', 'bot_command']);
const TAGS = {
  bold: 'strong',
  italic: 'em',
  underline: 'u',
  strikethrough: 's',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  expandable_blockquote: 'blockquote',
};

function entityElement(entity, text) {
  const tag = TAGS[entity.type];
  if (tag) {
    const element = document.createElement(tag);
    if (entity.type === 'pre' && entity.language) element.dataset.language = entity.language;
    return element;
  }
  const target =
    entity.type === 'text_link'
      ? safeUrl(entity.url ?? '')
      : entity.type === 'url'
        ? safeUrl(text.slice(entity.offset, entity.offset + entity.length))
        : undefined;
  if (target) {
    const link = document.createElement('a');
    link.href = target;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    return link;
  }
  const span = document.createElement('span');
  span.className = entity.type.replace(/_/g, '-');
  if (entity.type === 'spoiler') {
    span.tabIndex = 0;
    span.setAttribute('role', 'button');
    span.setAttribute('aria-label', 'Spoiler: show');
    const reveal = () => {
      span.classList.add('revealed');
      span.removeAttribute('role');
      span.removeAttribute('aria-label');
      span.removeAttribute('tabindex');
    };
    span.addEventListener('click', reveal);
    span.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') reveal();
    });
  }
  return span;
}

/** Telegram makes the /commands in a bot's messages tappable: tapping one sends it. */
function appendText(parent, text, commands) {
  if (!commands) {
    parent.append(text);
    return;
  }
  const pattern = /(^|[\s(])(\/[A-Za-z0-9_]{1,32})(?=$|[\s.,;:!?)])/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index + match[1].length;
    parent.append(text.slice(last, start));
    const command = document.createElement('button');
    command.type = 'button';
    command.className = 'command';
    command.textContent = match[2];
    command.dataset.key = `command:${match[2]}`;
    command.title = `Send ${match[2]}`;
    command.addEventListener('click', () => void send(match[2]));
    parent.append(command);
    last = start + match[2].length;
  }
  parent.append(text.slice(last));
}

// ------------------------------------------------------------------ toasts and alerts

const toasts = [];
let toastShowing = false;

function showNotice(notice) {
  if (notice.kind === 'answer') clearPending();
  if (!notice.text) return;
  if (notice.alert) {
    els.alertText.textContent = notice.text;
    if (!els.alert.open) els.alert.showModal();
  } else {
    toast(notice.text);
  }
}

function toast(text) {
  toasts.push(text);
  if (!toastShowing) nextToast();
}

function nextToast() {
  const text = toasts.shift();
  if (text === undefined) {
    toastShowing = false;
    els.toast.classList.remove('visible');
    return;
  }
  toastShowing = true;
  els.toast.textContent = text;
  els.toast.classList.add('visible');
  setTimeout(nextToast, Math.min(6000, 2000 + text.length * 40));
}

// ------------------------------------------------------------------ wiring

els.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = els.message.value;
  if (text.trim() === '') return;
  els.message.value = '';
  void send(text).then((sent) => {
    if (!sent && els.message.value === '') els.message.value = text;
  });
});

els.start.addEventListener('click', () => {
  void send('/start');
  els.message.focus();
});

els.addPlayer.addEventListener('click', () => {
  const players = loadPlayers();
  if (players.length >= MAX_PLAYERS) return;
  ensurePlayers(players.length + 1);
  location.hash = `player-${players.length + 1}`;
});

window.addEventListener('hashchange', () => select(playerNumberFromUrl()));
// Another tab added a player: show it in this tab's list too.
window.addEventListener('storage', (event) => {
  if (event.key === PLAYERS_KEY && session) renderPlayers(session.number);
});

select(playerNumberFromUrl());
