// The simulator page: polls /simulator/api/state and drives the service through /simulator/api/*. DOM built with textContent only
// (whatsapp-format.js included: it builds elements, it never parses markup).
(() => {
  const $ = (id) => document.getElementById(id);
  const format = window.whatsappFormat;
  // knownTickets: the tickets already listed, so one that appears later is recognised as new and opened.
  // typingSent: when the console last told the service the agent is typing, and on which ticket.
  const view = { phone: null, ticketId: null, state: null, knownTickets: null, drawn: { chat: '', ticket: '' }, typingSent: { ticketId: null, at: 0 } };
  // While the agent keeps typing, the console says so this often, as a CRM would; the service itself
  // asks WhatsApp at most every 20 s, and WhatsApp shows "typing…" for 25 s.
  const TYPING_CALL_INTERVAL_MS = 5000;

  function element(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  async function call(path, body, errorLine) {
    errorLine.textContent = '';
    const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      errorLine.textContent = `${response.status} ${answer.error ?? ''}: ${answer.message ?? ''}`;
    }
    await refresh();
  }
  const fromPhone = (input) => call('/simulator/api/phone', { phone: view.phone, input }, $('phone-error'));
  const asAgent = (action, text) => call(`/simulator/api/agent/${action}`, { ticketId: view.ticketId, text }, $('agent-error'));

  /** A keystroke in the reply box of an active ticket: the service is told the agent is typing, at most every few seconds. */
  function agentTyping() {
    const ticket = view.state?.tickets.find((candidate) => candidate.ticketId === view.ticketId);
    if (!ticket || ticket.status !== 'active' || !$('agent-text').value.trim()) return;
    const { typingSent } = view;
    if (typingSent.ticketId === ticket.ticketId && Date.now() - typingSent.at < TYPING_CALL_INTERVAL_MS) return;
    view.typingSent = { ticketId: ticket.ticketId, at: Date.now() };
    asAgent('typing');
  }

  const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  // The sender's ticks, as WhatsApp draws them: one grey, two grey, two blue (the colour is in simulator.css).
  const TICKS = { sent: '✓', delivered: '✓✓', read: '✓✓' };
  const elapsed = (iso) => {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  };

  /** A formatted text: WhatsApp's *bold*, _italic_, ~strike~ and ```mono``` rendered, any markup in it shown as typed. */
  const formattedText = (text) => element('span', { class: 'text' }, format(text));

  function bubble(message) {
    const who = message.from === 'user' ? null : element('span', { class: 'who', text: message.from === 'agent' ? `Agent ${view.state.agent.name}` : 'Bot' });
    const body = [];
    if (message.kind === 'image') body.push(element('img', { src: '/simulator/router.jpg', alt: 'The photo you sent' }));
    if (message.kind === 'document') body.push(element('span', { class: 'file', text: `PDF · ${message.filename || 'document'}` }));
    if (message.text) body.push(formattedText(message.text));
    if (message.kind === 'buttons' && message.buttons) {
      body.push(
        element(
          'div',
          { class: 'choices' },
          message.buttons.map((button) =>
            element('button', { type: 'button', text: button.title, onclick: () => fromPhone({ kind: 'button', id: button.id, title: button.title }) }),
          ),
        ),
      );
    }
    if (message.kind === 'list' && message.list) {
      body.push(
        element(
          'div',
          { class: 'choices', 'aria-label': message.list.button },
          message.list.rows.map((row) =>
            element('button', { type: 'button', text: row.title, onclick: () => fromPhone({ kind: 'list', id: row.id, title: row.title }) }),
          ),
        ),
      );
    }
    // Ticks are the sender's: on this phone, only on what the subscriber sent.
    const ticks =
      message.from === 'user' && message.status
        ? element('span', { class: 'ticks', 'data-status': message.status, title: message.status, text: TICKS[message.status] })
        : null;
    const meta = element('span', { class: 'meta' }, [document.createTextNode(`${clock(message.at)} `), ticks]);
    return element('li', { class: `msg from-${message.from}`, 'data-kind': message.kind }, [who, ...body, meta]);
  }

  function drawPhone(state) {
    const subscribers = $('subscribers');
    if (!subscribers.childElementCount) {
      for (const subscriber of state.subscribers) {
        subscribers.append(
          element('button', {
            type: 'button',
            role: 'radio',
            'data-phone': subscriber.phone,
            text: `${subscriber.name} · ${subscriber.suspended ? 'suspended' : 'active'} · document ${subscriber.document}`,
            onclick: () => {
              view.phone = subscriber.phone;
              view.drawn.chat = '';
              draw();
            },
          }),
        );
      }
    }
    for (const button of subscribers.children) button.setAttribute('aria-checked', String(button.dataset.phone === view.phone));
    const subscriber = state.subscribers.find((candidate) => candidate.phone === view.phone);
    $('phone-title').textContent = `Conecta2Tel · ${subscriber.name} (+${subscriber.phone})`;
    $('phone-typing').hidden = !state.typing.includes(view.phone);
    const messages = state.phones[view.phone] || [];
    const key = JSON.stringify(messages);
    if (key === view.drawn.chat) return;
    view.drawn.chat = key;
    const chat = $('chat');
    chat.replaceChildren(...(messages.length ? messages.map(bubble) : [emptyChat(subscriber)]));
    chat.scrollTop = chat.scrollHeight;
  }

  /** What an empty chat suggests: the first message, and what the bot will ask for. */
  function emptyChat(subscriber) {
    return element('li', { class: 'empty-chat' }, [
      element('p', { text: `Write to Conecta2Tel as ${subscriber.name}: say “Hola” and the bot answers with its menu.` }),
      element('p', { text: `To reach an agent, choose Contactar Soporte and send the document number ${subscriber.document}.` }),
      element('button', { type: 'button', text: 'Say “Hola”', onclick: () => fromPhone({ kind: 'text', text: 'Hola' }) }),
    ]);
  }

  /** A ticket that was not there at the last refresh is opened, as a CRM opens a new chat, unless the agent is mid-reply. */
  function selectNewTicket(tickets) {
    const fresh = tickets.filter((ticket) => !view.knownTickets?.has(ticket.ticketId));
    view.knownTickets = new Set(tickets.map((ticket) => ticket.ticketId));
    // Newest first: the first fresh one is the latest.
    if (fresh.length && !(view.ticketId && $('agent-text').value.trim())) view.ticketId = fresh[0].ticketId;
  }

  function ticketRow(ticket) {
    const open = () => {
      view.ticketId = ticket.ticketId;
      draw();
    };
    return element('li', {}, [
      element('button', { type: 'button', 'aria-pressed': String(ticket.ticketId === view.ticketId), 'data-ticket': ticket.ticketId, onclick: open }, [
        element('strong', { text: ticket.ticketId }),
        element('span', { text: `${ticket.customerName} +${ticket.phone}` }),
        element('span', { class: `badge ${ticket.priority}`, text: ticket.priority }),
        element('span', { text: ticket.category }),
        element('span', { class: 'wait', text: ticket.status === 'pending' ? `waiting ${elapsed(ticket.requestedAt)}` : ticket.agentName || '' }),
        element('span', { class: `badge ${ticket.status}`, text: ticket.status }),
      ]),
    ]);
  }

  function drawTickets(state) {
    selectNewTicket(state.tickets);
    const rows = state.tickets.map(ticketRow);
    $('tickets').replaceChildren(
      ...(rows.length ? rows : [element('li', { class: 'empty-chat', text: 'No ticket yet: on the phone, ask for an agent (Contactar Soporte).' })]),
    );
    const ticket = state.tickets.find((candidate) => candidate.ticketId === view.ticketId);
    $('ticket').hidden = !ticket;
    if (!ticket) return;
    $('ticket-title').textContent = `${ticket.ticketId} · ${ticket.customerName} (customer ${ticket.customerId})`;
    $('ticket-meta').textContent =
      `${ticket.category} · priority ${ticket.priority}${ticket.serviceSuspended ? ' · service suspended' : ''} · ${ticket.status}`;
    $('take').disabled = ticket.status !== 'pending';
    for (const id of ['send-document', 'give-back', 'agent-send']) $(id).disabled = ticket.status !== 'active';
    // The read mark names the subscriber's last message: there must be one.
    $('mark-read').disabled = ticket.status !== 'active' || !ticket.messages.some((message) => message.from === 'user');
    const key = JSON.stringify([ticket.ticketId, ticket.messages, ticket.events]);
    if (key === view.drawn.ticket) return;
    view.drawn.ticket = key;
    const chat = $('agent-chat');
    chat.replaceChildren(
      ...ticket.messages.map((message) =>
        element('li', { class: `msg from-${message.from === 'agent' ? 'user' : 'bot'}`, 'data-kind': message.kind || 'text' }, [
          element('span', { class: 'who', text: message.from === 'agent' ? 'You' : ticket.customerName }),
          // A photo as the CRM gets it: through the service's media route, with the CRM token (the simulator's server holds it).
          message.kind === 'image' &&
            element('img', { src: `/simulator/api/media/${encodeURIComponent(message.mediaId)}`, alt: `Photo from ${ticket.customerName}` }),
          message.kind === 'document' && element('span', { class: 'file', text: `PDF · ${message.filename}` }),
          message.text && formattedText(message.text),
          element('span', { class: 'meta', text: clock(message.at) }),
        ]),
      ),
    );
    chat.scrollTop = chat.scrollHeight;
    $('ticket-events').replaceChildren(...ticket.events.map((event) => element('li', { text: `${clock(event.at)} ${event.text}` })));
  }

  function draw() {
    if (!view.state) return;
    view.phone ??= view.state.subscribers[0].phone;
    drawPhone(view.state);
    drawTickets(view.state);
  }

  async function refresh() {
    const response = await fetch('/simulator/api/state');
    if (response.ok) view.state = await response.json();
    draw();
  }

  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('phone-text').value.trim();
    if (!text) return;
    $('phone-text').value = '';
    fromPhone({ kind: 'text', text });
  });
  $('phone-picture').addEventListener('click', () => fromPhone({ kind: 'image', caption: 'Así está el router' }));
  $('agent-composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('agent-text').value.trim();
    if (!text) return;
    $('agent-text').value = '';
    // The reply ends WhatsApp's "typing…": the next keystroke says so again at once (the service decides whether it is due).
    view.typingSent = { ticketId: null, at: 0 };
    asAgent('reply', text);
  });
  $('agent-text').addEventListener('input', agentTyping);
  $('take').addEventListener('click', () => asAgent('take'));
  $('mark-read').addEventListener('click', () => asAgent('read'));
  $('send-document').addEventListener('click', () => asAgent('document'));
  $('give-back').addEventListener('click', () => asAgent('give-back'));

  refresh();
  setInterval(refresh, 700);
})();
