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

/** null when `signature` is the ed25519 signature of `message` by the did:key `did`, else why not. */
export async function verifySignature(did, signature, message) {
  const raw = publicKey(did)
  if (raw == null) return `signer ${did} is not an ed25519 did:key`
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return 'signature is not 64 bytes'
  let key = keys.get(did)
  if (key == null) {
    key = globalThis.crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify'])
    keys.set(did, key)
  }
  const ok = await globalThis.crypto.subtle.verify({ name: 'Ed25519' }, await key, signature, message)
  return ok ? null : 'signature does not verify'
}

export function roleFor(signer, executor, cachedFrom) {
  return signer === executor && cachedFrom == null ? 'executor' : 'validator'
}

/** {cid, signer, valid, reason} for one attestation block checked against its execution. */
export async function checkAttestation(cid, bytes, execution, key, output) {
  const invalid = (reason, signer = null) => ({ cid, signer, valid: false, reason })
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
  if (!same(value.output, output)) return invalid(`signed output ${value.output}, but the execution's output is ${output}`, signer)
  return { cid, signer, valid: true, reason: 'signature verifies; attests this key and output' }
}
