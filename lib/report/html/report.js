// report.js: draws heapwarden's HTML report from the JSON in #hw-data (built by
// lib/report/html_page_data.cc): header and verdict, flame graphs with zoom and search,
// the timeline, and sortable tables. Runs once when the page opens; builds only what is
// on screen (the visible part of a flame graph, the first rows of a table), so a report
// with 100k sites still opens in seconds. Any error is written into the page
// (#hw-error, data-hw-error on <html>) so that a headless browser test can see it.
'use strict';
(function () {
  const started = performance.now();
  const root = document.documentElement;

  function fail(message) {
    root.dataset.hwError = message;
    let box = document.getElementById('hw-error');
    if (!box) {
      box = document.createElement('div');
      box.id = 'hw-error';
      document.body.insertBefore(box, document.body.firstChild);
    }
    box.textContent = 'HW-JS-ERROR: ' + message;
  }
  window.addEventListener('error', (e) => fail(e.message + ' (line ' + e.lineno + ')'));

  // ---- small helpers -------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const k in attrs) {
        if (k === 'class') node.className = attrs[k];
        else if (k === 'text') node.textContent = attrs[k];
        else if (k.startsWith('on')) node.addEventListener(k.slice(2), attrs[k]);
        else node.setAttribute(k, attrs[k]);
      }
    }
    for (const c of children) {
      if (c !== null && c !== undefined) node.append(c);
    }
    return node;
  }
  const SVG = 'http://www.w3.org/2000/svg';  // a namespace name, never fetched
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) node.setAttribute(k, attrs[k]);
    return node;
  }

  function bytes(n) {
    if (n === null || n === undefined || !isFinite(n)) return '\u2013';
    const sign = n < 0 ? '-' : '';
    let v = Math.abs(n);
    if (v < 1024) return sign + v + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let u = -1;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return sign + v.toFixed(v < 10 ? 2 : 1) + ' ' + units[u];
  }
  function count(n) {
    if (n === null || n === undefined || !isFinite(n)) return '\u2013';
    return Math.round(n).toLocaleString('en-US');
  }
  function seconds(s) {
    if (s === null || s === undefined || !isFinite(s)) return '\u2013';
    if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : 0) + ' ms';
    if (s < 120) return s.toFixed(2) + ' s';
    return (s / 60).toFixed(1) + ' min';
  }
  function pct(part, whole) {
    if (!whole) return '';
    const p = 100 * part / whole;
    return (p >= 10 ? p.toFixed(0) : p.toFixed(1)) + '%';
  }
  const plural = (n, word) => count(n) + ' ' + word + (n === 1 ? '' : 's');
  const num = (v) => (typeof v === 'number' && isFinite(v) ? v : 0);

  // ---- the data --------------------------------------------------------------------

  const D = JSON.parse(document.getElementById('hw-data').textContent);
  // The tree's parents arrive as distances (node - parent: mostly 1, so the JSON is small).
  const names = D.names, nn = D.nn, np = Int32Array.from(D.np, (d, i) => i - d);
  const nodeCount = np.length;
  const P = D.process || {}, T = D.totals || {};
  const complete = P.complete !== false;

  function nodeName(i) { return i === 0 ? 'all' : names[nn[i]]; }
  // A stack as innermost-first names (the way a stack trace reads).
  function stackOf(node) {
    const out = [];
    for (let i = node; i > 0; i = np[i]) out.push(nn[i]);
    return out;
  }

  // ---- header ----------------------------------------------------------------------

  function leakTotals() {
    const L = D.leaks, t = { direct: [0, 0], indirect: [0, 0], reachable: [0, 0], suppressed: [0, 0] };
    for (let i = 0; i < L.node.length; i++) {
      const k = L.suppressed[i] ? 'suppressed' : (t[L.kind[i]] ? L.kind[i] : 'direct');
      t[k][0] += num(L.bytes[i]);
      t[k][1] += num(L.blocks[i]);
    }
    return t;
  }

  function drawHeader() {
    const h = document.getElementById('hw-header');
    const argv = (P.argv || []).join(' ');
    h.append(el('h1', null, 'heapwarden ', el('span', { class: 'cmd', text: argv || P.exe || '' })));
    const facts = el('div', { class: 'hw-facts' });
    const fact = (t) => facts.append(el('span', { text: t }));
    if (P.pid !== undefined) fact('pid ' + P.pid);
    if (P.exe) fact(P.exe);
    if (P.signal !== undefined && P.signal !== null) fact('killed by signal ' + P.signal);
    else if (P.exit_status !== undefined && P.exit_status !== null) fact('exit status ' + P.exit_status);
    fact((P.backend || 'system') + ' allocator');
    fact((P.mode || 'exact') + ' mode');
    if (!complete) fact('snapshot of a running process');
    if (D.meta && D.meta.report_time) fact('ran ' + seconds(D.meta.report_time));
    if (D.meta && D.meta.version) fact('heapwarden ' + D.meta.version);
    h.append(facts);

    const lt = leakTotals();
    const leaked = lt.direct[0] + lt.indirect[0];
    let verdict;
    if (leaked > 0) {
      verdict = el('div', { class: 'hw-verdict bad',
        text: 'Leaked ' + bytes(leaked) + ' in ' + plural(lt.direct[1] + lt.indirect[1], 'block') +
              ' (direct ' + bytes(lt.direct[0]) + ', indirect ' + bytes(lt.indirect[0]) + ')' });
    } else {
      verdict = el('div', { class: 'hw-verdict good', text: complete ? 'No leaks' : 'No leaks so far' });
    }
    const notes = [];
    if (lt.reachable[0] > 0) notes.push(bytes(lt.reachable[0]) + ' still reachable at exit (not leaks)');
    if (lt.suppressed[0] > 0) notes.push(bytes(lt.suppressed[0]) + ' suppressed');
    const top = topPeakFunction();
    if (top) notes.push('peak ' + bytes(T.peak_live_bytes) + ': ' + top);
    if (P.signal === 9) {
      verdict.className = 'hw-verdict bad';
      notes.unshift('killed by SIGKILL' + (num(T.peak_rss_bytes) > 0 ? ': likely the OOM killer' : ''));
    }
    const errors = Object.keys(D.errors || {}).map((k) => D.errors[k] + ' ' + k.replace('_', ' '));
    if (errors.length) {
      if (leaked === 0) verdict.className = 'hw-verdict warn';
      notes.push(errors.join(', '));
    }
    if (notes.length) verdict.append(el('span', { class: 'hw-note', text: '\u2014 ' + notes.join('; ') }));
    h.append(verdict);

    const cards = el('div', { class: 'hw-cards' });
    const card = (value, label) => cards.append(el('div', { class: 'hw-card' },
      el('div', { class: 'v', text: value }), el('div', { class: 'l', text: label })));
    card(bytes(T.peak_live_bytes), 'peak live heap at ' + seconds(T.peak_time));
    card(bytes(T.live_bytes), (complete ? 'live at exit' : 'live now') + ', ' + plural(num(T.live_blocks), 'block'));
    card(bytes(T.bytes_allocated), 'allocated in ' + plural(num(T.allocations), 'allocation'));
    card(bytes(T.peak_rss_bytes), 'peak RSS');
    card(bytes(T.rss_bytes), complete ? 'RSS at exit' : 'RSS now');
    card(bytes(T.retained_bytes), 'retained by the allocator');
    card(count(D.sites.node.length), 'call sites');
    h.append(cards);
  }

  // The function holding most of the peak, by the innermost frame of each peak site --
  // or, in a Python program, its innermost Python line: the user's code, not numpy's.
  function holderName(node) {
    for (let i = node; i > 0; i = np[i]) if (D.kind[nn[i]] === 1) return nodeName(i);
    return nodeName(node);
  }
  function topPeakFunction() {
    const byName = new Map();
    const pk = D.peak;
    for (let i = 0; i < pk.node.length; i++) {
      const n = pk.node[i] > 0 ? holderName(pk.node[i]) : '(no stack)';
      byName.set(n, (byName.get(n) || 0) + num(pk.live_bytes[i]));
    }
    let best = null, bestV = 0;
    for (const [n, v] of byName) if (v > bestV) { best = n; bestV = v; }
    return best === null ? '' : best + ' ' + bytes(bestV) + ' (' + pct(bestV, num(D.peak.total_bytes) || num(T.peak_live_bytes)) + ')';
  }

  // ---- flame graphs ----------------------------------------------------------------

  // The width the flame graph and the timeline fill, measured while the page is still
  // empty: asking later would make the browser lay out thousands of boxes mid-script.
  let widthCache = 0;
  function contentWidth() {
    if (!widthCache) widthCache = document.getElementById('hw-flame').clientWidth || 1200;
    return widthCache;
  }

  // Children of each node of a tree given by its parent array, as CSR arrays.
  function childLists(parent) {
    const n = parent.length, start = new Int32Array(n + 1), list = new Int32Array(Math.max(n - 1, 0));
    for (let i = 1; i < n; i++) start[parent[i] + 1]++;
    for (let i = 0; i < n; i++) start[i + 1] += start[i];
    const fill = start.slice(0, n);
    for (let i = 1; i < n; i++) list[fill[parent[i]]++] = i;
    return { start, list };
  }
  const topDownKids = childLists(np);

  const leakTot = leakTotals();
  const leaksOnly = leakTot.direct[0] + leakTot.indirect[0] > 0;
  const measures = [
    { id: 'peak', label: 'Peak', caption: () => 'Live at the peak (' + seconds(num(D.peak.time)) + ')',
      rows: () => [D.peak.node, D.peak.live_bytes, D.peak.tag] },
    { id: 'live', label: complete ? 'Live at exit' : 'Live now', caption: () => complete ? 'Live when the process exited' : 'Live when the snapshot was taken',
      rows: () => [D.sites.node, D.sites.live_bytes, D.sites.tag] },
    { id: 'alloc', label: 'Allocated', caption: () => 'Allocated over the whole run (freed or not)',
      rows: () => [D.sites.node, D.sites.bytes_allocated, D.sites.tag] },
    { id: 'leaks', label: 'Leaks',
      caption: () => leaksOnly ? 'Leaked at exit (direct and indirect, not suppressed)' : 'No leaks; showing what was still reachable at exit (not leaks)',
      rows: () => {
        const L = D.leaks, nodes = [], values = [], tags = [];
        for (let i = 0; i < L.node.length; i++) {
          if (L.suppressed[i]) continue;
          if (leaksOnly ? L.kind[i] === 'reachable' : L.kind[i] !== 'reachable') continue;
          nodes.push(L.node[i]); values.push(L.bytes[i]); tags.push(L.tag[i]);
        }
        return [nodes, values, tags];
      } },
  ];

  // A tree to draw: parent and name per node, children lists, and a value per node
  // (the sum of its subtree). Top-down trees share D's structure; bottom-up trees are
  // built from the rows, innermost frame first.
  function topDownTree(nodes, values) {
    const val = new Float64Array(nodeCount);
    for (let i = 0; i < nodes.length; i++) val[nodes[i]] += num(values[i]);
    for (let i = nodeCount - 1; i > 0; i--) val[np[i]] += val[i];  // parents precede children
    return { parent: np, name: nn, kids: topDownKids, val };
  }
  // Any other view is a trie of name paths built from the rows: bottom-up (innermost
  // frame first, heaptrack's view) and/or under one top box per tag.
  function pathTree(nodes, values, tags, invert, byTag) {
    if (byTag) D.tags.forEach((t, i) => tagName(i));  // before `width` is taken
    const parent = [-1], name = [-1], v = [0], index = new Map();
    const width = names.length + 1;  // keys are parent * width + name: no two alike
    const path = [];
    for (let r = 0; r < nodes.length; r++) {
      const value = num(values[r]);
      if (value === 0) continue;
      path.length = 0;
      for (let i = nodes[r]; i > 0; i = np[i]) path.push(nn[i]);  // innermost first
      if (!invert) path.reverse();
      if (byTag) path.unshift(tagName(tags[r]));
      let at = 0;
      v[0] += value;
      for (const n of path) {
        const key = at * width + n;
        let child = index.get(key);
        if (child === undefined) {
          child = parent.length;
          index.set(key, child);
          parent.push(at); name.push(n); v.push(0);
        }
        v[child] += value;
        at = child;
      }
    }
    return { parent, name, kids: childLists(parent), val: Float64Array.from(v) };
  }

  // Tags become names of their own (kind 3) so that a tag can head a path.
  const tagNames = new Map();
  function tagName(tagIndex) {
    let n = tagNames.get(tagIndex);
    if (n === undefined) {
      n = names.length;
      names.push('tag: ' + (D.tags[tagIndex] || '(none)'));
      D.kind.push(3);
      D.where.push('');
      tagNames.set(tagIndex, n);
    }
    return n;
  }

  const flame = {
    measure: measures[0], invert: false, byTag: false, zoom: 0, tree: null, cache: new Map(),
    hits: null, query: '',
  };

  function currentTree() {
    const key = flame.measure.id + (flame.invert ? '/up' : '/down') + (flame.byTag ? '/tag' : '');
    let tree = flame.cache.get(key);
    if (!tree) {
      const [nodes, values, tags] = flame.measure.rows();
      tree = flame.invert || flame.byTag ? pathTree(nodes, values, tags, flame.invert, flame.byTag)
                                         : topDownTree(nodes, values);
      flame.cache.set(key, tree);
    }
    return tree;
  }

  // Warm colours for native code, blue for Python lines, grey for frames with no symbol,
  // green for tags;
  // the shade comes from the name, so one function keeps its colour everywhere.
  function colour(nameIndex) {
    const s = names[nameIndex];
    let h = 0;
    for (let i = 0; i < s.length && i < 40; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    const r = ((h >>> 0) % 1000) / 1000;
    const kind = D.kind[nameIndex];
    if (kind === 1) return 'hsl(' + (195 + r * 30).toFixed(0) + ',65%,' + (68 + r * 10).toFixed(0) + '%)';
    if (kind === 2) return 'hsl(220,8%,' + (72 + r * 10).toFixed(0) + '%)';
    if (kind === 3) return 'hsl(' + (140 + r * 40).toFixed(0) + ',45%,' + (70 + r * 10).toFixed(0) + '%)';
    return 'hsl(' + (12 + r * 34).toFixed(0) + ',85%,' + (62 + r * 12).toFixed(0) + '%)';
  }

  function searchHits(query) {
    if (!query) return null;
    let test;
    const m = /^\/(.*)\/([a-z]*)$/.exec(query);
    if (m) {
      try { const re = new RegExp(m[1], m[2].includes('i') ? 'i' : ''); test = (s) => re.test(s); }
      catch (e) { return null; }
    } else {
      const q = query.toLowerCase();
      test = (s) => s.toLowerCase().includes(q);
    }
    const hits = new Uint8Array(names.length);
    for (let i = 0; i < names.length; i++) hits[i] = test(names[i]) ? 1 : 0;
    return hits;
  }

  const ROW = 18;
  function drawFlame() {
    const box = document.getElementById('hw-flame');
    const tree = currentTree();
    const { parent, name, kids, val } = tree;
    const total = val[0];
    box.textContent = '';
    const caption = document.getElementById('hw-flame-caption');
    caption.textContent = '';
    caption.append(flame.measure.caption() + ': ', el('b', { text: bytes(total) }),
      (flame.byTag ? ' \u2014 one box per tag at the top' : '') +
      (flame.invert ? ' \u2014 bottom-up: the allocating function at the top, its callers below' :
        ' \u2014 callers at the top, the allocating function at the bottom; click to zoom'));
    if (total <= 0) {
      box.append(el('div', { class: 'hw-empty', text: 'Nothing to show here.' }));
      box.style.height = '';
      updateMatch(tree);
      return;
    }
    if (flame.zoom >= val.length || val[flame.zoom] <= 0) flame.zoom = 0;
    const width = contentWidth();
    const frag = document.createDocumentFragment();
    const hits = flame.hits;
    let maxDepth = 0;

    function add(i, x, w, depth, cls) {
      const d = document.createElement('div');
      d.className = 'fn' + cls + (i > 0 && hits && hits[name[i]] ? ' hit' : '');
      d.style.left = x.toFixed(1) + 'px';
      d.style.width = Math.max(w - 1, 1).toFixed(1) + 'px';
      d.style.top = (depth * ROW) + 'px';
      if (i > 0) d.style.background = colour(name[i]);
      d.dataset.n = i;
      // A box too narrow to show a letter gets no text: laying out the text of thousands
      // of invisible boxes is what would make a big report slow to open. (The search box
      // still finds them, and the tooltip names them.)
      if (w >= 10) d.textContent = i === 0 ? 'all (' + bytes(total) + ')' : names[name[i]];
      frag.append(d);
      if (depth > maxDepth) maxDepth = depth;
    }

    // The zoomed node's ancestors, full width, dimmed.
    const path = [];
    for (let i = flame.zoom; i >= 0; i = parent[i]) { path.push(i); if (i === 0) break; }
    path.reverse();
    for (let d = 0; d < path.length - 1; d++) add(path[d], 0, width, d, path[d] === 0 ? ' root anc' : ' anc');

    // The zoomed subtree, children biggest first; anything under 1 px is left out.
    const scale = width / val[flame.zoom];
    const stack = [[flame.zoom, 0, path.length - 1]];
    let drawn = 0;
    while (stack.length) {
      const [i, x, depth] = stack.pop();
      const w = val[i] * scale;
      add(i, x, w, depth, i === 0 ? ' root' : '');
      drawn++;
      const children = [];
      for (let k = kids.start[i]; k < kids.start[i + 1]; k++) {
        const c = kids.list[k];
        if (val[c] * scale >= 1) children.push(c);
      }
      children.sort((a, b) => val[b] - val[a]);
      let cx = x;
      for (const c of children) {
        stack.push([c, cx, depth + 1]);
        cx += val[c] * scale;
      }
    }
    box.style.height = ((maxDepth + 1) * ROW + 2) + 'px';
    box.append(frag);
    box.dataset.drawn = drawn;
    updateMatch(tree);
  }

  function updateMatch(tree) {
    const out = document.getElementById('hw-match');
    if (!flame.hits) { out.textContent = ''; return; }
    const { parent, name, val } = tree;
    // Sum each matching node whose ancestors do not match, so nothing counts twice.
    const covered = new Uint8Array(val.length);
    let sum = 0;
    for (let i = 1; i < val.length; i++) {
      const hit = flame.hits[name[i]];
      if (hit && !covered[parent[i]]) sum += val[i];
      covered[i] = covered[parent[i]] || hit;
    }
    out.textContent = 'matched ' + bytes(sum) + ' (' + (pct(sum, val[0]) || '0%') + ')';
  }

  // The view can be chosen by the address's fragment, to share a link or to test:
  // "#live,bottom-up,by-tag,search=Load" (a measure id, the two switches, a search).
  function viewFromHash() {
    for (const part of decodeURIComponent(location.hash.slice(1)).split(',')) {
      const m = measures.find((x) => x.id === part);
      if (m) flame.measure = m;
      else if (part === 'bottom-up') flame.invert = document.getElementById('hw-invert').checked = true;
      else if (part === 'by-tag') flame.byTag = document.getElementById('hw-by-tag').checked = true;
      else if (part.startsWith('search=')) {
        document.getElementById('hw-search').value = part.slice(7);
        flame.hits = searchHits(part.slice(7));
      }
    }
  }

  function setupFlame() {
    viewFromHash();
    const tabs = document.getElementById('hw-flame-tabs');
    for (const m of measures) {
      const b = el('button', { type: 'button', text: m.label });
      b.addEventListener('click', () => {
        flame.measure = m; flame.zoom = 0;
        for (const other of tabs.children) other.classList.toggle('on', other === b);
        drawFlame();
      });
      if (m === flame.measure) b.classList.add('on');
      tabs.append(b);
    }
    document.getElementById('hw-by-tag').addEventListener('change', (e) => {
      flame.byTag = e.target.checked; flame.zoom = 0; drawFlame();
    });
    document.getElementById('hw-invert').addEventListener('change', (e) => {
      flame.invert = e.target.checked; flame.zoom = 0; drawFlame();
    });
    const search = document.getElementById('hw-search');
    let timer = 0;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { flame.hits = searchHits(search.value.trim()); drawFlame(); }, 150);
    });
    document.getElementById('hw-reset').addEventListener('click', () => { flame.zoom = 0; drawFlame(); });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && flame.zoom !== 0) { flame.zoom = 0; drawFlame(); }
    });
    const box = document.getElementById('hw-flame');
    const tip = document.getElementById('hw-tooltip');
    box.addEventListener('click', (e) => {
      const t = e.target.closest('.fn');
      if (!t) return;
      flame.zoom = Number(t.dataset.n);
      drawFlame();
    });
    box.addEventListener('mousemove', (e) => {
      const t = e.target.closest('.fn');
      if (!t) { tip.hidden = true; return; }
      const tree = currentTree(), i = Number(t.dataset.n), v = tree.val[i];
      tip.textContent = '';
      const label = i === 0 ? 'all' : names[tree.name[i]];
      tip.append(el('div', { class: 't', text: label }),
        el('div', { text: bytes(v) + ' \u00b7 ' + pct(v, tree.val[0]) + ' of the total' +
          (flame.zoom > 0 ? ' \u00b7 ' + pct(v, tree.val[flame.zoom]) + ' of the zoom' : '') }));
      if (i > 0 && D.where[tree.name[i]]) tip.append(el('div', { class: 'w', text: D.where[tree.name[i]] }));
      tip.hidden = false;
      const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
      tip.style.left = Math.max(x, 4) + 'px';
      tip.style.top = (e.clientY + 16) + 'px';
    });
    box.addEventListener('mouseleave', () => { tip.hidden = true; });
    let resize = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resize);
      resize = setTimeout(() => { widthCache = 0; drawFlame(); drawTimeline(); }, 200);
    });
  }

  // ---- timeline --------------------------------------------------------------------

  function niceStep(range, ticks) {
    const raw = range / ticks, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * mag) return m * mag;
    return 10 * mag;
  }
  function niceBytesStep(range, ticks) {
    let unit = 1;
    while (range / unit >= 1024 * ticks && unit < Math.pow(1024, 4)) unit *= 1024;
    return niceStep(range / unit, ticks) * unit;
  }

  function drawTimeline() {
    const box = document.getElementById('hw-timeline');
    box.textContent = '';
    const TL = D.timeline;
    const pts = [];
    for (let i = 0; i < TL.t.length; i++) pts.push([num(TL.t[i]), num(TL.live[i]), num(TL.rss[i])]);
    // The exact peak is between samples: put it in so the curve reaches it.
    if (T.peak_time !== undefined && num(T.peak_live_bytes) > 0) pts.push([num(T.peak_time), num(T.peak_live_bytes), null]);
    const endT = num(D.meta && D.meta.report_time);
    if (endT > 0) pts.push([endT, num(T.live_bytes), num(T.rss_bytes)]);
    pts.sort((a, b) => a[0] - b[0]);
    if (pts.length < 2) {
      box.append(el('div', { class: 'hw-empty', text: 'No timeline: the run was shorter than one sampling interval.' }));
      return;
    }
    const W = contentWidth(), H = 230, L = 70, R = 16, Tp = 18, B = 26;
    const tMax = Math.max(pts[pts.length - 1][0], 1e-9);
    let yMax = 1;
    for (const p of pts) yMax = Math.max(yMax, p[1], p[2] || 0);
    const step = niceBytesStep(yMax, 4);
    yMax = Math.ceil(yMax / step) * step;
    const X = (t) => L + (W - L - R) * t / tMax, Y = (v) => Tp + (H - Tp - B) * (1 - v / yMax);
    const s = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
    for (let v = 0; v <= yMax + step / 2; v += step) {
      s.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
      const t = svg('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end' });
      t.textContent = bytes(v);
      s.append(t);
    }
    const ts = niceStep(tMax, 8);
    for (let t = 0; t <= tMax + ts / 100; t += ts) {
      const x = X(t);
      s.append(svg('line', { class: 'axis', x1: x, x2: x, y1: H - B, y2: H - B + 4 }));
      const label = svg('text', { x: x, y: H - B + 16, 'text-anchor': 'middle' });
      label.textContent = seconds(t);
      s.append(label);
    }
    s.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    // Many samples: keep the highest per pixel column, which is what the eye reads.
    function series(k) {
      const out = [];
      let col = -1, best = null;
      for (const p of pts) {
        if (p[k] === null) continue;
        const c = Math.round(X(p[0]));
        if (c !== col) { if (best) out.push(best); col = c; best = p; } else if (p[k] > best[k]) best = p;
      }
      if (best) out.push(best);
      return out;
    }
    const live = series(1), rss = series(2);
    let d = 'M' + X(live[0][0]).toFixed(1) + ',' + Y(0);
    for (const p of live) d += 'L' + X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1);
    d += 'L' + X(live[live.length - 1][0]).toFixed(1) + ',' + Y(0) + 'Z';
    s.append(svg('path', { class: 'live', d }));
    if (rss.length > 1) {
      s.append(svg('polyline', { class: 'rss', points: rss.map((p) => X(p[0]).toFixed(1) + ',' + Y(p[2]).toFixed(1)).join(' ') }));
    }
    function mark(t, cls, label, anchorY) {
      const x = X(t);
      s.append(svg('line', { class: cls, x1: x, x2: x, y1: Tp, y2: H - B }));
      const text = svg('text', { class: 'mark', x: x + 4, y: anchorY });
      text.textContent = label;
      if (x > W * 0.75) { text.setAttribute('x', x - 4); text.setAttribute('text-anchor', 'end'); }
      s.append(text);
    }
    if (num(T.peak_live_bytes) > 0) {
      mark(num(T.peak_time), 'peak', 'peak ' + bytes(T.peak_live_bytes), Tp + 10);
      s.append(svg('circle', { cx: X(num(T.peak_time)), cy: Y(num(T.peak_live_bytes)), r: 3.5, fill: '#b3261e' }));
    }
    for (const tr of D.trims) {
      mark(num(tr[0]), 'trim', 'trim \u2212' + bytes(num(tr[4])), Tp + 24);
    }
    if (endT > 0) mark(endT, 'end', complete ? 'exit' : 'snapshot', Tp + 38);
    const cursor = svg('line', { class: 'cursor', x1: 0, x2: 0, y1: Tp, y2: H - B, visibility: 'hidden' });
    s.append(cursor);
    box.append(s);
    const legend = el('div', { class: 'hw-legend' });
    legend.append(el('i', { style: 'background:#2f6fde' }), 'live heap', el('i', { style: 'background:#e8710a' }), 'RSS',
      el('i', { style: 'background:#b3261e' }), 'peak', el('i', { style: 'background:#1e7b34' }), 'trim');
    const readout = el('span', { style: 'margin-left:18px;color:#1d2330' });
    legend.append(readout);
    box.append(legend);
    s.addEventListener('mousemove', (e) => {
      const rect = s.getBoundingClientRect();
      const t = (e.clientX - rect.left - L) / (W - L - R) * tMax;
      let best = pts[0];
      for (const p of pts) if (Math.abs(p[0] - t) < Math.abs(best[0] - t)) best = p;
      cursor.setAttribute('x1', X(best[0])); cursor.setAttribute('x2', X(best[0]));
      cursor.setAttribute('visibility', 'visible');
      readout.textContent = seconds(best[0]) + ': live ' + bytes(best[1]) + (best[2] !== null ? ', RSS ' + bytes(best[2]) : '');
    });
    s.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); readout.textContent = ''; });
  }

  // ---- tables ----------------------------------------------------------------------

  const PAGE = 100;
  const loc = (i) => D.locs[i] || '';
  const fnName = (node) => node > 0 ? nodeName(node) : '(no stack)';

  // cols: {label, get(row), fmt?, num?, cls?}; rows: number of rows; node(row): tree node
  // whose stack a click shows, or none.
  function makeTable(spec) {
    const state = { sort: spec.sort, asc: false, shown: PAGE, filter: '', order: null };
    const wrap = el('div');
    const bar = el('div', { class: 'hw-table-bar' });
    const input = el('input', { type: 'search', placeholder: 'Filter by function, location or tag', autocomplete: 'off' });
    const info = el('span');
    bar.append(input, info);
    const table = el('table', { class: 'hw' });
    const more = el('button', { type: 'button', class: 'hw-more', text: 'Show more' });
    wrap.append(bar, table, more);

    function order() {
      let rows = [];
      const q = state.filter.toLowerCase();
      for (let r = 0; r < spec.rows; r++) {
        if (!q || spec.text(r).toLowerCase().includes(q)) rows.push(r);
      }
      const col = spec.cols[state.sort];
      const dir = state.asc ? 1 : -1;
      if (col.num) {
        const key = new Float64Array(spec.rows);
        for (const r of rows) { const v = col.get(r); key[r] = typeof v === 'number' ? v : -Infinity; }
        rows.sort((a, b) => dir * (key[a] - key[b]) || a - b);
      } else {
        rows.sort((a, b) => dir * String(col.get(a)).localeCompare(String(col.get(b))) || a - b);
      }
      return rows;
    }

    function draw() {
      if (!state.order) state.order = order();
      table.textContent = '';
      const head = el('tr');
      spec.cols.forEach((c, k) => {
        const th = el('th', { class: (c.num ? 'num' : '') + (k === state.sort ? ' sorted' + (state.asc ? ' asc' : '') : ''), text: c.label });
        th.addEventListener('click', () => {
          if (state.sort === k) state.asc = !state.asc; else { state.sort = k; state.asc = !c.num; }
          state.order = null; state.shown = PAGE; draw();
        });
        head.append(th);
      });
      table.append(el('thead', null, head));
      const body = el('tbody');
      const rows = state.order;
      const n = Math.min(rows.length, state.shown);
      for (let k = 0; k < n; k++) {
        const r = rows[k];
        const tr = el('tr', { class: spec.node ? 'row' : '' });
        for (const c of spec.cols) {
          const v = c.get(r);
          tr.append(el('td', { class: (c.num ? 'num ' : '') + (c.cls || ''), text: c.fmt ? c.fmt(v) : (v === null || v === undefined ? '' : String(v)) }));
        }
        if (spec.node) tr.addEventListener('click', () => toggleStack(tr, spec.node(r), spec.cols.length));
        body.append(tr);
      }
      table.append(body);
      info.textContent = rows.length === spec.rows ? count(rows.length) + ' rows' : count(rows.length) + ' of ' + count(spec.rows) + ' rows';
      if (n < rows.length) info.textContent += ', showing the first ' + count(n);
      more.hidden = n >= rows.length;
    }
    more.addEventListener('click', () => { state.shown += PAGE * 5; draw(); });
    let timer = 0;
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.filter = input.value.trim(); state.order = null; state.shown = PAGE; draw(); }, 200);
    });
    return { wrap, draw };
  }

  function toggleStack(tr, node, span) {
    const next = tr.nextSibling;
    if (next && next.classList.contains('stack')) { next.remove(); return; }
    const cell = el('td', { colspan: span });
    const frames = stackOf(node);
    if (!frames.length) cell.textContent = '(no frames)';
    for (let k = 0; k < frames.length && k < 100; k++) {
      cell.append(el('div', null, '#' + k + ' ' + names[frames[k]] + '  ', el('span', { text: D.where[frames[k]] || '' })));
    }
    tr.after(el('tr', { class: 'stack' }, cell));
  }

  function tables() {
    const S = D.sites, L = D.leaks, LL = D.long_lived, G = D.tag_rows;
    const tag = (i) => D.tags[i] || '';
    const mk = [];
    mk.push({ label: 'Sites', n: S.node.length, spec: {
      rows: S.node.length, sort: 3, node: (r) => S.node[r],
      text: (r) => fnName(S.node[r]) + ' ' + loc(S.loc[r]) + ' ' + tag(S.tag[r]),
      cols: [
        { label: 'Function', get: (r) => fnName(S.node[r]), cls: 'f' },
        { label: 'Location', get: (r) => loc(S.loc[r]), cls: 'w' },
        { label: 'Tag', get: (r) => tag(S.tag[r]) },
        { label: 'At peak', num: true, get: (r) => S.at_peak[r], fmt: bytes },
        { label: complete ? 'Live at exit' : 'Live now', num: true, get: (r) => S.live_bytes[r], fmt: bytes },
        { label: 'Own peak', num: true, get: (r) => S.peak_live_bytes[r], fmt: bytes },
        { label: 'Allocated', num: true, get: (r) => S.bytes_allocated[r], fmt: bytes },
        { label: 'Allocations', num: true, get: (r) => S.allocations[r], fmt: count },
        { label: 'Median lifetime', num: true, get: (r) => S.median_lifetime_s[r], fmt: seconds },
        { label: 'Source', get: (r) => S.mapped[r] ? 'mapped' : 'heap' },
      ] } });
    mk.push({ label: 'Tags', n: G.length, spec: {
      rows: G.length, sort: 4, text: (r) => G[r][0],
      cols: [
        { label: 'Tag', get: (r) => G[r][0] || '(none)', cls: 'f' },
        { label: 'Allocations', num: true, get: (r) => G[r][1], fmt: count },
        { label: 'Allocated', num: true, get: (r) => G[r][2], fmt: bytes },
        { label: complete ? 'Live at exit' : 'Live now', num: true, get: (r) => G[r][3], fmt: bytes },
        { label: 'Peak live', num: true, get: (r) => G[r][4], fmt: bytes },
      ] } });
    mk.push({ label: 'Leaks', n: L.node.length, spec: {
      rows: L.node.length, sort: 1, node: (r) => L.node[r],
      text: (r) => fnName(L.node[r]) + ' ' + loc(L.loc[r]) + ' ' + tag(L.tag[r]) + ' ' + L.kind[r],
      cols: [
        { label: 'Kind', get: (r) => L.kind[r] + (L.suppressed[r] ? ' (suppressed)' : '') },
        { label: 'Bytes', num: true, get: (r) => L.bytes[r], fmt: bytes },
        { label: 'Blocks', num: true, get: (r) => L.blocks[r], fmt: count },
        { label: 'Function', get: (r) => fnName(L.node[r]), cls: 'f' },
        { label: 'Location', get: (r) => loc(L.loc[r]), cls: 'w' },
        { label: 'Tag', get: (r) => tag(L.tag[r]) },
      ] } });
    mk.push({ label: 'Long-lived', n: LL.node.length, spec: {
      rows: LL.node.length, sort: 4, node: (r) => LL.node[r],
      text: (r) => fnName(LL.node[r]) + ' ' + loc(LL.loc[r]) + ' ' + tag(LL.tag[r]),
      cols: [
        { label: 'Function', get: (r) => fnName(LL.node[r]), cls: 'f' },
        { label: 'Location', get: (r) => loc(LL.loc[r]), cls: 'w' },
        { label: 'Tag', get: (r) => tag(LL.tag[r]) },
        { label: 'Blocks', num: true, get: (r) => LL.blocks[r], fmt: count },
        { label: 'Bytes', num: true, get: (r) => LL.bytes[r], fmt: bytes },
        { label: 'Oldest', num: true, get: (r) => LL.oldest_age_s[r], fmt: seconds },
      ] } });
    mk.push({ label: 'Trims', n: D.trims.length, spec: {
      rows: D.trims.length, sort: 0, text: (r) => String(D.trims[r][1]),
      cols: [
        { label: 'Time', num: true, get: (r) => D.trims[r][0], fmt: seconds },
        { label: 'Trigger', get: (r) => D.trims[r][1] },
        { label: 'RSS before', num: true, get: (r) => D.trims[r][2], fmt: bytes },
        { label: 'RSS after', num: true, get: (r) => D.trims[r][3], fmt: bytes },
        { label: 'Released', num: true, get: (r) => D.trims[r][4], fmt: bytes },
      ] } });

    const tabs = document.getElementById('hw-table-tabs');
    const holder = document.getElementById('hw-table');
    const built = new Map();
    function show(t, b) {
      for (const other of tabs.children) other.classList.toggle('on', other === b);
      let tbl = built.get(t);
      if (!tbl) { tbl = makeTable(t.spec); built.set(t, tbl); tbl.draw(); }
      holder.textContent = '';
      holder.append(tbl.wrap);
    }
    let first = null;
    for (const t of mk) {
      const b = el('button', { type: 'button' }, t.label, el('span', { class: 'n', text: count(t.n) }));
      b.addEventListener('click', () => show(t, b));
      tabs.append(b);
      if (!first) first = [t, b];
    }
    show(first[0], first[1]);
  }

  // ---- go --------------------------------------------------------------------------

  try {
    const times = ['data ' + (performance.now() - started).toFixed(0)];
    const step = (label, f) => { const t = performance.now(); f(); times.push(label + ' ' + (performance.now() - t).toFixed(0)); };
    step('header', () => { contentWidth(); drawHeader(); });
    step('flame', () => { setupFlame(); drawFlame(); });
    step('timeline', drawTimeline);
    step('tables', tables);
    step('layout', () => document.body.offsetHeight);  // what the browser does next anyway
    // hwReady: ms this script took; hwLoaded: ms since the navigation began (HTML
    // parsing included); hwTimes: where the script's time went.
    root.dataset.hwReady = (performance.now() - started).toFixed(0);
    root.dataset.hwLoaded = performance.now().toFixed(0);
    root.dataset.hwTimes = times.join(', ');
  } catch (e) {
    fail(String((e && e.stack) || e));
  }
})();
