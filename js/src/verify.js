// Proof bundles checked in the browser (docs/trust.md, "Bundle layout"): the same checks and
// verdicts as catenary/trust/bundle/verify.py, with one difference by necessity: a Python
// operation cannot run here, so its executions get every other check and the verdict
// `not-re-executed` instead of a re-execution.

import { CarBufferReader } from '@ipld/car/buffer-reader'
import { cidOf, decode, encode, isCID, kindOf, same, DAG_CBOR, RAW } from './cid.js'
import { checkAttestation, claim, roleOf, verifySignature } from './attest.js'
import { bundleStandings, quorumPolicy } from './quorum.js'
import { compile, invoke as wasmInvoke } from './wasm.js'

export const FORMAT = 'catenary-bundle/1'
export const VERIFIED = 'verified'
export const MISMATCH = 'mismatch'
export const UNVERIFIABLE = 'unverifiable'
export const NOT_RE_EXECUTED = 'not-re-executed'
const META_KEYS = ['execution', 'key', 'run', 'status', 'output', 'error', 'executor', 'cached_from', 'created_at', 'started_at', 'finished_at', 'attestations']
const RUN_KEYS = ['run', 'status', 'next_segment', 'total_time', 'error', 'created_at', 'updated_at', 'outputs']
const PRE_KEYS = ['workflow', 'segment', 'step', 'operation', 'config', 'parents', 'inputs']
const STATUSES = new Set(['created', 'running', 'completed', 'failed'])

export class UnreadableBundle extends Error {}

const isInt = (x) => Number.isInteger(x) || typeof x === 'bigint'
const isMap = (x) => x != null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Uint8Array) && !isCID(x)
const hasKeys = (x, keys) => isMap(x) && Object.keys(x).sort().join() === [...keys].sort().join()
const str = (x, nullable = false) => (x === null ? nullable : typeof x === 'string')
const int = (x, nullable = false) => (x === null ? nullable : isInt(x))

/** The SPEC §2 pre-images of an execution's hash and key. */
export function hashData(e) {
  return { workflow: e.workflow, segment: e.segment, step: e.step, operation: e.operation, config: e.config, parents: e.parents, inputs: e.inputs }
}
export function keyData(operation, config, inputs) {
  return { operation, config, inputs }
}

export function describe(v) {
  if (v === null) return 'null'
  if (typeof v === 'boolean') return 'bool'
  if (isInt(v)) return 'int'
  if (typeof v === 'number') return 'float'
  if (typeof v === 'string') return 'string'
  if (v instanceof Uint8Array) return 'bytes'
  if (isCID(v)) return 'cid'
  if (Array.isArray(v)) return 'list'
  return 'map'
}
export function mismatch(spec, value, where = 'value') {
  if (spec === 'any') return null
  if (isMap(spec)) {
    if (describe(value) !== 'map') return `${where}: expected a map, got ${describe(value)}`
    for (const [field, inner] of Object.entries(spec)) {
      if (!(field in value)) return `${where}: map has no field '${field}'`
      const p = mismatch(inner, value[field], `${where}.${field}`)
      if (p) return p
    }
    return null
  }
  return describe(value) === spec ? null : `${where}: expected ${spec}, got ${describe(value)}`
}

/** Reads a CAR with the official reader; each section with its CID, bytes and byte offset. */
export function readCar(bytes) {
  let reader
  try {
    reader = CarBufferReader.fromBytes(bytes)
  } catch (e) {
    throw new UnreadableBundle(`not a readable CAR file: ${e.message}`)
  }
  return { roots: reader.getRoots(), blocks: reader.blocks() }
}

class Reader {
  constructor(blocks, problems) { this.blocks = blocks; this.problems = problems; this.used = new Set(); this.missing = new Set() }
  problem(text) { if (!this.problems.includes(text)) this.problems.push(text) }
  raw(cid, what, module = false) {
    if (!isCID(cid)) { this.problem(`${what}: expected a link, got ${describe(cid)}`); return null }
    if ((kindOf(cid) === 'raw') !== module) {
      this.problem(`${what}: ${cid} is not a ${module ? 'raw' : 'dag-cbor'} blake2b-256 CID${module ? '' : ' (only a wasm module may be a raw block)'}`)
      return null
    }
    const key = cid.toString()
    const data = this.blocks.get(key)
    if (data == null) {
      if (!this.missing.has(key)) { this.missing.add(key); this.problem(`missing block ${key} (${what})`) }
      return null
    }
    this.used.add(key)
    return data
  }
  get(cid, what) {
    const data = this.raw(cid, what)
    if (data == null) return undefined
    try { return decode(data) } catch (e) { this.problem(`block ${cid} (${what}) is not DAG-CBOR: ${e.message}`); return undefined }
  }
  map(cid, what, keys, optional = []) {
    const value = this.get(cid, what)
    if (value === undefined) return null
    if (!(isMap(value) && keys.every((k) => k in value) && Object.keys(value).every((k) => keys.includes(k) || optional.includes(k)))) {
      this.problem(`block ${cid} (${what}) has the wrong shape: expected keys ${[...keys].sort().join(', ')}, got ${isMap(value) ? Object.keys(value).sort().join(', ') : describe(value)}`)
      return null
    }
    return value
  }
}

/**
 * Check a bundle completely. `options.onProgress(done, total)` is called per execution;
 * `options.invoke(versionId, moduleBytes, inputs, config)` may replace the in-thread WASM call
 * (the page runs each call in a worker with a time limit); `options.policy` is the quorum
 * policy acceptance is judged under, as `catenary policy show --json` prints it ({node, quorum};
 * default: no rule, so an execution is accepted when this verifier re-executed it). Never throws for what it finds
 * wrong, except UnreadableBundle for a file that is not a two-root CAR.
 */
export async function verifyBundle(bytes, options = {}) {
  const started = Date.now()
  const car = readCar(bytes)
  const problems = []
  const blocks = new Map()
  car.blocks.forEach((b, n) => {
    const kind = kindOf(b.cid)
    if (kind == null) {
      problems.push(`block ${b.cid} (section ${n}) is neither a dag-cbor nor a raw blake2b-256 CID; catenary bundles hold no other kind`)
      return
    }
    const actual = cidOf(b.bytes, kind === 'raw' ? RAW : DAG_CBOR)
    if (!actual.equals(b.cid)) {
      problems.push(`block ${b.cid} (section ${n}): its bytes hash to ${actual}, not to its CID (altered or corrupt)`)
      return
    }
    if (!blocks.has(b.cid.toString())) blocks.set(b.cid.toString(), b.bytes)
  })
  if (car.roots.length !== 2) throw new UnreadableBundle(`not a catenary bundle: the CAR has ${car.roots.length} root(s), expected 2 (the execution, then the bundle index)`)
  const [root, indexCid] = car.roots
  const r = new Reader(blocks, problems)
  const b = { executions: new Map(), events: new Map(), runs: new Map(), workflows: new Map(), versions: new Map(), values: new Set(), checks: new Map(), attestations: new Map(), named: new Set() }
  const report = { root: root.toString(), verdict: 'failed', blocks: car.blocks.length, executions: [], problems, events: [], statements: [] }
  const finish = () => {
    report.verdict = overall(report)
    report.ms = Date.now() - started
    // The executions a problem names (a pre-image that did not hash is named by its CID
    // only): what the page marks on the graph, beside the executions with a mismatch.
    const named = new Set(report.executions.filter((v) => v.verdict === MISMATCH).map((v) => v.hash))
    for (const p of problems) for (const cid of p.match(/bafy[a-z2-7]+/g) || []) if (b.named.has(cid)) named.add(cid)
    report.implicated = [...named]
    report.acceptance = bundleStandings(b, report.executions, quorumPolicy(options.policy))
    return report
  }
  const index = r.map(indexCid, 'bundle index', ['format', 'execution', 'executions', 'runs'], ['statements', 'emitted'])
  if (index == null) return finish()
  if (index.format !== FORMAT) { r.problem(`bundle index ${indexCid}: format '${index.format}' is not '${FORMAT}'`); return finish() }
  if (!same(index.execution, root)) r.problem(`bundle index ${indexCid} names execution ${index.execution}, the CAR root is ${root}`)
  if (!Array.isArray(index.executions) || !Array.isArray(index.runs)) { r.problem(`bundle index ${indexCid}: executions and runs must be lists of links`); return finish() }

  if ('statements' in index) report.statements = await readStatements(r, index.statements)
  for (const link of index.runs) readRun(r, b, link)
  for (const link of index.executions) await readExecution(r, b, link)
  if (!b.executions.has(root.toString())) r.problem(`the root execution ${root} has no metadata block in the bundle index`)
  for (const e of b.executions.values()) {
    e.parents.forEach((parent, i) => {
      const p = parent.toString()
      if (b.executions.has(p) || b.events.has(p)) return
      // `cause` (optional): the emitted event that triggered the run; hashed, not followed.
      const ev = r.map(parent, `parent ${i} of execution ${e.hash}`, ['run', 'segment', 'inputs'], ['cause'])
      if (ev == null) return
      if (!isInt(ev.segment) || !Array.isArray(ev.inputs) || !ev.inputs.every(isCID) || !isCID(ev.run)) {
        r.problem(`event ${parent}: run must be a link, segment an int, inputs links`); return
      }
      b.events.set(p, { hash: p, run: ev.run, segment: Number(ev.segment), inputs: ev.inputs })
      ev.inputs.forEach((v, j) => readValue(r, b, v, `input ${j} of event ${parent}`))
    })
    if (!b.runs.has(e.run.toString())) r.problem(`execution ${e.hash}: its run ${e.run} has no run block in the bundle index`)
  }
  for (const ev of b.events.values()) {
    if (!b.runs.has(ev.run.toString())) r.problem(`event ${ev.hash}: its run ${ev.run} is not in the bundle`)
  }
  if ('emitted' in index) await readEmitted(r, b, index.emitted)
  for (const state of b.runs.values()) {
    if (!b.workflows.has(state.workflow.toString())) readWorkflow(r, b, state.workflow)
    for (const out of state.outputs) {
      const producer = b.executions.get(out.producer.toString())
      if (producer == null) r.problem(`run ${state.id}: segment ${out.segment}'s producer ${out.producer} is not in the bundle`)
      else if (!same(producer.output, out.output) || producer.segment !== out.segment) {
        r.problem(`run ${state.id}: segment ${out.segment} output ${out.output} is not what its producer ${out.producer} recorded (${producer.output})`)
      }
    }
  }
  for (const e of b.executions.values()) {
    const state = b.runs.get(e.run.toString())
    if (state != null && !same(e.workflow, state.workflow)) r.problem(`execution ${e.hash}: its workflow ${e.workflow} is not the workflow of its run ${e.run} (${state.workflow})`)
  }
  const modules = new Map() // version id -> WebAssembly.Module | Error
  for (const [vid, v] of b.versions) {
    if (v.module == null) continue
    try { modules.set(vid, compile(v.moduleBytes)) } catch (err) {
      modules.set(vid, err)
      r.problem(`wasm module ${v.module}: ${err.message} (the module of ${v.manifest.name}, version ${vid})`)
    }
  }
  const ordered = [...b.executions.values()].sort((x, y) => x.segment - y.segment || x.step - y.step)
  const verifier = new Verifier(b, blocks, modules, options.invoke)
  for (let n = 0; n < ordered.length; n++) {
    const e = ordered[n]
    const v = await verifier.verify(e)
    v.attestations = b.checks.get(e.hash) || []
    report.executions.push(v)
    if (options.onProgress) options.onProgress(n + 1, ordered.length)
  }
  for (const key of blocks.keys()) {
    if (!r.used.has(key) && key !== indexCid.toString()) r.problem(`block ${key} is not linked from the bundle (unexpected extra block)`)
  }
  report.events = [...b.events.values()].map((ev) => ({ hash: ev.hash, segment: ev.segment }))
  return finish()
}

export function overall(report) {
  const vs = report.executions.map((v) => v.verdict)
  if (report.problems.length || !vs.length || vs.includes(MISMATCH)) return 'failed'
  if (vs.every((v) => v === VERIFIED)) return VERIFIED
  if (vs.includes(UNVERIFIABLE)) return UNVERIFIABLE
  return 'checked' // every check held; some Python executions were not re-executed here
}

const ENVELOPE = ['payloadType', 'payload', 'signatures']
const utf8 = new TextEncoder()

/** DSSE v1 pre-authentication encoding: what a statement's signature signs (statements/dsse.py). */
export function pae(payloadType, payload) {
  const kind = utf8.encode(payloadType)
  const head = utf8.encode(`DSSEv1 ${kind.length} `)
  const mid = utf8.encode(` ${payload.length} `)
  const out = new Uint8Array(head.length + kind.length + mid.length + payload.length)
  out.set(head); out.set(kind, head.length); out.set(mid, head.length + kind.length); out.set(payload, head.length + kind.length + mid.length)
  return out
}

/**
 * The signed statements a bundle may carry (index key `statements`, catenary/statements/bundle.py):
 * each a DSSE envelope block with one ed25519 signature by its keyid (a did:key) over the PAE.
 * Only the signature is checked here; the claim needs the Python operations re-executed.
 */
async function readStatements(r, links) {
  const found = []
  if (!Array.isArray(links)) { r.problem('bundle index: statements must be a list of links'); return found }
  for (let n = 0; n < links.length; n++) {
    const link = links[n]
    const value = r.get(link, `statement ${n}`)
    if (value === undefined) continue
    const ok = hasKeys(value, ENVELOPE) && typeof value.payloadType === 'string' && value.payload instanceof Uint8Array &&
      Array.isArray(value.signatures) && value.signatures.every((s) => hasKeys(s, ['keyid', 'sig']) && typeof s.keyid === 'string' && s.sig instanceof Uint8Array)
    if (!ok) { r.problem(`statement ${link}: expected {payloadType: string, payload: bytes, signatures: [{keyid: string, sig: bytes}]}`); continue }
    let signer = null
    let why = null
    if (value.signatures.length !== 1) why = `expected exactly one signature (the claimant's), found ${value.signatures.length}`
    else {
      signer = value.signatures[0].keyid
      why = await verifySignature(signer, value.signatures[0].sig, pae(value.payloadType, value.payload))
    }
    found.push({ id: link.toString(), signer, valid: why == null, reason: why ?? 'signature verifies' })
    if (why != null) r.problem(`statement ${link} is refused (signature): ${why}`)
  }
  return found
}

/**
 * The emitted events a bundle may carry (index key `emitted`, catenary/trust/bundle/emitted.py):
 * `{event: link, signature: bytes}`, the record `{emitter, key, data, time, nonce, source?}`
 * signed (ed25519, over its binary CID) by its emitter; a result event's `source` execution is
 * in the bundle and its output is the event's data.
 */
async function readEmitted(r, b, links) {
  if (!Array.isArray(links)) { r.problem('bundle index: emitted must be a list of links'); return }
  for (const link of links) {
    const meta = r.map(link, 'emitted event metadata', ['event', 'signature'])
    if (meta == null) continue
    if (!isCID(meta.event) || !(meta.signature instanceof Uint8Array)) { r.problem(`emitted event metadata ${link}: event must be a link and signature bytes`); continue }
    const ev = r.map(meta.event, `emitted event of metadata ${link}`, ['emitter', 'key', 'data', 'time', 'nonce'], ['source'])
    if (ev == null) continue
    if (typeof ev.emitter !== 'string' || typeof ev.key !== 'string' || !isCID(ev.data) || !(ev.nonce instanceof Uint8Array) || ('source' in ev && !isCID(ev.source))) {
      r.problem(`emitted event ${meta.event}: a field has the wrong type`); continue
    }
    const why = await verifySignature(ev.emitter, meta.signature, meta.event.bytes)
    if (why != null) { r.problem(`emitted event ${meta.event}: signature: ${why}`); continue }
    readValue(r, b, ev.data, `data of emitted event ${meta.event}`)
    if (!('source' in ev)) continue
    const upstream = b.executions.get(ev.source.toString())
    if (upstream == null) r.problem(`emitted event ${meta.event}: its source execution ${ev.source} is not in the bundle`)
    else if (!same(upstream.output, ev.data)) r.problem(`emitted event ${meta.event}: its data ${ev.data} is not the output of its source execution ${ev.source} (${upstream.output})`)
  }
}

function readValue(r, b, cid, what) {
  if (isCID(cid) && b.values.has(cid.toString())) return
  const data = r.raw(cid, what)
  if (data == null) return
  try { decode(data) } catch (e) { r.problem(`block ${cid} (${what}) is not DAG-CBOR: ${e.message}`); return }
  b.values.add(cid.toString())
}

function readRun(r, b, link) {
  const meta = r.map(link, 'run metadata', RUN_KEYS)
  if (meta == null) return
  const run = r.map(meta.run, `run of run metadata ${link}`, ['workflow', 'nonce'])
  if (run == null) return
  if (!isCID(run.workflow) || !(run.nonce instanceof Uint8Array)) { r.problem(`run ${meta.run}: workflow must be a link and nonce bytes`); return }
  if (!(str(meta.status) && int(meta.next_segment) && typeof meta.total_time === 'number' && int(meta.created_at) &&
        int(meta.updated_at) && str(meta.error, true) && Array.isArray(meta.outputs))) {
    r.problem(`run metadata ${link}: a field has the wrong type`); return
  }
  const outputs = []
  for (const out of meta.outputs) {
    if (!(hasKeys(out, ['segment', 'output', 'producer', 'segment_time']) && int(out.segment) && isCID(out.output) &&
          isCID(out.producer) && typeof out.segment_time === 'number')) {
      r.problem(`run metadata ${link}: an output entry has the wrong shape`); return
    }
    r.raw(out.output, `segment ${out.segment} output of run ${meta.run}`)
    outputs.push({ segment: Number(out.segment), output: out.output, producer: out.producer })
  }
  b.runs.set(meta.run.toString(), { id: meta.run.toString(), workflow: run.workflow, nonce: run.nonce, outputs })
}

function readWorkflow(r, b, id) {
  const data = r.get(id, 'workflow')
  if (data === undefined) return
  const ok = hasKeys(data, ['name', 'creators', 'description', 'groups', 'segments']) && Array.isArray(data.segments) &&
    data.segments.every((s) => hasKeys(s, ['inputs', 'sequence']) && Array.isArray(s.inputs) && s.inputs.every(isInt) &&
      Array.isArray(s.sequence) && s.sequence.length > 0 &&
      s.sequence.every((st) => hasKeys(st, ['version_id', 'config']) && isCID(st.version_id) && isMap(st.config)))
  if (!ok) { r.problem(`workflow ${id} is not a valid manifest`); return }
  for (const seg of data.segments) {
    for (const st of seg.sequence) if (!b.versions.has(st.version_id.toString())) readVersion(r, b, st.version_id)
  }
  b.workflows.set(id.toString(), data)
}

function readVersion(r, b, id) {
  const data = r.map(id, 'operation version', ['operation', 'implementation'])
  if (data == null) return
  const manifest = r.get(data.operation, `operation manifest of version ${id}`)
  if (manifest === undefined) return
  if (!hasKeys(manifest, ['name', 'description', 'inputs', 'output', 'config', 'groups']) || typeof manifest.name !== 'string' || !Array.isArray(manifest.inputs)) {
    r.problem(`operation manifest ${data.operation} is invalid`); return
  }
  const impl = data.implementation
  if (!isMap(impl) || !['python', 'wasm', 'remote'].includes(impl.kind)) { r.problem(`operation version ${id}: unknown implementation`); return }
  const version = { id: id.toString(), manifest, kind: impl.kind }
  if (impl.kind === 'python') {
    const text = r.get(impl.source, `source of ${manifest.name} (${id})`)
    if (text === undefined) return
    if (typeof text !== 'string') { r.problem(`source ${impl.source} of ${manifest.name} is not a string`); return }
  } else if (impl.kind === 'wasm') {
    const bytes = r.raw(impl.module, `wasm module of ${manifest.name} (${id})`, true)
    if (bytes != null) {
      if (hasKeys(impl, ['kind', 'module'])) { version.module = impl.module; version.moduleBytes = bytes } else {
        r.problem(`operation version ${id} (${manifest.name}) is not {operation, implementation: {kind: "wasm", module}} exactly; its module cannot be run`)
      }
    }
  }
  b.versions.set(id.toString(), version)
}

async function readExecution(r, b, link) {
  const meta = r.map(link, 'execution metadata', META_KEYS)
  if (meta == null) return
  const hash = meta.execution
  if (isCID(hash)) b.named.add(hash.toString())
  const pre = r.map(hash, `execution named by execution metadata ${link}`, PRE_KEYS)
  if (pre == null) return
  if (!(isCID(pre.workflow) && int(pre.segment) && int(pre.step) && isCID(pre.operation) && isMap(pre.config) &&
        Object.values(pre.config).every((x) => typeof x === 'string') && Array.isArray(pre.parents) && pre.parents.every(isCID) &&
        Array.isArray(pre.inputs) && pre.inputs.every(isCID))) {
    r.problem(`execution ${hash}: its pre-image has a field of the wrong type`); return
  }
  if (!(isCID(meta.key) && isCID(meta.run) && STATUSES.has(meta.status) && (meta.output === null || isCID(meta.output)) &&
        str(meta.error, true) && str(meta.executor, true) && str(meta.cached_from, true) && int(meta.created_at) &&
        int(meta.started_at, true) && int(meta.finished_at, true) && Array.isArray(meta.attestations))) {
    r.problem(`execution ${hash}: its metadata block ${link} has a field of the wrong type`); return
  }
  const key = cidOf(encode(keyData(pre.operation, pre.config, pre.inputs)))
  if (!key.equals(meta.key)) r.problem(`execution ${hash}: key does not recompute (recorded ${meta.key}, recomputed ${key})`)
  else r.raw(meta.key, `key of execution ${hash}`)
  const e = { ...pre, segment: Number(pre.segment), step: Number(pre.step), hash: hash.toString(), hashCid: hash, key: meta.key, run: meta.run, status: meta.status, output: meta.output, executor: meta.executor, cachedFrom: meta.cached_from }
  if (b.executions.has(e.hash)) { r.problem(`execution ${hash} has two metadata blocks in the bundle index`); return }
  b.executions.set(e.hash, e)
  e.inputs.forEach((v, i) => readValue(r, b, v, `input ${i} of execution ${hash}`))
  if (e.output !== null) readValue(r, b, e.output, `output of execution ${hash}`)
  const found = []
  const rows = []
  for (const att of meta.attestations) {
    const data = r.raw(att, `attestation of execution ${hash}`)
    if (data == null) continue
    // The role follows from the record: a signer whose output is not the recorded one dissents.
    const role = roleOf(data, e.executor, e.cachedFrom, e.output)
    const result = await checkAttestation(att.toString(), data, hash, e.key, e.output, role)
    found.push(result)
    rows.push({ cid: result.cid, bytes: data, signer: result.signer || '', output: claim(data)?.output ?? null })
    if (!result.valid) r.problem(`attestation ${att} on execution ${hash} is invalid: ${result.reason}`)
  }
  b.checks.set(e.hash, found)
  b.attestations.set(e.hash, rows)
}

/** Per execution: the record, its place in the DAG, then re-execution (WASM only). */
class Verifier {
  constructor(b, blocks, modules, invoke) { this.b = b; this.blocks = blocks; this.modules = modules; this.invoke = invoke; this.results = new Map() }

  async verify(e) {
    const version = this.b.versions.get(e.operation.toString())
    const name = version ? version.manifest.name : null
    const verdict = (kind, reason, expected = null, got = null) => ({
      hash: e.hash, operation: e.operation.toString(), name, segment: e.segment, step: e.step, verdict: kind, reason,
      expected: expected && expected.toString(), got: got && got.toString(), parents: e.parents.map(String), kind: version ? version.kind : null,
    })
    const recomputed = cidOf(encode(hashData(e)))
    if (!recomputed.equals(e.hashCid)) return verdict(MISMATCH, `hash does not recompute: recorded ${e.hash}, recomputed ${recomputed}`, e.hashCid, recomputed)
    const key = cidOf(encode(keyData(e.operation, e.config, e.inputs)))
    if (!key.equals(e.key)) return verdict(MISMATCH, `key does not recompute: recorded ${e.key}, recomputed ${key}`, e.key, key)
    const link = this.linkProblem(e)
    if (link != null) return verdict(MISMATCH, link[0], link[1], link[2])
    if (e.status !== 'completed' || e.output === null) return verdict(UNVERIFIABLE, `execution is ${e.status}: only a completed execution has an output to re-compute`)
    if (version == null) return verdict(UNVERIFIABLE, `operation version ${e.operation} has no implementation here`)
    if (version.kind === 'python') return verdict(NOT_RE_EXECUTED, `${name} is a Python operation: not re-executable in the browser (record, links and attestations checked)`)
    if (version.kind === 'remote') return verdict(UNVERIFIABLE, `${name} version ${e.operation} has no implementation here: remote executors run it, and catenary cannot re-execute it`)
    const module = this.modules.get(e.operation.toString())
    if (module == null || module instanceof Error) return verdict(UNVERIFIABLE, `${name} version ${e.operation} has no implementation here: its wasm module ${version.module} is not available`)
    let result = this.results.get(e.key.toString())
    if (result == null) {
      result = await this.reexecute(e, version, module)
      this.results.set(e.key.toString(), result)
    }
    if (result.unverifiable) return verdict(UNVERIFIABLE, result.unverifiable)
    if (result.error) return verdict(MISMATCH, result.error, e.output, result.got || null)
    if (!result.got.equals(e.output)) return verdict(MISMATCH, `re-execution gave ${result.got}, the recorded output is ${e.output}`, e.output, result.got)
    return verdict(VERIFIED, 're-executed: same output', e.output, result.got)
  }

  async reexecute(e, version, module) {
    const inputs = []
    for (let i = 0; i < e.inputs.length; i++) {
      const data = this.b_block(e.inputs[i])
      if (data == null) return { unverifiable: `input ${i} value ${e.inputs[i]} is missing` }
      const p = i < version.manifest.inputs.length ? mismatch(version.manifest.inputs[i], decode(data), `input ${i}`) : `input ${i}: ${version.manifest.name} takes ${version.manifest.inputs.length} input(s)`
      if (p) return { error: `${p} (${version.manifest.name} would refuse it)` }
      inputs.push(data)
    }
    const config = encode(e.config)
    const out = await (this.invoke || wasmInvoke)(module, inputs, config)
    if (out.error) return { error: `re-execution failed: WasmExecutionError: wasm module ${version.module}: ${out.error}` }
    const p = mismatch(version.manifest.output, decode(out.output), 'output')
    if (p) return { error: `re-execution ${p} (declared by ${version.manifest.name})` }
    return { got: cidOf(out.output) }
  }

  b_block(cid) {
    return this.blocks.get(cid.toString()) ?? null
  }

  linkProblem(e) {
    const b = this.b
    if (e.parents.length !== e.inputs.length || !e.inputs.length) return [`has ${e.parents.length} parents for ${e.inputs.length} inputs`]
    const wf = b.workflows.get(e.workflow.toString())
    if (wf == null) return [`workflow ${e.workflow} is missing`]
    if (!(e.segment >= 0 && e.segment < wf.segments.length)) return [`segment ${e.segment} is not in workflow ${e.workflow}`]
    const seg = wf.segments[e.segment]
    if (!(e.step >= 0 && e.step < seg.sequence.length)) return [`step ${e.step} is not in segment ${e.segment} of the workflow`]
    const planned = seg.sequence[e.step]
    if (!same(planned.version_id, e.operation)) return [`the workflow runs ${planned.version_id} at segment ${e.segment} step ${e.step}, not ${e.operation}`, planned.version_id, e.operation]
    if (encode(planned.config).join() !== encode(e.config).join()) return [`the workflow's config there is ${JSON.stringify(planned.config)}, not ${JSON.stringify(e.config)}`]
    const fromExecution = (index, cid, segment, step) => {
      const parent = b.executions.get(cid.toString())
      if (parent == null) return [`parent ${index} ${cid} (segment ${segment} step ${step}) is missing`]
      if (parent.segment !== segment || parent.step !== step || !same(parent.run, e.run)) {
        return [`parent ${index} ${cid} is segment ${parent.segment} step ${parent.step} of run ${parent.run}, expected segment ${segment} step ${step} of run ${e.run}`]
      }
      if (!same(parent.output, e.inputs[index])) return [`input ${index} is ${e.inputs[index]} but parent ${cid} produced ${parent.output}`, parent.output, e.inputs[index]]
      return null
    }
    if (e.step > 0) {
      if (e.inputs.length !== 1) return [`step ${e.step} takes the previous step's output only, has ${e.inputs.length} inputs`]
      return fromExecution(0, e.parents[0], e.segment, e.step - 1)
    }
    if (seg.inputs.length !== e.inputs.length) return [`segment ${e.segment} has ${seg.inputs.length} inputs, the execution ${e.inputs.length}`]
    let external = 0
    for (let slot = 0; slot < seg.inputs.length; slot++) {
      const source = Number(seg.inputs[slot])
      const parent = e.parents[slot]
      if (source === -1) {
        const ev = b.events.get(parent.toString())
        if (ev == null) return [`parent ${slot} ${parent} should be the event carrying the external input, and it is missing`]
        if (!same(ev.run, e.run) || ev.segment !== e.segment) return [`event ${parent} is for segment ${ev.segment} of run ${ev.run}, not segment ${e.segment} of run ${e.run}`]
        const carried = ev.inputs[external]
        if (!same(carried, e.inputs[slot])) return [`input ${slot} is ${e.inputs[slot]} but event ${parent} carried ${carried}`, carried, e.inputs[slot]]
        external++
      } else {
        const last = wf.segments[source] ? wf.segments[source].sequence.length - 1 : -1
        const p = fromExecution(slot, parent, source, last)
        if (p) return p
      }
    }
    return null
  }
}
