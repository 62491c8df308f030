// Content addressing as catenary does it (docs/hashing.md): DAG-CBOR blocks named by CIDv1
// dag-cbor blake2b-256 (bafy2bza...), WASM modules by CIDv1 raw blake2b-256 (bafk2bza...).

import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import * as cborg from 'cborg'
const { Token, Type } = cborg
import { blake2b256 } from './blake2b.js'

export { CID }
export const DAG_CBOR = 0x71
export const RAW = 0x55
export const BLAKE2B_256 = 0xb220

/** A number that is encoded as a 64-bit float even when it has no fraction (JS has one
 * number type; Python's 1.0 is a float, and DAG-CBOR keeps the difference). */
export class Float {
  constructor(value) { this.value = value }
}

const encodeOptions = {
  ...dagCbor.encodeOptions,
  typeEncoders: {
    ...dagCbor.encodeOptions.typeEncoders,
    Object: (obj, typ, options, refStack) => {
      if (obj instanceof Float) return [new Token(Type.float, obj.value)]
      return dagCbor.encodeOptions.typeEncoders.Object(obj, typ, options, refStack)
    },
  },
}

export function encode(value) {
  return cborg.encode(value, encodeOptions)
}

export function decode(bytes) {
  return cborg.decode(bytes, dagCbor.decodeOptions)
}

export function cidOf(bytes, codec = DAG_CBOR) {
  return CID.createV1(codec, Digest.create(BLAKE2B_256, blake2b256(bytes)))
}

/** [cid, bytes] of a value's block. */
export function block(value) {
  const bytes = encode(value)
  return [cidOf(bytes), bytes]
}

export function isCID(value) {
  return value instanceof CID || (value != null && value['/'] === value.bytes && CID.asCID(value) != null)
}

/** A CID named by catenary: v1, blake2b-256, dag-cbor (or raw, for a module). */
export function kindOf(cid) {
  if (cid.version !== 1 || cid.multihash.code !== BLAKE2B_256 || cid.multihash.size !== 32) return null
  return cid.code === DAG_CBOR ? 'dag-cbor' : cid.code === RAW ? 'raw' : null
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function same(a, b) {
  return a != null && b != null && isCID(a) && isCID(b) && a.equals(b)
}
