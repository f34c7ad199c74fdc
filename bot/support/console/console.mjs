/**
 * The farmflow console: support reads a player's story by support code and grants compensation;
 * game designers (the admin token) also pause, unpause and trigger schedules and follow reward
 * batches. Every request carries the token the person signed in with, kept in this tab's
 * sessionStorage only. Data only ever reaches the page as text nodes, never as HTML, and a link
 * from the API is followed only when it is http(s).
 */
const TOKEN_KEY = 'farmflow.console.token';
const BATCH_POLL_MS = 1000;
/** Every request's bound: above the server's own (10 s for a story or a compensation). */
const REQUEST_TIMEOUT_MS = 20_000;
/** The timeline's page: `/console?limit=20` asks for another (1 to 500), 50 otherwise. */
const TIMELINE_PAGE = (() => {
  const asked = Number(new URLSearchParams(location.search).get('limit'));
  return Number.isInteger(asked) && asked >= 1 && asked <= 500 ? asked : 50;
})();

const $ = (selector) => document.querySelector(selector);

// ------------------------------------------------------------------ small helpers

/** An element with classes and children; strings become text nodes. */
function h(tag, { className, text, title, attrs } = {}, ...children) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = String(text);
  if (title !== undefined) element.title = String(title);
  for (const [name, value] of Object.entries(attrs ?? {})) element.setAttribute(name, value);
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

const isWebUrl = (value) => typeof value === 'string' && /^https?:\/\//i.test(value);

/** A link that opens in a new tab, or plain text when the address is not http(s). */
function externalLink(href, text, className) {
  if (!isWebUrl(href)) return h('span', { className, text });
  const link = h('a', { className, text });
  link.href = href;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  return link;
}

/** "2026-11-30 08:00:01" (UTC), or a dash. */
function formatTime(iso) {
  if (typeof iso !== 'string' || iso === '') return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')
    .replace('Z', '');
}

const timeCell = (iso) => h('td', { className: 'time', text: formatTime(iso), title: iso ?? '' });
const yesNo = (value) => (value === true ? 'yes' : value === false ? 'no' : 'unknown');
const onOff = (value) => (value ? 'on' : 'off');
const shortId = (id) => (typeof id === 'string' && id.length > 12 ? `${id.slice(0, 8)}…` : id);

function facts(dl, entries) {
  dl.replaceChildren(
    ...entries.flatMap(([term, value]) => [h('dt', { text: term }), h('dd', { text: value })]),
  );
}

function setStatus(element, text, { error = false } = {}) {
  element.textContent = text;
  element.classList.toggle('error', error);
}

// ------------------------------------------------------------------ the API

let token = sessionStorage.getItem(TOKEN_KEY);
let session = null;

class SignedOutError extends Error {}

/** A request with the bearer token: `{ ok, status, body }`, or a thrown error if none came. */
async function api(method, path, body, { as = token } = {}) {
  const headers = { authorization: `Bearer ${as}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    throw new Error(`the server did not answer (${err instanceof Error ? err.message : err})`, {
      cause: err,
    });
  }
  const result = await response.json().catch(() => ({}));
  if (response.status === 401 && as === token && session) {
    signOut('Your token was refused: sign in again.');
    throw new SignedOutError('signed out');
  }
  return { ok: response.ok, status: response.status, body: result };
}

const errorOf = (answer) =>
  typeof answer.body?.error === 'string' ? answer.body.error : `HTTP ${answer.status}`;

// ------------------------------------------------------------------ signing in and out

async function signIn(candidate) {
  const error = $('#sign-in-error');
  error.hidden = true;
  $('#sign-in').disabled = true;
  try {
    const answer = await api('GET', '/support/session', undefined, { as: candidate });
    if (answer.status === 401) {
      showSignInError('That token was refused: check it and try again.');
      return;
    }
    if (answer.status === 429) {
      showSignInError(`Too many refused tokens from this address: ${errorOf(answer)}.`);
      return;
    }
    if (!answer.ok) {
      showSignInError(`Signing in failed: ${errorOf(answer)}.`);
      return;
    }
    token = candidate;
    sessionStorage.setItem(TOKEN_KEY, candidate);
    session = answer.body;
    showSignedIn();
  } catch (err) {
    showSignInError(`Signing in failed: ${err instanceof Error ? err.message : err}.`);
  } finally {
    $('#sign-in').disabled = false;
  }
}

function showSignInError(text) {
  const error = $('#sign-in-error');
  error.textContent = text;
  error.hidden = false;
}

function showSignedIn() {
  $('#signed-out').hidden = true;
  $('#signed-in').hidden = false;
  $('#whoami').hidden = false;
  $('#token').value = '';
  $('#session-name').textContent = session.name;
  $('#session-role').textContent = session.role === 'admin' ? 'admin' : 'support';
  $('#grant-coins').max = String(session.grantMaxCoins);
  $('#grant-max').textContent = `(1 to ${session.grantMaxCoins})`;
  const designer = session.role === 'admin';
  $('#designers').hidden = !designer;
  if (designer) void loadDesigners();
  const code = codeFromUrl();
  if (code) {
    $('#code').value = code;
    void loadStory(code);
  } else {
    $('#code').focus();
  }
}

function signOut(message) {
  token = null;
  session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  stopBatchPolls();
  pendingGrant = null;
  lockGrantForm();
  // A story still being read is dropped when it comes.
  storyRequest += 1;
  story = null;
  $('#story').hidden = true;
  $('#designers').hidden = true;
  $('#signed-in').hidden = true;
  $('#whoami').hidden = true;
  $('#signed-out').hidden = false;
  $('#schedules tbody').replaceChildren();
  $('#batches tbody').replaceChildren();
  $('#grant-result').textContent = '';
  setStatus($('#story-status'), '');
  if (message) showSignInError(message);
  else $('#sign-in-error').hidden = true;
  $('#token').focus();
}

// ------------------------------------------------------------------ the player's story

/** The story shown: its code and what the pages read so far. */
let story = null;
let storyRequest = 0;

function codeFromUrl() {
  const match = /^#player=([a-z2-7]{16})$/.exec(location.hash);
  return match ? match[1] : null;
}

async function loadStory(code, { before } = {}) {
  const request = ++storyRequest;
  const status = $('#story-status');
  setStatus(status, before ? 'Reading older entries…' : 'Reading the story from Temporal…');
  $('#search').disabled = true;
  $('#older').disabled = true;
  try {
    const query = new URLSearchParams({ limit: String(TIMELINE_PAGE) });
    if (before) query.set('before', before);
    const answer = await api('GET', `/support/players/${encodeURIComponent(code)}?${query}`);
    if (request !== storyRequest) return;
    if (!answer.ok) {
      setStatus(status, errorOf(answer), { error: true });
      if (!before) {
        $('#story').hidden = true;
        story = null;
      }
      return;
    }
    setStatus(status, '');
    renderStory(answer.body, { append: Boolean(before) });
    lockGrantForm();
    if (!before && location.hash !== `#player=${code}`) {
      history.replaceState(null, '', `#player=${code}`);
    }
  } catch (err) {
    if (!(err instanceof SignedOutError) && request === storyRequest)
      setStatus(status, `Reading the story failed: ${err.message}`, { error: true });
  } finally {
    if (request === storyRequest) {
      $('#search').disabled = false;
      $('#older').disabled = false;
    }
  }
}

function renderStory(data, { append }) {
  const samePlayer = story?.code === data.userHash;
  if (!append || !samePlayer) {
    story = { code: data.userHash, links: new Map(), workflowRuns: new Set() };
    $('#timeline tbody').replaceChildren();
    $('#workflows tbody').replaceChildren();
    if (!samePlayer) $('#grant-result').textContent = '';
  }
  $('#story').hidden = false;
  $('#story-code').textContent = data.userHash;
  $('#workflow-total').textContent = String(data.workflowTotal);
  $('#generated-at').textContent = `${formatTime(data.generatedAt)} UTC`;

  const ui = $('#temporal-ui');
  if (isWebUrl(data.temporalUi)) {
    ui.href = data.temporalUi;
    ui.hidden = false;
  } else {
    ui.removeAttribute('href');
    ui.hidden = true;
  }

  renderFarm(data.farm, data.farmNote);
  renderRegistry(data.registry);
  renderFailures(data.failures);

  for (const row of [...data.workflows, ...data.failures]) story.links.set(row.runId, row.link);
  renderWorkflows(data.workflows);
  renderTimeline(data.timeline);

  $('#timeline-empty').hidden = $('#timeline tbody').children.length > 0;
  story.nextBefore = data.nextBefore;
  $('#older').hidden = !data.nextBefore;
}

function renderFarm(farm, note) {
  $('#farm-note').hidden = !note;
  $('#farm-note').textContent = note ?? '';
  $('#farm-body').hidden = !farm;
  if (!farm) return;
  $('#farm-coins').textContent = String(farm.coins);
  $('#farm-level').textContent = String(farm.level);
  $('#farm-xp').textContent = String(farm.xp);
  facts($('#farm-facts'), [
    ['Name', farm.displayName ?? '(hidden or unknown)'],
    ['Reachable', yesNo(farm.reachable)],
    [
      'Preferences',
      `notifications ${onOff(farm.preferences.notifications)}, name ${
        farm.preferences.showName ? 'shown' : 'hidden'
      }`,
    ],
    ['Created', `${formatTime(farm.createdAt)} UTC`],
    ['As of', `${formatTime(farm.asOf)} UTC`],
  ]);
  $('#farm-plots').replaceChildren(
    ...farm.plots.map((plot) => {
      if (!plot.crop) return h('li', { className: 'empty', text: `Plot ${plot.plot}: empty` });
      const state = plot.ready ? 'ready' : `ready at ${formatTime(plot.readyAt)}`;
      return h('li', {
        className: plot.ready ? 'ready' : '',
        text: `Plot ${plot.plot}: ${plot.crop}, ${state}`,
      });
    }),
  );
  const inventory = Object.entries(farm.inventory ?? {});
  $('#farm-inventory').replaceChildren(
    ...(inventory.length > 0
      ? inventory.map(([crop, count]) => h('li', { text: `${crop} × ${count}` }))
      : [h('li', { className: 'empty', text: 'empty' })]),
  );
}

function renderRegistry(registry) {
  $('#registry-source').textContent = registry.source;
  const entry = registry.entry;
  facts(
    $('#registry-facts'),
    entry
      ? [
          ['Farmer number', entry.farmerNumber === null ? 'unknown' : `#${entry.farmerNumber}`],
          ['Joined', `${formatTime(entry.joinedAt)} UTC`],
          ['Notifications', onOff(entry.notifications)],
          ['Reachable', yesNo(entry.reachable)],
          ['Name', entry.displayName ?? '(hidden or unknown)'],
        ]
      : [['Entry', 'none']],
  );
  $('#registry-note').hidden = !registry.note;
  $('#registry-note').textContent = registry.note ?? '';
}

function renderFailures(failures) {
  $('#failures').classList.toggle('clean', failures.length === 0);
  $('#failures-none').hidden = failures.length > 0;
  $('#failures-list').replaceChildren(
    ...failures.map((row) =>
      h(
        'li',
        { className: 'failed' },
        h('strong', { text: row.type }),
        ` ${row.status.toLowerCase()} · started ${formatTime(row.startTime)} · `,
        externalLink(row.link, row.id, 'mono'),
      ),
    ),
  );
}

function renderWorkflows(rows) {
  const body = $('#workflows tbody');
  for (const row of rows) {
    if (story.workflowRuns.has(row.runId)) continue;
    story.workflowRuns.add(row.runId);
    const tr = h(
      'tr',
      { className: row.failed ? 'failed' : '' },
      h('td', { text: row.type }),
      h('td', { className: 'id' }, externalLink(row.link, row.id)),
      h('td', { className: 'id', title: row.runId }, externalLink(row.link, shortId(row.runId))),
      h('td', {}, h('span', { className: `badge ${statusClass(row.status)}`, text: row.status })),
      timeCell(row.startTime),
      timeCell(row.closeTime),
    );
    tr.dataset.runId = row.runId;
    body.append(tr);
  }
}

function statusClass(status) {
  const s = String(status).toLowerCase();
  if (['failed', 'timed_out', 'terminated', 'incomplete'].includes(s)) return 'failed';
  if (['running', 'waiting'].includes(s)) return 'running';
  return '';
}

function renderTimeline(entries) {
  const body = $('#timeline tbody');
  for (const entry of entries) {
    const link = entry.runId ? story.links.get(entry.runId) : undefined;
    const summary = h('td', { className: 'summary', text: entry.summary });
    if (link && isWebUrl(link)) {
      summary.append(externalLink(link, '↗', 'row-link'));
      summary.lastChild.title = 'This workflow in the Temporal UI';
    }
    const tr = h(
      'tr',
      { className: entry.failed ? 'failed' : '' },
      timeCell(entry.time),
      h('td', {}, h('span', { className: `kind kind-${entry.kind}`, text: entry.kind })),
      summary,
      h('td', { text: entry.source }),
    );
    tr.dataset.kind = entry.kind;
    if (entry.by) tr.dataset.by = entry.by;
    body.append(tr);
  }
}

// ------------------------------------------------------------------ compensation

/**
 * The compensation being asked for and its idempotency key: the same key until an answer says
 * it was granted, so a double click, a retry after a timeout or a second press pays once. A new
 * player, amount or reason is another compensation, with a key of its own.
 */
/**
 * The compensation sent but not settled (no answer, a 5xx, or `pending`: recorded, not paid yet),
 * with its idempotency key. Until it settles its amount and reason are locked and every press
 * sends the same key, so it pays once whatever the network did; a refusal (4xx) or a payment
 * settles it, and the next compensation gets a new key.
 */
let pendingGrant = null;
let granting = false;

/** Locks the form to the unsettled compensation of the player shown, if any. */
function lockGrantForm() {
  const locked = Boolean(pendingGrant && story && pendingGrant.code === story.code);
  for (const field of [$('#grant-coins'), $('#grant-reason')]) field.readOnly = locked;
  if (locked) {
    $('#grant-coins').value = String(pendingGrant.coins);
    $('#grant-reason').value = pendingGrant.reason;
  }
}

async function grant() {
  if (granting || !story) return;
  const coins = Number($('#grant-coins').value);
  const reason = $('#grant-reason').value.trim();
  const result = $('#grant-result');
  if (!Number.isInteger(coins) || coins < 1 || coins > session.grantMaxCoins) {
    showGrantResult(`Coins must be a whole number from 1 to ${session.grantMaxCoins}.`, false);
    return;
  }
  if (!reason) {
    showGrantResult('Give a reason: the player reads it.', false);
    return;
  }
  const code = story.code;
  if (!pendingGrant || pendingGrant.code !== code) {
    pendingGrant = { code, coins, reason, idempotencyKey: crypto.randomUUID() };
  }
  const request = pendingGrant;
  lockGrantForm();
  granting = true;
  $('#grant-submit').disabled = true;
  result.className = 'result';
  result.textContent = `Granting ${request.coins} coins…`;
  const settle = () => {
    if (pendingGrant === request) pendingGrant = null;
    lockGrantForm();
  };
  try {
    const answer = await api('POST', `/support/players/${encodeURIComponent(code)}/grants`, {
      coins: request.coins,
      reason: request.reason,
      idempotencyKey: request.idempotencyKey,
    });
    if (answer.status === 202) {
      showGrantResult(
        `Recorded, not paid yet: ${request.coins} coins will be paid once, as soon as a game worker runs it. Press again to check.`,
        false,
      );
      return;
    }
    if (answer.status >= 500) {
      showGrantResult(
        `Not confirmed: ${errorOf(answer)}. Press again: the same compensation, paid once.`,
        false,
      );
      return;
    }
    settle();
    if (!answer.ok) {
      showGrantResult(`Not granted: ${errorOf(answer)}`, false);
      return;
    }
    const done = answer.body;
    $('#grant-form').reset();
    showGrantResult(
      `${done.status === 'granted' ? 'Granted' : 'Already granted'}: ${done.coins} coins by ${
        done.by
      } (“${done.reason}”, grant ${done.grantId}). ${
        done.confirmed
          ? 'The farm shows it.'
          : 'The farm has not confirmed it yet: it will apply it once.'
      }`,
      true,
    );
    if (story?.code === code) await loadStory(code);
  } catch (err) {
    if (!(err instanceof SignedOutError))
      showGrantResult(`No answer (${err.message}): press again, it pays once.`, false);
  } finally {
    granting = false;
    $('#grant-submit').disabled = false;
  }
}

function showGrantResult(text, ok) {
  const result = $('#grant-result');
  result.className = `result ${ok ? 'ok' : 'error'}`;
  result.textContent = text;
}

// ------------------------------------------------------------------ designers: schedules

async function loadDesigners() {
  const status = $('#designers-status');
  setStatus(status, 'Reading schedules and batches…');
  $('#designers-refresh').disabled = true;
  try {
    const [schedules, batches] = await Promise.all([
      api('GET', '/admin/schedules'),
      api('GET', '/admin/batches'),
    ]);
    const problems = [];
    if (schedules.ok) renderSchedules(schedules.body.schedules);
    else problems.push(`schedules: ${errorOf(schedules)}`);
    if (batches.ok) renderBatches(batches.body.batches);
    else problems.push(`batches: ${errorOf(batches)}`);
    setStatus(status, problems.join('; '), { error: problems.length > 0 });
  } catch (err) {
    if (!(err instanceof SignedOutError))
      setStatus(status, `Reading failed: ${err.message}`, { error: true });
  } finally {
    $('#designers-refresh').disabled = false;
  }
}

function renderSchedules(schedules) {
  $('#schedules-empty').hidden = schedules.length > 0;
  $('#schedules tbody').replaceChildren(...schedules.map(scheduleRow));
}

function scheduleRow(schedule) {
  const tr = h('tr');
  tr.dataset.schedule = schedule.id;
  tr.dataset.paused = String(schedule.paused);
  fillScheduleRow(tr, schedule);
  return tr;
}

function fillScheduleRow(tr, schedule) {
  tr.dataset.paused = String(schedule.paused);
  const state = h(
    'td',
    { className: 'state' },
    h('span', {
      className: `badge ${schedule.paused ? 'paused' : ''}`,
      text: schedule.paused ? 'paused' : 'active',
      attrs: { 'data-testid': 'schedule-state' },
    }),
  );
  if (schedule.note) {
    state.append(
      h('p', {
        className: 'schedule-description',
        text: schedule.note,
        attrs: { 'data-testid': 'schedule-note' },
      }),
    );
  }
  const next = schedule.nextRunTimes ?? [];
  const noteInput = h('input', {
    attrs: {
      'data-field': 'note',
      'aria-label': `Note for pausing or unpausing ${schedule.id}`,
      placeholder: 'Note (why)',
      maxlength: '500',
    },
  });
  const rowStatus = h('p', { className: 'row-status', attrs: { role: 'status' } });
  const button = (action, text, className) => {
    const b = h('button', { className: `small ${className}`, text });
    b.type = 'button';
    b.dataset.action = action;
    b.addEventListener('click', () => void scheduleAction(tr, schedule.id, action));
    return b;
  };
  tr.replaceChildren(
    h(
      'td',
      {},
      h('div', { className: 'schedule-id', text: schedule.id }),
      h('p', { className: 'schedule-description', text: schedule.description }),
    ),
    state,
    h(
      'td',
      {},
      next.length > 0
        ? h(
            'ul',
            { className: 'next-runs' },
            ...next.slice(0, 3).map((t) => h('li', { text: formatTime(t) })),
          )
        : h('span', { className: 'muted', text: schedule.paused ? 'none while paused' : 'none' }),
    ),
    h(
      'td',
      {},
      h(
        'div',
        { className: 'actions' },
        noteInput,
        schedule.paused
          ? button('unpause', 'Unpause', 'secondary')
          : button('pause', 'Pause', 'danger'),
        button('trigger', 'Trigger now', 'secondary'),
        rowStatus,
      ),
    ),
  );
}

async function scheduleAction(tr, id, action) {
  const rowStatus = tr.querySelector('.row-status');
  const note = tr.querySelector('[data-field="note"]').value.trim();
  if ((action === 'pause' || action === 'unpause') && !note) {
    setStatus(rowStatus, `Write a note first: why you ${action} it.`, { error: true });
    tr.querySelector('[data-field="note"]').focus();
    return;
  }
  const buttons = tr.querySelectorAll('button');
  for (const b of buttons) b.disabled = true;
  setStatus(rowStatus, action === 'trigger' ? 'Triggering…' : `${action}ing…`);
  try {
    const path = `/admin/schedules/${encodeURIComponent(id)}/${action}`;
    const answer =
      action === 'trigger' ? await api('POST', path, {}) : await api('POST', path, { note });
    if (!answer.ok) {
      setStatus(rowStatus, errorOf(answer), { error: true });
      return;
    }
    if (action === 'trigger') {
      setStatus(rowStatus, `Triggered at ${formatTime(new Date().toISOString())} UTC.`);
      return;
    }
    // The state as Temporal now holds it, with its next runs.
    const fresh = await api('GET', `/admin/schedules/${encodeURIComponent(id)}`);
    fillScheduleRow(
      tr,
      fresh.ok ? fresh.body : { ...answer.body, description: '', nextRunTimes: [] },
    );
    setStatus(tr.querySelector('.row-status'), answer.body.paused ? 'Paused.' : 'Unpaused.');
  } catch (err) {
    if (!(err instanceof SignedOutError)) setStatus(rowStatus, err.message, { error: true });
  } finally {
    for (const b of tr.querySelectorAll('button')) b.disabled = false;
  }
}

// ------------------------------------------------------------------ designers: batches

const batchPolls = new Map();

function stopBatchPolls() {
  for (const timer of batchPolls.values()) clearTimeout(timer);
  batchPolls.clear();
}

function describePayment(memo) {
  if (!memo) return '—';
  const payload = memo.payload ?? {};
  const population = memo.population ?? {};
  const who =
    population.kind === 'all'
      ? 'every player'
      : population.kind === 'joinedBefore'
        ? `players who joined before ${formatTime(new Date(population.beforeMs).toISOString())}`
        : population.kind === 'top'
          ? `the top ${population.prizes?.length ?? '?'} of the leaderboard`
          : 'players';
  if (payload.kind === 'grant') {
    const amounts =
      population.kind === 'top'
        ? (population.prizes ?? []).map((p) => p.coins).join('/') + ' coins'
        : [payload.coins ? `${payload.coins} coins` : '', payload.xp ? `${payload.xp} XP` : '']
            .filter(Boolean)
            .join(' + ') || 'nothing';
    return `${amounts} to ${who}: ${payload.reason ?? ''}`;
  }
  if (payload.kind === 'notice') return `a notice to ${who}`;
  return who;
}

function renderBatches(batches) {
  stopBatchPolls();
  const seen = new Set();
  const rows = [];
  const running = [];
  for (const batch of batches) {
    // A batch that continued as new lists each of its runs: the newest is first.
    if (seen.has(batch.workflowId)) continue;
    seen.add(batch.workflowId);
    const progressCell = h('td', { className: 'progress-cell' });
    const tr = h(
      'tr',
      { className: statusClass(batch.status) === 'failed' ? 'failed' : '' },
      h('td', { className: 'id', text: batch.batchId }),
      h('td', { className: 'summary', text: describePayment(batch.memo) }),
      h(
        'td',
        {},
        h('span', { className: `badge ${statusClass(batch.status)}`, text: batch.status }),
      ),
      timeCell(batch.startedAt),
      progressCell,
    );
    tr.dataset.batch = batch.batchId;
    if (batch.status === 'RUNNING') {
      progressCell.append(h('span', { className: 'muted', text: 'reading…' }));
      running.push([batch.workflowId, progressCell]);
    } else {
      progressCell.append(
        h('span', {
          className: 'muted',
          text: batch.closedAt ? `closed ${formatTime(batch.closedAt)}` : '—',
        }),
      );
    }
    rows.push(tr);
  }
  $('#batches-empty').hidden = rows.length > 0;
  $('#batches tbody').replaceChildren(...rows);
  for (const [workflowId, cell] of running) void pollBatch(workflowId, cell);
}

/** A running batch's progress, every second until it is done or incomplete. */
async function pollBatch(workflowId, cell) {
  batchPolls.delete(workflowId);
  if (!cell.isConnected) return;
  let finished = false;
  try {
    const answer = await api('GET', `/admin/batches/${encodeURIComponent(workflowId)}`);
    if (!cell.isConnected) return;
    if (answer.ok) {
      const p = answer.body;
      const bar = h('progress');
      bar.max = Math.max(1, p.total);
      bar.value = Math.min(p.done, bar.max);
      const eta =
        p.etaMs === null || p.etaMs === undefined ? '' : `, ~${Math.ceil(p.etaMs / 1000)} s left`;
      cell.replaceChildren(
        h(
          'div',
          { className: 'progress' },
          bar,
          h('span', {
            text: `${p.done}/${p.total} · ${p.state}${p.failures ? ` · ${p.failures} failed` : ''}${eta}`,
            attrs: { 'data-testid': 'batch-progress' },
          }),
        ),
      );
      finished = p.state === 'done' || p.state === 'incomplete';
    } else {
      cell.replaceChildren(h('span', { className: 'muted', text: errorOf(answer) }));
      finished = answer.status === 404;
    }
  } catch (err) {
    if (err instanceof SignedOutError) return;
    cell.replaceChildren(h('span', { className: 'muted', text: err.message }));
  }
  if (!finished && session && cell.isConnected) {
    batchPolls.set(
      workflowId,
      setTimeout(() => void pollBatch(workflowId, cell), BATCH_POLL_MS),
    );
  }
}

// ------------------------------------------------------------------ wiring

$('#sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const candidate = $('#token').value.trim();
  if (candidate) void signIn(candidate);
});

$('#sign-out').addEventListener('click', () => signOut());

$('#search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const code = $('#code').value.trim().toLowerCase();
  if (code) void loadStory(code);
});

$('#older').addEventListener('click', () => {
  if (story?.nextBefore) void loadStory(story.code, { before: story.nextBefore });
});

$('#grant-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void grant();
});

$('#designers-refresh').addEventListener('click', () => void loadDesigners());

async function resume() {
  if (!token) {
    $('#token').focus();
    return;
  }
  try {
    const answer = await api('GET', '/support/session', undefined, { as: token });
    if (answer.ok) {
      session = answer.body;
      showSignedIn();
      return;
    }
    signOut(answer.status === 401 ? 'Your token was refused: sign in again.' : errorOf(answer));
  } catch (err) {
    signOut(`Signing in failed: ${err.message}`);
  }
}

void resume();
