// The streaming demo: subscribe to onChunk with a fresh streamId over AppSync's real-time
// protocol, then call startStream, and render the chunks in seq order as they arrive.
// A small client of AppSync's protocol (subprotocol graphql-ws, auth in the `header` query
// parameter, connection_init/ack, ka, start/start_ack, data, stop/complete), so the page needs
// no bundler; it reconnects, and subscribes again, when the socket drops.

const START_STREAM = `mutation Start($prompt: String!, $streamId: ID!) {
  startStream(prompt: $prompt, streamId: $streamId) { requestId status streamId }
}`;
const ON_CHUNK = `subscription Chunks($streamId: ID!) {
  onChunk(streamId: $streamId) { streamId seq attempt text done error stopReason usage }
}`;

const $ = (id) => document.getElementById(id);
const settings = { graphqlUrl: $('graphql-url'), realtimeUrl: $('realtime-url'), apiKey: $('api-key') };

// -- the connection settings: make run's config.json, the query string, or what was typed ----

async function loadSettings() {
  const stored = JSON.parse(localStorage.getItem('ackflow-demo') || '{}');
  let served = {};
  try {
    const answer = await fetch('config.json', { cache: 'no-store' });
    if (answer.ok) served = await answer.json();
  } catch { /* a page served without make run has no config.json */ }
  const query = Object.fromEntries(new URLSearchParams(location.search));
  for (const [name, input] of Object.entries(settings)) {
    input.value = query[name] || served[name] || stored[name] || '';
    input.addEventListener('change', saveSettings);
  }
}

function saveSettings() {
  const values = Object.fromEntries(Object.entries(settings).map(([k, input]) => [k, input.value]));
  localStorage.setItem('ackflow-demo', JSON.stringify(values));
}

function authHeaders() {
  return { host: new URL(settings.graphqlUrl.value).host, 'x-api-key': settings.apiKey.value };
}

// -- the real-time connection ------------------------------------------------------------------

class RealtimeClient {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.subscriptions = new Map(); // id → {query, variables, onData, onError}
    this.socket = null;
    this.ready = null;
    this.retryDelay = 500;
    this.keepAliveTimer = null;
  }

  connect() {
    if (this.ready) return this.ready;
    this.ready = new Promise((resolve, reject) => {
      const header = btoa(JSON.stringify(authHeaders()));
      const socket = new WebSocket(`${settings.realtimeUrl.value}?header=${encodeURIComponent(header)}&payload=e30=`, ['graphql-ws']);
      this.socket = socket;
      socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init' }));
      socket.onmessage = (event) => this.receive(JSON.parse(event.data), resolve, reject);
      socket.onclose = () => this.dropped(reject);
      socket.onerror = () => this.onStatus('connection error');
    });
    return this.ready;
  }

  receive(message, resolve, reject) {
    switch (message.type) {
      case 'connection_ack':
        this.retryDelay = 500;
        this.keepAlive(message.payload.connectionTimeoutMs);
        this.onStatus('connected');
        for (const id of this.subscriptions.keys()) this.sendStart(id); // after a reconnect
        resolve();
        break;
      case 'ka':
        this.keepAlive(this.timeoutMs);
        break;
      case 'connection_error':
        this.onStatus('refused: ' + message.payload.errors.map((e) => e.message).join('; '));
        reject(new Error(message.payload.errors[0].message));
        break;
      case 'start_ack':
        this.subscriptions.get(message.id)?.onStarted?.();
        break;
      case 'data':
        this.subscriptions.get(message.id)?.onData(message.payload.data);
        break;
      case 'error':
        (this.subscriptions.get(message.id)?.onError ?? showError)(
          message.payload.errors.map((e) => e.message).join('; '));
        break;
      default:
        break;
    }
  }

  keepAlive(timeoutMs) {
    this.timeoutMs = timeoutMs;
    clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = setTimeout(() => this.socket?.close(), timeoutMs);
  }

  dropped(reject) {
    clearTimeout(this.keepAliveTimer);
    this.ready = null;
    reject(new Error('the connection closed'));
    if (this.subscriptions.size === 0) return this.onStatus('not connected');
    this.onStatus(`reconnecting in ${this.retryDelay} ms…`);
    setTimeout(() => this.connect().catch(() => {}), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, 10000);
  }

  async subscribe(id, query, variables, handlers) {
    this.subscriptions.set(id, { query, variables, ...handlers });
    await this.connect();
    return new Promise((resolve) => {
      this.subscriptions.get(id).onStarted = resolve;
      this.sendStart(id);
    });
  }

  sendStart(id) {
    const { query, variables } = this.subscriptions.get(id);
    this.socket.send(JSON.stringify({
      id,
      type: 'start',
      payload: { data: JSON.stringify({ query, variables }), extensions: { authorization: authHeaders() } },
    }));
  }

  unsubscribe(id) {
    if (this.subscriptions.delete(id) && this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: 'stop', id }));
    }
  }
}

// -- one stream's chunks, shown in seq order ----------------------------------------------------

class StreamView {
  constructor() {
    this.attempt = null;
    this.pending = new Map(); // seq → chunk, until every earlier seq has been shown
    this.next = 0;
    this.done = false;
  }

  take(chunk) {
    const attempt = chunk.attempt ?? 1;
    if (attempt !== this.attempt) { // a retried stream starts over
      this.attempt = attempt;
      this.pending.clear();
      this.next = 0;
      $('answer').textContent = '';
      $('error').hidden = true;
      $('attempt').hidden = attempt === 1;
      $('attempt').textContent = `Retrying: attempt ${attempt}`;
    }
    this.pending.set(chunk.seq, chunk);
    while (this.pending.has(this.next)) {
      const ready = this.pending.get(this.next);
      this.pending.delete(this.next);
      this.next += 1;
      if (ready.text) $('answer').append(ready.text);
      if (ready.done) this.finish(ready);
    }
  }

  finish(chunk) {
    this.done = !chunk.error;
    if (chunk.error) {
      showError(chunk.error);
      return;
    }
    const usage = typeof chunk.usage === 'string' ? JSON.parse(chunk.usage) : chunk.usage || {};
    $('summary').textContent = `Done: stop reason ${chunk.stopReason}, ` +
      `${usage.inputTokens} tokens in, ${usage.outputTokens} out.`;
    $('send').disabled = false;
  }
}

function showError(message) {
  $('error').textContent = `Error: ${message}`;
  $('error').hidden = false;
  $('send').disabled = false;
}

// -- the form ------------------------------------------------------------------------------------

const client = new RealtimeClient((status) => { $('connection').textContent = status; });
let current = null;

function newStreamId() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '');
}

async function send(event) {
  event.preventDefault();
  const prompt = $('prompt').value;
  if (current) client.unsubscribe(current);
  current = newStreamId();
  const view = new StreamView();
  $('answer').textContent = '';
  $('summary').textContent = '';
  $('error').hidden = true;
  $('attempt').hidden = true;
  $('send').disabled = true;
  try {
    await client.subscribe(current, ON_CHUNK, { streamId: current }, {
      onData: (data) => view.take(data.onChunk),
      onError: showError,
    });
    const answer = await fetch(settings.graphqlUrl.value, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': settings.apiKey.value },
      body: JSON.stringify({ query: START_STREAM, variables: { prompt, streamId: current } }),
    });
    const body = await answer.json();
    if (body.errors) showError(body.errors.map((e) => e.message).join('; '));
  } catch (error) {
    showError(error.message);
  }
}

$('ask').addEventListener('submit', send);
loadSettings();
