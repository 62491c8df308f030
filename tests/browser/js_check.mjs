// The JavaScript library (js/src) driven from the Python tests: node js_check.mjs COMMAND ARGS.
//   golden VECTORS.json         -> per vector: the CID of its bytes, the bytes re-encoded
//   verify [--policy JSON] FILE...  -> per file: the report (verdict, executions, problems,
//                                  acceptance under the policy `catenary policy show --json` printed)
//   memory MODULE.wasm           -> a module growing memory without end, called in this thread
//   workflow DIR NONCE HEX OUT   -> new(nonce), next([bytes]), next(), next(); the bundle to OUT
import { readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const lib = await import(new URL('../../js/src/index.js', import.meta.url))
const [command, ...args] = process.argv.slice(2)
const hex = (b) => Buffer.from(b).toString('hex')
const out = (x) => process.stdout.write(JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? Number(v) : v)))

if (command === 'golden') {
  const { vectors } = JSON.parse(readFileSync(args[0], 'utf8'))
  out(vectors.map((v) => {
    const bytes = Buffer.from(v.bytes, 'hex')
    let value = lib.decode(bytes)
    if (v.name.startsWith('float')) value = new lib.Float(value)
    return { name: v.name, cid: lib.cidOf(bytes).toString(), reencoded: hex(lib.encode(value)) }
  }))
} else if (command === 'verify') {
  const reports = []
  const policy = args[0] === '--policy' ? JSON.parse(readFileSync(args[1], 'utf8')) : undefined
  for (const file of policy ? args.slice(2) : args) {
    try {
      reports.push(await lib.verifyBundle(new Uint8Array(readFileSync(file)), { policy }))
    } catch (e) {
      if (!(e instanceof lib.UnreadableBundle)) throw e
      reports.push({ verdict: 'unreadable', error: e.message })
    }
  }
  out(reports)
} else if (command === 'memory') {
  const module = lib.compile(new Uint8Array(readFileSync(args[0])))
  out(await lib.invoke(module, [lib.encode(new Uint8Array([1]))], lib.encode({})))
} else if (command === 'workflow') {
  const w = await import(pathToFileURL(`${args[0]}/workflow.mjs`))
  const steps = [w.new(args[1])]
  for (const inputs of [[Buffer.from(args[2], 'hex')], [], []]) steps.push(await w.next(inputs.map((b) => new Uint8Array(b))))
  writeFileSync(args[3], w.exportBundle())
  out(steps)
}
