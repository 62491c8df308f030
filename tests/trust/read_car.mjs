// Reads a catenary proof bundle with the official JavaScript IPLD packages, independently of
// catenary: checks every block's CID (blake2b-256 of its bytes), decodes it as DAG-CBOR (a WASM
// module is a raw block: bytes, no links), and walks the links from the roots. Prints one JSON
// summary on stdout.
// Usage: node read_car.mjs TOOLS_DIR FILE.car   (TOOLS_DIR holds node_modules/)
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [tools, file] = process.argv.slice(2)

// The packages live in TOOLS_DIR/node_modules, not next to this file: resolve their
// package.json "exports" by hand (ESM ignores NODE_PATH).
async function load (pkg, sub = '.') {
  const dir = join(tools, 'node_modules', pkg)
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  let entry = meta.exports ? meta.exports[sub] : meta.main
  while (entry && typeof entry === 'object') entry = entry.import ?? entry.node ?? entry.default
  if (!entry) throw new Error(`cannot resolve ${pkg} ${sub}`)
  return import(pathToFileURL(join(dir, entry)).href)
}

const { CarReader } = await load('@ipld/car')
const dagCbor = await load('@ipld/dag-cbor')
const { CID } = await load('multiformats', './cid')
const { blake2b } = await load('@noble/hashes', './blake2.js')

const reader = await CarReader.fromBytes(readFileSync(file))
const roots = await reader.getRoots()
const RAW = 0x55
const blocks = new Map()
const bad = []
let raw = 0
for await (const { cid, bytes } of reader.blocks()) {
  const digest = blake2b(bytes, { dkLen: 32 })
  const ok = cid.version === 1 && (cid.code === dagCbor.code || cid.code === RAW) &&
    cid.multihash.code === 0xb220 && Buffer.from(digest).equals(Buffer.from(cid.multihash.digest))
  if (!ok) bad.push(cid.toString())
  if (cid.code === RAW) raw += 1
  blocks.set(cid.toString(), cid.code === RAW ? bytes : dagCbor.decode(bytes))
}

function * links (value) {
  const cid = CID.asCID(value)
  if (cid) { yield cid; return }
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return
  for (const item of Array.isArray(value) ? value : Object.values(value)) yield * links(item)
}

const reached = new Set()
const missing = []
const stack = roots.map(r => r.toString())
while (stack.length) {
  const key = stack.pop()
  if (reached.has(key)) continue
  if (!blocks.has(key)) { missing.push(key); continue }
  reached.add(key)
  for (const link of links(blocks.get(key))) stack.push(link.toString())
}

const index = blocks.get(roots[1]?.toString()) ?? {}
console.log(JSON.stringify({
  roots: roots.map(r => r.toString()),
  blocks: blocks.size,
  raw_blocks: raw,
  bad_cids: bad,
  reached: reached.size,
  missing,
  format: index.format ?? null,
  executions: (index.executions ?? []).length,
  root_execution_keys: Object.keys(blocks.get(roots[0].toString()) ?? {}).sort()
}))
