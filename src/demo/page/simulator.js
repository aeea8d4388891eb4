// The simulator page: polls /simulator/api/state and drives the service through /simulator/api/*. DOM built with textContent only.
(() => {
  const $ = (id) => document.getElementById(id);
  const view = { phone: null, ticketId: null, state: null, drawn: { chat: '', tickets: '', ticket: '' } };

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

  const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const TICKS = { sent: '✓', delivered: '✓✓', read: '✓✓' };
  const elapsed = (iso) => {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  };

  function bubble(message) {
    const who = message.from === 'user' ? null : element('span', { class: 'who', text: message.from === 'agent' ? `Agent ${view.state.agent.name}` : 'Bot' });
    const body = [];
    if (message.kind === 'image') body.push(element('img', { src: '/simulator/picture.svg', alt: 'picture' }));
    if (message.kind === 'document') body.push(element('span', { class: 'file', text: `PDF · ${message.filename || 'document'}` }));
    if (message.text) body.push(element('span', { text: message.text }));
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
    const ticks =
      message.from === 'user' ? null : element('span', { class: 'ticks', 'data-status': message.status || 'queued', text: TICKS[message.status] || '…' });
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
    const messages = state.phones[view.phone] || [];
    const key = JSON.stringify(messages);
    if (key === view.drawn.chat) return;
    view.drawn.chat = key;
    const chat = $('chat');
    chat.replaceChildren(...messages.map(bubble));
    chat.scrollTop = chat.scrollHeight;
  }

  function drawTickets(state) {
    if (!view.ticketId && state.tickets.length) view.ticketId = state.tickets[0].ticketId;
    $('tickets').replaceChildren(
      ...state.tickets.map((ticket) =>
        element('li', {}, [
          element(
            'button',
            {
              type: 'button',
              'aria-pressed': String(ticket.ticketId === view.ticketId),
              'data-ticket': ticket.ticketId,
              onclick: () => {
                view.ticketId = ticket.ticketId;
                view.drawn.ticket = '';
                draw();
              },
            },
            [
              element('strong', { text: ticket.ticketId }),
              element('span', { text: `${ticket.customerName} +${ticket.phone}` }),
              element('span', { class: `badge ${ticket.priority}`, text: ticket.priority }),
              element('span', { text: ticket.category }),
              element('span', { class: 'wait', text: ticket.status === 'pending' ? `waiting ${elapsed(ticket.requestedAt)}` : ticket.agentName || '' }),
              element('span', { class: `badge ${ticket.status}`, text: ticket.status }),
            ],
          ),
        ]),
      ),
    );
    const ticket = state.tickets.find((candidate) => candidate.ticketId === view.ticketId);
    $('ticket').hidden = !ticket;
    if (!ticket) return;
    $('ticket-title').textContent = `${ticket.ticketId} · ${ticket.customerName} (customer ${ticket.customerId})`;
    $('ticket-meta').textContent =
      `${ticket.category} · priority ${ticket.priority}${ticket.serviceSuspended ? ' · service suspended' : ''} · ${ticket.status}`;
    $('take').disabled = ticket.status !== 'pending';
    for (const id of ['send-document', 'give-back', 'agent-send']) $(id).disabled = ticket.status !== 'active';
    const key = JSON.stringify([ticket.messages, ticket.events]);
    if (key === view.drawn.ticket) return;
    view.drawn.ticket = key;
    const chat = $('agent-chat');
    chat.replaceChildren(
      ...ticket.messages.map((message) =>
        element('li', { class: `msg from-${message.from === 'agent' ? 'user' : 'bot'}` }, [
          element('span', { class: 'who', text: message.from === 'agent' ? 'You' : ticket.customerName }),
          element('span', { text: message.text }),
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
    asAgent('reply', text);
  });
  $('take').addEventListener('click', () => asAgent('take'));
  $('send-document').addEventListener('click', () => asAgent('document'));
  $('give-back').addEventListener('click', () => asAgent('give-back'));

  refresh();
  setInterval(refresh, 700);
})();
