// Acceptance of a bundle's executions under a quorum policy (docs/network.md, "Validators and
// quorum"): what `catenary verify-bundle --json` reports as `acceptance`, computed as
// catenary/trust/quorum.py bundle_standings does. Every valid attestation over an execution of
// a key is a vote for the output it names; the verifier's own re-execution is its vote.

import { roleOf } from './attest.js'

const ALL = '*'
const SELF = 'self'
const ANY = 'any'
const ANONYMOUS = 'anonymous'
// No [[quorum]] rule: a result counts once the verifier vouches for it (policy.py SIGNED_HERE).
export const SIGNED_HERE = { operations: [ALL], keys: [SELF], need: 1, executor: false, label: 'quorum (default: signed by this node)' }

/**
 * The rules of a policy in the shape `catenary policy show --json` prints ({node, quorum}),
 * each with its label. `node` is the key `self` stands for: null in a browser, whose only vote
 * is its own re-execution (signed by no key, shown as `self`).
 */
export function quorumPolicy(policy = {}) {
  const listed = policy.quorum || []
  const isDefault = (r) => listed.length === 1 && r.need === 1 && r.executor === false &&
    r.keys.length === 1 && r.keys[0] === SELF && r.operations.length === 1 && r.operations[0] === ALL
  const rules = listed.map((r, i) => ({
    operations: r.operations || [ALL],
    keys: r.keys,
    need: r.need ?? r.keys.length,
    executor: r.executor ?? true,
    label: r.label ?? (isDefault(r) ? SIGNED_HERE.label : `quorum[${i}]`),
  }))
  return { node: policy.node ?? null, rules }
}

function ruleFor(policy, names) {
  return policy.rules.find((r) => r.operations.includes(ALL) || names.some((n) => r.operations.includes(n))) || SIGNED_HERE
}

function counts(policy, rule, signer) {
  if (signer == null) return rule.keys.includes(ANONYMOUS)
  return rule.keys.includes(ANY) || rule.keys.includes(signer) || (rule.keys.includes(SELF) && signer === (policy.node ?? SELF))
}

/** One vote per (signer, output), in row order (quorum.py votes). */
function votes(rows, counted) {
  const found = new Map()
  for (const row of rows) {
    const id = `${row.signer}\n${row.output}`
    if (!found.has(id)) found.set(id, { signer: row.signer, output: row.output, role: row.role, execution: row.execution, counted: counted(row.signer) })
  }
  return [...found.values()]
}

/** The outputs that reach the quorum: one is canonical, several split the key. */
function reached(all, rule) {
  const tally = new Map()
  for (const v of all) if (v.counted) (tally.get(v.output) || tally.set(v.output, new Set()).get(v.output)).add(v.signer)
  const byExecutor = new Set(all.filter((v) => v.role === 'executor').map((v) => v.output))
  return [...tally].filter(([o, s]) => s.size >= rule.need && (!rule.executor || byExecutor.has(o))).map(([o]) => o).sort()
}

function standing(output, all, rule, dispute) {
  const outputs = reached(all, rule)
  const agreed = outputs.length === 1 ? outputs[0] : null
  const result = (status, reason) => ({ status, rule: rule.label, need: rule.need, canonical: agreed, reason, votes: all })
  if (dispute != null) return result('disputed', `disputed here: ${dispute}`)
  if (agreed != null && agreed === output) {
    const signers = new Set(all.filter((v) => v.counted && v.output === agreed).map((v) => v.signer))
    return result('accepted', `${signers.size} of the counted keys vouch for ${agreed}`)
  }
  if (agreed != null) return result('disputed', `the quorum agreed on ${agreed}, not on this output ${output}`)
  if (outputs.length > 1) return result('disputed', `the counted keys are split: ${outputs.length} outputs reach the quorum`)
  const vouched = new Set(all.filter((v) => v.counted).map((v) => v.output))
  if (vouched.size > 1) return result('disputed', `the counted keys disagree: ${vouched.size} outputs, none by a quorum`)
  const counted = new Set(all.filter((v) => v.counted && v.output === output).map((v) => v.signer))
  const missing = !rule.executor || all.some((v) => v.role === 'executor' && v.output === output) ? '' : ' (and no executor attestation)'
  return result('pending', `${counted.size} of ${rule.need} counted key(s) vouch for it${missing}`)
}

/**
 * {execution hash: standing} for every execution of a checked bundle. `b` is the bundle as
 * verify.js read it (executions with their attestation blocks), `verdicts` the report's rows.
 * Only attestations found valid are votes: a bad signature is a problem, never a vote.
 */
export function bundleStandings(b, verdicts, policy) {
  const byHash = new Map(verdicts.map((v) => [v.hash, v]))
  const byKey = new Map()
  for (const e of b.executions.values()) {
    const key = e.key.toString()
    if (!byKey.has(key)) byKey.set(key, [])
    const rows = byKey.get(key)
    const valid = new Set((b.checks.get(e.hash) || []).filter((a) => a.valid).map((a) => a.cid))
    for (const att of b.attestations.get(e.hash) || []) {
      if (!valid.has(att.cid)) continue
      const output = att.output && att.output.toString()
      if (output == null) continue
      rows.push({ signer: att.signer, output, role: roleOf(att.bytes, e.executor, e.cachedFrom, e.output), execution: e.hash })
    }
  }
  const found = {}
  for (const e of b.executions.values()) {
    const version = b.versions.get(e.operation.toString())
    const names = version ? [version.manifest.name, e.operation.toString()] : [e.operation.toString()]
    const rule = ruleFor(policy, names)
    const all = votes(byKey.get(e.key.toString()) || [], (signer) => counts(policy, rule, signer))
    const output = e.output && e.output.toString()
    const v = byHash.get(e.hash)
    let dispute = null
    if (v != null && output != null) {
      if (v.verdict === 'verified') {
        const self = policy.node ?? SELF
        all.push({ signer: self, output, role: 'validator', execution: e.hash, counted: counts(policy, rule, self) })
      } else if (v.verdict === 'mismatch') dispute = `re-executed here: ${v.reason}`
    }
    found[e.hash] = standing(output, all, rule, dispute)
  }
  return found
}
