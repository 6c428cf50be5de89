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
  const COMPOSER_HINT = 'Enter to send, Shift+Enter for a new line, @ to mention';
  const PAGE_LIMIT = 100;
  // Scrolling up loads this many older messages at a time, once the top is this close.
  const OLDER_PAGE = 50;
  const OLDER_WHEN_PX = 120;
  // Typing (docs/protocol.md, "Optional events"): said at most this often while typing, shown this long.
  const TYPING_SEND_EVERY_MS = 3000;
  const TYPING_SHOW_MS = 6000;
  const ROOMS_REFRESH_MS = 5000;
  const ANNOUNCE_KEEP = 5;
  const ROOM_PATTERN = /^[a-z0-9_-]{1,64}$/;
  const DEFAULT_ROOM = 'general';
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
    typing: byId('typing'),
    announcer: byId('announcer'),
    mentionList: byId('mention-list'),
    roomsList: byId('rooms-list'),
    roomForm: byId('room-form'),
    roomInput: byId('room-input'),
    roomError: byId('room-error'),
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

  /** A room id as the server compares it (lower case), or null when it is not one. */
  function parseRoom(raw) {
    const value = typeof raw === 'string' ? raw.trim().replace(/^#/, '').toLowerCase() : '';
    return ROOM_PATTERN.test(value) ? value : null;
  }

  const roomFromAddress = () => parseRoom(new URLSearchParams(location.search).get('room'));
  // The room this page is in, or will join: the address says which (?room=), else the server's default.
  let room = roomFromAddress();

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
    // Scroll-up paging: whether older messages may exist and a page is on its way.
    olderAvailable: true,
    loadingOlder: false,
    typers: new Map(), // name -> timer that forgets them
    typingSentAt: 0,
    drafts: new Map(), // room -> what was typed there and not sent
    unread: 0, // messages from others while the page was hidden
    unreadMentions: 0,
    unreadMarked: false, // the "New" divider has been placed for this hidden spell
    rooms: [], // from /stats
    roomsTimer: 0,
    mention: null, // the open completion: { start, options, active }
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
    // Events beyond the original's that this page understands (docs/protocol.md, "Optional events").
    query.set('features', 'typing');
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
    if (!fromHistory && event.type !== 'typing') state.welcome = null;
    switch (event.type) {
      case 'user_joined':
        if (!state.joined && Array.isArray(event.users)) onJoined(event);
        else {
          addUser(name);
          renderNotice('join', event);
          refreshRoomsSoon();
        }
        break;
      case 'user_left':
        removeUser(name);
        stopTyping(name);
        renderNotice('leave', event);
        refreshRoomsSoon();
        break;
      case 'typing':
        if (name && !sameName(name, state.myName)) startTyping(name);
        break;
      case 'chat_message': {
        const own = sameName(name, state.myName);
        stopTyping(name);
        if (fromHistory) {
          renderHistory(event, own);
          break;
        }
        if (own && state.inflight.length > 0) state.inflight.shift();
        const item = renderMessage(event, own);
        if (item && !own) onLiveMessage(event, item);
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
      state.olderAvailable = true;
      resetUnread();
      clearTyping();
    }
    if (typeof event.room_id === 'string') state.roomId = event.room_id;
    ui.chatRoom.textContent = `#${currentRoom()}`;
    if (firstJoin) {
      showChat();
      rememberName(state.myName);
    }
    refreshRoomsSoon();
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
      const why = event.code === 1008 && reason
        ? reason
        : 'Could not reach the chat server. Check your connection and try again.';
      // A room switch that was refused (the name is taken there) goes back to the join screen to say so.
      if (!ui.chatScreen.hidden) refuse(`#${currentRoom()}: ${why}`);
      else showJoinError(why);
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
    state.roomId = room;
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
    clearTimeout(state.roomsTimer);
    clearTyping();
    closeMentions();
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
      // The message ends this spell of typing: the next keystroke may say so again at once.
      state.typingSentAt = 0;
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

  const timeOf = (timestamp) => (typeof timestamp === 'number' && Number.isFinite(timestamp) ? new Date(timestamp * 1000) : new Date());

  function formatTime(timestamp) {
    const date = timeOf(timestamp);
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
    let trimmed = false;
    while (ui.messages.childElementCount > MAX_RENDERED_ITEMS) {
      ui.messages.firstElementChild.remove();
      trimmed = true;
    }
    // What was trimmed can be paged back in by scrolling up.
    if (trimmed) state.olderAvailable = true;
    markDays();
    if (follow) scrollToBottom();
    else ui.newMessages.hidden = false;
  }

  const dayOf = (date) => `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;

  function dayLabel(date) {
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (dayOf(date) === dayOf(today)) return 'Today';
    if (dayOf(date) === dayOf(yesterday)) return 'Yesterday';
    return date.toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
  }

  /** A day separator before the first item of each day; the list is small (MAX_RENDERED_ITEMS), so it is redone whole. */
  function markDays() {
    let last = '';
    for (const item of Array.from(ui.messages.children)) {
      if (item.classList.contains('day')) {
        item.remove();
        continue;
      }
      const at = item.dataset.at;
      if (!at) continue;
      const date = new Date(Number(at));
      const day = dayOf(date);
      if (day === last) continue;
      last = day;
      const separator = document.createElement('li');
      separator.className = 'day';
      const time = document.createElement('time');
      time.dateTime = day.replace(/-(\d)(?=-|$)/g, '-0$1');
      time.textContent = dayLabel(date);
      separator.append(time);
      item.before(separator);
    }
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
  function renderMessage(event, own, before = null, older = false) {
    const id = messageId(event);
    if (id !== null) {
      if (state.shownIds.has(id)) return null;
      state.shownIds.add(id);
      if (id > state.lastId) state.lastId = id;
    }
    const item = document.createElement('li');
    item.className = own ? 'message own' : 'message';
    if (id !== null) item.dataset.id = String(id);
    item.dataset.at = String(timeOf(event.timestamp).getTime());
    const meta = document.createElement('p');
    meta.className = 'meta';
    const sender = document.createElement('span');
    sender.className = 'sender';
    sender.textContent = own ? `${event.user_name} (you)` : event.user_name;
    meta.append(sender, formatTime(event.timestamp));
    const body = document.createElement('p');
    body.className = 'text';
    const mentionsMe = renderText(body, typeof event.message === 'string' ? event.message : '');
    if (mentionsMe && !own) item.classList.add('mentions-me');
    item.append(meta, body);
    const place = (id !== null && firstShownAfter(id)) || before;
    if (older) {
      ui.messages.insertBefore(item, place);
      markDays();
    } else {
      append(item, own, place);
    }
    return item;
  }

  /**
   * The message's text, with `@name` of someone present marked (most strongly the reader's own name). Every piece goes
   * in as a text node. Returns whether the reader is mentioned.
   */
  function renderText(container, text) {
    const names = state.users.slice().sort((a, b) => b.length - a.length);
    let mentionsMe = false;
    let plainFrom = 0;
    for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
      if (at > 0 && /[\p{L}\p{N}_]/u.test(text[at - 1])) continue; // an address such as a@b is no mention
      const name = names.find((n) => {
        const candidate = text.slice(at + 1, at + 1 + n.length);
        const after = text.slice(at + 1 + n.length, at + 2 + n.length);
        return sameName(candidate, n) && !/[\p{L}\p{N}_]/u.test(after);
      });
      if (!name) continue;
      const me = sameName(name, state.myName);
      mentionsMe ||= me;
      if (at > plainFrom) container.append(document.createTextNode(text.slice(plainFrom, at)));
      const mark = document.createElement('mark');
      mark.className = me ? 'mention me' : 'mention';
      mark.textContent = text.slice(at, at + 1 + name.length);
      container.append(mark);
      plainFrom = at + 1 + name.length;
      at = plainFrom - 1;
    }
    if (plainFrom < text.length) container.append(document.createTextNode(text.slice(plainFrom)));
    return mentionsMe;
  }

  /** A message from the history that follows the welcome: above the welcome's notice, after a quiet divider. */
  function renderHistory(event, own) {
    const welcome = state.welcome;
    if (!welcome) {
      renderMessage(event, own);
      return;
    }
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
      markDays(); // the day separator goes under the divider, beside its first message
    }
    if (welcome.first) scrollToBottom();
  }

  /**
   * Scrolling near the top loads the page of messages before the oldest one shown, and keeps the message that was
   * at the top of the view exactly where it was.
   */
  async function loadOlder() {
    if (state.loadingOlder || !state.olderAvailable || !state.joined) return;
    const oldest = ui.messages.querySelector('[data-id]');
    if (!oldest) {
      state.olderAvailable = false;
      return;
    }
    state.loadingOlder = true;
    const epoch = state.epoch;
    const roomId = currentRoom();
    try {
      const url = `/room/${encodeURIComponent(roomId)}/messages?before=${oldest.dataset.id}&limit=${OLDER_PAGE}`;
      const response = await fetch(url, { headers: { Accept: 'application/json' } });
      if (!response.ok) return; // a 429 or a blip: the next scroll asks again
      const page = await response.json();
      if (page.epoch !== epoch || state.epoch !== epoch || currentRoom() !== roomId) return;
      const messages = Array.isArray(page.messages) ? page.messages.filter((m) => m && messageId(m) !== null) : [];
      const anchor = firstVisibleItem();
      const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
      for (const message of messages) {
        const name = typeof message.user_name === 'string' ? message.user_name : '';
        renderMessage({ ...message, user_name: name }, sameName(name, state.myName), ui.messages.querySelector('[data-id]'), true);
      }
      if (anchor) ui.messages.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
      state.olderAvailable = page.has_more === true && messages.length > 0;
    } catch {
      // The next scroll asks again.
    } finally {
      state.loadingOlder = false;
    }
  }

  /** The first message at least partly in view: the one that must not move when older ones go in above it. */
  function firstVisibleItem() {
    const top = ui.messages.getBoundingClientRect().top;
    for (const item of ui.messages.querySelectorAll('[data-id]')) {
      if (item.getBoundingClientRect().bottom > top) return item;
    }
    return null;
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
    item.dataset.at = String(timeOf(event.timestamp).getTime());
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
    renderRooms();
  }

  function showChat() {
    ui.joinScreen.hidden = true;
    ui.chatScreen.hidden = false;
    ui.joinError.hidden = true;
    ui.joinButton.disabled = false;
    ui.joinButton.textContent = 'Join';
    updateTitle();
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

  const currentRoom = () => state.roomId ?? room ?? DEFAULT_ROOM;

  // ---- Unread count, announcements ----

  const pageHidden = () => document.visibilityState === 'hidden';

  function updateTitle() {
    if (ui.chatScreen.hidden) {
      document.title = 'Chat';
      return;
    }
    const mentions = state.unreadMentions > 0 ? `, @${state.unreadMentions}` : '';
    const count = state.unread > 0 ? `(${state.unread}${mentions}) ` : '';
    document.title = `${count}#${currentRoom()} — Chat`;
  }

  function resetUnread() {
    state.unread = 0;
    state.unreadMentions = 0;
    state.unreadMarked = false;
    updateTitle();
  }

  /** A live message from someone else: announced, and counted while the page is hidden. */
  function onLiveMessage(event, item) {
    const mentionsMe = item.classList.contains('mentions-me');
    const text = typeof event.message === 'string' ? event.message : '';
    announce(mentionsMe ? `${event.user_name} mentioned you: ${text}` : `${event.user_name}: ${text}`);
    if (!pageHidden()) return;
    if (!state.unreadMarked) {
      // Where the unread part begins: one "New" divider per spell away, the last spell's goes.
      for (const old of ui.messages.querySelectorAll('.divider.unread')) old.remove();
      const divider = document.createElement('li');
      divider.className = 'divider unread';
      divider.textContent = 'New';
      item.before(divider);
      state.unreadMarked = true;
    }
    state.unread++;
    if (mentionsMe) state.unreadMentions++;
    updateTitle();
  }

  /** The polite live region: one short paragraph per new message, the last few kept. */
  function announce(text) {
    const line = document.createElement('p');
    line.textContent = text;
    ui.announcer.append(line);
    while (ui.announcer.childElementCount > ANNOUNCE_KEEP) ui.announcer.firstElementChild.remove();
  }

  // ---- Typing ----

  function startTyping(name) {
    clearTimeout(state.typers.get(name));
    state.typers.set(name, setTimeout(() => stopTyping(name), TYPING_SHOW_MS));
    renderTyping();
  }

  function stopTyping(name) {
    for (const [typer, timer] of state.typers) {
      if (!sameName(typer, name)) continue;
      clearTimeout(timer);
      state.typers.delete(typer);
      renderTyping();
    }
  }

  function clearTyping() {
    for (const timer of state.typers.values()) clearTimeout(timer);
    state.typers.clear();
    renderTyping();
  }

  function renderTyping() {
    const names = Array.from(state.typers.keys());
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'several people are typing…';
    ui.typing.textContent = text;
  }

  /** Says the person is typing, at most once every few seconds, and only over a joined socket. */
  function sendTyping() {
    if (!state.joined || !state.socket || state.socket.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    if (now - state.typingSentAt < TYPING_SEND_EVERY_MS) return;
    state.typingSentAt = now;
    state.socket.send(JSON.stringify({ type: 'typing' }));
  }

  // ---- Rooms ----

  /** Presence changed here; other rooms' counts are asked for again shortly (one request for a burst of changes). */
  function refreshRoomsSoon() {
    clearTimeout(state.roomsTimer);
    state.roomsTimer = setTimeout(refreshRooms, 300);
  }

  async function refreshRooms() {
    clearTimeout(state.roomsTimer);
    if (ui.chatScreen.hidden) return;
    state.roomsTimer = setTimeout(refreshRooms, ROOMS_REFRESH_MS);
    // Not while hidden, nor while the server is out of reach (its refusals would only fill the console).
    if (pageHidden() || !state.joined) return;
    try {
      const response = await fetch('/stats', { headers: { Accept: 'application/json' } });
      if (!response.ok) return;
      const stats = await response.json();
      state.rooms = Array.isArray(stats.rooms)
        ? stats.rooms.filter((r) => r && parseRoom(r.room_id) && Number.isInteger(r.user_count))
        : [];
      renderRooms();
    } catch {
      // Kept as it was; the next refresh tries again.
    }
  }

  function renderRooms() {
    const current = currentRoom();
    const rooms = state.rooms.filter((r) => r.room_id !== current && (r.user_count > 0 || r.room_id === DEFAULT_ROOM));
    // The page's own room always shows, with the count it knows best.
    if (!ui.chatScreen.hidden) rooms.push({ room_id: current, user_count: state.users.length });
    rooms.sort((a, b) => a.room_id.localeCompare(b.room_id));
    const items = rooms.map((r) => {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = `?room=${encodeURIComponent(r.room_id)}`;
      link.dataset.room = r.room_id;
      const name = document.createElement('span');
      name.className = 'room-name';
      name.textContent = `#${r.room_id}`;
      const count = document.createElement('span');
      count.className = 'room-count';
      count.textContent = String(r.user_count);
      count.setAttribute('aria-label', `${r.user_count} online`);
      link.append(name, count);
      if (r.room_id === current) link.setAttribute('aria-current', 'page');
      item.append(link);
      return item;
    });
    ui.roomsList.replaceChildren(...items);
  }

  /**
   * Moves to another room under the same name: the socket closes as a leave, the message being typed stays with the
   * room it was typed in, and the address names the new room.
   */
  function switchRoom(target, push = true) {
    if (target === currentRoom() && state.socket) return;
    saveDraft();
    // Typed while offline and never sent: it goes back into that room's draft, not to the next room.
    if (state.outbox.length > 0) {
      const from = currentRoom();
      state.drafts.set(from, [...state.outbox, state.drafts.get(from) ?? ''].filter(Boolean).join('\n'));
    }
    const socket = state.socket;
    state.socket = null;
    clearTimers();
    if (socket) socket.close(1000, 'Switching rooms');
    state.outbox = [];
    state.inflight = [];
    state.joined = false;
    state.everJoined = false;
    state.takenOver = false;
    state.attempt = 0;
    state.takenRefusals = 0;
    state.welcome = null;
    state.epoch = '';
    state.roomId = target;
    room = target;
    if (push) history.pushState(null, '', `?room=${encodeURIComponent(target)}`);
    state.token = recallToken(state.name);
    ui.messages.replaceChildren();
    forgetIds();
    resetUnread();
    clearTyping();
    closeMentions();
    setUsers([]);
    ui.chatRoom.textContent = `#${target}`;
    ui.joinRoom.textContent = `#${target}`;
    ui.messageInput.value = state.drafts.get(target) ?? '';
    updateComposer();
    ui.roomError.hidden = true;
    renderRooms();
    connect();
  }

  function saveDraft() {
    const text = ui.messageInput.value;
    if (text) state.drafts.set(currentRoom(), text);
    else state.drafts.delete(currentRoom());
  }

  // ---- Mention completion ----

  /** The `@prefix` just before the caret, if the person is typing a mention. */
  function mentionAtCaret() {
    const input = ui.messageInput;
    if (input.selectionStart !== input.selectionEnd) return null;
    const before = input.value.slice(0, input.selectionStart);
    const match = /(^|[^\p{L}\p{N}_])@([^\s@]{0,20})$/u.exec(before);
    if (!match) return null;
    return { start: before.length - match[2].length - 1, prefix: match[2] };
  }

  function updateMentions() {
    const at = mentionAtCaret();
    const options = at
      ? state.users.filter((u) => !sameName(u, state.myName) && u.toUpperCase().startsWith(at.prefix.toUpperCase()))
      : [];
    // A name typed out in full with nobody else to choose is already complete: Enter sends.
    if (options.length === 0 || (options.length === 1 && sameName(options[0], at.prefix))) {
      closeMentions();
      return;
    }
    const previous = state.mention?.options[state.mention.active];
    const active = Math.max(0, options.findIndex((o) => o === previous));
    state.mention = { start: at.start, options, active };
    renderMentions();
  }

  function renderMentions() {
    const { options, active } = state.mention;
    const items = options.map((name, i) => {
      const item = document.createElement('li');
      item.id = `mention-${i}`;
      item.setAttribute('role', 'option');
      item.setAttribute('aria-selected', String(i === active));
      item.textContent = `@${name}`;
      // Pressing the mouse would take focus from the message box; the click completes instead.
      item.addEventListener('mousedown', (e) => e.preventDefault());
      item.addEventListener('click', () => completeMention(i));
      return item;
    });
    ui.mentionList.replaceChildren(...items);
    ui.mentionList.hidden = false;
    ui.messageInput.setAttribute('aria-expanded', 'true');
    ui.messageInput.setAttribute('aria-activedescendant', `mention-${active}`);
  }

  function closeMentions() {
    state.mention = null;
    ui.mentionList.hidden = true;
    ui.mentionList.replaceChildren();
    ui.messageInput.setAttribute('aria-expanded', 'false');
    ui.messageInput.removeAttribute('aria-activedescendant');
  }

  function completeMention(index) {
    const mention = state.mention;
    if (!mention) return;
    const name = mention.options[index];
    const input = ui.messageInput;
    const after = input.value.slice(input.selectionStart);
    const head = `${input.value.slice(0, mention.start)}@${name} `;
    input.value = head + after.replace(/^ /, '');
    input.setSelectionRange(head.length, head.length);
    closeMentions();
    saveDraft();
    updateComposer();
    input.focus();
  }

  /** Arrows move through the names, Tab or Enter completes, Escape closes; true when the key was the list's. */
  function onMentionKey(event) {
    const mention = state.mention;
    if (!mention || event.isComposing) return false;
    const count = mention.options.length;
    switch (event.key) {
      case 'ArrowDown':
        mention.active = (mention.active + 1) % count;
        break;
      case 'ArrowUp':
        mention.active = (mention.active - 1 + count) % count;
        break;
      case 'Tab':
      case 'Enter':
        if (event.shiftKey) return false;
        completeMention(mention.active);
        return true;
      case 'Escape':
        closeMentions();
        return true;
      default:
        return false;
    }
    renderMentions();
    return true;
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
    saveDraft();
    updateMentions();
    if (ui.messageInput.value.trim() !== '') sendTyping();
  });

  ui.messageInput.addEventListener('keydown', (event) => {
    if (onMentionKey(event)) {
      event.preventDefault();
      return;
    }
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
    closeMentions();
    ui.composerHint.textContent = state.joined ? COMPOSER_HINT : 'Queued: it will be sent when the connection is back';
    ui.messageInput.value = '';
    saveDraft();
    updateComposer();
    ui.messageInput.focus();
  });

  ui.messageInput.addEventListener('blur', closeMentions);
  ui.messageInput.addEventListener('click', updateMentions);

  ui.roomForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const target = parseRoom(ui.roomInput.value);
    if (!target) {
      ui.roomError.textContent = 'A room name is 1 to 64 letters, digits, - or _.';
      ui.roomError.hidden = false;
      ui.roomInput.setAttribute('aria-invalid', 'true');
      ui.roomInput.focus();
      return;
    }
    ui.roomInput.value = '';
    ui.roomInput.removeAttribute('aria-invalid');
    switchRoom(target);
    ui.messageInput.focus();
  });

  ui.roomInput.addEventListener('input', () => {
    ui.roomError.hidden = true;
    ui.roomInput.removeAttribute('aria-invalid');
  });

  ui.roomsList.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-room]');
    // A modified click opens the room in another tab, as links do.
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    switchRoom(link.dataset.room);
    ui.messageInput.focus();
  });

  // Back and Forward move between the rooms visited, as the address says.
  window.addEventListener('popstate', () => {
    if (ui.chatScreen.hidden) {
      room = roomFromAddress();
      state.roomId = room;
      ui.joinRoom.textContent = room ? `#${room}` : 'the chat';
      return;
    }
    const target = roomFromAddress() ?? DEFAULT_ROOM;
    if (target !== currentRoom()) switchRoom(target, false);
  });

  document.addEventListener('visibilitychange', () => {
    if (pageHidden()) {
      state.unreadMarked = false;
      return;
    }
    // Back in the tab: the count clears, the "New" divider stays where the unread part began.
    state.unread = 0;
    state.unreadMentions = 0;
    updateTitle();
  });

  ui.leaveButton.addEventListener('click', leave);
  ui.retryButton.addEventListener('click', retryNow);
  ui.newMessages.addEventListener('click', scrollToBottom);
  ui.messages.addEventListener('scroll', () => {
    if (isAtBottom()) ui.newMessages.hidden = true;
    if (ui.messages.scrollTop < OLDER_WHEN_PX) loadOlder();
  });
  // A list too short to scroll still pages back when the wheel asks for more above.
  ui.messages.addEventListener('wheel', (event) => {
    if (event.deltaY < 0 && ui.messages.scrollTop < OLDER_WHEN_PX) loadOlder();
  }, { passive: true });

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
