// A workflow of WASM operations run on the user's device: new() and next(inputs), as the
// Python engine does them (catenary/engine/runtime.py), writing the same record bytes, so
// that the run exports as a proof bundle any node verifies and imports (docs/browser.md).

import * as CarBufferWriter from '@ipld/car/buffer-writer'
import { CID, Float, block, cidOf, decode, encode, RAW } from './cid.js'
import { compile, invoke as inThread } from './wasm.js'
import { hashData, keyData, mismatch, FORMAT } from './verify.js'

const EXTERNAL = -1
const now = () => BigInt(Date.now()) * 1000000n
const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
const unhex = (text) => Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16))

export class WorkflowError extends Error {}

/**
 * A workflow ready to run here. `spec` is what `catenary workflow build` writes:
 * {workflow: bytes, versions: [{version: bytes, manifest: bytes, module: bytes}]}.
 * `options.invoke(module, inputs, config)` runs one WASM call (default: in this thread;
 * the browser passes a worker with a time limit).
 */
export class Workflow {
  constructor(spec, options = {}) {
    this.blocks = new Map() // CID text -> bytes: every record and value of every run
    const put = (bytes, codec) => { const cid = cidOf(bytes, codec); this.blocks.set(cid.toString(), bytes); return cid }
    this.id = put(spec.workflow)
    this.data = decode(spec.workflow)
    this.ops = new Map()
    for (const v of spec.versions) {
      const id = put(v.version)
      const version = decode(v.version)
      put(v.manifest)
      const module = put(v.module, RAW)
      if (version.implementation.kind !== 'wasm' || !module.equals(version.implementation.module)) {
        throw new WorkflowError(`operation version ${id} is not a wasm version of this module`)
      }
      this.ops.set(id.toString(), { id, moduleCid: module, manifest: decode(v.manifest), module: compile(v.module) })
    }
    for (const seg of this.data.segments) {
      for (const step of seg.sequence) {
        if (!this.ops.has(step.version_id.toString())) throw new WorkflowError(`operation version ${step.version_id} is not a wasm operation of this build; only all-WASM workflows run in the browser`)
      }
    }
    this.invoke = options.invoke || inThread
    this.executions = new Map() // hash text -> execution record
    this.events = new Map()
    this.runs = new Map()
    this.memo = new Map() // key text -> {output, origin}
    this.run = null
  }

  /** Start a run; `nonce` (16 bytes or 32 hex digits) is random unless given. */
  new(nonce) {
    if (nonce == null) nonce = globalThis.crypto.getRandomValues(new Uint8Array(16))
    if (typeof nonce === 'string') nonce = unhex(nonce)
    if (!(nonce instanceof Uint8Array) || nonce.length !== 16) throw new WorkflowError('nonce: expected 16 bytes (32 hex digits)')
    const [id, bytes] = block({ workflow: this.id, nonce })
    this.blocks.set(id.toString(), bytes)
    const t = now()
    this.run = { id, nonce, status: 'running', next_segment: 0, total_time: 0, error: null, created_at: t, updated_at: t, outputs: new Map() }
    this.runs.set(id.toString(), this.run)
    return { run: id.toString(), nonce: hex(nonce) }
  }

  /** Execute the run's next segment with the values for its -1 slots. */
  async next(inputs = []) {
    const run = this.run
    if (run == null) throw new WorkflowError('no run: call new() first')
    if (run.status !== 'running') throw new WorkflowError(`run ${run.id} is ${run.status}${run.error ? `: ${run.error}` : ''}; start a new run`)
    const index = run.next_segment
    const segment = this.data.segments[index]
    const external = segment.inputs.filter((s) => Number(s) === EXTERNAL).length
    if (inputs.length !== external) throw new WorkflowError(`segment ${index} takes ${external} external input(s), got ${inputs.length}`)
    const first = this.ops.get(segment.sequence[0].version_id.toString())
    const started = performance.now()
    let slots = []
    const given = []
    let feed = 0
    segment.inputs.forEach((source, slot) => {
      if (Number(source) === EXTERNAL) {
        const value = inputs[feed++]
        const problem = mismatch(first.manifest.inputs[slot], value, `segment ${index} input ${feed - 1}`)
        if (problem) throw new WorkflowError(`${problem} (declared by ${first.manifest.name})`)
        const [cid, bytes] = block(value)
        given.push([cid, bytes])
        slots.push({ cid, bytes, parent: null })
      } else {
        const out = run.outputs.get(Number(source))
        slots.push({ cid: out.output, bytes: this.blocks.get(out.output.toString()), parent: out.producer })
      }
    })
    if (given.length) {
      const [eventCid, eventBytes] = block({ run: run.id, segment: index, inputs: given.map(([c]) => c) })
      for (const [cid, bytes] of given) this.blocks.set(cid.toString(), bytes)
      this.blocks.set(eventCid.toString(), eventBytes)
      this.events.set(eventCid.toString(), { hash: eventCid, segment: index })
      slots = slots.map((s) => (s.parent == null ? { ...s, parent: eventCid } : s))
    }
    let last = null
    let error = null
    for (let stepIndex = 0; stepIndex < segment.sequence.length; stepIndex++) {
      const step = segment.sequence[stepIndex]
      const op = this.ops.get(step.version_id.toString())
      const inputCids = slots.map((s) => s.cid)
      const parents = slots.map((s) => s.parent)
      const [key, keyBytes] = block(keyData(step.version_id, step.config, inputCids))
      const record = { workflow: this.id, segment: index, step: stepIndex, operation: step.version_id, config: step.config, parents, inputs: inputCids }
      const [hash, hashBytes] = block(hashData(record))
      this.blocks.set(key.toString(), keyBytes)
      this.blocks.set(hash.toString(), hashBytes)
      const created = now()
      const e = { ...record, hash, key, run: run.id, status: 'completed', output: null, error: null, cached_from: null, created_at: created, started_at: created, finished_at: null }
      const hit = this.memo.get(key.toString())
      if (hit) {
        Object.assign(e, { output: hit.output, cached_from: hit.origin.toString(), finished_at: now() })
      } else {
        const result = await this.invoke(op.module, slots.map((s) => s.bytes), encode(step.config))
        let failure = result.error ? `WasmExecutionError: wasm module ${op.moduleCid}: ${result.error}` : null
        if (!failure) {
          const problem = mismatch(op.manifest.output, result.value, 'output')
          if (problem) failure = `${problem} (declared by ${op.manifest.name})`
        }
        e.finished_at = now()
        if (failure) {
          error = `segment ${index} step ${stepIndex} (${op.manifest.name}): ${failure}`
          Object.assign(e, { status: 'failed', error })
          this.executions.set(hash.toString(), e)
          last = e
          break
        }
        e.output = cidOf(result.output)
        this.blocks.set(e.output.toString(), result.output)
        this.memo.set(key.toString(), { output: e.output, origin: hash })
      }
      this.executions.set(hash.toString(), e)
      slots = [{ cid: e.output, bytes: this.blocks.get(e.output.toString()), parent: hash }]
      last = e
    }
    const segmentTime = performance.now() - started
    run.total_time += segmentTime
    run.updated_at = now()
    const done = error == null && index === this.data.segments.length - 1
    if (error) {
      run.status = 'failed'; run.error = error
      const err = new WorkflowError(error)
      err.execution = last.hash.toString()
      throw err
    }
    run.outputs.set(index, { segment: index, output: last.output, producer: last.hash, segment_time: segmentTime })
    run.next_segment = index + 1
    if (done) run.status = 'completed'
    return {
      run: run.id.toString(), segment: index, done, result: done ? decode(this.blocks.get(last.output.toString())) : null,
      segment_time: segmentTime, total_time: run.total_time, final: last.hash.toString(),
    }
  }

  /** The proof bundle (docs/trust.md) of an execution, by default the run's last one. */
  exportBundle(executionHash) {
    const target = executionHash ? this.executions.get(executionHash.toString()) : [...this.executions.values()].pop()
    if (target == null) throw new WorkflowError(`unknown execution ${executionHash}`)
    const order = []
    const seen = new Set()
    const events = new Set()
    const walk = (e) => {
      if (seen.has(e.hash.toString())) return
      seen.add(e.hash.toString())
      for (const p of e.parents) {
        const parent = this.executions.get(p.toString())
        if (parent) walk(parent); else events.add(p.toString())
      }
      order.push(e)
    }
    walk(target)
    order.sort((a, b) => a.segment - b.segment || a.step - b.step)
    const meta = new Map()
    const body = new Map()
    const add = (map, cid, bytes = this.blocks.get(cid.toString())) => { map.set(cid.toString(), [cid, bytes]); return cid }
    const metas = []
    const runs = new Map()
    for (const e of order) {
      add(body, e.hash); add(body, e.key)
      for (const cid of e.inputs) add(body, cid)
      if (e.output) add(body, e.output)
      const [cid, bytes] = block({ execution: e.hash, key: e.key, run: e.run, status: e.status, output: e.output, error: e.error, executor: null, cached_from: e.cached_from, created_at: e.created_at, started_at: e.started_at, finished_at: e.finished_at, attestations: [] })
      metas.push(add(meta, cid, bytes))
      runs.set(e.run.toString(), this.runs.get(e.run.toString()))
    }
    for (const ev of events) add(body, CID.parse(ev))
    const runMetas = []
    for (const run of runs.values()) {
      add(body, run.id)
      const outputs = [...run.outputs.values()].filter((o) => seen.has(o.producer.toString())).sort((a, b) => a.segment - b.segment)
        .map((o) => ({ segment: o.segment, output: o.output, producer: o.producer, segment_time: new Float(o.segment_time) }))
      const [cid, bytes] = block({ run: run.id, status: run.status, next_segment: run.next_segment, total_time: new Float(run.total_time), error: run.error, created_at: run.created_at, updated_at: run.updated_at, outputs })
      runMetas.push(add(meta, cid, bytes))
    }
    add(body, this.id)
    for (const op of this.ops.values()) {
      const version = decode(this.blocks.get(op.id.toString()))
      add(body, op.id); add(body, version.operation); add(body, version.implementation.module)
    }
    const [indexCid, indexBytes] = block({ format: FORMAT, execution: target.hash, executions: metas, runs: runMetas })
    const all = [[indexCid, indexBytes], ...meta.values(), ...body.values()]
    const roots = [target.hash, indexCid]
    let size = CarBufferWriter.headerLength({ roots })
    for (const [cid, bytes] of all) size += CarBufferWriter.blockLength({ cid, bytes })
    const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots })
    for (const [cid, bytes] of all) writer.write({ cid, bytes })
    return writer.close()
  }
}
