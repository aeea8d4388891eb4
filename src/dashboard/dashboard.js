// The supervisors' dashboard: reads /api/metrics/kpis (by day, by agent, by category) and draws each KPI with Chart.js,
// with the numbers behind every chart in a table under it. Plain browser JavaScript: no build step.
(() => {
  const TOKEN_KEY = 'handover.metricsToken';
  const charts = {};
  // The tests read the charts' data from here.
  window.dashboardCharts = charts;

  const $ = (id) => document.getElementById(id);
  const fmt = new Intl.NumberFormat('es-CO', { maximumFractionDigits: 1 });
  const seconds = (value) => (value === null || value === undefined ? '–' : fmt.format(value));
  const percent = (value) => (value === null || value === undefined ? '–' : `${fmt.format(value * 100)} %`);
  const isoDay = (date) => date.toISOString().slice(0, 10);
  const REASONS = {
    resolved: 'Resuelto',
    cancelled: 'Cancelado',
    abandoned: 'Abandonado',
    fallback: 'Sin agente (emergencia)',
    window_expired: 'Ventana de 24 h',
    out_of_hours: 'Fuera de horario',
    crm_unreachable: 'CRM sin respuesta',
  };
  const CATEGORIES = { reactivacion_servicio: 'Reactivación', soporte_agente: 'Soporte general' };

  function init() {
    const today = new Date();
    const monthAgo = new Date(today.getTime() - 29 * 86400000);
    const params = new URLSearchParams(location.search);
    $('from').value = params.get('from') ?? isoDay(monthAgo);
    $('to').value = params.get('to') ?? isoDay(today);
    // sessionStorage, not localStorage: the token survives a reload but not the tab, and never sits on disk for the next user.
    $('token').value = sessionStorage.getItem(TOKEN_KEY) ?? '';
    $('controls').addEventListener('submit', (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value);
      void load();
    });
    if ($('token').value) void load();
  }

  async function fetchKpis(groupBy) {
    const query = new URLSearchParams({ from: $('from').value, to: $('to').value, groupBy });
    const response = await fetch(`/api/metrics/kpis?${query}`, { headers: { authorization: `Bearer ${$('token').value}` } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
    return body;
  }

  async function load() {
    document.body.dataset.state = 'loading';
    $('status').textContent = 'Cargando…';
    try {
      const [byDay, byAgent, byCategory] = await Promise.all([fetchKpis('day'), fetchKpis('agent'), fetchKpis('category')]);
      render(byDay, byAgent, byCategory);
      $('status').textContent = `${byDay.totals.tickets} tickets entre ${byDay.range.from} y ${byDay.range.to} (${byDay.range.timeZone})`;
      document.body.dataset.state = 'ready';
    } catch (error) {
      $('status').textContent = `No se pudieron leer los indicadores: ${error.message}`;
      document.body.dataset.state = 'error';
    }
  }

  function draw(id, config) {
    charts[id]?.destroy();
    charts[id] = new Chart($(`chart-${id}`), { ...config, options: { responsive: true, animation: false, maintainAspectRatio: false, ...config.options } });
  }

  function table(id, headers, rows) {
    const head = `<tr>${headers.map((header) => `<th>${header}</th>`).join('')}</tr>`;
    const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escape(cell)}</td>`).join('')}</tr>`).join('');
    $(`table-${id}`).innerHTML = `<thead>${head}</thead><tbody>${body}</tbody>`;
  }

  function escape(value) {
    return String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  }

  function render(byDay, byAgent, byCategory) {
    const totals = byDay.totals;
    $('summary').innerHTML = [
      ['Tickets', totals.tickets],
      ['Tasa de resolución', percent(totals.resolutionRate)],
      ['CSAT promedio', totals.csat.average === null ? '–' : fmt.format(totals.csat.average)],
      ['Respuestas a la encuesta', percent(totals.csat.responseRate)],
      ['Espera mediana (s)', seconds(totals.handoverWait.medianSeconds)],
      ['Primera respuesta mediana (s)', seconds(totals.agentFirstResponse.medianSeconds)],
      ['Escalamientos', totals.escalations],
      ['Sin agente (emergencia)', totals.fallbacks],
    ]
      .map(([label, value]) => `<div class="card"><b>${escape(value)}</b><span>${label}</span></div>`)
      .join('');

    const days = byDay.groups.map((group) => group.key);
    draw('tickets', {
      type: 'bar',
      data: {
        labels: days,
        datasets: [
          { label: CATEGORIES.reactivacion_servicio, data: byDay.groups.map((g) => g.kpis.categories.reactivacion_servicio), backgroundColor: '#f5a623' },
          { label: CATEGORIES.soporte_agente, data: byDay.groups.map((g) => g.kpis.categories.soporte_agente), backgroundColor: '#0b4f8a' },
        ],
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
    table(
      'tickets',
      ['Día', 'Tickets', 'Reactivación', 'Soporte general'],
      byDay.groups.map((g) => [g.key, g.kpis.tickets, g.kpis.categories.reactivacion_servicio, g.kpis.categories.soporte_agente]),
    );

    draw('times', {
      type: 'line',
      data: {
        labels: days,
        datasets: [
          { label: 'Espera hasta el agente', data: byDay.groups.map((g) => g.kpis.handoverWait.medianSeconds), borderColor: '#0b4f8a' },
          { label: 'Primera respuesta', data: byDay.groups.map((g) => g.kpis.agentFirstResponse.medianSeconds), borderColor: '#f5a623' },
        ],
      },
      options: { spanGaps: true, scales: { y: { beginAtZero: true } } },
    });
    table(
      'times',
      ['Día', 'Espera mediana', 'Espera p90', 'Primera resp. mediana', 'Primera resp. p90'],
      byDay.groups.map((g) => [
        g.key,
        seconds(g.kpis.handoverWait.medianSeconds),
        seconds(g.kpis.handoverWait.p90Seconds),
        seconds(g.kpis.agentFirstResponse.medianSeconds),
        seconds(g.kpis.agentFirstResponse.p90Seconds),
      ]),
    );

    draw('resolution', {
      type: 'line',
      data: {
        labels: days,
        datasets: [
          {
            label: 'Resueltos / cerrados',
            data: byDay.groups.map((g) => (g.kpis.resolutionRate === null ? null : g.kpis.resolutionRate * 100)),
            borderColor: '#2e7d32',
          },
        ],
      },
      options: { spanGaps: true, scales: { y: { beginAtZero: true, max: 100 } } },
    });
    table(
      'resolution',
      ['Día', 'Cerrados', 'Resueltos', 'Tasa'],
      byDay.groups.map((g) => [g.key, g.kpis.closed, g.kpis.resolved, percent(g.kpis.resolutionRate)]),
    );

    const scores = ['1', '2', '3', '4', '5'];
    draw('csat', {
      type: 'bar',
      data: {
        labels: scores,
        datasets: [{ label: 'Calificaciones', data: scores.map((score) => totals.csat.distribution[score]), backgroundColor: '#6a1b9a' }],
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
    table('csat', ['Calificación', 'Respuestas'], [...scores.map((score) => [score, totals.csat.distribution[score]]), ['Ofrecidas', totals.csat.offered]]);

    draw('category', {
      type: 'doughnut',
      data: {
        labels: byCategory.groups.map((g) => CATEGORIES[g.key] ?? g.key),
        datasets: [{ label: 'Tickets', data: byCategory.groups.map((g) => g.kpis.tickets), backgroundColor: ['#0b4f8a', '#f5a623'] }],
      },
    });
    table(
      'category',
      ['Categoría', 'Tickets', 'Resueltos', 'Espera mediana (s)', 'CSAT'],
      byCategory.groups.map((g) => [
        CATEGORIES[g.key] ?? g.key,
        g.kpis.tickets,
        g.kpis.resolved,
        seconds(g.kpis.handoverWait.medianSeconds),
        g.kpis.csat.average === null ? '–' : fmt.format(g.kpis.csat.average),
      ]),
    );

    const agents = byAgent.groups.filter((g) => g.key !== '');
    draw('agents', {
      type: 'bar',
      data: {
        labels: agents.map((g) => g.label || g.key),
        datasets: [
          { label: 'Tickets', data: agents.map((g) => g.kpis.tickets), backgroundColor: '#0b4f8a', yAxisID: 'y' },
          {
            label: 'Primera respuesta mediana (s)',
            data: agents.map((g) => g.kpis.agentFirstResponse.medianSeconds),
            backgroundColor: '#f5a623',
            yAxisID: 'y1',
          },
        ],
      },
      options: { scales: { y: { beginAtZero: true }, y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } } },
    });
    table(
      'agents',
      ['Agente', 'Tickets', 'Resueltos', 'Primera resp. mediana (s)', 'CSAT'],
      agents.map((g) => [
        g.label || g.key,
        g.kpis.tickets,
        g.kpis.resolved,
        seconds(g.kpis.agentFirstResponse.medianSeconds),
        g.kpis.csat.average === null ? '–' : fmt.format(g.kpis.csat.average),
      ]),
    );

    const reasons = Object.keys(REASONS);
    draw('reasons', {
      type: 'bar',
      data: {
        labels: reasons.map((reason) => REASONS[reason]),
        datasets: [{ label: 'Tickets cerrados', data: reasons.map((reason) => totals.closeReasons[reason]), backgroundColor: '#c62828' }],
      },
      options: { indexAxis: 'y', scales: { x: { beginAtZero: true } } },
    });
    table(
      'reasons',
      ['Motivo', 'Tickets'],
      reasons.map((reason) => [REASONS[reason], totals.closeReasons[reason]]),
    );
  }

  init();
})();
