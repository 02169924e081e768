package io.ringkv.http;

/**
 * The controller's live view of the ring ({@code GET /} and {@code GET /ui}): one self-contained
 * page (no build step, no external resource: it works offline) that polls {@code GET /cluster}
 * every second and shows each node's state, address, keys and share of the ring, and a rebalance
 * in progress with its progress and the time it has left at its current pace.
 */
final class RingPage {
  private RingPage() {}

  static final String HTML = """
      <!doctype html>
      <html lang="en">
      <head>
      <meta charset="utf-8">
      <title>ringkv</title>
      <style>
        body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
        h1 { font-size: 1.3em; margin: 0 0 .3em; }
        table { border-collapse: collapse; margin-top: .8em; }
        th, td { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        .UP { color: #17663a; font-weight: 600; }
        .DOWN { color: #b3261e; font-weight: 600; }
        .bar { background: #e8eef7; width: 12em; height: .8em; position: relative; }
        .bar span { position: absolute; left: 0; top: 0; bottom: 0; background: #3b6fb6; }
        #error { color: #b3261e; }
      </style>
      </head>
      <body>
      <h1>ringkv</h1>
      <div id="summary">loading...</div>
      <div id="error"></div>
      <table>
        <thead><tr><th>node</th><th>status</th><th>address</th><th>keys</th><th>tombstones</th><th>epoch</th>
          <th>primary share</th><th>owner share</th><th>state</th><th>hints</th><th>anti-entropy repairs</th></tr></thead>
        <tbody id="nodes"></tbody>
      </table>
      <script>
      const last = {};
      function cell(text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td; }
      function pct(x) { return (100 * x).toFixed(1) + '%'; }
      function bar(x) {
        const td = document.createElement('td'); const b = document.createElement('div'); b.className = 'bar';
        const s = document.createElement('span'); s.style.width = pct(Math.min(1, x)); b.appendChild(s);
        td.appendChild(b); td.appendChild(document.createTextNode(' ' + pct(x))); return td;
      }
      function state(n, now) {
        const w = n.worker;
        if (n.status !== 'UP') return 'DOWN';
        if (!w) return 'UP (no answer)';
        if (w.rebalancing && w.rebalance) {
          const r = w.rebalance, prev = last[n.id];
          let eta = '';
          if (prev && r.entries_pushed > prev.pushed && now > prev.at) {
            const rate = (r.entries_pushed - prev.pushed) / ((now - prev.at) / 1000);
            eta = ', about ' + Math.ceil((r.entries_to_push - r.entries_pushed) / rate) + ' s left';
          }
          last[n.id] = { pushed: r.entries_pushed, at: now };
          return 'rebalancing: ' + r.entries_pushed + ' of ' + r.entries_to_push + ' entries pushed' + eta;
        }
        delete last[n.id];
        if (w.joining) return 'JOINING (receiving its data)';
        if (w.rebalancing) return 'rebalancing';
        if (w.repair_round) {
          const r = w.repair_round;
          const left = r.peers_done > 0 ? ', about ' + Math.ceil(r.elapsed_ms / r.peers_done * (r.peers - r.peers_done) / 1000) + ' s left' : '';
          return 'anti-entropy: exchanged with ' + r.peers_done + ' of ' + r.peers + ' peers' + left;
        }
        return 'settled (' + w.rebalances + ' rebalances, ' + w.keys_moved + ' keys moved)';
      }
      async function refresh() {
        try {
          const res = await fetch('/cluster', { cache: 'no-store' });
          const c = await res.json();
          const now = Date.now();
          const up = c.nodes.filter(n => n.status === 'UP').length;
          document.getElementById('summary').textContent = 'epoch ' + c.epoch + ' · ' + up + ' of ' + c.nodes.length
            + ' workers UP · ' + c.replication_factor + ' copies per key · updated ' + new Date(now).toLocaleTimeString();
          const body = document.getElementById('nodes');
          body.replaceChildren();
          for (const n of c.nodes) {
            const tr = document.createElement('tr'); tr.id = 'node-' + n.id; tr.dataset.status = n.status;
            const w = n.worker || {};
            tr.append(cell(n.id), cell(n.status, n.status), cell(n.host + ':' + n.port), cell(w.keys ?? '-', 'num'),
              cell(w.tombstones ?? '-', 'num'), cell(w.epoch ?? '-', 'num'), bar(n.primary_share), bar(n.owner_share),
              cell(state(n, now)), cell(w.hints ?? '-', 'num'), cell(w.keys_repaired ?? '-', 'num'));
            tr.lastChild.previousSibling.previousSibling.className = 'state';
            body.appendChild(tr);
          }
          document.getElementById('error').textContent = '';
        } catch (e) {
          document.getElementById('error').textContent = 'the controller does not answer: ' + e;
        }
      }
      refresh();
      setInterval(refresh, 1000);
      </script>
      </body>
      </html>
      """;
}
