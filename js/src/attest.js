// Attestations (docs/trust.md): {execution, key, output, signer, signature}, ed25519 by the
// did:key in `signer` over the DAG-CBOR of the map without `signature`. WebCrypto checks it.

import { base58btc } from 'multiformats/bases/base58'
import { encode, decode, isCID, same } from './cid.js'

const FIELDS = ['execution', 'key', 'output', 'signer', 'signature']
const keys = new Map() // did -> CryptoKey promise

function publicKey(did) {
  if (typeof did !== 'string' || !did.startsWith('did:key:z')) return null
  let raw
  try { raw = base58btc.decode(did.slice('did:key:'.length)) } catch { return null }
  if (raw.length !== 34 || raw[0] !== 0xed || raw[1] !== 0x01) return null
  return raw.subarray(2)
}

/** null when `signature` is the ed25519 signature of `message` by the did:key `did`, else why
 * not, in identity.py verify_signature's words. */
export async function verifySignature(did, signature, message) {
  const raw = publicKey(did)
  if (raw == null) return `signer ${did} is not an ed25519 did:key`
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return 'signature is not 64 bytes (an ed25519 signature)'
  let key = keys.get(did)
  if (key == null) {
    key = globalThis.crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify'])
    keys.set(did, key)
  }
  const ok = await globalThis.crypto.subtle.verify({ name: 'Ed25519' }, await key, signature, message)
  return ok ? null : `signature does not verify under ${did} (forged, altered, or made by another key)`
}

/**
 * `executor` when the signer recorded the execution by doing the work; else `dissent` when
 * the attested output is not the recorded one; `validator` otherwise (attestation.py role_for).
 */
export function roleFor(signer, executor, cachedFrom, attested = null, recorded = null) {
  if (signer === executor && cachedFrom == null) return 'executor'
  if (attested != null && !same(attested, recorded)) return 'dissent'
  return 'validator'
}

/** {signer, output} of an attestation block, unchecked; null when it is not one. */
export function claim(bytes) {
  let value
  try { value = decode(bytes) } catch { return null }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) return null
  return typeof value.signer === 'string' && isCID(value.output) ? { signer: value.signer, output: value.output } : null
}

/** The role of an attestation block on an execution (attestation.py role_of). */
export function roleOf(bytes, executor, cachedFrom, recorded) {
  const found = claim(bytes)
  return found ? roleFor(found.signer, executor, cachedFrom, found.output, recorded) : 'validator'
}

/**
 * {cid, signer, role, valid, reason} for one attestation block checked against its execution.
 * A dissent (a signer whose re-execution gave another output) signs that other output: valid
 * when its signature, execution and key hold.
 */
export async function checkAttestation(cid, bytes, execution, key, output, role = 'validator') {
  const invalid = (reason, signer = null) => ({ cid, signer, role, valid: false, reason })
  let value
  try { value = decode(bytes) } catch (e) { return invalid(`not DAG-CBOR: ${e.message}`) }
  if (value == null || typeof value !== 'object' || Array.isArray(value) ||
      Object.keys(value).sort().join() !== [...FIELDS].sort().join()) {
    return invalid(`not an attestation: expected keys ${FIELDS.join(', ')}`)
  }
  const signer = value.signer
  if (typeof signer !== 'string') return invalid('signer is not a string')
  for (const name of ['execution', 'key', 'output']) {
    if (!isCID(value[name])) return invalid(`${name} is not a link`, signer)
  }
  const { signature, ...unsigned } = value
  const problem = await verifySignature(signer, signature, encode(unsigned))
  if (problem) return invalid(problem, signer)
  if (!same(value.execution, execution)) return invalid(`signed for execution ${value.execution}, not ${execution}`, signer)
  if (!same(value.key, key)) return invalid(`signed key ${value.key}, but the execution's key is ${key}`, signer)
  if (role === 'dissent') {
    if (same(value.output, output)) return invalid('a dissent that vouches for the recorded output', signer)
    return { cid, signer, role, valid: true, reason: `signature verifies; dissents: re-execution gave ${value.output}` }
  }
  if (!same(value.output, output)) return invalid(`signed output ${value.output}, but the execution's output is ${output}`, signer)
  return { cid, signer, role, valid: true, reason: 'signature verifies; attests this key and output' }
}
