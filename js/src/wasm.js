// catenary-wasm-abi/1 in the browser (docs/wasm-abi.md): no imports, four exports, one fresh
// instance per call. The memory cap is enforced the way wasmtime's is, as a refused
// memory.grow: the module's memory section is rewritten with a maximum of the cap. Fuel is
// wasmtime's and has no browser equivalent; a worker with a time limit stands in (run.js).

import { encode, decode, equalBytes } from './cid.js'

export const PAGE = 65536
export const MEMORY_CAP = 256 * 1024 * 1024
const EXPORTS = { memory: 'memory', catenary_abi_1: 'function', catenary_alloc: 'function', catenary_run: 'function' }

function leb(bytes, pos) {
  let result = 0; let shift = 0; let b
  do {
    b = bytes[pos++]
    if (b === undefined) throw new Error('truncated LEB128')
    result += (b & 0x7f) * 2 ** shift; shift += 7
  } while (b & 0x80)
  return [result, pos]
}
function uleb(n) {
  const out = []
  do { let b = n % 128; n = Math.floor(n / 128); if (n) b |= 0x80; out.push(b) } while (n)
  return out
}

/** The module bytes with every defined memory's maximum lowered to the cap (in pages). */
export function capMemory(bytes, capBytes = MEMORY_CAP) {
  const cap = Math.floor(capBytes / PAGE)
  if (bytes.length < 8) throw new Error('not a valid WebAssembly module: too short')
  const parts = [bytes.subarray(0, 8)]
  let pos = 8
  while (pos < bytes.length) {
    const id = bytes[pos]
    const [size, start] = leb(bytes, pos + 1)
    const end = start + size
    if (id !== 5) { parts.push(bytes.subarray(pos, end)); pos = end; continue }
    let [count, p] = leb(bytes, start)
    const body = [...uleb(count)]
    for (let i = 0; i < count; i++) {
      const flags = bytes[p++]
      if (flags !== 0 && flags !== 1) throw new Error('declares a shared or 64-bit memory; catenary-wasm-abi/1 allows neither')
      let min; let max = Infinity
      ;[min, p] = leb(bytes, p)
      if (flags === 1) [max, p] = leb(bytes, p)
      if (min > cap) throw new Error(`cannot be instantiated within the limits: initial memory of ${min * PAGE} bytes is over the cap of ${cap * PAGE} bytes`)
      body.push(1, ...uleb(min), ...uleb(Math.min(max, cap)))
    }
    parts.push(Uint8Array.from([5, ...uleb(body.length), ...body]))
    pos = end
  }
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0))
  let o = 0
  for (const x of parts) { out.set(x, o); o += x.length }
  return out
}

/** Compile and check a module as `op add` would: no imports, the ABI's exports. */
export function compile(bytes, capBytes = MEMORY_CAP) {
  let module
  try {
    module = new WebAssembly.Module(capMemory(bytes, capBytes))
  } catch (e) {
    throw new Error(e.message.startsWith('cannot be') || e.message.startsWith('declares') ? e.message : `not a valid WebAssembly module: ${e.message}`)
  }
  const imports = WebAssembly.Module.imports(module)
  if (imports.length) {
    throw new Error(`imports ${imports.map((i) => `${i.module}.${i.name}`).join(', ')}; catenary-wasm-abi/1 allows no imports (no WASI, clock, random, filesystem or network access)`)
  }
  const exported = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]))
  for (const [name, kind] of Object.entries(EXPORTS)) {
    if (exported.get(name) !== kind) throw new Error(`does not export ${name} (${kind})`)
  }
  return module
}

/**
 * The raw ABI call, self-contained (no outer names) so that a worker can run its source:
 * {status, out} or {trap, atCap}. Limits and checks of the output are the caller's.
 */
export function abiCall(module, inputs, config) {
  let instance
  try {
    instance = new WebAssembly.Instance(module, {})
  } catch (e) {
    return { fail: `cannot be instantiated: ${e.message}` }
  }
  const { memory, catenary_alloc: alloc, catenary_run: run } = instance.exports
  const atCap = () => memory.buffer.byteLength >= 268435456
  const nargs = inputs.length
  const total = 8 * nargs + 8 + inputs.reduce((n, x) => n + x.length, 0) + config.length
  let ptr
  try { ptr = alloc(total) >>> 0 } catch (e) { return { trap: e.message, atCap: atCap() } }
  if (ptr + total > memory.buffer.byteLength) {
    return { fail: `catenary_alloc(${total}) returned ${ptr}, a range outside its memory of ${memory.buffer.byteLength} bytes` }
  }
  const view = new DataView(memory.buffer)
  const bytes = new Uint8Array(memory.buffer)
  const ret = ptr + 8 * nargs
  let data = ret + 8
  inputs.forEach((input, i) => {
    view.setUint32(ptr + 8 * i, data, true)
    view.setUint32(ptr + 8 * i + 4, input.length, true)
    bytes.set(input, data)
    data += input.length
  })
  view.setUint32(ret, 0, true); view.setUint32(ret + 4, 0, true)
  bytes.set(config, data)
  let status
  try { status = run(ptr, nargs, data, config.length, ret) } catch (e) { return { trap: e.message, atCap: atCap() } }
  const after = new DataView(memory.buffer)
  const outPtr = after.getUint32(ret, true)
  const outLen = after.getUint32(ret + 4, true)
  if (outPtr + outLen > memory.buffer.byteLength) {
    return { fail: `catenary_run returned its output at [${outPtr}, ${outPtr + outLen}), outside its memory of ${memory.buffer.byteLength} bytes` }
  }
  return { status, out: new Uint8Array(memory.buffer, outPtr, outLen).slice() }
}

/** The ABI's reading of a raw call: {output, value} (canonical DAG-CBOR) or {error}. */
export function finishCall(r) {
  if (r.fail) return { error: r.fail }
  if (r.trap) return { error: `trap: ${r.trap}${r.atCap ? ` (memory is at the cap of ${MEMORY_CAP} bytes, so a memory.grow was refused)` : ''}` }
  if (r.status === 1) return { error: `the module reported an error: ${new TextDecoder().decode(r.out).slice(0, 1000)}` }
  if (r.status !== 0) return { error: `catenary_run returned status ${r.status}; 0 (ok) and 1 (error) are the only statuses` }
  let value
  try { value = decode(r.out) } catch (e) { return { error: `output is not valid DAG-CBOR: ${e.message}` } }
  if (!equalBytes(encode(value), r.out)) return { error: 'output is not canonical DAG-CBOR' }
  return { output: r.out, value }
}

/** One call in this thread (node, tests): no time limit. */
export async function invoke(module, inputs, config) {
  return finishCall(abiCall(module, inputs, config))
}

export const TIME_LIMIT_MS = 10000

/**
 * Calls in a worker, stopped after `timeoutMs`: the browser's stand-in for wasmtime's fuel.
 * One worker is reused until a call runs over; it is then terminated and replaced. The
 * worker starts from a Blob URL, so this works in a page opened from a file too.
 */
export function workerInvoker(timeoutMs = TIME_LIMIT_MS) {
  const source = `const abiCall = ${abiCall.toString()};\nonmessage = (m) => postMessage(abiCall(m.data.module, m.data.inputs, m.data.config))`
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))
  let worker = null
  let queue = Promise.resolve()
  const call = (module, inputs, config) => new Promise((resolve) => {
    worker ??= new Worker(url)
    const w = worker
    const timer = setTimeout(() => {
      w.terminate(); worker = null
      resolve({ error: `stopped after the time limit of ${timeoutMs} ms (an endless loop, or more work than one call may do)` })
    }, timeoutMs)
    w.onmessage = (m) => { clearTimeout(timer); resolve(finishCall(m.data)) }
    w.onerror = (e) => { clearTimeout(timer); w.terminate(); worker = null; resolve({ error: `trap: ${e.message}` }) }
    w.postMessage({ module, inputs, config })
  })
  // One call at a time per worker.
  return (module, inputs, config) => (queue = queue.then(() => call(module, inputs, config)))
}
