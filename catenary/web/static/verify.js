// The bundle verifier page (verify.html): kept out of the page for the explorer's CSP.
'use strict'
const $ = (id) => document.getElementById(id)
// The verification runs in a worker started from the library's own source: the page stays
// responsive for a bundle of any size, and each WASM call runs in a nested worker with a time limit.
const workerSource = `${catenary.workerSource};
onmessage = async (m) => {
  let last = 0
  try {
    const report = await catenary.verifyBundle(new Uint8Array(m.data.bytes), {
      invoke: catenary.workerInvoker(m.data.limit),
      onProgress: (done, total) => { const t = Date.now(); if (t - last > 100 || done === total) { last = t; postMessage({ progress: [done, total] }) } },
    })
    postMessage({ report })
  } catch (e) { postMessage({ error: e.message }) }
}`
const workerUrl = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }))
let worker = null

function verify(file) {
  if (worker) worker.terminate()
  worker = new Worker(workerUrl)
  window.catenaryReport = null
  $('status').textContent = `reading ${file.name} (${file.size} bytes)…`
  $('progress').hidden = false; $('progress').value = 0
  for (const id of ['overall', 'graph', 'executions']) $(id).hidden = true
  $('problems').replaceChildren()
  worker.onmessage = (m) => {
    if (m.data.progress) {
      const [done, total] = m.data.progress
      $('progress').max = total; $('progress').value = done
      $('status').textContent = `verified ${done} of ${total} execution(s)…`
    } else if (m.data.error) {
      $('progress').hidden = true
      $('status').textContent = `error: ${m.data.error}`
      window.catenaryReport = { verdict: 'unreadable', error: m.data.error }
    } else {
      show(file, m.data.report)
    }
  }
  file.arrayBuffer().then((bytes) => worker.postMessage({ bytes, limit: Number($('limit').value) }, [bytes]))
}

// A valid dissent is a signer whose re-execution gave another output: named apart from the
// attestations that vouch for the recorded one (docs/network.md, "Validators and quorum").
function attestations(checks) {
  const dissents = checks.filter((a) => a.valid && a.role === 'dissent').length
  const text = `${checks.filter((a) => a.valid).length}/${checks.length} valid`
  return dissents ? `${text}, ${dissents} dissent${dissents > 1 ? 's' : ''}` : text
}

function cell(row, text, cls) { const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; return td }

function show(file, report) {
  $('progress').hidden = true
  const counts = {}
  for (const v of report.executions) counts[v.verdict] = (counts[v.verdict] || 0) + 1
  $('status').textContent = `${file.name}: ${report.blocks} blocks, ${report.executions.length} execution(s) in ${report.ms} ms`
  $('overall').hidden = false
  $('overall').innerHTML = ''
  $('overall').append('verdict ')
  const span = document.createElement('span')
  span.id = 'verdict'; span.className = `verdict-${report.verdict}`; span.textContent = report.verdict
  $('overall').append(span, ` (${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}${report.problems.length ? `; ${report.problems.length} problem(s)` : ''})`)
  const implicated = new Set(report.implicated)
  const body = $('executions').tBodies[0]
  body.replaceChildren()
  for (const v of report.executions) {
    const row = body.insertRow()
    row.dataset.hash = v.hash; row.dataset.verdict = v.verdict
    if (implicated.has(v.hash)) row.className = 'implicated'
    cell(row, v.hash, 'hash'); cell(row, v.name || v.operation); cell(row, `${v.segment}.${v.step}`)
    cell(row, v.verdict, `verdict-${v.verdict}`)
    cell(row, attestations(v.attestations))
    const standing = (report.acceptance || {})[v.hash]
    if (standing) cell(row, standing.status, `acceptance-${standing.status}`).title = standing.reason
    else cell(row, '')
    cell(row, v.reason)
  }
  for (const hash of implicated) {
    if (report.executions.some((v) => v.hash === hash)) continue
    const row = body.insertRow()
    row.dataset.hash = hash; row.dataset.verdict = 'missing'; row.className = 'implicated'
    cell(row, hash, 'hash'); cell(row, '?'); cell(row, '?'); cell(row, 'failed', 'verdict-failed'); cell(row, ''); cell(row, ''); cell(row, 'its record did not check out (see the problems)')
  }
  $('executions').hidden = false
  for (const p of report.problems) { const li = document.createElement('li'); li.textContent = `problem: ${p}`; $('problems').append(li) }
  drawGraph(report, implicated)
  window.catenaryReport = report
}

// The lineage graph: one column per segment and step, one node per execution, edges to parents.
function drawGraph(report, implicated) {
  const ns = 'http://www.w3.org/2000/svg'
  const shown = report.executions.slice(0, 500)
  const columns = [...new Set(shown.map((v) => `${v.segment}.${v.step}`))]
  const rows = new Map()
  const pos = new Map()
  for (const v of shown) {
    const col = columns.indexOf(`${v.segment}.${v.step}`)
    const row = rows.get(col) || 0; rows.set(col, row + 1)
    pos.set(v.hash, [60 + col * 150, 40 + row * 50])
  }
  const height = 60 + Math.max(1, ...rows.values()) * 50
  const svg = document.createElementNS(ns, 'svg')
  svg.setAttribute('width', 120 + columns.length * 150); svg.setAttribute('height', height)
  const colour = (v) => (implicated.has(v.hash) || v.verdict === 'mismatch' ? '#b3261e' : v.verdict === 'verified' ? '#2e9e50' : '#c08a00')
  for (const v of shown) {
    for (const p of v.parents) {
      if (!pos.has(p)) continue
      const line = document.createElementNS(ns, 'line')
      const [x1, y1] = pos.get(p); const [x2, y2] = pos.get(v.hash)
      Object.entries({ x1, y1, x2, y2, stroke: '#999' }).forEach(([k, val]) => line.setAttribute(k, val))
      svg.append(line)
    }
  }
  for (const v of shown) {
    const [x, y] = pos.get(v.hash)
    const g = document.createElementNS(ns, 'g')
    g.setAttribute('class', 'node'); g.dataset.hash = v.hash; g.dataset.verdict = v.verdict
    const c = document.createElementNS(ns, 'circle')
    Object.entries({ cx: x, cy: y, r: 12, fill: colour(v) }).forEach(([k, val]) => c.setAttribute(k, val))
    const title = document.createElementNS(ns, 'title'); title.textContent = `${v.name} ${v.segment}.${v.step} ${v.verdict}\n${v.hash}`
    const label = document.createElementNS(ns, 'text')
    Object.entries({ x: x - 40, y: y + 26, 'font-size': 10 }).forEach(([k, val]) => label.setAttribute(k, val))
    label.textContent = (v.name || '').slice(0, 22)
    c.append(title); g.append(c, label); svg.append(g)
  }
  $('graph').replaceChildren(svg); $('graph').hidden = false
}

// The input is cleared after each pick, so picking the same file again verifies it again.
$('file').addEventListener('change', (e) => { const f = e.target.files[0]; if (f) { verify(f); e.target.value = '' } })
const drop = $('drop')
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over') })
drop.addEventListener('dragleave', () => drop.classList.remove('over'))
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) verify(e.dataTransfer.files[0]) })
