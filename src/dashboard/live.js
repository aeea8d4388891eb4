// The live view: reads GET /api/live (server-sent events) with fetch, since EventSource cannot send the token in a
// header, and redraws on every board the service sends; waits tick here every second, with no request.
(() => {
  const TOKEN_KEY = 'handover.metricsToken';
  const $ = (id) => document.getElementById(id);
  const CATEGORIES = { reactivacion_servicio: 'Reactivación', soporte_agente: 'Soporte general' };
  const PRIORITIES = { alta: 'Alta', media: 'Media', baja: 'Baja' };
  const PHASES = {
    waiting_agent: 'Esperando agente',
    escalated: 'Escalado',
    supervisor_queue: 'Cola de supervisor',
    with_agent: 'Con agente',
    agent_reminded: 'Agente recordado',
  };
  const PROBLEMS = {
    wrongToken: 'El token no es correcto. Escriba el METRICS_TOKEN del servicio y pulse Conectar.',
    tokenNotConfigured: 'El servicio no tiene METRICS_TOKEN configurado: pida al equipo de operaciones que lo configure.',
    tooManyTries: 'Demasiados intentos seguidos. Espere un minuto y vuelva a intentarlo.',
    lost: 'Conexión perdida; reconectando…',
  };
  // The tests read the last board and how many arrived from here.
  window.liveView = { board: null, boards: 0 };
  let offsetMs = 0;
  let connection = null;

  const duration = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (n) => String(n).padStart(2, '0');
    return h > 0 ? `${h} h ${pad(m)} min` : `${m}:${pad(s % 60)}`;
  };
  const since = (iso) => duration(Date.now() + offsetMs - Date.parse(iso));
  const cell = (text, className) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  };
  function table(id, headings, rows, empty) {
    const element = $(id);
    element.replaceChildren();
    const head = element.createTHead().insertRow();
    for (const heading of headings) head.appendChild(Object.assign(document.createElement('th'), { textContent: heading }));
    const body = element.createTBody();
    if (rows.length === 0) {
      const row = body.insertRow();
      row.appendChild(Object.assign(cell(empty, 'empty'), { colSpan: headings.length }));
    }
    for (const { cells, className, ticketId } of rows) {
      const row = body.insertRow();
      if (className) row.className = className;
      if (ticketId) row.dataset.ticket = ticketId;
      for (const td of cells) row.appendChild(td);
    }
  }

  function render() {
    const board = window.liveView.board;
    if (!board) return;
    const card = (label, value, className) => {
      const element = document.createElement('div');
      element.className = `card ${className ?? ''}`;
      element.append(Object.assign(document.createElement('b'), { textContent: value }), Object.assign(document.createElement('span'), { textContent: label }));
      return element;
    };
    $('cards').replaceChildren(
      card('En espera', board.counts.waiting),
      card('Escalados', board.counts.escalated),
      card('Con agente', board.counts.withAgent),
      card('A emergencia (24 h)', board.counts.fallbacks, board.counts.fallbacks > 0 ? 'fallback' : ''),
    );
    const more = (shown, total) => (total > shown ? [{ cells: [cell(`… y ${total - shown} más`, 'empty')] }] : []);
    table(
      'waiting',
      ['Posición', 'Ticket', 'Categoría', 'Prioridad', 'Espera', 'Estado'],
      [
        ...board.waiting.map((t) => ({
          ticketId: t.ticketId,
          className: t.priority,
          cells: [
            cell(String(t.position)),
            cell(t.ticketId),
            cell(CATEGORIES[t.category] ?? t.category),
            cell(PRIORITIES[t.priority] ?? t.priority),
            cell(since(t.requestedAt), 'wait'),
            cell(PHASES[t.phase] ?? t.phase),
          ],
        })),
        ...more(board.waiting.length, board.counts.waiting),
      ],
      'Nadie espera en este momento.',
    );
    table(
      'with-agent',
      ['Ticket', 'Agente', 'Categoría', 'Última actividad', 'Estado'],
      board.withAgent.map((t) => ({
        ticketId: t.ticketId,
        cells: [
          cell(t.ticketId),
          cell(t.agent.name),
          cell(CATEGORIES[t.category] ?? t.category),
          cell(`hace ${since(t.lastActivityAt)}`, 'ago'),
          cell(PHASES[t.phase] ?? t.phase),
        ],
      })),
      'Ningún ticket con agente.',
    );
    table(
      'escalated',
      ['Ticket', 'Situación', 'Prioridad', 'Desde la solicitud'],
      [
        ...board.escalated.map((t) => ({
          ticketId: t.ticketId,
          cells: [
            cell(t.ticketId),
            cell(`${PHASES[t.phase] ?? t.phase} (${t.escalations} ${t.escalations === 1 ? 'vez' : 'veces'})`),
            cell(PRIORITIES[t.priority] ?? t.priority),
            cell(since(t.requestedAt), 'wait'),
          ],
        })),
        ...board.fallbacks.map((t) => ({
          ticketId: t.ticketId,
          className: 'fallback',
          cells: [
            cell(t.ticketId),
            cell('Sin agente: recibió el número de emergencia'),
            cell(PRIORITIES[t.priority] ?? t.priority),
            cell(`cerrado hace ${since(t.closedAt)}`, 'ago'),
          ],
        })),
      ],
      'Nada escalado ni derivado.',
    );
    table(
      'agents',
      ['Agente', 'Tickets abiertos', 'Tickets'],
      board.agents.map((a) => ({ cells: [cell(a.name), cell(String(a.open)), cell(a.ticketIds.join(', '))] })),
      'Ningún agente tiene tickets.',
    );
  }

  function problemOf(status, body) {
    if (status === 401) return /not configured/.test(body?.message ?? '') ? PROBLEMS.tokenNotConfigured : PROBLEMS.wrongToken;
    if (status === 429) return PROBLEMS.tooManyTries;
    return PROBLEMS.lost;
  }

  /** Reads the stream until it ends; a stream that ends (a restart, a network cut) is opened again in 2 s. */
  async function connect() {
    connection?.abort();
    const abort = new AbortController();
    connection = abort;
    const response = await fetch('/api/live', { headers: { authorization: `Bearer ${$('token').value}` }, signal: abort.signal }).catch(() => null);
    if (!response?.ok) {
      const body = await response?.json().catch(() => ({}));
      $('status').textContent = problemOf(response?.status, body);
      document.body.dataset.state = response && response.status !== 503 && response.status < 500 ? 'error' : 'reconnecting';
      if (document.body.dataset.state === 'reconnecting') setTimeout(() => connection === abort && void connect(), 2000);
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, $('token').value);
    $('status').textContent = '';
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (!data) continue;
          const board = JSON.parse(data);
          offsetMs = Date.parse(board.at) - Date.now();
          window.liveView.board = board;
          window.liveView.boards += 1;
          $('prompt').hidden = true;
          $('live').hidden = false;
          document.body.dataset.state = 'live';
          render();
        }
      }
    } catch {
      // Aborted, or the connection dropped.
    }
    if (connection !== abort) return;
    $('status').textContent = PROBLEMS.lost;
    setTimeout(() => connection === abort && void connect(), 2000);
  }

  $('token').value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  $('controls').addEventListener('submit', (event) => {
    event.preventDefault();
    void connect();
  });
  // The waits count on without a request: only the clock moves.
  setInterval(render, 1000);
  if ($('token').value) void connect();
  else $('token').focus();
})();
