// tfmq live dashboard: listens to /events (Server-Sent Events) and redraws canvas charts. No build step.
(function () {
  'use strict';
  const state = { quality: [], progress: null, disturbance: null, selection: null, events: 0, status: null };
  const num = v => (typeof v === 'string' ? parseFloat(v) : v);
  const fmt = v => { v = num(v); return v === undefined || v === null || isNaN(v) ? '–' : (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(3) : v.toFixed(4)); };
  const colors = { fp: '#2680c2', quantized: '#e12d39' };

  function axes(ctx, w, h, pad, x0, x1, y0, y1) {
    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = '#9aa5b1'; ctx.lineWidth = 1; ctx.beginPath();
    ctx.moveTo(pad, 8); ctx.lineTo(pad, h - pad); ctx.lineTo(w - 8, h - pad); ctx.stroke();
    ctx.fillStyle = '#52606d'; ctx.font = '10px sans-serif';
    ctx.fillText(fmt(y1), 2, 14); ctx.fillText(fmt(y0), 2, h - pad);
    ctx.fillText(String(Math.round(x0)), pad, h - pad + 12); ctx.fillText(String(Math.round(x1)), w - 40, h - pad + 12);
  }

  function lineChart(id, series, xlabel) {
    const c = document.getElementById(id); const ctx = c.getContext('2d'); const w = c.width, h = c.height, pad = 40;
    let xs = [], ys = [];
    series.forEach(s => s.points.forEach(p => { xs.push(p.x); [p.y, p.lo, p.hi].forEach(v => { if (isFinite(v)) ys.push(v); }); }));
    if (xs.length === 0) { ctx.clearRect(0, 0, w, h); ctx.fillText('waiting for data…', pad, h / 2); c.dataset.points = 0; return; }
    let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    if (x1 === x0) { x1 = x0 + 1; } if (y1 === y0) { y1 = y0 + Math.abs(y0) * 0.1 + 1e-9; }
    const X = x => pad + (x - x0) / (x1 - x0) * (w - pad - 10), Y = y => h - pad - (y - y0) / (y1 - y0) * (h - pad - 10);
    axes(ctx, w, h, pad, x0, x1, y0, y1);
    ctx.fillText(xlabel, w / 2 - 20, h - 4);
    let count = 0;
    series.forEach((s, i) => {
      const pts = s.points.filter(p => isFinite(p.y));
      if (pts.some(p => isFinite(p.lo) && isFinite(p.hi))) {
        ctx.fillStyle = s.color + '33'; ctx.beginPath();
        pts.forEach((p, j) => j === 0 ? ctx.moveTo(X(p.x), Y(p.hi)) : ctx.lineTo(X(p.x), Y(p.hi)));
        for (let j = pts.length - 1; j >= 0; j--) ctx.lineTo(X(pts[j].x), Y(pts[j].lo));
        ctx.closePath(); ctx.fill();
      }
      ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.setLineDash(s.dash || []); ctx.beginPath();
      pts.forEach((p, j) => j === 0 ? ctx.moveTo(X(p.x), Y(p.y)) : ctx.lineTo(X(p.x), Y(p.y)));
      ctx.stroke(); ctx.setLineDash([]);
      pts.forEach(p => { ctx.fillStyle = s.color; ctx.fillRect(X(p.x) - 2, Y(p.y) - 2, 4, 4); });
      ctx.fillStyle = s.color; ctx.fillText(s.name, w - 90, 16 + 12 * i);
      count += pts.length;
    });
    c.dataset.points = count;
  }

  function qualityCharts() {
    ['fid', 'sfid', 'kid'].forEach(metric => {
      const series = ['fp', 'quantized'].map(side => ({
        name: side, color: colors[side],
        points: state.quality.filter(q => q[side] && q[side][metric]).map(q => ({
          x: q.n, y: num(q[side][metric].value), lo: num(q[side][metric].low), hi: num(q[side][metric].high) }))
      }));
      lineChart('chart-' + metric, series, 'samples');
    });
    const last = state.quality[state.quality.length - 1];
    const tb = document.querySelector('#paired tbody'); tb.innerHTML = '';
    if (last) {
      const rows = Object.entries(last.paired || {}).map(([k, e]) => [k, e]).concat(Object.entries(last.fpVsQuantized || {}).map(([k, e]) => ['FP-vs-quantized ' + k, e]));
      rows.forEach(([k, e]) => { const tr = tb.insertRow(); tr.insertCell().textContent = k;
        tr.insertCell().textContent = fmt(e.value) + ' [' + fmt(e.low) + ', ' + fmt(e.high) + '] n=' + e.n; });
    }
  }

  function heatmap() {
    const t = state.disturbance; const c = document.getElementById('heatmap'); const ctx = c.getContext('2d');
    ctx.clearRect(0, 0, c.width, c.height);
    if (!t) return;
    const members = t.members, steps = t.timesteps.length, left = 190, top = 4, bottom = 20;
    const cw = (c.width - left - 6) / steps, ch = (c.height - top - bottom) / members.length;
    let max = 0; const v = (j, k) => t.observations[k] ? num(t.temporalRelSum[j][k]) / t.observations[k] : NaN;
    members.forEach((m, j) => { for (let k = 0; k < steps; k++) { const x = v(j, k); if (isFinite(x)) max = Math.max(max, x); } });
    ctx.font = '9px sans-serif';
    let cells = 0;
    members.forEach((m, j) => {
      ctx.fillStyle = '#333'; ctx.fillText(m.replace('.time_emb_proj', ''), 2, top + j * ch + ch * 0.75);
      for (let k = 0; k < steps; k++) {
        const x = v(j, k); if (!isFinite(x)) continue;
        const a = max > 0 ? x / max : 0;
        ctx.fillStyle = 'rgb(' + Math.round(255 * a) + ',' + Math.round(80 + 100 * (1 - a)) + ',' + Math.round(255 * (1 - a)) + ')';
        ctx.fillRect(left + k * cw, top + j * ch, Math.ceil(cw), Math.ceil(ch)); cells++;
      }
    });
    ctx.fillStyle = '#333'; ctx.fillText('step 0 (t=' + t.timesteps[0] + ')', left, c.height - 6);
    ctx.fillText('step ' + (steps - 1) + ' (t=' + t.timesteps[steps - 1] + ')  max ' + fmt(max), c.width - 190, c.height - 6);
    c.dataset.cells = cells;
    const per = (sum, cnt) => sum.map((s, k) => ({ x: k, y: cnt[k] ? num(s) / cnt[k] : NaN }));
    lineChart('chart-steps', [
      { name: 'ε rel L2', color: '#e12d39', points: per(t.epsSum, t.samples) },
      { name: 'traj RMS', color: '#2680c2', dash: [6, 3], points: per(t.trajSum, t.samples) },
      { name: 'one-step', color: '#3ebd93', dash: [2, 3], points: per(t.oneStepSum, t.probes) }], 'sampling step');
  }

  function selection() {
    const s = state.selection; const tb = document.querySelector('#selection tbody'); tb.innerHTML = '';
    if (!s) return;
    Object.entries(s.table.perMember).forEach(([m, choice]) => {
      const tr = tb.insertRow(); tr.insertCell().textContent = m; tr.insertCell().textContent = choice;
      tr.insertCell().textContent = Object.entries(s.table.measured[m] || {}).map(([c, v]) => c + ' ' + fmt(v)).join(', ');
      tr.insertCell().textContent = s.live && s.live[m] !== undefined ? fmt(s.live[m]) : '–';
    });
    onlineSelection(s.online);
  }

  // a table selected by the output error, revised as batches are committed: per step its serving and evidence
  function onlineSelection(o) {
    const box = document.getElementById('online'); if (!o) { box.hidden = true; return; }
    box.hidden = false;
    document.getElementById('online-rule').textContent = '(flip when the ' + Math.round(100 * num(o.confidence)) + ' % interval of the mean difference excludes 0, n ≥ '
      + o.minSamples + ', at most once per step; applies ' + o.delayBatches + ' batches after the commit that decides it)';
    document.getElementById('online-revisions').textContent = o.revisions.length === 0 ? 'no revisions yet' : o.revisions.length + ' revisions: '
      + o.revisions.map(r => 't=' + r.timestep + ' ' + r.from + '→' + r.to + ' (batch ' + r.fromBatch + ')').join(', ');
    const tb = document.querySelector('#online-steps tbody'); tb.innerHTML = '';
    o.steps.forEach(r => {
      const tr = tb.insertRow(); if (r.revised) tr.className = 'revised';
      [r.step, r.timestep, r.choice + (r.revised ? ' (revised)' : ''), r.n, r.n ? fmt(r.meanTib) : '–', r.n ? fmt(r.meanCache) : '–',
        r.n > 1 ? '[' + fmt(r.low) + ', ' + fmt(r.high) + ']' : '–'].forEach(v => { tr.insertCell().textContent = String(v); });
    });
    tb.dataset.rows = o.steps.length; tb.dataset.revisions = o.revisions.length;
  }

  function progress() {
    const p = state.progress; if (!p) return;
    document.getElementById('progress-bar').style.width = (100 * p.samplesDone / p.totalSamples) + '%';
    const eff = num(p.forwardBoundRate) > 0 ? ' (' + (100 * num(p.samplesPerSecond) / num(p.forwardBoundRate)).toFixed(0) + '% of the forward-pass bound ' + fmt(p.forwardBoundRate) + '/s)' : '';
    document.getElementById('progress-text').textContent = p.samplesDone + ' / ' + p.totalSamples + ' samples per side, batch ' + p.batchesDone + '/' + p.totalBatches
      + ' · ' + fmt(p.samplesPerSecond) + ' samples/s' + eff + ' · ETA ' + (isFinite(num(p.etaSeconds)) ? Math.round(num(p.etaSeconds)) + ' s' : '–');
  }

  // cluster runs only: one row per node, live
  function members() {
    const m = state.members; if (!m) return;
    document.getElementById('cluster').hidden = false;
    const tb = document.querySelector('#members tbody'); tb.innerHTML = '';
    m.members.forEach(n => {
      const tr = tb.insertRow();
      [n.address, (n.roles || []).join(', '), n.status, n.batchesDone, n.samplesDone, n.batchesHeld, fmt(n.samplesPerSecond)]
        .forEach(v => { tr.insertCell().textContent = String(v); });
    });
    tb.dataset.rows = m.members.length;
  }

  const handlers = {
    members: d => { state.members = d; members(); },
    quality: d => { state.quality.push(d); qualityCharts(); },
    progress: d => { state.progress = d; progress(); },
    disturbance: d => { state.disturbance = d; heatmap(); },
    selection: d => { state.selection = d; selection(); },
    grids: d => { document.getElementById('grid-fp').src = 'data:image/png;base64,' + d.fpPngBase64;
      document.getElementById('grid-q').src = 'data:image/png;base64,' + d.quantizedPngBase64; state.grids = d.batch; },
    status: d => { state.status = d.phase; document.getElementById('status').textContent = d.phase + ': ' + d.detail; },
    summary: d => { state.status = 'finished'; document.getElementById('status').textContent = 'finished: gate ' + (d.gate ? d.gate.verdict : '?'); }
  };

  fetch('api/info').then(r => r.json()).then(i => { document.getElementById('run').textContent = i.run; document.getElementById('recipe').textContent = i.recipe; });
  const es = new EventSource('events');
  Object.keys(handlers).forEach(k => es.addEventListener(k, e => { state.events++; handlers[k](JSON.parse(e.data)); }));
  es.onerror = () => { if (state.status !== 'finished') document.getElementById('status').textContent = 'disconnected; retrying…'; };

  // For tests and curious users: what the page has drawn so far.
  window.tfmq = {
    state: state,
    qualityPoints: () => state.quality.length,
    chartPoints: () => ['chart-fid', 'chart-sfid', 'chart-kid', 'chart-steps'].reduce((a, id) => a + (parseInt(document.getElementById(id).dataset.points || '0')), 0),
    heatmapCells: () => parseInt(document.getElementById('heatmap').dataset.cells || '0'),
    samplesDone: () => state.progress ? state.progress.samplesDone : 0,
    memberRows: () => parseInt(document.querySelector('#members tbody').dataset.rows || '0'),
    onlineRevisions: () => parseInt(document.querySelector('#online-steps tbody').dataset.revisions || '0')
  };
})();
