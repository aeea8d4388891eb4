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
  // One colour per thing measured, the same in every chart: a category's colour is never reused for anything else.
  const COLOURS = {
    reactivacion_servicio: '#f5a623',
    soporte_agente: '#0b4f8a',
    otherCategory: '#90a4ae',
    wait: '#00897b',
    firstResponse: '#8e24aa',
    agentTickets: '#546e7a',
    resolution: '#2e7d32',
    csat: '#d81b60',
    closeReasons: '#c62828',
  };
  // Counts have whole steps: Chart.js would otherwise put 0.5 tickets between 0 and 1.
  const COUNT_TICKS = { precision: 0 };
  const MAX_RANGE_DAYS = 400;
  /** What the supervisor reads when the report cannot be shown: one sentence, in Spanish, saying what to do. */
  const PROBLEMS = {
    wrongToken: 'El token no es correcto. Escriba el METRICS_TOKEN del servicio y pulse Actualizar.',
    tokenNotConfigured: 'El servicio no tiene METRICS_TOKEN configurado: pida al equipo de operaciones que lo configure.',
    toBeforeFrom: 'La fecha «Hasta» es anterior a «Desde».',
    rangeTooLong: `El rango puede abarcar como máximo ${MAX_RANGE_DAYS} días.`,
    badDates: 'Las fechas no son válidas.',
    tooManyTries: 'Demasiados intentos seguidos. Espere un minuto y vuelva a intentarlo.',
    unavailable: 'El servicio no pudo responder en este momento. Intente de nuevo en unos segundos.',
  };

  /** A refusal as the supervisor should read it; the service's own message (English, for developers) is not shown. */
  class ReportProblem extends Error {}
  function problemOf(status, body) {
    if (status === 401) return /not configured/.test(body.message ?? '') ? PROBLEMS.tokenNotConfigured : PROBLEMS.wrongToken;
    if (status === 400) return PROBLEMS.badDates;
    if (status === 429) return PROBLEMS.tooManyTries;
    return PROBLEMS.unavailable;
  }

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
    else $('token').focus();
  }

  async function fetchKpis(groupBy) {
    const query = new URLSearchParams({ from: $('from').value, to: $('to').value, groupBy });
    const response = await fetch(`/api/metrics/kpis?${query}`, { headers: { authorization: `Bearer ${$('token').value}` } }).catch(() => null);
    const body = await response?.json().catch(() => ({}));
    if (!response?.ok) throw new ReportProblem(problemOf(response?.status, body ?? {}));
    return body;
  }

  function rangeProblem() {
    const days = (Date.parse($('to').value) - Date.parse($('from').value)) / 86400000;
    if (Number.isNaN(days)) return PROBLEMS.badDates;
    if (days < 0) return PROBLEMS.toBeforeFrom;
    return days >= MAX_RANGE_DAYS ? PROBLEMS.rangeTooLong : null;
  }

  function show(state, status) {
    document.body.dataset.state = state;
    $('status').textContent = status;
    $('prompt').hidden = state !== 'idle';
    // A refused request leaves no earlier report on the page: it could be another token's, or other dates'.
    if (state === 'error') $('report').hidden = true;
    if (state === 'ready') $('report').hidden = false;
  }

  async function load() {
    const problem = rangeProblem();
    if (problem) return show('error', problem);
    show('loading', 'Cargando…');
    try {
      const [byDay, byAgent, byCategory] = await Promise.all([fetchKpis('day'), fetchKpis('agent'), fetchKpis('category')]);
      // Shown first: Chart.js sizes a chart by its visible container.
      show(
        'ready',
        `${byDay.totals.tickets} ${byDay.totals.tickets === 1 ? 'ticket' : 'tickets'} entre ${byDay.range.from} y ${byDay.range.to} (${byDay.range.timeZone})`,
      );
      render(byDay, byAgent, byCategory);
    } catch (error) {
      show('error', error instanceof ReportProblem ? error.message : PROBLEMS.unavailable);
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

  const billable = (kpis) => kpis.billable?.messages ?? 0;
  const money = new Intl.NumberFormat('es-CO', { maximumFractionDigits: 4 });
  const cost = (kpis) => (kpis.billable?.estimatedCost == null ? '–' : `${money.format(kpis.billable.estimatedCost)} ${kpis.billable.currency}`);

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
      // What WhatsApp charges (status webhooks' pricing): billable messages, and their cost by WHATSAPP_RATE_CARD.
      ['Mensajes facturables', billable(totals)],
      ['Costo estimado', cost(totals)],
    ]
      .map(([label, value]) => `<div class="card"><b>${escape(value)}</b><span>${label}</span></div>`)
      .join('');

    const days = byDay.groups.map((group) => group.key);
    // A line through one day is a lone dot: one day's figures are bars.
    const trend = days.length > 1 ? 'line' : 'bar';
    const series = (label, data, colour) => ({ label, data, borderColor: colour, backgroundColor: colour });
    draw('tickets', {
      type: 'bar',
      data: {
        labels: days,
        datasets: [
          ...Object.entries(CATEGORIES).map(([key, label]) => ({
            label,
            data: byDay.groups.map((g) => g.kpis.categories[key]),
            backgroundColor: COLOURS[key],
          })),
        ],
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: COUNT_TICKS } } },
    });
    table(
      'tickets',
      ['Día', 'Tickets', 'Reactivación', 'Soporte general'],
      byDay.groups.map((g) => [g.key, g.kpis.tickets, g.kpis.categories.reactivacion_servicio, g.kpis.categories.soporte_agente]),
    );

    draw('times', {
      type: trend,
      data: {
        labels: days,
        datasets: [
          series(
            'Espera hasta el agente',
            byDay.groups.map((g) => g.kpis.handoverWait.medianSeconds),
            COLOURS.wait,
          ),
          series(
            'Primera respuesta',
            byDay.groups.map((g) => g.kpis.agentFirstResponse.medianSeconds),
            COLOURS.firstResponse,
          ),
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
      type: trend,
      data: {
        labels: days,
        datasets: [
          series(
            'Resueltos / cerrados',
            byDay.groups.map((g) => (g.kpis.resolutionRate === null ? null : g.kpis.resolutionRate * 100)),
            COLOURS.resolution,
          ),
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
        datasets: [{ label: 'Calificaciones', data: scores.map((score) => totals.csat.distribution[score]), backgroundColor: COLOURS.csat }],
      },
      options: { scales: { y: { beginAtZero: true, ticks: COUNT_TICKS } } },
    });
    table('csat', ['Calificación', 'Respuestas'], [...scores.map((score) => [score, totals.csat.distribution[score]]), ['Ofrecidas', totals.csat.offered]]);

    draw('category', {
      type: 'doughnut',
      data: {
        labels: byCategory.groups.map((g) => CATEGORIES[g.key] ?? g.key),
        datasets: [
          {
            label: 'Tickets',
            data: byCategory.groups.map((g) => g.kpis.tickets),
            backgroundColor: byCategory.groups.map((g) => COLOURS[g.key] ?? COLOURS.otherCategory),
          },
        ],
      },
    });
    table(
      'category',
      ['Categoría', 'Tickets', 'Resueltos', 'Espera mediana (s)', 'CSAT', 'Facturables'],
      byCategory.groups.map((g) => [
        CATEGORIES[g.key] ?? g.key,
        g.kpis.tickets,
        g.kpis.resolved,
        seconds(g.kpis.handoverWait.medianSeconds),
        g.kpis.csat.average === null ? '–' : fmt.format(g.kpis.csat.average),
        billable(g.kpis),
      ]),
    );

    const agents = byAgent.groups.filter((g) => g.key !== '');
    draw('agents', {
      type: 'bar',
      data: {
        labels: agents.map((g) => g.label || g.key),
        datasets: [
          { label: 'Tickets', data: agents.map((g) => g.kpis.tickets), backgroundColor: COLOURS.agentTickets, yAxisID: 'y' },
          {
            label: 'Primera respuesta mediana (s)',
            data: agents.map((g) => g.kpis.agentFirstResponse.medianSeconds),
            backgroundColor: COLOURS.firstResponse,
            yAxisID: 'y1',
          },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: COUNT_TICKS }, y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } } },
    });
    table(
      'agents',
      ['Agente', 'Tickets', 'Resueltos', 'Primera resp. mediana (s)', 'CSAT', 'Facturables'],
      agents.map((g) => [
        g.label || g.key,
        g.kpis.tickets,
        g.kpis.resolved,
        seconds(g.kpis.agentFirstResponse.medianSeconds),
        g.kpis.csat.average === null ? '–' : fmt.format(g.kpis.csat.average),
        billable(g.kpis),
      ]),
    );

    const reasons = Object.keys(REASONS);
    draw('reasons', {
      type: 'bar',
      data: {
        labels: reasons.map((reason) => REASONS[reason]),
        datasets: [{ label: 'Tickets cerrados', data: reasons.map((reason) => totals.closeReasons[reason]), backgroundColor: COLOURS.closeReasons }],
      },
      options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: COUNT_TICKS } } },
    });
    table(
      'reasons',
      ['Motivo', 'Tickets'],
      reasons.map((reason) => [REASONS[reason], totals.closeReasons[reason]]),
    );
  }

  init();
})();
