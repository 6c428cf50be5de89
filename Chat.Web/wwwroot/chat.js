'use strict';

// The browser side of Chat. Protocol: docs/protocol.md. Every piece of text that comes from a person or the
// server is put on the page with textContent only, so the Content-Security-Policy never has to bend.
(() => {
  const MAX_NAME_LENGTH = 20;
  const MAX_MESSAGE_LENGTH = 1000;
  const COUNTER_FROM = 900;
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_CAP_MS = 30000;
  // A connection that stays up this long counts as good and resets the backoff, so a server that accepts
  // and drops at once is still retried ever more slowly.
  const STABLE_AFTER_MS = 5000;
  // After an abrupt drop the server holds the old session's name until its keep-alive gives up (about 30 s);
  // a rejoin refused as "taken" is retried this many times (about a minute of backoff) before it is believed.
  const MAX_TAKEN_RETRIES = 8;
  const CONNECT_TIMEOUT_MS = 10000;
  const MAX_RENDERED_ITEMS = 500;
  const AT_BOTTOM_SLACK_PX = 48;
  const COMPOSER_HINT = 'Enter to send, Shift+Enter for a new line';
  // History frames come in a burst after the welcome; the log stays quiet until this long after the last one.
  const HISTORY_QUIET_MS = 500;
  const PAGE_LIMIT = 100;
  const GAP_TEXT = 'Some messages while you were away could not be recovered.';

  const byId = (id) => document.getElementById(id);
  const ui = {
    joinScreen: byId('join-screen'),
    joinForm: byId('join-form'),
    joinRoom: byId('join-room'),
    nameInput: byId('name-input'),
    nameCount: byId('name-count'),
    ruleLength: byId('rule-length'),
    ruleVisible: byId('rule-visible'),
    rulePlain: byId('rule-plain'),
    joinError: byId('join-error'),
    joinButton: byId('join-button'),
    chatScreen: byId('chat-screen'),
    chatRoom: byId('chat-room'),
    connection: byId('connection'),
    connectionText: byId('connection-text'),
    retryButton: byId('retry-button'),
    peopleToggle: byId('people-toggle'),
    people: byId('people'),
    peopleCount: byId('people-count'),
    peopleCountShort: byId('people-count-short'),
    peopleList: byId('people-list'),
    leaveButton: byId('leave-button'),
    messages: byId('messages'),
    newMessages: byId('new-messages'),
    composer: byId('composer'),
    messageInput: byId('message-input'),
    sendButton: byId('send-button'),
    messageCount: byId('message-count'),
    composerHint: byId('composer-hint'),
  };

  // ---- Text rules, mirroring Chat.Domain (UserName, MessageText, TextRules) ----

  const segmenter = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : null;

  /** What a person sees as characters: extended grapheme clusters, like .NET's StringInfo. */
  function visibleLength(text) {
    if (!segmenter) return Array.from(text).length;
    let count = 0;
    for (const _ of segmenter.segment(text)) count++;
    return count;
  }

  // Characters Unicode files as letters or symbols that render as nothing (Chat.Domain TextRules.IsInvisible).
  const INVISIBLE = '\u115F\u1160\u3164\uFFA0\u2800\u034F\uFE00-\uFE0F\u180E\u200B\u200C\u200D\u2060\uFEFF';
  const EDGE_BLANKS = new RegExp(`^[\\s\\x85${INVISIBLE}]+|[\\s\\x85${INVISIBLE}]+$`, 'gu');
  const INVISIBLE_CHAR = new RegExp(`[${INVISIBLE}]`, 'u');
  const NOT_VISIBLE_CATEGORY = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zs}\p{Zl}\p{Zp}\p{Mn}\p{Me}]/u;
  const LONE_SURROGATE = /\p{Cs}/u;

  const normalizeText = (raw) => raw.normalize('NFC').replace(EDGE_BLANKS, '');
  const isVisibleChar = (ch) => !NOT_VISIBLE_CATEGORY.test(ch) && !INVISIBLE_CHAR.test(ch);

  /** Checks a name the way the server will; returns the rules' states and the first reason, if any. */
  function checkName(raw) {
    const value = normalizeText(raw);
    const length = visibleLength(value);
    let plain = !LONE_SURROGATE.test(value);
    let oneLine = true;
    let visible = false;
    for (const ch of value) {
      if (/\p{Cc}/u.test(ch) || (/\p{Cf}/u.test(ch) && ch !== '\u200D')) plain = false;
      if (/[\p{Zl}\p{Zp}]/u.test(ch)) oneLine = false;
      if (isVisibleChar(ch)) visible = true;
    }
    let error = null;
    if (value.length === 0) error = 'User name must not be empty.';
    else if (!plain) error = 'User name must not contain control or invisible formatting characters.';
    else if (!oneLine) error = 'User name must be on one line.';
    else if (!visible) error = 'User name must contain a visible character.';
    else if (length > MAX_NAME_LENGTH) error = `User name must be at most ${MAX_NAME_LENGTH} characters.`;
    return { value, length, lengthOk: length >= 1 && length <= MAX_NAME_LENGTH, visible, plain: plain && oneLine, error };
  }

  function checkMessage(raw) {
    const value = normalizeText(raw);
    const length = visibleLength(value);
    let error = null;
    if (value.length === 0) error = 'Message must not be empty.';
    else if (/[^\P{Cc}\n\r\t]/u.test(value)) error = 'Message must not contain control characters.';
    else if (length > MAX_MESSAGE_LENGTH) error = `Message must be at most ${MAX_MESSAGE_LENGTH} characters.`;
    return { value, length, error };
  }

  // The server compares names ignoring case (ordinal, invariant culture).
  const sameName = (a, b) => a.toUpperCase() === b.toUpperCase();

  // ---- Connection state ----

  const roomParam = new URLSearchParams(location.search).get('room');
  const room = roomParam && /^[a-z0-9_-]{1,64}$/i.test(roomParam) ? roomParam.toLowerCase() : null;

  const state = {
    name: '', // the name as typed, normalised; used to rejoin
    myName: '', // the name as the server confirmed it
    socket: null,
    joined: false, // this socket has received its own user_joined
    everJoined: false, // this session (since Join was pressed) has been in the room
    leaving: false,
    takenOver: false, // closed with 4001: not retried, not even when the network comes back
    attempt: 0,
    takenRefusals: 0,
    retryAt: 0,
    retryNote: '',
    retryTimer: 0,
    countdownTimer: 0,
    stableTimer: 0,
    connectTimer: 0,
    outbox: [], // typed but not yet handed to a joined socket
    inflight: [], // sent, waiting for the server's echo (or an error); re-queued if the socket dies first
    users: [],
    // History and resume (docs/protocol.md): the room's epoch, the highest message id shown, the latest
    // resume token, and every id shown, so overlapping history and live frames never show a message twice.
    roomId: room,
    epoch: '',
    lastId: 0,
    token: '',
    shownIds: new Set(),
    welcome: null, // the history that follows this socket's own user_joined
    quietTimer: 0,
  };

  // The resume token outlives a reload in this tab only (sessionStorage), so a reload takes the name back from the
  // connection it just dropped. Since and epoch are not kept: a reloaded page shows nothing, so it asks as a newcomer.
  const tokenKey = (name) => `chat.resume:${room ?? ''}:${name.toUpperCase()}`;

  function saveToken() {
    try {
      if (state.token) sessionStorage.setItem(tokenKey(state.name), state.token);
      else sessionStorage.removeItem(tokenKey(state.name));
    } catch {
      // Storage can be disabled; the token then lives as long as the page.
    }
  }

  function recallToken(name) {
    try {
      return sessionStorage.getItem(tokenKey(name)) || '';
    } catch {
      return '';
    }
  }

  function socketUrl(name) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const query = new URLSearchParams();
    if (room) query.set('room', room);
    // A page that has been in the room asks for exactly what it missed since the last message it shows.
    if (state.everJoined && state.epoch) {
      query.set('since', String(state.lastId));
      query.set('epoch', state.epoch);
    }
    if (state.token) query.set('token', state.token);
    const text = query.toString();
    return `${scheme}://${location.host}/ws/${encodeURIComponent(name)}${text ? `?${text}` : ''}`;
  }

  function clearTimers() {
    clearTimeout(state.retryTimer);
    clearInterval(state.countdownTimer);
    clearTimeout(state.stableTimer);
    clearTimeout(state.connectTimer);
    state.retryTimer = state.countdownTimer = state.stableTimer = state.connectTimer = 0;
  }

  function connect() {
    clearTimers();
    setConnection(state.everJoined ? 'reconnecting' : 'connecting', state.everJoined ? 'Reconnecting…' : 'Connecting…');
    let socket;
    try {
      socket = new WebSocket(socketUrl(state.name));
    } catch {
      onClosed({ code: 1006, reason: '' });
      return;
    }
    state.socket = socket;
    state.joined = false;
    // A socket that neither joins nor fails (a hung proxy) is given up on, which fires close.
    state.connectTimer = setTimeout(() => socket.close(), CONNECT_TIMEOUT_MS);
    socket.addEventListener('message', (event) => {
      if (state.socket === socket) onFrame(event.data);
    });
    socket.addEventListener('close', (event) => {
      if (state.socket === socket) onClosed(event);
    });
  }

  function onFrame(data) {
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (!event || typeof event !== 'object') return;
    const name = typeof event.user_name === 'string' ? event.user_name : '';
    const fromHistory = event.type === 'chat_message' && event.history === true;
    if (!fromHistory) endHistory();
    switch (event.type) {
      case 'user_joined':
        if (!state.joined && Array.isArray(event.users)) onJoined(event);
        else {
          addUser(name);
          renderNotice('join', event);
        }
        break;
      case 'user_left':
        removeUser(name);
        renderNotice('leave', event);
        break;
      case 'chat_message': {
        const own = sameName(name, state.myName);
        if (fromHistory) {
          renderHistory(event, own);
          break;
        }
        if (own && state.inflight.length > 0) state.inflight.shift();
        renderMessage(event, own);
        break;
      }
      case 'error': {
        // The pacing notice answers no message: the server reads ours more slowly, it refuses none.
        if (event.code === 'paced') {
          renderNotice('paced', event);
          break;
        }
        // Messages are answered in the order sent, so an error belongs to the oldest unanswered one.
        state.inflight.shift();
        renderNotice('error', event);
        break;
      }
      default:
        break;
    }
  }

  function onJoined(event) {
    clearTimeout(state.connectTimer);
    const firstJoin = !state.everJoined;
    state.joined = true;
    state.everJoined = true;
    state.takenRefusals = 0;
    state.myName = typeof event.user_name === 'string' ? event.user_name : state.name;
    state.stableTimer = setTimeout(() => {
      state.attempt = 0;
    }, STABLE_AFTER_MS);
    if (firstJoin) {
      ui.messages.replaceChildren();
      forgetIds();
      state.epoch = '';
      showChat();
      rememberName(state.myName);
    }
    if (typeof event.room_id === 'string') {
      state.roomId = event.room_id;
      ui.chatRoom.textContent = `#${event.room_id}`;
    }
    const previousEpoch = state.epoch;
    if (typeof event.epoch === 'string') state.epoch = event.epoch;
    if (typeof event.resume_token === 'string') {
      state.token = event.resume_token;
      saveToken();
    }
    setUsers(event.users.filter((u) => typeof u === 'string'));
    const anchor = renderNotice('join', firstJoin ? event : { message: 'Reconnected', timestamp: event.timestamp });
    // History comes next and goes above this notice; a resume that was refused may leave a gap behind it.
    state.welcome = { anchor, first: firstJoin, since: state.lastId, checkGap: false, divider: null, gap: null };
    if (!firstJoin && event.recovered === false) {
      if (previousEpoch && previousEpoch !== state.epoch) {
        // Another stream: ids are not comparable with what is shown, so nothing can say what is missing.
        forgetIds();
        state.welcome.gap = renderGap(null);
        anchor.before(state.welcome.gap);
      } else {
        state.welcome.checkGap = true;
      }
    }
    setConnection('connected', 'Connected');
    ui.composerHint.textContent = COMPOSER_HINT;
    flushOutbox();
  }

  function onClosed(event) {
    clearTimers();
    state.socket = null;
    state.joined = false;
    requeueInflight();
    if (state.leaving) return;

    const reason = event.reason || '';
    if (event.code === 4001 && state.everJoined) {
      // A newer connection presented this tab's token (a duplicated tab, say): taking it back would start a tug of war.
      state.takenOver = true;
      setConnection('offline', 'Taken over by a newer connection');
      renderNotice('error', { message: reason || 'Session taken over by a newer connection.' }, '');
      return;
    }
    if (!state.everJoined) {
      // The first join: a refusal is the answer to what the person typed, so it is shown, not retried.
      showJoinError(event.code === 1008 && reason
        ? reason
        : 'Could not reach the chat server. Check your connection and try again.');
      return;
    }
    if (event.code === 1008) {
      if (/taken|in use|already/i.test(reason)) {
        state.takenRefusals++;
        if (state.takenRefusals > MAX_TAKEN_RETRIES) {
          refuse(reason);
          return;
        }
        scheduleReconnect('Name still held by the lost connection');
        return;
      } else if (!/slow/i.test(reason)) {
        refuse(reason || 'The server refused the connection.');
        return;
      }
    }
    scheduleReconnect();
  }

  function scheduleReconnect(note = '') {
    // Exponential backoff with jitter: half the step fixed, half random, so many clients spread out.
    const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(state.attempt, 16));
    const delay = step / 2 + Math.random() * (step / 2);
    state.attempt++;
    state.retryAt = Date.now() + delay;
    state.retryNote = note;
    state.retryTimer = setTimeout(connect, delay);
    state.countdownTimer = setInterval(showCountdown, 250);
    showCountdown();
  }

  function showCountdown() {
    const seconds = Math.max(1, Math.ceil((state.retryAt - Date.now()) / 1000));
    if (navigator.onLine === false) setConnection('offline', `Offline · retrying in ${seconds} s`, true);
    else setConnection('reconnecting', `${state.retryNote ? `${state.retryNote} · r` : 'R'}econnecting in ${seconds} s`, true);
  }

  function refuse(reason) {
    // A refusal that will not go away by retrying: the person picks another name (queued messages are kept).
    setConnection('offline', 'Offline');
    state.everJoined = false;
    showJoin();
    showJoinError(reason);
  }

  function retryNow() {
    if (state.socket || state.leaving || state.takenOver || !state.everJoined) return;
    connect();
  }

  function startSession(name) {
    clearTimers();
    state.name = name;
    state.token = recallToken(name);
    state.leaving = false;
    state.takenOver = false;
    state.everJoined = false;
    state.attempt = 0;
    state.takenRefusals = 0;
    ui.joinButton.disabled = true;
    ui.joinButton.textContent = 'Joining…';
    connect();
  }

  function leave() {
    state.leaving = true;
    clearTimers();
    const socket = state.socket;
    state.socket = null;
    state.joined = false;
    state.everJoined = false;
    if (socket) socket.close(1000, 'Left the chat');
    state.outbox = [];
    state.inflight = [];
    state.token = '';
    saveToken();
    setUsers([]);
    showJoin();
  }

  function send(text) {
    if (state.joined && state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify({ message: text }));
      state.inflight.push(text);
    } else {
      state.outbox.push(text);
      renderPending(text);
    }
  }

  function flushOutbox() {
    const queued = state.outbox;
    state.outbox = [];
    for (const item of ui.messages.querySelectorAll('.pending')) item.remove();
    for (const text of queued) send(text);
  }

  function requeueInflight() {
    // Sent but never echoed: the socket died with them, so they go out again after the rejoin.
    if (state.inflight.length === 0) return;
    const unanswered = state.inflight;
    state.inflight = [];
    state.outbox = unanswered.concat(state.outbox);
    for (const item of ui.messages.querySelectorAll('.pending')) item.remove();
    for (const text of state.outbox) renderPending(text);
  }

  // ---- Rendering ----

  function setConnection(kind, text, canRetry = false) {
    ui.connection.dataset.state = kind;
    ui.connectionText.textContent = text;
    ui.retryButton.hidden = !canRetry;
  }

  function formatTime(timestamp) {
    const date = typeof timestamp === 'number' && Number.isFinite(timestamp) ? new Date(timestamp * 1000) : new Date();
    const time = document.createElement('time');
    time.dateTime = date.toISOString();
    time.title = date.toLocaleString();
    time.textContent = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return time;
  }

  function isAtBottom() {
    const list = ui.messages;
    return list.scrollHeight - list.scrollTop - list.clientHeight <= AT_BOTTOM_SLACK_PX;
  }

  function scrollToBottom() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
    ui.newMessages.hidden = true;
  }

  /**
   * Adds an item (before `before`, or at the end), following the conversation only if the reader was already at
   * its end.
   */
  function append(item, forceScroll = false, before = null) {
    const follow = forceScroll || isAtBottom();
    if (before) ui.messages.insertBefore(item, before);
    else ui.messages.append(item);
    while (ui.messages.childElementCount > MAX_RENDERED_ITEMS) ui.messages.firstElementChild.remove();
    if (follow) scrollToBottom();
    else ui.newMessages.hidden = false;
  }

  const messageId = (event) => (Number.isSafeInteger(event.id) && event.id >= 0 ? event.id : null);

  function forgetIds() {
    state.shownIds = new Set();
    state.lastId = 0;
    for (const item of ui.messages.querySelectorAll('[data-id]')) delete item.dataset.id;
  }

  /** The first shown message with a higher id: ids arrive in order nearly always, so the search starts at the end. */
  function firstShownAfter(id) {
    const items = ui.messages.querySelectorAll('[data-id]');
    let next = null;
    for (let i = items.length - 1; i >= 0 && Number(items[i].dataset.id) > id; i--) next = items[i];
    return next;
  }

  /**
   * Shows a message once, in id order: one whose id is already shown is dropped, an older one goes before the first
   * newer one. Returns the new item, or null when it was a duplicate.
   */
  function renderMessage(event, own, before = null) {
    const id = messageId(event);
    if (id !== null) {
      if (state.shownIds.has(id)) return null;
      state.shownIds.add(id);
      if (id > state.lastId) state.lastId = id;
    }
    const item = document.createElement('li');
    item.className = own ? 'message own' : 'message';
    if (id !== null) item.dataset.id = String(id);
    const meta = document.createElement('p');
    meta.className = 'meta';
    const sender = document.createElement('span');
    sender.className = 'sender';
    sender.textContent = own ? `${event.user_name} (you)` : event.user_name;
    meta.append(sender, formatTime(event.timestamp));
    const body = document.createElement('p');
    body.className = 'text';
    body.textContent = typeof event.message === 'string' ? event.message : '';
    item.append(meta, body);
    append(item, own, (id !== null && firstShownAfter(id)) || before);
    return item;
  }

  /** A message from the history that follows the welcome: above the welcome's notice, after a quiet divider. */
  function renderHistory(event, own) {
    const welcome = state.welcome;
    if (!welcome) {
      renderMessage(event, own);
      return;
    }
    quietLog();
    const id = messageId(event);
    if (welcome.checkGap) {
      // A refused resume sends the latest messages instead: if the oldest is not the next one, some are missing.
      welcome.checkGap = false;
      if (id !== null && id > welcome.since + 1) {
        welcome.gap = renderGap({ after: welcome.since, before: id });
        append(welcome.gap, false, firstShownAfter(id) || welcome.anchor);
      }
    }
    const before = welcome.anchor.isConnected ? welcome.anchor : null;
    const item = renderMessage(event, own, before);
    if (!item) return;
    if (!welcome.divider) {
      welcome.divider = document.createElement('li');
      welcome.divider.className = 'divider';
      welcome.divider.textContent = 'Earlier messages';
      item.before(welcome.divider);
    }
    if (welcome.first) scrollToBottom();
  }

  /**
   * History is what was said before, not news: the log stops announcing while it arrives, and announces again at
   * the first live frame or shortly after the last history frame.
   */
  function quietLog() {
    ui.messages.setAttribute('aria-live', 'off');
    clearTimeout(state.quietTimer);
    state.quietTimer = setTimeout(() => ui.messages.setAttribute('aria-live', 'polite'), HISTORY_QUIET_MS);
  }

  function endHistory() {
    state.welcome = null;
    if (!state.quietTimer) return;
    clearTimeout(state.quietTimer);
    state.quietTimer = 0;
    ui.messages.setAttribute('aria-live', 'polite');
  }

  /** The notice for messages a resume could not bring back; with a range, a button loads it over HTTP. */
  function renderGap(range) {
    const item = document.createElement('li');
    item.className = 'notice gap';
    const text = document.createElement('span');
    text.className = 'notice-text';
    text.textContent = GAP_TEXT;
    item.append(text);
    if (range) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link';
      button.textContent = 'Load them';
      button.addEventListener('click', () => loadMissing(item, button, range));
      item.append(button);
    }
    return item;
  }

  async function loadMissing(item, button, range) {
    button.disabled = true;
    const epoch = state.epoch;
    try {
      const url = `/room/${encodeURIComponent(state.roomId ?? '')}/messages?before=${range.before}&limit=${PAGE_LIMIT}`;
      const response = await fetch(url, { headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const page = await response.json();
      if (page.epoch !== epoch || state.epoch !== epoch) {
        item.remove();
        return;
      }
      const messages = Array.isArray(page.messages) ? page.messages.filter((m) => m && messageId(m) !== null) : [];
      quietLog();
      for (const message of messages) {
        if (message.id <= range.after) continue;
        const name = typeof message.user_name === 'string' ? message.user_name : '';
        renderMessage({ ...message, user_name: name }, sameName(name, state.myName), item.nextElementSibling);
      }
      const oldest = messages.length > 0 ? messages[0].id : range.after;
      if (page.has_more === true && oldest > range.after + 1) {
        range.before = oldest;
        button.textContent = 'Load more';
        button.disabled = false;
      } else {
        item.remove();
      }
    } catch {
      button.textContent = 'Could not load them: try again';
      button.disabled = false;
    }
  }

  function renderPending(text) {
    const item = document.createElement('li');
    item.className = 'message own pending';
    const meta = document.createElement('p');
    meta.className = 'meta';
    const sender = document.createElement('span');
    sender.className = 'sender';
    sender.textContent = 'Waiting to send';
    meta.append(sender);
    const body = document.createElement('p');
    body.className = 'text';
    body.textContent = text;
    item.append(meta, body);
    append(item, true);
  }

  function renderNotice(kind, event, prefix = 'Not sent: ') {
    const item = document.createElement('li');
    item.className = `notice ${kind}`;
    const text = document.createElement('span');
    text.className = 'notice-text';
    const message = typeof event.message === 'string' ? event.message : '';
    text.textContent = kind === 'error' ? `${prefix}${message}` : message;
    item.append(text, formatTime(event.timestamp));
    append(item, kind === 'error');
    return item;
  }

  function setUsers(names) {
    state.users = [];
    for (const name of names) addUser(name, false);
    renderPeople();
  }

  function addUser(name, render = true) {
    if (!name || state.users.some((u) => sameName(u, name))) return;
    state.users.push(name);
    if (render) renderPeople();
  }

  function removeUser(name) {
    state.users = state.users.filter((u) => !sameName(u, name));
    renderPeople();
  }

  function renderPeople() {
    const items = state.users.map((name) => {
      const item = document.createElement('li');
      item.textContent = name;
      if (sameName(name, state.myName)) {
        item.className = 'me';
        const you = document.createElement('span');
        you.className = 'you';
        you.textContent = ' (you)';
        item.append(you);
      }
      return item;
    });
    ui.peopleList.replaceChildren(...items);
    ui.peopleCount.textContent = String(state.users.length);
    ui.peopleCountShort.textContent = String(state.users.length);
  }

  function showChat() {
    ui.joinScreen.hidden = true;
    ui.chatScreen.hidden = false;
    ui.joinError.hidden = true;
    ui.joinButton.disabled = false;
    ui.joinButton.textContent = 'Join';
    document.title = room ? `Chat · #${room}` : 'Chat';
    ui.messageInput.focus();
    updateComposer();
  }

  function showJoin() {
    ui.chatScreen.hidden = true;
    ui.joinScreen.hidden = false;
    ui.joinButton.disabled = false;
    ui.joinButton.textContent = 'Join';
    document.title = 'Chat';
    ui.nameInput.focus();
    updateNameRules();
  }

  function showJoinError(message) {
    ui.joinButton.disabled = false;
    ui.joinButton.textContent = 'Join';
    ui.joinError.textContent = message;
    ui.joinError.hidden = false;
    ui.nameInput.setAttribute('aria-invalid', 'true');
    ui.nameInput.focus();
  }

  function setRule(element, ok, touched) {
    element.dataset.state = touched ? (ok ? 'ok' : 'bad') : 'pending';
  }

  function updateNameRules() {
    const raw = ui.nameInput.value;
    const check = checkName(raw);
    const touched = raw.length > 0;
    setRule(ui.ruleLength, check.lengthOk, touched);
    setRule(ui.ruleVisible, check.visible, touched);
    setRule(ui.rulePlain, check.plain, touched);
    ui.nameCount.textContent = touched ? `(${check.length}/${MAX_NAME_LENGTH})` : '';
    if (touched && check.error) ui.nameInput.setAttribute('aria-invalid', 'true');
    else ui.nameInput.removeAttribute('aria-invalid');
    return check;
  }

  function updateComposer() {
    const check = checkMessage(ui.messageInput.value);
    const over = check.length > MAX_MESSAGE_LENGTH;
    ui.messageCount.textContent = check.length >= COUNTER_FROM ? `${check.length} / ${MAX_MESSAGE_LENGTH}` : '';
    ui.messageCount.dataset.state = over ? 'over' : 'ok';
    ui.sendButton.disabled = check.error !== null;
    return check;
  }

  function rememberName(name) {
    try {
      localStorage.setItem('chat.name', name);
    } catch {
      // Storage can be disabled; remembering the name is only a convenience.
    }
  }

  function recallName() {
    try {
      return localStorage.getItem('chat.name') || '';
    } catch {
      return '';
    }
  }

  // ---- Wiring ----

  ui.nameInput.addEventListener('input', () => {
    ui.joinError.hidden = true;
    updateNameRules();
  });

  ui.joinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const check = updateNameRules();
    if (check.error) {
      showJoinError(check.error);
      return;
    }
    ui.joinError.hidden = true;
    startSession(check.value);
  });

  ui.messageInput.addEventListener('input', () => {
    ui.composerHint.textContent = COMPOSER_HINT;
    updateComposer();
  });

  ui.messageInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });

  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const check = updateComposer();
    if (check.error) {
      if (check.value.length > 0) ui.composerHint.textContent = check.error;
      return;
    }
    send(check.value);
    ui.composerHint.textContent = state.joined ? COMPOSER_HINT : 'Queued: it will be sent when the connection is back';
    ui.messageInput.value = '';
    updateComposer();
    ui.messageInput.focus();
  });

  ui.leaveButton.addEventListener('click', leave);
  ui.retryButton.addEventListener('click', retryNow);
  ui.newMessages.addEventListener('click', scrollToBottom);
  ui.messages.addEventListener('scroll', () => {
    if (isAtBottom()) ui.newMessages.hidden = true;
  });

  ui.peopleToggle.addEventListener('click', () => {
    const open = ui.peopleToggle.getAttribute('aria-expanded') !== 'true';
    ui.peopleToggle.setAttribute('aria-expanded', String(open));
    ui.people.classList.toggle('open', open);
  });

  // The network coming back is a better moment to retry than any timer.
  window.addEventListener('online', retryNow);
  window.addEventListener('offline', () => {
    if (!state.joined && state.retryTimer) showCountdown();
  });

  if (room) ui.joinRoom.textContent = `#${room}`;
  ui.nameInput.value = recallName();
  updateNameRules();
  updateComposer();
  ui.nameInput.focus();
})();
